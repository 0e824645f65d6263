// nitrous-client: typed channels (WebSocket, docs/protocol.md) and event streams (SSE) for the
// routes of a nitrous app. See README.md.

export { channelRoute, eventRoute } from './route.js';
export type { ChannelRoute, EventRoute, Query } from './route.js';
export { connect } from './channel.js';
export type {
  Channel,
  ChannelEvents,
  ConnectOptions,
  RequestOptions,
  SocketConstructor,
  SocketLike,
  Status,
  StatusDetail,
  TopicMeta,
} from './channel.js';
export { events } from './events.js';
export type { EventSourceConstructor, EventSourceLike, EventStream, EventsOptions } from './events.js';
export { ClosedError, NoticeError, QueueFullError, RequestError, TimeoutError } from './errors.js';
export { PROTOCOL } from './protocol.js';
export type { ClientFrame, Gap, Notice, NoticeCode, Presence, ReplyFrame, ServerFrame } from './protocol.js';
export type { Backoff } from './backoff.js';
