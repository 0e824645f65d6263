"""A fan-out in lockstep from raw sockets, for counting what a server does per delivery under
callgrind or `perf stat` (BENCHMARKS.md, issue 23's ninth step): SUBSCRIBERS WebSockets join
/ws/fan (each waits for its `ready`), a publisher joins too, and every round the publisher writes
BURST 64-byte text messages, then every subscriber reads all of them before the next round.

    python3 lockstep_fan.py HOST:PORT ROUNDS [SUBSCRIBERS [BURST]]

Defaults: 100 subscribers, bursts of 10. Checks that each delivery is the message sent, and prints
how many deliveries it read. For instance (bench-nitrous prints its address):

    valgrind --tool=callgrind --instr-atstart=no target/release/bench-nitrous &
    python3 lockstep_fan.py ADDR 20             # warm-up, not counted
    callgrind_control -z; callgrind_control -i on
    python3 lockstep_fan.py ADDR 200            # 200,000 deliveries
    callgrind_control -i off; callgrind_control -d
"""

import socket
import sys

from rawws import read_upgrade, upgrade_request

MESSAGE = b"f" * 64
# A masked text frame (the mask is zero, so the payload reads as sent).
FRAME = bytes([0x81, 0x80 | len(MESSAGE)]) + b"\x00\x00\x00\x00" + MESSAGE
# The server's unmasked frame of it, as each subscriber receives it.
DELIVERY = bytes([0x81, len(MESSAGE)]) + MESSAGE
# What /ws/fan sends each peer once it has joined.
READY = bytes([0x81, 5]) + b"ready"


def read_exactly(conn, size, pending=b""):
    got = pending
    while len(got) < size:
        chunk = conn.recv(max(size - len(got), 4096))
        if not chunk:
            sys.exit("the server closed mid-run")
        got += chunk
    return got[:size], got[size:]


def join(addr):
    """A peer of /ws/fan that has had its `ready`, and anything read after it."""
    host, port = addr.rsplit(":", 1)
    conn = socket.create_connection((host, int(port)))
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn.sendall(upgrade_request(addr, b"/ws/fan"))
    ready, rest = read_exactly(conn, len(READY), read_upgrade(conn))
    if ready != READY:
        sys.exit(f"not the ready message: {ready!r}")
    return conn, rest


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    addr, rounds = sys.argv[1], int(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    burst = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    subscribers = [join(addr) for _ in range(count)]
    publisher, _ = join(addr)
    expected = DELIVERY * burst
    for _ in range(rounds):
        publisher.sendall(FRAME * burst)
        for i, (conn, pending) in enumerate(subscribers):
            got, rest = read_exactly(conn, len(expected), pending)
            if got != expected:
                sys.exit(f"a wrong delivery: {got[:16]!r}")
            subscribers[i] = (conn, rest)
    print("delivered", rounds * burst * count)


if __name__ == "__main__":
    main()
