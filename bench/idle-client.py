#!/usr/bin/env python3
"""idle-client.py SOCKET SECONDS: connect to an NBD server on a Unix socket,
negotiate export "" with NBD_OPT_GO (fixed newstyle, no structured replies),
then hold the connection idle for SECONDS and disconnect. bench/run measures
the server's CPU meanwhile: a connected client that sends nothing must cost
~nothing. Plain sockets: no libnbd Python module needed."""
import socket
import struct
import sys
import time


def recv_all(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("server hung up")
        b += c
    return b


def main():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    g = recv_all(s, 18)
    if g[:8] != b"NBDMAGIC":
        raise ValueError("not an NBD server")
    s.sendall(struct.pack(">I", 1 | (struct.unpack(">H", g[16:])[0] & 2)))  # FIXED_NEWSTYLE, NO_ZEROES
    s.sendall(struct.pack(">QIIIH", 0x49484156454F5054, 7, 6, 0, 0))  # GO, name "", no info requests
    while True:
        _, _, rtype, rlen = struct.unpack(">QIII", recv_all(s, 20))
        recv_all(s, rlen)
        if rtype == 1:  # ACK: transmission
            break
        if rtype & 0x80000000:
            raise ValueError(f"NBD_OPT_GO refused ({rtype:#x})")
    print("connected", flush=True)
    time.sleep(float(sys.argv[2]))
    s.sendall(struct.pack(">IHHQQI", 0x25609513, 0, 2, 0, 0, 0))  # NBD_CMD_DISC
    s.close()


if __name__ == "__main__":
    main()
