// The frames of the nitrous channel protocol, version 1 (docs/protocol.md).

/** The subprotocol a channel route speaks: offered in `Sec-WebSocket-Protocol`. */
export const PROTOCOL = 'nitrous.v1';

/** What the client sends. */
export type ClientFrame<In = unknown, Request = unknown> =
  | { type: 'hello'; resume?: Record<string, string> }
  | { type: 'message'; data: In }
  | { type: 'request'; id: number; data: Request }
  | { type: 'subscribe'; id: number; topic: string; since?: string }
  | { type: 'unsubscribe'; id: number; topic: string };

/** What the server sends. */
export type ServerFrame<Out = unknown, Reply = unknown, Err = unknown> =
  | { type: 'welcome'; protocol: 1; peer: string }
  | { type: 'message'; data: Out }
  | { type: 'topic'; topic: string; offset?: string; data: Out }
  | ({ type: 'gap' } & Gap)
  | ({ type: 'presence' } & Presence)
  | ReplyFrame<Reply, Err>
  | ({ type: 'notice' } & Notice);

/** The answer to a `request`, `subscribe` or `unsubscribe`: `ok` or `err`. */
export type ReplyFrame<Reply = unknown, Err = unknown> =
  | { type: 'reply'; id: number; ok: Reply }
  | { type: 'reply'; id: number; err: Err };

/** A retained topic skipped messages: what came between `after` and `resumed_at` is lost. */
export interface Gap {
  topic: string;
  after: string | null;
  resumed_at: string | null;
}

/** Someone joined or left a topic whose presence the server tracks (`hub.track_presence`). */
export interface Presence<Info = unknown> {
  topic: string;
  event: 'join' | 'leave';
  /** The member's id: unique across the server's instances. */
  member: string;
  /** What the app gave the member when it joined; `null` for a plain subscribe. */
  info: Info;
}

/** The codes of version 1; a later server may send others. */
export type NoticeCode =
  | 'bad-json'
  | 'bad-data'
  | 'unknown-type'
  | 'unsupported'
  | 'no-requests'
  | 'bad-id'
  | 'not-allowed';

/** A frame the server could not accept; `id` when it concerns a request. */
export interface Notice {
  code: NoticeCode | (string & {});
  message: string;
  id?: number;
}

/**
 * Whether a connection that ended with this close code (or whose upgrade got this HTTP status)
 * stays closed: 1000 (closed on purpose), 1008 and 4000-4999 (refused by policy or by the app),
 * or an upgrade refused with a 4xx.
 */
export const isFinal = (code: number, httpStatus = 0): boolean =>
  code == 1000 || code == 1008 || (code >= 4000 && code < 5000) || (httpStatus >= 400 && httpStatus < 500);
