/**
 * HTML §8.1.8 event handlers (`onopen`, `onmessage` …) on an EventTarget: each handler is
 * one listener, added when the attribute is first set to a value and kept in place when it
 * is replaced, removed when it is set to null.
 */

/** HTML §EventHandler: a function called with the target as `this`, or null. */
export type EventHandler<Target, E extends Event> = ((this: Target, ev: E) => any) | null;

interface Slot {
  value: object;
  listener: (event: Event) => void;
}

/** The event handler attributes of one target. */
export class EventHandlers {
  readonly #target: EventTarget;
  readonly #slots = new Map<string, Slot>();

  constructor(target: EventTarget) {
    this.#target = target;
  }

  /** The handler's value (HTML: "the event handler IDL attribute's getter"). */
  get(type: string): any {
    return this.#slots.get(type)?.value ?? null;
  }

  /** HTML: the setter: a non-object is null ([LegacyTreatNonObjectAsNull]). */
  set(type: string, value: unknown): void {
    const slots = this.#slots;
    const slot = slots.get(type);
    if ((typeof value !== "object" && typeof value !== "function") || value === null) {
      // HTML: "deactivate an event handler": remove its listener.
      if (slot !== undefined) {
        this.#target.removeEventListener(type, slot.listener);
        slots.delete(type);
      }
      return;
    }
    if (slot !== undefined) {
      // HTML: the listener stays where it is in the list; only the callback changes.
      slot.value = value;
      return;
    }
    const target = this.#target;
    const created: Slot = {
      value,
      listener(event: Event): void {
        const callback = created.value;
        if (typeof callback !== "function") return; // an object that cannot be called is ignored
        // HTML §"the event handler processing algorithm": false cancels the event.
        if (callback.call(target, event) === false) event.preventDefault();
      },
    };
    slots.set(type, created);
    target.addEventListener(type, created.listener);
  }
}
