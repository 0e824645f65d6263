// A channel: one WebSocket to a channel route (docs/protocol.md) that reconnects, resumes its
// topics where it left them, and keeps what is sent while it is away.
//
// Across a reconnect:
// - `send`s and `request`s made while the channel is not open wait in a queue (at most
//   `queueLimit` frames) and go out in order after the next `welcome`, after the `subscribe`s;
// - a `request` already sent when the connection drops is rejected with a `ClosedError`: the
//   server may or may not have handled it, and will never answer it (ids are per connection), so
//   it is not sent again behind the caller's back; call again if the request is safe to repeat;
// - a `subscribe` is the client's own: it is sent again, with `since` = the last offset seen, after
//   every reconnect, and its promise waits through reconnects for the server's answer;
// - topics the route's `open` hook subscribes to are resumed through `hello.resume`.

import { backoffDelay, DEFAULT_BACKOFF, type Backoff } from './backoff.js';
import { ClosedError, NoticeError, QueueFullError, RequestError, TimeoutError } from './errors.js';
import { isFinal, PROTOCOL, type ClientFrame, type Gap, type Notice, type Presence, type ServerFrame } from './protocol.js';
import { pageOrigin, routeUrl, type ChannelRoute, type Query } from './route.js';

/** What the channel uses of a WebSocket: the browser's, or the `ws` package's in Node. */
export interface SocketLike {
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** `ws`'s `unexpected-response` tells the HTTP status of a refused upgrade; a browser hides it. */
  on?(event: 'unexpected-response', listener: (request: any, response: { statusCode?: number }) => void): unknown;
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

/** A frame that waits for the connection: called with nothing to send it, with an error to fail it. */
type Waiting = (error?: Error) => void;
type Answer = Extract<ServerFrame, { type: 'reply' | 'notice' }>;

const failure = (answer: Answer): Error =>
  answer.type == 'notice' ? new NoticeError(answer) : new RequestError((answer as { err: unknown }).err);

/** Opens a channel to `route` with its path `params`; it connects at once. */
export function connect<P, I, O, Rq, Rp, E>(
  route: ChannelRoute<P, I, O, Rq, Rp, E>,
  params: P,
  options: ConnectOptions = {},
): Channel<I, O, Rq, Rp, E> {
  const { queueLimit = 100, requestTimeout = 10000, query } = options;
  const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  const base = options.url ?? pageOrigin(true);
  const Socket: SocketConstructor = options.WebSocket ?? (globalThis as any).WebSocket;
  const listeners: Record<string, Set<(...args: any[]) => void>> = {};
  // The last offset seen on each topic: `hello.resume` and `subscribe.since` on reconnect.
  const offsets = new Map<string, string>();
  // The topics this client subscribed itself, with the callers waiting for the server's answer.
  const subscribed = new Map<string, [() => void, (error: Error) => void][]>();
  // This connection's frames waiting for their reply or notice, by id; called with nothing when
  // the connection drops first.
  const answers = new Map<number, (answer?: Answer) => void>();
  let queue: Waiting[] = [];
  let status: Status = 'connecting';
  let socket: SocketLike | undefined;
  let peer: string | undefined;
  let lastId = 0;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  // A listener that throws does not stop the others or the channel; its error is rethrown apart.
  const emit = (event: keyof ChannelEvents<O>, ...args: unknown[]) =>
    listeners[event]?.forEach((listener) => {
      try {
        listener(...args);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    });
  const setStatus = (next: Status, detail?: StatusDetail) => {
    status = next;
    emit('status', next, detail);
  };
  const write = (frame: ClientFrame) => socket!.send(JSON.stringify(frame));
  const nextId = (answer: (answer?: Answer) => void) => (answers.set(++lastId, answer), lastId);
  const enqueue = (waiting: Waiting) => {
    if (status == 'closed') throw new ClosedError();
    if (status == 'open') waiting();
    else if (queue.length < queueLimit) queue.push(waiting);
    else throw new QueueFullError(queueLimit);
  };

  // A request or unsubscribe: queued while not open, answered by id, timed from the call.
  const call = <T>(frame: (id: number) => ClientFrame, timeout = requestTimeout) =>
    new Promise<T>((resolve, reject) => {
      let id = 0;
      const settle = (error?: Error, value?: unknown) => {
        clearTimeout(clock);
        answers.delete(id);
        queue = queue.filter((other) => other != waiting);
        error ? reject(error) : resolve(value as T);
      };
      const waiting: Waiting = (error) =>
        error
          ? settle(error)
          : write(
              frame(
                (id = nextId((answer) =>
                  !answer
                    ? settle(new ClosedError('the connection closed before the answer'))
                    : answer.type == 'reply' && 'ok' in answer
                      ? settle(undefined, answer.ok)
                      : settle(failure(answer)),
                )),
              ),
            );
      const clock = setTimeout(() => settle(new TimeoutError(timeout)), timeout);
      try {
        enqueue(waiting);
      } catch (error) {
        settle(error as Error);
      }
    });

  const sendSubscribe = (topic: string) =>
    write({
      type: 'subscribe',
      id: nextId((answer) => {
        const waiting = subscribed.get(topic);
        // Dropped first: sent again after the next welcome. Unsubscribed since: nothing waits.
        if (!answer || !waiting) return;
        if (answer.type == 'reply' && 'ok' in answer) return waiting.splice(0).forEach(([resolve]) => resolve());
        subscribed.delete(topic);
        const error = failure(answer);
        // Nobody waits when a re-subscribe after a reconnect is refused: tell the listeners.
        if (waiting.length) waiting.forEach(([, reject]) => reject(error));
        else if (answer.type == 'notice') emit('notice', answer);
      }),
      topic,
      since: offsets.get(topic),
    });

  const receive = (text: string) => {
    let frame: ServerFrame<O>;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    switch (frame?.type) {
      case 'welcome': {
        peer = frame.peer;
        attempt = 0;
        subscribed.forEach((_, topic) => sendSubscribe(topic));
        const waiting = queue;
        queue = [];
        waiting.forEach((send) => send());
        return setStatus('open');
      }
      case 'message':
        return emit('message', frame.data);
      case 'topic':
        if (frame.offset != null) offsets.set(frame.topic, frame.offset);
        return emit('topic', frame.data, { topic: frame.topic, offset: frame.offset });
      case 'presence':
        return emit('presence', frame);
      case 'gap':
        // A null `resumed_at` keeps the offset the client had: the next resume is told of the gap
        // again rather than skipping what came in between without a word.
        if (frame.resumed_at != null) offsets.set(frame.topic, frame.resumed_at);
        return emit('gap', frame);
      case 'reply':
      case 'notice': {
        const answer = answers.get(frame.id!);
        if (answer) {
          answers.delete(frame.id!);
          answer(frame);
        } else if (frame.type == 'notice') emit('notice', frame);
      }
    }
  };

  // Forgets the socket; what waits for an answer on it gets none.
  const drop = () => {
    socket = undefined;
    const waiting = [...answers.values()];
    answers.clear();
    waiting.forEach((answer) => answer());
  };

  const shut = (detail: StatusDetail) => {
    clearTimeout(timer);
    status = 'closed';
    const error = new ClosedError();
    queue.splice(0).forEach((waiting) => waiting(error));
    subscribed.forEach((waiting) => waiting.forEach(([, reject]) => reject(error)));
    subscribed.clear();
    setStatus('closed', detail);
  };

  const open = () => {
    let httpStatus: number | undefined;
    const url = routeUrl(base, route.path, params, typeof query == 'function' ? query() : query);
    const ws = (socket = new Socket(url, PROTOCOL));
    // Events of a socket the channel has left (closed, or replaced) are not its business.
    const own =
      (handler: (event: any) => void) =>
      (event: any): void => {
        if (ws == socket) handler(event);
      };
    ws.onopen = own(() => {
      lastId = 0;
      write({ type: 'hello', resume: offsets.size ? Object.fromEntries(offsets) : undefined });
    });
    ws.onmessage = own((event) => typeof event.data == 'string' && receive(event.data));
    ws.onclose = own(({ code, reason }) => {
      const detail: StatusDetail = { code, reason, httpStatus };
      drop();
      if (isFinal(code, httpStatus)) return shut(detail);
      // 1012: the server restarts (a `cargo nitrous dev` swap): come back at once. In a browser a
      // refused upgrade is a 1006 before open, indistinguishable from a server that is down.
      detail.delay = code == 1012 ? 0 : backoffDelay(backoff, attempt++);
      if (code == 1012) open();
      else timer = setTimeout(open, detail.delay);
      setStatus('reconnecting', detail);
    });
    // `ws` throws an 'error' event that nobody listens to; the close event that follows decides.
    ws.onerror = () => {};
    ws.on?.('unexpected-response', (_, response) => {
      httpStatus = response.statusCode;
      ws.close();
    });
  };

  const channel: Channel<I, O, Rq, Rp, E> = {
    get status() {
      return status;
    },
    get peer() {
      return peer;
    },
    send: (data) => enqueue((error) => error || write({ type: 'message', data })),
    request: (data, options) => call((id) => ({ type: 'request', id, data }), options?.timeout),
    subscribe: (topic) =>
      new Promise((resolve, reject) => {
        if (status == 'closed') throw new ClosedError();
        const waiting = subscribed.get(topic);
        if (!waiting) {
          subscribed.set(topic, [[resolve, reject]]);
          if (status == 'open') sendSubscribe(topic);
        } else if (waiting.length) waiting.push([resolve, reject]);
        else resolve();
      }),
    unsubscribe: (topic) => {
      // A subscribe still waiting is settled as done, then undone.
      subscribed.get(topic)?.forEach(([resolve]) => resolve());
      subscribed.delete(topic);
      offsets.delete(topic);
      return call((id) => ({ type: 'unsubscribe', id, topic }));
    },
    on: (event, listener) => {
      const set = (listeners[event] ??= new Set());
      set.add(listener);
      return () => set.delete(listener);
    },
    close: () => {
      if (status == 'closed') return;
      const ws = socket;
      drop();
      ws?.close(1000);
      shut({ code: 1000, reason: '' });
    },
    isRequestError: (error): error is RequestError<E> => error instanceof RequestError,
  };
  open();
  return channel;
}
