/**
 * Event handler IDL attributes (`onopen`, `onmessage`...) over Node's
 * EventTarget, as the HTML standard defines them: the first non-null value
 * registers one listener; later values replace the callback in place, so the
 * handler keeps its position among listeners added with addEventListener;
 * null removes the listener, and a later value registers it again at the end.
 *
 * Owns only the per-target handler slots; knows nothing about WebSockets.
 */

/** What an `on...` attribute holds: a function, or (ignored when invoked) any other object. */
export type EventHandler<E extends Event = Event> = ((this: EventTarget, event: E) => unknown) | object | null;

interface Slot {
  value: object;
  readonly listener: (event: Event) => void;
}

const slots = new WeakMap<EventTarget, Map<string, Slot>>();

export function getEventHandler(target: EventTarget, type: string): EventHandler {
  return slots.get(target)?.get(type)?.value ?? null;
}

export function setEventHandler(target: EventTarget, type: string, value: unknown): void {
  // [LegacyTreatNonObjectAsNull]: any object is kept, every other value means null.
  const handler = (typeof value === 'object' && value !== null) || typeof value === 'function' ? (value as object) : null;
  let map = slots.get(target);
  const slot = map?.get(type);
  if (handler === null) {
    if (slot !== undefined) {
      target.removeEventListener(type, slot.listener);
      map!.delete(type);
    }
    return;
  }
  if (slot !== undefined) {
    slot.value = handler;
    return;
  }
  const created: Slot = {
    value: handler,
    listener(event: Event): void {
      const callback = created.value;
      // A non-callable object is ignored when invoked (WebIDL "invoke a callback function").
      if (typeof callback !== 'function') return;
      if (callback.call(target, event) === false) event.preventDefault();
    },
  };
  if (map === undefined) {
    map = new Map();
    slots.set(target, map);
  }
  map.set(type, created);
  target.addEventListener(type, created.listener);
}
