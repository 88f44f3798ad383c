/** WebSocket readyState values, shared by the Node API and the WHATWG facade. */
export const ReadyState = {
  CONNECTING: 0,
  OPEN: 1,
  CLOSING: 2,
  CLOSED: 3,
} as const;
export type ReadyState = (typeof ReadyState)[keyof typeof ReadyState];

export const READY_STATE_NAMES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'] as const;

/**
 * CONNECTING..CLOSED as ws defines them on a class and its prototype:
 * enumerable, non-writable, non-configurable.
 */
export function defineReadyStateConstants(target: object): void {
  for (const [name, value] of Object.entries(ReadyState)) {
    Object.defineProperty(target, name, { value, enumerable: true, writable: false, configurable: false });
  }
}
