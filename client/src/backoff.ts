// How long to wait before reconnecting.

/** Reconnect delays in milliseconds. */
export interface Backoff {
  /** The ceiling of the first delay. Default 500. */
  initial: number;
  /** The largest ceiling. Default 20000. */
  max: number;
}

export const DEFAULT_BACKOFF: Backoff = { initial: 500, max: 20000 };

/**
 * The delay before reconnect number `attempt` (0 for the first after a drop), with full jitter:
 * random(0, min(max, initial * 2^attempt)), so that clients dropped together do not come back
 * together.
 */
export const backoffDelay = ({ initial, max }: Backoff, attempt: number): number =>
  Math.random() * Math.min(max, initial * 2 ** attempt);
