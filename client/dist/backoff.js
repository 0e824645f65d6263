// How long to wait before reconnecting.
export const DEFAULT_BACKOFF = { initial: 500, max: 20000 };
/**
 * The delay before reconnect number `attempt` (0 for the first after a drop), with full jitter:
 * random(0, min(max, initial * 2^attempt)), so that clients dropped together do not come back
 * together.
 */
export const backoffDelay = ({ initial, max }, attempt) => Math.random() * Math.min(max, initial * 2 ** attempt);
