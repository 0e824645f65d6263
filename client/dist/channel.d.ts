import { type Backoff } from './backoff.js';
import { RequestError } from './errors.js';
import { type Gap, type Notice, type Presence } from './protocol.js';
import { type ChannelRoute, type Query } from './route.js';
/** What the channel uses of a WebSocket: the browser's, or the `ws` package's in Node. */
export interface SocketLike {
    onopen: ((event: any) => void) | null;
    onmessage: ((event: any) => void) | null;
    onclose: ((event: any) => void) | null;
    onerror: ((event: any) => void) | null;
    send(data: string): void;
    close(code?: number, reason?: string): void;
    /** `ws`'s `unexpected-response` tells the HTTP status of a refused upgrade; a browser hides it. */
    on?(event: 'unexpected-response', listener: (request: any, response: {
        statusCode?: number;
    }) => void): unknown;
}
export type SocketConstructor = new (url: string, protocols: string) => SocketLike;
/**
 * `connecting` until the first `welcome`, then `open`; `reconnecting` from a drop to the next
 * `welcome`; `closed` for good (by `close()`, a close code or a refused upgrade that says so).
 */
export type Status = 'connecting' | 'open' | 'reconnecting' | 'closed';
/** Why the channel is `reconnecting` or `closed`. */
export interface StatusDetail {
    /** The close code of the connection that ended (1006 when it never opened). */
    code: number;
    reason: string;
    /** The HTTP status of a refused upgrade, where the WebSocket tells it (Node's `ws`). */
    httpStatus?: number;
    /** While `reconnecting`: milliseconds until the next attempt. */
    delay?: number;
}
/** Where a topic frame came from: its topic, and its offset on a retained topic. */
export interface TopicMeta {
    topic: string;
    offset?: string;
}
export interface ChannelEvents<Out> {
    /** `peer.send`: a message to this client alone. */
    message: (data: Out) => void;
    /** A message published on a topic this client is subscribed to. */
    topic: (data: Out, meta: TopicMeta) => void;
    /** A resumed topic skipped messages: reload what you show for it. */
    gap: (gap: Gap) => void;
    /** Someone joined or left a subscribed topic whose presence the server tracks. */
    presence: (presence: Presence) => void;
    /** A frame the server could not accept, other than an answer to a request or subscribe. */
    notice: (notice: Notice) => void;
    status: (status: Status, detail?: StatusDetail) => void;
}
export interface ConnectOptions {
    /** `ws(s)://host[:port]`; default: the page's own host (wss on https). */
    url?: string;
    /** The WebSocket constructor; default: the global one. In Node 20: `WebSocket` from `ws`. */
    WebSocket?: SocketConstructor;
    /** Reconnect delays (ms), with full jitter; default `{ initial: 500, max: 20000 }`. */
    backoff?: Partial<Backoff>;
    /** How many frames may wait while the channel is not open; default 100. */
    queueLimit?: number;
    /** Milliseconds a request waits for its reply, from the call; default 10000. */
    requestTimeout?: number;
    /** Extra query parameters; a function is asked again on every (re)connect, for fresh tokens. */
    query?: Query | (() => Query);
}
export interface RequestOptions {
    /** Milliseconds to wait for the reply; default: the channel's `requestTimeout`. */
    timeout?: number;
}
export interface Channel<In, Out, Request = never, Reply = never, Err = never> {
    readonly status: Status;
    /** The id the server gave this connection (`welcome.peer`). */
    readonly peer: string | undefined;
    /** Sends a message now if open, else queues it; throws `QueueFullError` past `queueLimit`. */
    send(data: In): void;
    /**
     * Resolves with the reply's `ok`; rejects with `RequestError` (the route's `err`),
     * `NoticeError`, `TimeoutError`, `QueueFullError` or `ClosedError` (see the top of this file).
     */
    request(data: Request, options?: RequestOptions): Promise<Reply>;
    /** Resolves when the server accepts; rejects with `NoticeError` (`not-allowed`) when not. */
    subscribe(topic: string): Promise<void>;
    unsubscribe(topic: string): Promise<void>;
    /** Adds a listener; returns the function that removes it. */
    on<K extends keyof ChannelEvents<Out>>(event: K, listener: ChannelEvents<Out>[K]): () => void;
    /** Closes with 1000 and stays closed; what waits is rejected with `ClosedError`. */
    close(): void;
    /** Whether `error` is this route's `RequestError`, with `err` typed. */
    isRequestError(error: unknown): error is RequestError<Err>;
}
/** Opens a channel to `route` with its path `params`; it connects at once. */
export declare function connect<P, I, O, Rq, Rp, E>(route: ChannelRoute<P, I, O, Rq, Rp, E>, params: P, options?: ConnectOptions): Channel<I, O, Rq, Rp, E>;
