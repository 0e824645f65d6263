// How a send, a request or a subscribe fails.
/** `send` (or `request`) while disconnected with `queueLimit` frames already waiting. */
export class QueueFullError extends Error {
    constructor(limit) {
        super(`nitrous-client: ${limit} frames already wait for the connection`);
        this.limit = limit;
        this.name = 'QueueFullError';
    }
}
/** The route's `request` hook answered with its error type: `err`. */
export class RequestError extends Error {
    constructor(err) {
        super('nitrous-client: the request failed: ' + JSON.stringify(err));
        this.err = err;
        this.name = 'RequestError';
    }
}
/** The server did not accept the frame (`not-allowed`, `no-requests`, `bad-data`, ...). */
export class NoticeError extends Error {
    constructor(notice) {
        super(`nitrous-client: ${notice.code}: ${notice.message}`);
        this.name = 'NoticeError';
        this.code = notice.code;
        this.id = notice.id;
    }
}
/** No answer within the request's timeout (counted from the call, time in the queue included). */
export class TimeoutError extends Error {
    constructor(timeout) {
        super(`nitrous-client: no answer within ${timeout} ms`);
        this.timeout = timeout;
        this.name = 'TimeoutError';
    }
}
/**
 * The connection closed before the answer came (the server may or may not have handled the
 * request: the channel reconnects, call again if that is safe), or the channel is closed for good
 * (`status` is `'closed'`).
 */
export class ClosedError extends Error {
    constructor(message = 'the channel is closed') {
        super('nitrous-client: ' + message);
        this.name = 'ClosedError';
    }
}
