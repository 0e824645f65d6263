// How a send, a request or a subscribe fails.

import type { Notice } from './protocol.js';

/** `send` (or `request`) while disconnected with `queueLimit` frames already waiting. */
export class QueueFullError extends Error {
  override name = 'QueueFullError';
  constructor(readonly limit: number) {
    super(`nitrous-client: ${limit} frames already wait for the connection`);
  }
}

/** The route's `request` hook answered with its error type: `err`. */
export class RequestError<Err = unknown> extends Error {
  override name = 'RequestError';
  constructor(readonly err: Err) {
    super('nitrous-client: the request failed: ' + JSON.stringify(err));
  }
}

/** The server did not accept the frame (`not-allowed`, `no-requests`, `bad-data`, ...). */
export class NoticeError extends Error {
  override name = 'NoticeError';
  readonly code: Notice['code'];
  readonly id?: number;
  constructor(notice: Notice) {
    super(`nitrous-client: ${notice.code}: ${notice.message}`);
    this.code = notice.code;
    this.id = notice.id;
  }
}

/** No answer within the request's timeout (counted from the call, time in the queue included). */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
  constructor(readonly timeout: number) {
    super(`nitrous-client: no answer within ${timeout} ms`);
  }
}

/**
 * The connection closed before the answer came (the server may or may not have handled the
 * request: the channel reconnects, call again if that is safe), or the channel is closed for good
 * (`status` is `'closed'`).
 */
export class ClosedError extends Error {
  override name = 'ClosedError';
  constructor(message = 'the channel is closed') {
    super('nitrous-client: ' + message);
  }
}
