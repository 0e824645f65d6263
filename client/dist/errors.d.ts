import type { Notice } from './protocol.js';
/** `send` (or `request`) while disconnected with `queueLimit` frames already waiting. */
export declare class QueueFullError extends Error {
    readonly limit: number;
    name: string;
    constructor(limit: number);
}
/** The route's `request` hook answered with its error type: `err`. */
export declare class RequestError<Err = unknown> extends Error {
    readonly err: Err;
    name: string;
    constructor(err: Err);
}
/** The server did not accept the frame (`not-allowed`, `no-requests`, `bad-data`, ...). */
export declare class NoticeError extends Error {
    name: string;
    readonly code: Notice['code'];
    readonly id?: number;
    constructor(notice: Notice);
}
/** No answer within the request's timeout (counted from the call, time in the queue included). */
export declare class TimeoutError extends Error {
    readonly timeout: number;
    name: string;
    constructor(timeout: number);
}
/**
 * The connection closed before the answer came (the server may or may not have handled the
 * request: the channel reconnects, call again if that is safe), or the channel is closed for good
 * (`status` is `'closed'`).
 */
export declare class ClosedError extends Error {
    name: string;
    constructor(message?: string);
}
