"""The chat conversation and the SSE clock, driven by clients nitrous did not write: Python's
`websockets` and `httpx-sse`. Usage: python clients.py http://127.0.0.1:PORT
Exits non-zero with a message on the first thing that is not as the seed says."""

import asyncio
import json
import sys

import httpx
import websockets
from httpx_sse import connect_sse

WAIT = 10


async def receive(ws):
    """The next message."""
    return json.loads(await asyncio.wait_for(ws.recv(), WAIT))


def welcomed(message):
    assert message["user"] == "server" and message["message"].startswith("Welcome "), message
    return message["message"][len("Welcome "):-1]


async def settled(ws):
    """The pong to a ping proves the peer's open hook has finished (it is subscribed)."""
    await ws.send("ping")
    assert await receive(ws) == {"user": "server", "message": "pong"}


async def chat(base):
    """The seed's conversation on its raw route, /ws/chat."""
    url = base.replace("http://", "ws://") + "/ws/chat"
    async with websockets.connect(url) as a:
        a_id = welcomed(await receive(a))
        await settled(a)
        async with websockets.connect(url) as b:
            b_id = welcomed(await receive(b))
            await settled(b)
            assert await receive(a) == {"user": "server", "message": f"{b_id} joined!"}
            await a.send("hello from python")
            hello = {"user": a_id, "message": "hello from python"}
            assert await receive(a) == hello, "the echo"
            assert await receive(b) == hello, "published to the others"
            await b.send("ping")
            assert await receive(b) == {"user": "server", "message": "pong"}
            await b.send("after")
            assert await receive(a) == {"user": b_id, "message": "after"}, "no pong reached a"
        assert await receive(a) == {"user": "server", "message": f"{b_id} left!"}
    print("python websockets: chat conversation as the seed says")


async def one_room(base):
    """The raw route and the typed room (/ws/room, the channel protocol) are one room."""
    ws_base = base.replace("http://", "ws://")
    async with websockets.connect(ws_base + "/ws/room", subprotocols=["nitrous.v1"]) as typed:
        await typed.send(json.dumps({"type": "hello"}))
        assert (await receive(typed))["type"] == "welcome"
        welcome = await receive(typed)
        assert welcome["type"] == "message", welcome
        welcomed(welcome["data"])
        # The room's presence (topic `here`): the page's own join comes first.
        here = await receive(typed)
        assert here["type"] == "presence" and here["event"] == "join", here
        assert here["topic"] == "here" and here["info"]["user"] == welcome["data"]["message"][8:-1], here
        await typed.send(json.dumps({"type": "request", "id": 1, "data": {"kind": "ping"}}))
        assert await receive(typed) == {"type": "reply", "id": 1, "ok": {"kind": "pong"}}
        async with websockets.connect(ws_base + "/ws/chat") as raw:
            raw_id = welcomed(await receive(raw))
            await settled(raw)
            joined = await receive(typed)
            assert joined["data"] == {"user": "server", "message": f"{raw_id} joined!"}, joined
            await raw.send("from the raw route")
            assert await receive(raw) == {"user": raw_id, "message": "from the raw route"}, "the echo"
            heard = await receive(typed)
            assert heard["type"] == "topic" and heard["topic"] == "chat", heard
            assert heard["offset"], f"the room is retained: {heard}"
            assert heard["data"] == {"user": raw_id, "message": "from the raw route"}, heard
            await typed.send(json.dumps({"type": "message", "data": {"text": "from the typed room"}}))
            line = await receive(raw)
            assert line["message"] == "from the typed room", line
    print("python websockets: the raw route and the typed room are one room")


def clock(base):
    seen = []
    with httpx.Client(timeout=WAIT) as client:
        with connect_sse(client, "GET", base + "/api/sse") as source:
            assert source.response.headers["content-type"].startswith("text/event-stream")
            for event in source.iter_sse():
                assert event.data.startswith("Message @ "), event.data
                seen.append(event.data)
                if len(seen) == 2:
                    break
    assert seen[0] != seen[1], seen
    print(f"python httpx-sse: clock ticked {seen}")


def main():
    base = sys.argv[1].rstrip("/")
    asyncio.run(chat(base))
    asyncio.run(one_room(base))
    clock(base)


if __name__ == "__main__":
    main()
