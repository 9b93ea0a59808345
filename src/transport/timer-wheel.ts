/**
 * One interval timer for the idle checks of every connection, instead of one `setTimeout`
 * per socket. A connection records the wheel's coarse clock when it hears from its peer; the
 * wheel visits the registered connections each tick and asks them to act on their deadlines.
 */

/** A connection with idle deadlines. */
export interface WheelMember {
  /** Called every tick with the current time in milliseconds. */
  onTick(now: number): void;
}

const members = new Set<WheelMember>();
let timer: NodeJS.Timeout | null = null;
let interval = 1000;

/** The wheel's coarse clock (ms since the epoch), updated every tick and on registration. */
export let coarseNow = Date.now();

function tick(): void {
  coarseNow = Date.now();
  for (const m of members) m.onTick(coarseNow);
}

function restart(): void {
  if (timer !== null) clearInterval(timer);
  timer = setInterval(tick, interval);
  // The sockets keep the process alive; the wheel never does on its own.
  timer.unref();
}

/**
 * Adds a member. `resolution` is the finest tick it needs (ms): the wheel ticks at the
 * smallest resolution any member asked for, between 20 ms and 1 s.
 */
export function joinWheel(member: WheelMember, resolution: number): void {
  coarseNow = Date.now();
  members.add(member);
  const wanted = Math.max(20, Math.min(1000, Math.floor(resolution)));
  if (timer === null || wanted < interval) {
    interval = wanted;
    restart();
  }
}

/** Removes a member; the wheel stops when none is left. */
export function leaveWheel(member: WheelMember): void {
  members.delete(member);
  if (members.size === 0 && timer !== null) {
    clearInterval(timer);
    timer = null;
    interval = 1000;
  }
}
