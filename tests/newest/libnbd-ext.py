#!/usr/bin/env python3
"""libnbd >= 1.16 (trixie's 1.22) against one rnull front end, once asking
for extended headers and once not (nbd.set_request_extended_headers).

usage: libnbd-ext.py plugin|server MEM_URI PIB_URI
  MEM_URI: a 16 MiB memory-backed disk, 512-byte blocks
  PIB_URI: a 1 PiB null disk
rnull-server must negotiate extended headers when asked (nbdkit 1.42 does
not offer them); with them one trim, write zeroes, cache and block status
covers the whole petabyte. Prints one line per check; exits 1 if any failed.
"""
import errno
import sys

import nbd

fe, mem_uri, pib_uri = sys.argv[1:4]
PIB = 1 << 50
failed = 0


def check(name, ok, detail=""):
    global failed
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + detail))
    failed += 0 if ok else 1


def expect_errno(name, err, fn, *args):
    try:
        fn(*args)
        check(name, False, "succeeded")
    except nbd.Error as e:
        # (libnbd's Python binding gives the errno's name, e.g. "EINVAL")
        check(name, e.errno in (err, errno.errorcode[err]), "errno %s (%s)" % (e.errno, e.string))


def connect(uri, extended):
    h = nbd.NBD()
    h.set_request_extended_headers(extended)
    h.set_strict_mode(0)  # let bad requests reach the server
    h.add_meta_context(nbd.CONTEXT_BASE_ALLOCATION)
    h.connect_uri(uri)
    return h


def extents(h, count, offset, flags=0):
    """The base:allocation extents of one block status call, and how many
    replies it took (each callback is one reply)."""
    got = []

    def cb(meta, off, entries, err):
        if meta == nbd.CONTEXT_BASE_ALLOCATION:
            got.append([x for pair in entries for x in pair])  # flat: len, flags, ...
        return 0

    h.block_status_64(count, offset, cb, flags)
    return got


for want_ext in (True, False):
    tag = "extended" if want_ext else "compact"
    negotiated = want_ext and fe == "server"

    h = connect(mem_uri, want_ext)
    check(tag + ": extended headers negotiated = %s" % negotiated,
          h.get_extended_headers_negotiated() == negotiated)
    check(tag + ": structured replies", h.get_structured_replies_negotiated())
    h.trim(16 << 20, 0)  # earlier checks filled the disk
    data = bytes((i * 7 + 1) & 0xFF for i in range(65536))
    h.pwrite(data, 1 << 20)
    check(tag + ": write/read round trip", h.pread(65536, 1 << 20) == data)
    h.zero(4096, (1 << 20) + 4096)
    got = h.pread(8192, 1 << 20)
    check(tag + ": write zeroes", got[:4096] == data[:4096] and got[4096:] == bytes(4096))
    h.trim(65536, 1 << 20)
    check(tag + ": trim reads zeros", h.pread(65536, 1 << 20) == bytes(65536))
    h.flush()
    h.cache(1 << 20, 0)
    expect_errno(tag + ": unaligned read EINVAL", errno.EINVAL, h.pread, 512, 100)
    expect_errno(tag + ": write past the end ENOSPC", errno.ENOSPC, h.pwrite, bytes(512), 16 << 20)
    h.pwrite(data[:4096], 8192)
    ext = extents(h, 16 << 20, 0)
    check(tag + ": block status sees the written block",
          len(ext) == 1 and ext[0][:4] == [8192, 3, 4096, 0], repr(ext)[:200])
    h.shutdown()

    h = connect(pib_uri, want_ext)
    check(tag + ": 1 PiB size", h.get_size() == PIB)
    if negotiated:
        # One request each over the whole disk: 64-bit effect lengths.
        for name, fn in (("trim", h.trim), ("zero", h.zero), ("cache", h.cache)):
            try:
                fn(PIB, 0)
                check(tag + ": one %s of 1 PiB" % name, True)
            except nbd.Error as e:
                check(tag + ": one %s of 1 PiB" % name, False, e.string)
        ext = extents(h, PIB, 0)
        check(tag + ": one block status reply covers 1 PiB", ext == [[PIB, 3]], repr(ext)[:200])
    else:
        # Compact requests: 32-bit lengths, the client refuses more.
        try:
            h.trim(PIB, 0)
            check(tag + ": 1 PiB trim refused by the client", False, "was sent")
        except nbd.Error:
            check(tag + ": 1 PiB trim refused by the client", True)
        ext = extents(h, (1 << 32) - 4096, 0)
        check(tag + ": block status below 4 GiB: one extent",
              len(ext) == 1 and ext[0] == [(1 << 32) - 4096, 3], repr(ext)[:200])
    count = PIB - 4096 if negotiated else (1 << 32) - 4096
    ext = extents(h, count, 4096, nbd.CMD_FLAG_REQ_ONE)
    check(tag + ": REQ_ONE: one extent", len(ext) == 1 and len(ext[0]) == 2, repr(ext)[:200])
    h.shutdown()

print("%s: %d failed" % (fe, failed))
sys.exit(1 if failed else 0)
