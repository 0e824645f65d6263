/** Reconnect delays in milliseconds. */
export interface Backoff {
    /** The ceiling of the first delay. Default 500. */
    initial: number;
    /** The largest ceiling. Default 20000. */
    max: number;
}
export declare const DEFAULT_BACKOFF: Backoff;
/**
 * The delay before reconnect number `attempt` (0 for the first after a drop), with full jitter:
 * random(0, min(max, initial * 2^attempt)), so that clients dropped together do not come back
 * together.
 */
export declare const backoffDelay: ({ initial, max }: Backoff, attempt: number) => number;
