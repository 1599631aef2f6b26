"""tests/harness/authlogin.py: the auth server's share of an IMAP login, spoken
to a Dovecot auth process directly, as imap-login and the post-login step
do: AUTH PLAIN on a login socket (auth-login: the passdb lookup), then
REQUEST on the master socket (auth-master: the userdb lookup for that
login, matched by the client's pid, request id and the server's cookie).
No imap-login or imap process is started, so what is timed is the lookup
path, the part where the drivers differ.

    c = AuthLogin(base_dir, cpid, rip); c.login(user, password) -> userdb fields; c.close()

rip is the client address the login process reports (the lockout counts
failures per remote address; loopback is not counted).
"""
import base64
import os
import socket

# Longest line read from Dovecot (bounded; its replies here are short).
LINE_MAX = 65536


class AuthError(Exception):
    pass


class _Conn:
    def __init__(self, path, timeout):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def send(self, line):
        self.sock.sendall(line.encode() + b"\n")

    def line(self):
        while b"\n" not in self.buf:
            if len(self.buf) > LINE_MAX:
                raise AuthError("line from Dovecot longer than %d bytes" % LINE_MAX)
            data = self.sock.recv(65536)
            if not data:
                raise AuthError("Dovecot closed the connection")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode().split("\t")

    def close(self):
        self.sock.close()


class AuthLogin:
    """One login client: a login-socket connection (with its own client pid)
    and a master-socket connection, used one login at a time."""

    def __init__(self, base_dir, cpid, rip="127.0.0.1", timeout=60):
        self.client = _Conn(os.path.join(base_dir, "auth-login"), timeout)
        self.master = _Conn(os.path.join(base_dir, "auth-master"), timeout)
        self.cpid = cpid
        self.rip = rip
        self.next_id = 1
        self.client.send(f"VERSION\t1\t2\nCPID\t{cpid}")
        self.cookie = None
        for _ in range(64):                       # the handshake: a few lines up to DONE
            words = self.client.line()
            if words[0] == "COOKIE":
                self.cookie = words[1]
            if words[0] == "DONE":
                break
        else:
            raise AuthError("no DONE in the auth handshake")
        if self.cookie is None:
            raise AuthError("no COOKIE from the login socket")
        self.master.send("VERSION\t1\t0")
        words = self.master.line()
        if words[0] != "VERSION" or words[1] != "1" or self.master.line()[0] != "SPID":
            raise AuthError(f"unexpected master handshake {words!r}")

    def login(self, user, password):
        """The passdb then the userdb lookup of one login: its userdb fields
        as a dict; AuthError when either fails."""
        rid, self.next_id = self.next_id, self.next_id + 1
        resp = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
        self.client.send(f"AUTH\t{rid}\tPLAIN\tservice=imap\tsecured\tlip=127.0.0.1\t"
                         f"rip={self.rip}\tresp={resp}")
        words = self.client.line()
        if words[0] != "OK" or words[1] != str(rid):
            raise AuthError(f"AUTH {user}: {words!r}")
        self.master.send(f"REQUEST\t{rid}\t{self.cpid}\t{rid}\t{self.cookie}")
        words = self.master.line()
        if words[0] != "USER" or words[1] != str(rid):
            raise AuthError(f"REQUEST {user}: {words!r}")
        return dict(w.split("=", 1) if "=" in w else (w, "") for w in words[3:] if w)

    def close(self):
        self.client.close()
        self.master.close()
