// The frames of the nitrous channel protocol, version 1 (docs/protocol.md).
/** The subprotocol a channel route speaks: offered in `Sec-WebSocket-Protocol`. */
export const PROTOCOL = 'nitrous.v1';
/**
 * Whether a connection that ended with this close code (or whose upgrade got this HTTP status)
 * stays closed: 1000 (closed on purpose), 1008 and 4000-4999 (refused by policy or by the app),
 * or an upgrade refused with a 4xx.
 */
export const isFinal = (code, httpStatus = 0) => code == 1000 || code == 1008 || (code >= 4000 && code < 5000) || (httpStatus >= 400 && httpStatus < 500);
