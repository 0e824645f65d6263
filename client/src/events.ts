// An event stream (SSE): the browser's EventSource, typed by the route's events.

import { pageOrigin, routeUrl, type EventRoute, type Query } from './route.js';

/** What `events` uses of an EventSource: the browser's, or the `eventsource` package's in Node. */
export interface EventSourceLike {
  addEventListener(type: string, listener: (event: any) => void): void;
  removeEventListener(type: string, listener: (event: any) => void): void;
  close(): void;
}

export type EventSourceConstructor = new (url: string, init?: { withCredentials?: boolean }) => EventSourceLike;

export interface EventsOptions {
  /** `http(s)://host[:port]`; default: the page's own origin. */
  url?: string;
  /** The EventSource constructor; default: the global one. */
  EventSource?: EventSourceConstructor;
  query?: Query;
  /**
   * Resume after this event id: sent on the first connection as the `lastEventID` query
   * parameter (EventSource sends `Last-Event-ID` itself on its own reconnects, and it wins).
   */
  lastEventId?: string;
  withCredentials?: boolean;
}

export interface EventStream<Events extends Record<string, unknown>> {
  /**
   * Calls `listener` with each event named `name` (`message` for unnamed ones): its data
   * `JSON.parse`d when it parses, else the string, and the event's `lastEventId`.
   * Returns the function that removes the listener.
   */
  on<K extends keyof Events & string>(name: K, listener: (data: Events[K], id: string) => void): () => void;
  /** Stops the stream; EventSource does not reconnect after it. */
  close(): void;
  /** The EventSource itself: its `readyState`, its `error` events. */
  readonly source: EventSourceLike;
}

/** Opens an event stream to `route` with its path `params`. */
export function events<P, Ev extends Record<string, unknown>>(
  route: EventRoute<P, Ev>,
  params: P,
  options: EventsOptions = {},
): EventStream<Ev> {
  const Source: EventSourceConstructor = options.EventSource ?? (globalThis as any).EventSource;
  const url = routeUrl(options.url ?? pageOrigin(), route.path, params, {
    ...options.query,
    lastEventID: options.lastEventId,
  });
  const source = new Source(url, { withCredentials: options.withCredentials });
  return {
    source,
    on: (name, listener) => {
      const handler = (event: { data?: unknown; lastEventId: string }) => {
        // EventSource's own `error` events carry no data: they are not the app's.
        if (typeof event.data != 'string') return;
        let data: unknown = event.data;
        try {
          data = JSON.parse(event.data);
        } catch {}
        listener(data as Ev[typeof name], event.lastEventId);
      };
      source.addEventListener(name, handler);
      return () => source.removeEventListener(name, handler);
    },
    close: () => source.close(),
  };
}
