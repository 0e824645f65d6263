// The Bun side of `cargo xtask bench`: the protocol of `bench-nitrous` and `bench-axum`, written
// as a Bun user writes it. `/ws/echo` sends every message back to its sender; every peer of
// `/ws/fan` subscribes to the topic `fan` (then gets `ready`, so a client knows its join is done),
// and what it sends is published on `fan` to every subscriber but itself (uWebSockets' topics,
// through `ws.subscribe` and `ws.publish`); `/api/sse?n=` streams `n` events of 64 bytes as fast
// as the client reads them, then ends. Prints its address (`127.0.0.1:PORT`) on its first line.
//
// Bun's defaults throughout: among them `idleTimeout` 120 s with pings, `maxPayloadLength`
// 16 MiB, `backpressureLimit` 1 MiB per connection, no compression.

const payload = "x".repeat(64);

/// Upgrades to a WebSocket whose handlers act as `route` says.
function upgrade(route) {
  return (request, server) => {
    if (server.upgrade(request, { data: { route } })) {
      return undefined;
    }
    return new Response("a WebSocket route", { status: 426 });
  };
}

/// `n` events, each sent when the client has read the one before (the stream's backpressure).
async function* events(n) {
  const event = `data: ${payload}\n\n`;
  for (let i = 0; i < n; i++) {
    yield event;
  }
}

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  routes: {
    "/ws/echo": upgrade("echo"),
    "/ws/fan": upgrade("fan"),
    "/api/sse": (request) => {
      const n = Number(new URL(request.url).searchParams.get("n"));
      if (!Number.isSafeInteger(n) || n < 0) {
        return new Response("n: a count of events", { status: 400 });
      }
      return new Response(events(n), {
        headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
      });
    },
  },
  fetch() {
    return new Response("not found", { status: 404 });
  },
  websocket: {
    open(ws) {
      if (ws.data.route === "fan") {
        ws.subscribe("fan");
        ws.send("ready");
      }
    },
    message(ws, message) {
      if (ws.data.route === "fan") {
        ws.publish("fan", message);
      } else {
        ws.send(message);
      }
    },
  },
});

console.log(`${server.hostname}:${server.port}`);
