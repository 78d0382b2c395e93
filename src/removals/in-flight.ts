/**
 * Removals a second the in-flight bound aims at when `AUTOMOD_API_RATE_PER_SEC` sets no cap: about
 * what one VideoSDK account is known to take without 429s (a cap, when set, is the figure used).
 */
export const DEFAULT_REMOVAL_RATE_PER_SEC = 100;

/** Room over Little's law for the limiter's windows and the jitter of the API's latency. */
const HEADROOM = 1.25;
/** Weight of the newest removal's time in the moving average. */
const ALPHA = 0.1;
/** What a removal is taken to last before one has been timed (ms). */
const INITIAL_MS = 100;

export interface InFlightOptions {
  /** The cap on removals a second across every worker; undefined: `DEFAULT_REMOVAL_RATE_PER_SEC`. */
  ratePerSec: number | undefined;
  /** `AUTOMOD_REMOVAL_CONCURRENCY`: the most this process ever runs at once. */
  max: number;
}

/**
 * How many removals one worker runs at once. The rate a queue can reach is in-flight / time per
 * removal (Little's law): 10 in flight at a 150 ms API never pass 66/s, whatever the cap. So the
 * bound follows the time a removal takes (a moving average of whole jobs: API call and Redis),
 * sized for the rate shared by the workers consuming the queue, and never above `max`. The
 * limiter still decides when each job starts; the bound only makes sure a slot is free when it
 * may.
 */
export class InFlightBound {
  private readonly rate: number;
  private readonly max: number;
  private averageMs = INITIAL_MS;
  private workers = 1;
  bound: number;

  constructor(options: InFlightOptions) {
    this.rate = options.ratePerSec ?? DEFAULT_REMOVAL_RATE_PER_SEC;
    this.max = Math.max(1, Math.floor(options.max));
    this.bound = this.compute();
  }

  /** Records how long one removal job took (ms) and answers the bound to use from now on. */
  observe(ms: number): number {
    if (Number.isFinite(ms) && ms >= 0) this.averageMs += ALPHA * (ms - this.averageMs);
    this.bound = this.compute();
    return this.bound;
  }

  /** Records how many workers consume the queue (this one included) and answers the bound. */
  shareWith(workers: number | undefined): number {
    this.workers = workers !== undefined && Number.isFinite(workers) && workers >= 1 ? Math.floor(workers) : 1;
    this.bound = this.compute();
    return this.bound;
  }

  private compute(): number {
    const needed = Math.ceil((this.rate * (this.averageMs / 1000) * HEADROOM) / this.workers) + 1;
    return Math.min(this.max, Math.max(1, needed));
  }
}
