// Test doubles: a WebSocket and an EventSource the test drives by hand.

/**
 * A WebSocket class of its own for one test: `Socket.all` lists the sockets the channel made; each
 * records the frames sent (parsed) and lets the test open it, deliver frames and close it.
 * With `withStatus`, the class has `ws`'s `on('unexpected-response')`, and `refuse(status)`
 * plays a refused upgrade as `ws` does.
 */
export function fakeSocketClass({ withStatus = false } = {}) {
  class FakeSocket {
    static all = [];
    static get last() {
      return FakeSocket.all.at(-1);
    }
    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols;
      this.sent = [];
      this.closedWith = undefined;
      this.listeners = {};
      FakeSocket.all.push(this);
    }
    send(text) {
      this.sent.push(JSON.parse(text));
    }
    close(code, reason) {
      this.closedWith = { code, reason };
    }
    open() {
      this.onopen?.({});
    }
    deliver(frame) {
      this.onmessage?.({ data: typeof frame == 'string' ? frame : JSON.stringify(frame) });
    }
    /** Opens the socket and sends `welcome`. */
    welcome(peer = 'peer-1') {
      this.open();
      this.deliver({ type: 'welcome', protocol: 1, peer });
    }
    /** The server (or the network) ends the connection. */
    drop(code, reason = '') {
      this.onclose?.({ code, reason });
    }
    /** A refused upgrade as `ws` reports it: `unexpected-response`, then (after close()) 1006. */
    refuse(statusCode) {
      for (const listener of this.listeners['unexpected-response'] ?? []) listener({}, { statusCode });
      this.onerror?.({});
      this.drop(1006);
    }
  }
  if (withStatus) {
    FakeSocket.prototype.on = function (event, listener) {
      (this.listeners[event] ??= []).push(listener);
      return this;
    };
  }
  return FakeSocket;
}

/** An EventSource that records its URL and listeners; `dispatch` plays an event. */
export function fakeEventSourceClass() {
  class FakeEventSource {
    static all = [];
    constructor(url, init) {
      this.url = url;
      this.init = init;
      this.listeners = new Map();
      this.closed = false;
      FakeEventSource.all.push(this);
    }
    addEventListener(type, listener) {
      if (!this.listeners.has(type)) this.listeners.set(type, new Set());
      this.listeners.get(type).add(listener);
    }
    removeEventListener(type, listener) {
      this.listeners.get(type)?.delete(listener);
    }
    close() {
      this.closed = true;
    }
    dispatch(type, event) {
      for (const listener of this.listeners.get(type) ?? []) listener(event);
    }
  }
  return FakeEventSource;
}

/** Records a channel's events as [name, ...args] in order. */
export function record(channel, names = ['message', 'topic', 'gap', 'notice', 'status']) {
  const seen = [];
  for (const name of names) channel.on(name, (...args) => seen.push([name, ...args]));
  return seen;
}

/** Lets pending promise callbacks run (no timers involved). */
export const settled = () => new Promise((resolve) => setImmediate(resolve));
