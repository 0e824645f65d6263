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
import { backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
import { ClosedError, NoticeError, QueueFullError, RequestError, TimeoutError } from './errors.js';
import { isFinal, PROTOCOL } from './protocol.js';
import { pageOrigin, routeUrl } from './route.js';
const failure = (answer) => answer.type == 'notice' ? new NoticeError(answer) : new RequestError(answer.err);
/** Opens a channel to `route` with its path `params`; it connects at once. */
export function connect(route, params, options = {}) {
    const { queueLimit = 100, requestTimeout = 10000, query } = options;
    const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    const base = options.url ?? pageOrigin(true);
    const Socket = options.WebSocket ?? globalThis.WebSocket;
    const listeners = {};
    // The last offset seen on each topic: `hello.resume` and `subscribe.since` on reconnect.
    const offsets = new Map();
    // The topics this client subscribed itself, with the callers waiting for the server's answer.
    const subscribed = new Map();
    // This connection's frames waiting for their reply or notice, by id; called with nothing when
    // the connection drops first.
    const answers = new Map();
    let queue = [];
    let status = 'connecting';
    let socket;
    let peer;
    let lastId = 0;
    let attempt = 0;
    let timer;
    // A listener that throws does not stop the others or the channel; its error is rethrown apart.
    const emit = (event, ...args) => listeners[event]?.forEach((listener) => {
        try {
            listener(...args);
        }
        catch (error) {
            queueMicrotask(() => {
                throw error;
            });
        }
    });
    const setStatus = (next, detail) => {
        status = next;
        emit('status', next, detail);
    };
    const write = (frame) => socket.send(JSON.stringify(frame));
    const nextId = (answer) => (answers.set(++lastId, answer), lastId);
    const enqueue = (waiting) => {
        if (status == 'closed')
            throw new ClosedError();
        if (status == 'open')
            waiting();
        else if (queue.length < queueLimit)
            queue.push(waiting);
        else
            throw new QueueFullError(queueLimit);
    };
    // A request or unsubscribe: queued while not open, answered by id, timed from the call.
    const call = (frame, timeout = requestTimeout) => new Promise((resolve, reject) => {
        let id = 0;
        const settle = (error, value) => {
            clearTimeout(clock);
            answers.delete(id);
            queue = queue.filter((other) => other != waiting);
            error ? reject(error) : resolve(value);
        };
        const waiting = (error) => error
            ? settle(error)
            : write(frame((id = nextId((answer) => !answer
                ? settle(new ClosedError('the connection closed before the answer'))
                : answer.type == 'reply' && 'ok' in answer
                    ? settle(undefined, answer.ok)
                    : settle(failure(answer))))));
        const clock = setTimeout(() => settle(new TimeoutError(timeout)), timeout);
        try {
            enqueue(waiting);
        }
        catch (error) {
            settle(error);
        }
    });
    const sendSubscribe = (topic) => write({
        type: 'subscribe',
        id: nextId((answer) => {
            const waiting = subscribed.get(topic);
            // Dropped first: sent again after the next welcome. Unsubscribed since: nothing waits.
            if (!answer || !waiting)
                return;
            if (answer.type == 'reply' && 'ok' in answer)
                return waiting.splice(0).forEach(([resolve]) => resolve());
            subscribed.delete(topic);
            const error = failure(answer);
            // Nobody waits when a re-subscribe after a reconnect is refused: tell the listeners.
            if (waiting.length)
                waiting.forEach(([, reject]) => reject(error));
            else if (answer.type == 'notice')
                emit('notice', answer);
        }),
        topic,
        since: offsets.get(topic),
    });
    const receive = (text) => {
        let frame;
        try {
            frame = JSON.parse(text);
        }
        catch {
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
                if (frame.offset != null)
                    offsets.set(frame.topic, frame.offset);
                return emit('topic', frame.data, { topic: frame.topic, offset: frame.offset });
            case 'presence':
                return emit('presence', frame);
            case 'gap':
                // A null `resumed_at` keeps the offset the client had: the next resume is told of the gap
                // again rather than skipping what came in between without a word.
                if (frame.resumed_at != null)
                    offsets.set(frame.topic, frame.resumed_at);
                return emit('gap', frame);
            case 'reply':
            case 'notice': {
                const answer = answers.get(frame.id);
                if (answer) {
                    answers.delete(frame.id);
                    answer(frame);
                }
                else if (frame.type == 'notice')
                    emit('notice', frame);
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
    const shut = (detail) => {
        clearTimeout(timer);
        status = 'closed';
        const error = new ClosedError();
        queue.splice(0).forEach((waiting) => waiting(error));
        subscribed.forEach((waiting) => waiting.forEach(([, reject]) => reject(error)));
        subscribed.clear();
        setStatus('closed', detail);
    };
    const open = () => {
        let httpStatus;
        const url = routeUrl(base, route.path, params, typeof query == 'function' ? query() : query);
        const ws = (socket = new Socket(url, PROTOCOL));
        // Events of a socket the channel has left (closed, or replaced) are not its business.
        const own = (handler) => (event) => {
            if (ws == socket)
                handler(event);
        };
        ws.onopen = own(() => {
            lastId = 0;
            write({ type: 'hello', resume: offsets.size ? Object.fromEntries(offsets) : undefined });
        });
        ws.onmessage = own((event) => typeof event.data == 'string' && receive(event.data));
        ws.onclose = own(({ code, reason }) => {
            const detail = { code, reason, httpStatus };
            drop();
            if (isFinal(code, httpStatus))
                return shut(detail);
            // 1012: the server restarts (a `cargo nitrous dev` swap): come back at once. In a browser a
            // refused upgrade is a 1006 before open, indistinguishable from a server that is down.
            detail.delay = code == 1012 ? 0 : backoffDelay(backoff, attempt++);
            if (code == 1012)
                open();
            else
                timer = setTimeout(open, detail.delay);
            setStatus('reconnecting', detail);
        });
        // `ws` throws an 'error' event that nobody listens to; the close event that follows decides.
        ws.onerror = () => { };
        ws.on?.('unexpected-response', (_, response) => {
            httpStatus = response.statusCode;
            ws.close();
        });
    };
    const channel = {
        get status() {
            return status;
        },
        get peer() {
            return peer;
        },
        send: (data) => enqueue((error) => error || write({ type: 'message', data })),
        request: (data, options) => call((id) => ({ type: 'request', id, data }), options?.timeout),
        subscribe: (topic) => new Promise((resolve, reject) => {
            if (status == 'closed')
                throw new ClosedError();
            const waiting = subscribed.get(topic);
            if (!waiting) {
                subscribed.set(topic, [[resolve, reject]]);
                if (status == 'open')
                    sendSubscribe(topic);
            }
            else if (waiting.length)
                waiting.push([resolve, reject]);
            else
                resolve();
        }),
        unsubscribe: (topic) => {
            // A subscribe still waiting is settled as done, then undone.
            subscribed.get(topic)?.forEach(([resolve]) => resolve());
            subscribed.delete(topic);
            offsets.delete(topic);
            return call((id) => ({ type: 'unsubscribe', id, topic }));
        },
        on: (event, listener) => {
            const set = (listeners[event] ?? (listeners[event] = new Set()));
            set.add(listener);
            return () => set.delete(listener);
        },
        close: () => {
            if (status == 'closed')
                return;
            const ws = socket;
            drop();
            ws?.close(1000);
            shut({ code: 1000, reason: '' });
        },
        isRequestError: (error) => error instanceof RequestError,
    };
    open();
    return channel;
}
