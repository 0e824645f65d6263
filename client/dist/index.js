// nitrous-client: typed channels (WebSocket, docs/protocol.md) and event streams (SSE) for the
// routes of a nitrous app. See README.md.
export { channelRoute, eventRoute } from './route.js';
export { connect } from './channel.js';
export { events } from './events.js';
export { ClosedError, NoticeError, QueueFullError, RequestError, TimeoutError } from './errors.js';
export { PROTOCOL } from './protocol.js';
