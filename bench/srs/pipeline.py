"""bench/srs/pipeline.py: the benchmark's client, the same for both servers.

One TCP connection per pass; a sender thread writes every request at once
(the kernel's socket buffers bound what is in flight) while the caller's
thread reads and parses the replies, so the time measured is the server's
throughput, not a round trip per request. Requests are built before the
clock starts. Replies come back as {key: value} for the found ones.
"""
import socket
import threading
import time
import urllib.parse

from harness.postsrsd import tcp_table_encode

RECV = 1 << 16


def _netstring(data):
    return b"%d:%s," % (len(data), data)


def socketmap_requests(name, keys):
    return b"".join(_netstring(name.encode() + b" " + k.encode()) for k in keys)


def tcp_table_requests(keys):
    return b"".join(b"get " + tcp_table_encode(k).encode("ascii") + b"\n" for k in keys)


def _socketmap_replies(buf, pos, out):
    """Parse complete netstrings from buf[pos:]; returns the new position."""
    while True:
        colon = buf.find(b":", pos)
        if colon < 0:
            return pos
        n = int(buf[pos:colon])
        end = colon + 1 + n
        if end >= len(buf):
            return pos
        if buf[end:end + 1] != b",":
            raise RuntimeError(f"socketmap: bad reply near {buf[pos:pos + 60]!r}")
        out.append(buf[colon + 1:end])
        pos = end + 1


def _tcp_table_replies(buf, pos, out):
    while True:
        nl = buf.find(b"\n", pos)
        if nl < 0:
            return pos
        out.append(buf[pos:nl])
        pos = nl + 1


def _run(port, blob, n, parse, timeout):
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    replies, buf, pos = [], bytearray(), 0
    err = []

    def send():
        try:
            sock.sendall(blob)
        except OSError as e:
            err.append(e)

    try:
        t0 = time.monotonic()
        writer = threading.Thread(target=send)
        writer.start()
        while len(replies) < n:
            data = sock.recv(RECV)
            if not data:
                raise RuntimeError(f"connection closed after {len(replies)} of {n} replies")
            buf += data
            pos = parse(buf, pos, replies)
            if pos > RECV:
                del buf[:pos]
                pos = 0
        dt = time.monotonic() - t0
        writer.join()
    finally:
        sock.close()
    if err:
        raise err[0]
    return dt, replies


def socketmap_pass(port, name, keys, blob=None, timeout=60.0):
    """(seconds, {key: value}) for the OK answers of map `name`."""
    blob = blob or socketmap_requests(name, keys)
    dt, replies = _run(port, blob, len(keys), _socketmap_replies, timeout)
    found = {}
    for k, r in zip(keys, replies):
        status, _, value = bytes(r).partition(b" ")
        if status == b"OK":
            found[k] = value.decode("utf-8", "surrogateescape")
        elif status != b"NOTFOUND":
            raise RuntimeError(f"socketmap {name} {k}: {bytes(r)[:200]!r}")
    return dt, found


def tcp_table_pass(port, keys, blob=None, timeout=60.0):
    """(seconds, {key: value}) for the 200 answers of a tcp_table server."""
    blob = blob or tcp_table_requests(keys)
    dt, replies = _run(port, blob, len(keys), _tcp_table_replies, timeout)
    found = {}
    for k, r in zip(keys, replies):
        code, _, text = bytes(r).rstrip(b"\r").partition(b" ")
        if code == b"200":
            found[k] = urllib.parse.unquote_to_bytes(text).decode("utf-8", "surrogateescape")
        elif code != b"500":
            raise RuntimeError(f"tcp_table {k}: {bytes(r)[:200]!r}")
    return dt, found
