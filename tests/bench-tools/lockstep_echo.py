"""An echo in lockstep from raw sockets, for counting what a server does per message when the
load comes in bursts and the server waits between them (BENCHMARKS.md, issue 23's seventh step):
every round writes one 64-byte binary message on each connection, then reads every echo back.

    python3 lockstep_echo.py HOST:PORT ROUNDS [CONNECTIONS]

Opens CONNECTIONS (10 by default) WebSockets to /ws/echo, runs ROUNDS rounds, checks that each
echo is the message sent, and prints how many were echoed. For instance, with `perf stat` on the
server (bench-nitrous prints its address):

    target/release/bench-nitrous &
    python3 lockstep_echo.py ADDR 200          # warm-up, not counted
    perf stat -e task-clock,context-switches,syscalls:sys_enter_futex -p PID &
    python3 lockstep_echo.py ADDR 5000         # 50,000 messages
"""

import socket
import sys

from rawws import read_upgrade, upgrade_request

MESSAGE = b"x" * 64
# A masked binary frame (the mask is zero, so the payload reads as sent).
FRAME = bytes([0x82, 0x80 | len(MESSAGE)]) + b"\x00\x00\x00\x00" + MESSAGE
# The server's unmasked echo of it.
ECHO = bytes([0x82, len(MESSAGE)]) + MESSAGE


def connect(addr):
    host, port = addr.rsplit(":", 1)
    conn = socket.create_connection((host, int(port)))
    conn.sendall(upgrade_request(addr))
    if read_upgrade(conn):
        sys.exit("the server wrote before it was sent anything")
    return conn


def read_exactly(conn, size):
    got = b""
    while len(got) < size:
        chunk = conn.recv(size - len(got))
        if not chunk:
            sys.exit("the server closed mid-run")
        got += chunk
    return got


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    rounds = int(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    conns = [connect(sys.argv[1]) for _ in range(count)]
    for _ in range(rounds):
        for conn in conns:
            conn.sendall(FRAME)
        for conn in conns:
            echo = read_exactly(conn, len(ECHO))
            if echo != ECHO:
                sys.exit(f"a wrong echo: {echo[:16]!r}")
    print("echoed", rounds * count)


if __name__ == "__main__":
    main()
