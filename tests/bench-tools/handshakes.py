"""WebSocket handshakes from raw sockets, for counting what a server does per connection under
callgrind, DHAT or strace (BENCHMARKS.md, issue 23's fifth step): nothing but the handshake, so
that the client's own work does not show in the server's figures.

    python3 handshakes.py HOST:PORT COUNT [open|openclose]

Opens COUNT connections to /ws/echo, 64 at a time (each request written at once, then the 64
answers read, each checked to be a 101), and keeps them open; with `openclose`, then sends each a
close frame (code 1000), reads the reply and closes. Exits when done, which closes what is open.

For instance (bench-nitrous prints its address):

    valgrind --tool=callgrind --instr-atstart=no target/release/bench-nitrous &
    python3 handshakes.py ADDR 100           # warm-up, not counted
    callgrind_control -z; callgrind_control -i on
    python3 handshakes.py ADDR 2000
    callgrind_control -i off; callgrind_control -d
"""

import socket
import sys

from rawws import read_upgrade, upgrade_request

BATCH = 64


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    addr, count = sys.argv[1], int(sys.argv[2])
    mode = sys.argv[3] if len(sys.argv) > 3 else "open"
    host, port = addr.rsplit(":", 1)
    request = upgrade_request(addr)
    opened = []
    while len(opened) < count:
        batch = []
        for _ in range(min(BATCH, count - len(opened))):
            s = socket.create_connection((host, int(port)))
            s.sendall(request)
            batch.append(s)
        for s in batch:
            read_upgrade(s)
        opened += batch
    print("opened", len(opened), flush=True)
    if mode == "openclose":
        # A masked close frame with code 1000 (the mask is zero, so the payload reads as is).
        close = b"\x88\x82\x00\x00\x00\x00\x03\xe8"
        for s in opened:
            s.sendall(close)
        for s in opened:
            s.recv(64)
            s.close()
        print("closed", flush=True)


if __name__ == "__main__":
    main()
