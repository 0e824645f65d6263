// Routes as the generated route file declares them, and their URLs.

/**
 * A channel route (a WebSocket route speaking docs/protocol.md): its path in axum's syntax
 * (`/ws/room/{id}`, a catch-all `{*rest}`) and, as types only, what it takes and sends.
 */
export interface ChannelRoute<Params, In, Out, Request = never, Reply = never, Err = never> {
  readonly path: string;
  readonly __types?: { params: Params; in: In; out: Out; request: Request; reply: Reply; error: Err };
}

/** An event stream (SSE) route: event name -> the type of its data (`message` for unnamed events). */
export interface EventRoute<Params, Events extends Record<string, unknown>> {
  readonly path: string;
  readonly __types?: { params: Params; events: Events };
}

export function channelRoute<P, I, O, Rq = never, Rp = never, E = never>(
  path: string,
): ChannelRoute<P, I, O, Rq, Rp, E> {
  return { path };
}

export function eventRoute<P, Ev extends Record<string, unknown>>(path: string): EventRoute<P, Ev> {
  return { path };
}

/** Extra query parameters (a token, say); `null` and `undefined` values are left out. */
export type Query = Record<string, string | number | boolean | null | undefined>;

/** The page's own origin, `http(s)://host` or, for a WebSocket, `ws(s)://host`. */
export const pageOrigin = (ws?: boolean): string => {
  const location = (globalThis as { location?: { origin: string } }).location;
  if (!location) throw new Error('nitrous-client: no page here: pass options.url');
  return ws ? location.origin.replace(/^http/, 'ws') : location.origin;
};

/**
 * `base` + `path` with its params filled in (each `{name}` percent-encoded as one segment, a
 * `{*rest}` segment by segment, keeping its slashes) + the query.
 */
export const routeUrl = (base: string, path: string, params: unknown, query: Query = {}): string => {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value != null) search.append(key, '' + value);
  const filled = path.replace(/\{(\*?)(\w+)\}/g, (_, rest: string, name: string) => {
    const value = (params as Record<string, unknown> | undefined)?.[name];
    if (value == null) throw new Error(`nitrous-client: ${path} needs the param ${name}`);
    const text = '' + value;
    return rest ? text.split('/').map(encodeURIComponent).join('/') : encodeURIComponent(text);
  });
  return base.replace(/\/$/, '') + filled + (search + '' ? '?' + search : '');
};
