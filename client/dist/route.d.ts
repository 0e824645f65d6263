/**
 * A channel route (a WebSocket route speaking docs/protocol.md): its path in axum's syntax
 * (`/ws/room/{id}`, a catch-all `{*rest}`) and, as types only, what it takes and sends.
 */
export interface ChannelRoute<Params, In, Out, Request = never, Reply = never, Err = never> {
    readonly path: string;
    readonly __types?: {
        params: Params;
        in: In;
        out: Out;
        request: Request;
        reply: Reply;
        error: Err;
    };
}
/** An event stream (SSE) route: event name -> the type of its data (`message` for unnamed events). */
export interface EventRoute<Params, Events extends Record<string, unknown>> {
    readonly path: string;
    readonly __types?: {
        params: Params;
        events: Events;
    };
}
export declare function channelRoute<P, I, O, Rq = never, Rp = never, E = never>(path: string): ChannelRoute<P, I, O, Rq, Rp, E>;
export declare function eventRoute<P, Ev extends Record<string, unknown>>(path: string): EventRoute<P, Ev>;
/** Extra query parameters (a token, say); `null` and `undefined` values are left out. */
export type Query = Record<string, string | number | boolean | null | undefined>;
/** The page's own origin, `http(s)://host` or, for a WebSocket, `ws(s)://host`. */
export declare const pageOrigin: (ws?: boolean) => string;
/**
 * `base` + `path` with its params filled in (each `{name}` percent-encoded as one segment, a
 * `{*rest}` segment by segment, keeping its slashes) + the query.
 */
export declare const routeUrl: (base: string, path: string, params: unknown, query?: Query) => string;
