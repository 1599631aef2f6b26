"""Debian's postsrsd (1.x), run by hand on loopback, and a tcp_table client.

    p = PostSRSd(tmpdir, domain="srs.example.net", secrets=["s3cr3t"])
    p.start()
    p.forward("alice@example.org")   # -> (200, "SRS0=...@srs.example.net")
    p.reverse("SRS0=...")             # -> (200, "alice@example.org")
    p.stop()

postsrsd 1.x serves two Postfix tcp_table(5) ports (forward, reverse) and
forks a child per connection; the package's init script is never used.
"""
import os
import signal
import socket
import subprocess
import time
import urllib.parse

from .ports import free_port, wait_port

POSTSRSD = "/usr/sbin/postsrsd"
# tcp_table(5): keys and values are URL-encoded; these need no escape.
_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in "%")


def tcp_table_encode(text):
    """Encode a key as Postfix's tcp_table client does (UTF-8, %XX)."""
    return urllib.parse.quote(text.encode("utf-8", "surrogateescape"), safe=_SAFE)


class TcpTableClient:
    """One persistent tcp_table connection: get KEY -> (code, value)."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.reader = self.sock.makefile("rb")

    def get(self, key):
        self.sock.sendall(b"get " + tcp_table_encode(key).encode("ascii") + b"\n")
        line = self.reader.readline(4096)
        if not line.endswith(b"\n"):
            raise ConnectionError(f"tcp_table: truncated reply {line!r}")
        code, _, text = line.rstrip(b"\r\n").partition(b" ")
        value = urllib.parse.unquote_to_bytes(text).decode("utf-8", "surrogateescape")
        return int(code), value

    def close(self):
        self.reader.close()
        self.sock.close()


class PostSRSd:
    def __init__(self, basedir, domain, secrets, separator="=", hash_length=4):
        if not os.access(POSTSRSD, os.X_OK):
            raise RuntimeError(f"{POSTSRSD} missing (apt-get install postsrsd)")
        self.dir = os.path.join(basedir, "postsrsd")
        os.makedirs(self.dir, exist_ok=True)
        self.secrets_file = os.path.join(self.dir, "postsrsd.secret")
        with open(os.open(self.secrets_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write("".join(s + "\n" for s in secrets))
        self.domain = domain
        self.separator = separator
        self.hash_length = hash_length
        self.forward_port = free_port()
        self.reverse_port = free_port()
        self.proc = None
        self._clients = {}

    def start(self):
        args = [POSTSRSD, "-s", self.secrets_file, "-d", self.domain, "-l", "127.0.0.1",
                "-f", str(self.forward_port), "-r", str(self.reverse_port),
                "-a", self.separator, "-n", str(self.hash_length), "-N", str(self.hash_length),
                "-4"]
        if os.geteuid() == 0:
            args += ["-u", "nobody"]
        # Its own session, so that stop() also ends the per-connection children.
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        try:
            wait_port(self.forward_port)
            wait_port(self.reverse_port)
        except TimeoutError:
            self.stop()
            raise

    def _client(self, port):
        if port not in self._clients:
            self._clients[port] = TcpTableClient(port)
        return self._clients[port]

    def forward(self, address):
        return self._client(self.forward_port).get(address)

    def reverse(self, address):
        return self._client(self.reverse_port).get(address)

    def stop(self):
        for c in self._clients.values():
            c.close()
        self._clients = {}
        if self.proc is None:
            return
        pgid = self.proc.pid  # the session leader: its group id is its pid
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None
