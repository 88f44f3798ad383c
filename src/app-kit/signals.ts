/**
 * Running until SIGINT/SIGTERM: the first signal starts a graceful close, a
 * second one while that close is pending forces it. Owns the signal
 * listeners only: what closing and forcing mean is the caller's.
 *
 * The signal source is injectable (process by default), so that tests emit
 * signals on an EventEmitter instead of killing processes.
 */

type Listener = () => void;

/** Where signals come from: `process`, or an EventEmitter in tests. */
export interface SignalSource {
  on(event: NodeJS.Signals, listener: Listener): unknown;
  once(event: NodeJS.Signals, listener: Listener): unknown;
  removeListener(event: NodeJS.Signals, listener: Listener): unknown;
}

export interface Shutdown {
  /** On the first signal: close gracefully; settles when everything is closed. */
  close(signal: NodeJS.Signals): Promise<void>;
  /** On a second signal while close() is pending: stop waiting for peers. */
  force(signal: NodeJS.Signals): void;
}

export const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * Wait for SIGINT or SIGTERM, then run `shutdown.close`; resolves with that
 * first signal when close() has settled (rejects if it rejects). Each signal
 * name forces at most once: a third SIGINT finds no listener of ours and
 * gets its default action, so a stuck process can still be killed.
 */
export async function runUntilSignal(shutdown: Shutdown, signals: SignalSource = process): Promise<NodeJS.Signals> {
  const first = await nextSignal(signals);
  const forces = SHUTDOWN_SIGNALS.map((name) => [name, () => shutdown.force(name)] as const);
  for (const [name, force] of forces) signals.once(name, force);
  try {
    await shutdown.close(first);
  } finally {
    for (const [name, force] of forces) signals.removeListener(name, force);
  }
  return first;
}

function nextSignal(signals: SignalSource): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const waits = SHUTDOWN_SIGNALS.map((name) => [name, () => {
      for (const [n, wait] of waits) signals.removeListener(n, wait);
      resolve(name);
    }] as const);
    for (const [name, wait] of waits) signals.on(name, wait);
  });
}
