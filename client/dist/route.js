// Routes as the generated route file declares them, and their URLs.
export function channelRoute(path) {
    return { path };
}
export function eventRoute(path) {
    return { path };
}
/** The page's own origin, `http(s)://host` or, for a WebSocket, `ws(s)://host`. */
export const pageOrigin = (ws) => {
    const location = globalThis.location;
    if (!location)
        throw new Error('nitrous-client: no page here: pass options.url');
    return ws ? location.origin.replace(/^http/, 'ws') : location.origin;
};
/**
 * `base` + `path` with its params filled in (each `{name}` percent-encoded as one segment, a
 * `{*rest}` segment by segment, keeping its slashes) + the query.
 */
export const routeUrl = (base, path, params, query = {}) => {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query))
        if (value != null)
            search.append(key, '' + value);
    const filled = path.replace(/\{(\*?)(\w+)\}/g, (_, rest, name) => {
        const value = params?.[name];
        if (value == null)
            throw new Error(`nitrous-client: ${path} needs the param ${name}`);
        const text = '' + value;
        return rest ? text.split('/').map(encodeURIComponent).join('/') : encodeURIComponent(text);
    });
    return base.replace(/\/$/, '') + filled + (search + '' ? '?' + search : '');
};
