/**
 * The idle timeout: a connection with no traffic in either direction for
 * `idleTimeout` ms is closed with 1001 (Driver.idle). One interval per
 * distinct timeout value in the process, shared by every connection that uses
 * it (servers' and clients'), never a timer per connection.
 *
 * The sweep runs four times per timeout; a connection is closed on the
 * fourth sweep in a row that finds no traffic, so after between 1 and 1.25
 * times idleTimeout of silence. Owns: the sweeps and each connection's count
 * of quiet sweeps. Asks the driver only whether bytes moved since it last asked.
 */
import type { Driver } from './driver.js';

const QUIET_SWEEPS = 4;

export class IdleSweep {
  private static readonly sweeps = new Map<number, IdleSweep>();

  /** Each tracked connection and the quiet sweeps it has had in a row. */
  private readonly quiet = new Map<Driver, number>();
  private readonly timer: NodeJS.Timeout;

  static track(driver: Driver, timeout: number): void {
    let sweep = IdleSweep.sweeps.get(timeout);
    if (sweep === undefined) {
      sweep = new IdleSweep(timeout);
      IdleSweep.sweeps.set(timeout, sweep);
    }
    driver.takeTraffic(); // the handshake's bytes do not count
    sweep.quiet.set(driver, 0);
  }

  static untrack(driver: Driver, timeout: number): void {
    IdleSweep.sweeps.get(timeout)?.remove(driver);
  }

  private constructor(private readonly timeout: number) {
    this.timer = setInterval(() => this.sweep(), Math.max(1, timeout / QUIET_SWEEPS));
    this.timer.unref();
  }

  private sweep(): void {
    for (const [driver, quiet] of this.quiet) {
      if (driver.takeTraffic()) {
        if (quiet !== 0) this.quiet.set(driver, 0);
      } else if (quiet + 1 < QUIET_SWEEPS) {
        this.quiet.set(driver, quiet + 1);
      } else {
        this.remove(driver); // it is closing: the close timer takes over
        driver.idle();
      }
    }
  }

  private remove(driver: Driver): void {
    if (!this.quiet.delete(driver) || this.quiet.size > 0) return;
    clearInterval(this.timer);
    IdleSweep.sweeps.delete(this.timeout);
  }
}
