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
    """The next message, without the offset that the room's messages carry."""
    message = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
    message.pop("offset", None)
    return message


async def room(ws):
    """The next message, which must be one of the room's, with an offset to resume after."""
    message = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
    assert message.pop("offset", None), f"a room message without an offset: {message}"
    return message


def welcomed(message):
    assert message["user"] == "server" and message["message"].startswith("Welcome "), message
    return message["message"][len("Welcome "):-1]


async def settled(ws):
    """The pong to a ping proves the peer's open hook has finished (it is subscribed)."""
    await ws.send("ping")
    assert await receive(ws) == {"user": "server", "message": "pong"}


async def chat(base):
    url = base.replace("http://", "ws://") + "/ws/chat"
    async with websockets.connect(url) as a:
        a_id = welcomed(await receive(a))
        await settled(a)
        async with websockets.connect(url) as b:
            b_id = welcomed(await receive(b))
            await settled(b)
            assert await room(a) == {"user": "server", "message": f"{b_id} joined!"}
            await a.send("hello from python")
            hello = {"user": a_id, "message": "hello from python"}
            assert await room(a) == hello, "the sender's own copy"
            assert await room(b) == hello, "broadcast"
            await b.send("ping")
            assert await receive(b) == {"user": "server", "message": "pong"}
            await b.send("after")
            assert await room(a) == {"user": b_id, "message": "after"}, "no pong reached a"
        assert await room(a) == {"user": "server", "message": f"{b_id} left!"}
    print("python websockets: chat conversation as the seed says")


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
    clock(base)


if __name__ == "__main__":
    main()
