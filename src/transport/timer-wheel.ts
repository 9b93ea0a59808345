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

/**
 * The clock's origin: times are milliseconds since this module loaded, as 32-bit integers
 * (V8 keeps them in the field itself; a Date.now() value would be a 16-byte heap number per
 * connection). They wrap after 24.8 days: subtract with {@link elapsed}.
 */
const origin = Date.now();

/** The wheel's coarse clock (int32 ms since the module loaded), updated every tick and on registration. */
export let coarseNow = 0;

/** Milliseconds from `since` to `now`, two values of {@link coarseNow} (correct across its wrap). */
export function elapsed(now: number, since: number): number {
  return (now - since) | 0;
}

/** Reads the clock now (for a connection that starts between two ticks) and returns it. */
export function readClock(): number {
  coarseNow = (Date.now() - origin) | 0;
  return coarseNow;
}

function tick(): void {
  coarseNow = (Date.now() - origin) | 0;
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
  coarseNow = (Date.now() - origin) | 0;
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
