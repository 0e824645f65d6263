"""What the raw-socket bench tools share: a WebSocket handshake's request, and reading its answer."""

import sys


def upgrade_request(addr, path=b"/ws/echo"):
    """The handshake request for `path` on `addr` (HOST:PORT)."""
    return (
        b"GET " + path + b" HTTP/1.1\r\nHost: " + addr.encode() + b"\r\n"
        b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )


def read_upgrade(sock):
    """Reads the answer's head, exiting unless it is a 101; returns what came after the head."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            sys.exit("the server closed a connection during its handshake")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        sys.exit(f"not a 101: {head[:80]!r}")
    return head.split(b"\r\n\r\n", 1)[1]
