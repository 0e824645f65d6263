// An event stream (SSE): the browser's EventSource, typed by the route's events.
import { pageOrigin, routeUrl } from './route.js';
/** Opens an event stream to `route` with its path `params`. */
export function events(route, params, options = {}) {
    const Source = options.EventSource ?? globalThis.EventSource;
    const url = routeUrl(options.url ?? pageOrigin(), route.path, params, {
        ...options.query,
        lastEventID: options.lastEventId,
    });
    const source = new Source(url, { withCredentials: options.withCredentials });
    return {
        source,
        on: (name, listener) => {
            const handler = (event) => {
                // EventSource's own `error` events carry no data: they are not the app's.
                if (typeof event.data != 'string')
                    return;
                let data = event.data;
                try {
                    data = JSON.parse(event.data);
                }
                catch { }
                listener(data, event.lastEventId);
            };
            source.addEventListener(name, handler);
            return () => source.removeEventListener(name, handler);
        },
        close: () => source.close(),
    };
}
