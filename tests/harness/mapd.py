"""Start, query and stop mxkit-mapd for tests; the reference mysql: queries.

    m = Mapd(tmpdir, mariadb); m.start()
    m.lookup("alias", "a@example.org")        # -> ("OK", "b@example.org")
    m.postmap("alias", "a@example.org")       # -> (exit code, stdout) via postmap -q
    m.stop()                                  # SIGTERM, returns the exit code

MYSQL_QUERIES holds, per map name, the Postfix mysql: query that mapd must
answer identically (after doing the partial-key fallbacks Postfix does for
mysql: tables itself); mysql_table_cf() renders a Postfix mysql: table
file for it, so equivalence tests can point Postfix at both.
"""
import os
import shutil
import signal
import socket
import subprocess
import time

from .ports import free_port

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

MYSQL_QUERIES = {
    "domain": "SELECT name FROM domains WHERE name='%s' AND active=1",
    "mailbox": ("SELECT u.address FROM users u JOIN domains d ON d.id=u.domain_id "
                "WHERE u.address='%s' AND u.active=1 AND d.active=1"),
    "alias": ("SELECT a.destination FROM aliases a JOIN domains d ON d.id=a.domain_id "
              "WHERE a.source='%s' AND a.active=1 AND d.active=1 "
              "UNION SELECT u.address FROM users u JOIN domains d ON d.id=u.domain_id "
              "WHERE u.address='%s' AND u.active=1 AND d.active=1"),
    "sender_login": ("SELECT u.address FROM users u JOIN domains d ON d.id=u.domain_id "
                     "WHERE u.address='%s' AND u.active=1 AND d.active=1 "
                     "UNION SELECT u.address FROM aliases a JOIN users u ON u.address=a.destination "
                     "JOIN domains d ON d.id=a.domain_id JOIN domains du ON du.id=u.domain_id "
                     "WHERE a.source='%s' AND a.active=1 AND u.active=1 AND d.active=1 "
                     "AND du.active=1"),
    "transport": ("SELECT transport FROM domains WHERE name='%s' AND active=1 "
                  "AND transport IS NOT NULL AND transport<>''"),
}

MAPS = tuple(MYSQL_QUERIES)


def build_dir():
    return os.environ.get("MXKIT_BUILD", os.path.join(REPO, "_build"))


def mapd_binary():
    return os.path.join(build_dir(), "postfix-maps", "mxkit-mapd")


def mysql_table_cf(db, name, tcp=False):
    """Text of a Postfix mysql: table file for map `name` on MariaDB `db`."""
    hosts = f"inet:127.0.0.1:{db.port}" if tcp else f"unix:{db.socket}"
    return (f"hosts = {hosts}\nuser = {db.user}\npassword = {db.password}\n"
            f"dbname = {db.name}\nquery = {MYSQL_QUERIES[name]}\n")


def netstring(data):
    if isinstance(data, str):
        data = data.encode()
    return str(len(data)).encode() + b":" + data + b","


def read_netstring(sock, timeout=10.0):
    """Read one netstring reply; returns bytes, or None if the peer closed."""
    sock.settimeout(timeout)
    head = b""
    while not head.endswith(b":"):
        c = sock.recv(1)
        if not c:
            return None
        head += c
        if len(head) > 12:
            raise ValueError(f"bad reply length {head!r}")
    n = int(head[:-1])
    body = b""
    while len(body) < n + 1:
        chunk = sock.recv(n + 1 - len(body))
        if not chunk:
            return None
        body += chunk
    if body[-1:] != b",":
        raise ValueError("reply without ','")
    return body[:-1]


def split_reply(reply):
    """b'OK value' -> ('OK', 'value')."""
    text = reply.decode()
    status, _, value = text.partition(" ")
    return status, value


class Client:
    """One persistent socketmap connection (unix path or TCP port)."""

    def __init__(self, where, timeout=10.0):
        if isinstance(where, int):
            self.sock = socket.create_connection(("127.0.0.1", where), timeout=timeout)
        else:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(where)

    def send_raw(self, data):
        self.sock.sendall(data)

    def read(self, timeout=10.0):
        return read_netstring(self.sock, timeout)

    def lookup(self, name, key):
        self.send_raw(netstring(f"{name} {key}"))
        reply = self.read()
        if reply is None:
            raise ConnectionError("mapd closed the connection")
        return split_reply(reply)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Mapd:
    """A private mxkit-mapd on a unix socket and a loopback TCP port."""

    def __init__(self, basedir, db, tcp_db=False, binary=None, extra_config="", **settings):
        """settings go to the `mapd` section; extra_config (text) is appended
        to the file (e.g. an `srs` section for the srs_* maps)."""
        self.binary = binary or mapd_binary()
        self.dir = os.path.join(basedir, "mapd")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.db = db
        self.socket = os.path.join(self.dir, "mapd.sock")
        self.port = free_port()
        self.config = os.path.join(self.dir, "mxkit.conf")
        self.log = os.path.join(self.dir, "mapd.log")
        self.pid_file = os.path.join(self.dir, "mapd.pid")
        self.tcp_db = tcp_db
        self.extra_config = extra_config
        self.settings = {"request_timeout": 10, **settings}
        self.proc = None
        self.write_config()

    def database_section(self):
        if not self.tcp_db:
            return self.db.write_client_config(self.config)
        # Over loopback TCP: reachable after dropping privileges.
        return (f'database = {{ host = "127.0.0.1"; port = {self.db.port}; '
                f'name = "{self.db.name}"; user = "{self.db.user}"; '
                f'password = "{self.db.password}"; }};\n')

    @staticmethod
    def _value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, (list, tuple)):
            return "[ " + ", ".join(f'"{x}"' for x in v) + " ]"
        return f'"{v}"'

    def write_config(self, **override):
        s = {"listen": [f"unix:{self.socket}", f"inet:127.0.0.1:{self.port}"],
             "log_file": self.log, "pid_file": self.pid_file, **self.settings, **override}
        self.listen = list(s["listen"]) if isinstance(s["listen"], (list, tuple)) else [s["listen"]]
        if os.geteuid() == 0 and "user" not in s:
            s["user"] = "root"
        body = "".join(f"  {k} = {self._value(v)};\n" for k, v in s.items())
        with open(self.config, "w") as f:
            f.write(self.database_section())
            f.write("mapd = {\n" + body + "};\n")
            f.write(self.extra_config)
        os.chmod(self.config, 0o644)

    def command(self, *args):
        return [self.binary, "-c", self.config, *args]

    def start(self, wrapper=(), timeout=20.0):
        """Start in the foreground (-f, logs on stderr into self.log)."""
        self.stderr = open(self.log + ".stderr", "ab")
        self.proc = subprocess.Popen([*wrapper, *self.command("-f")],
                                     stdout=subprocess.DEVNULL, stderr=self.stderr)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mxkit-mapd exited {self.proc.returncode}: {self.log_text()}")
            try:
                for where in self.listen:
                    self._probe(where)
                return self
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise TimeoutError(f"mxkit-mapd did not start: {self.log_text()}")

    @staticmethod
    def _probe(where):
        """Connect once to a configured endpoint (raises OSError if nothing listens)."""
        kind, _, rest = where.partition(":")
        if kind == "unix":
            with Client(rest, timeout=1):
                return
        host, _, port = rest.rpartition(":")
        with socket.create_connection((host.strip("[]"), int(port)), timeout=1):
            return

    @property
    def pid(self):
        return self.proc.pid

    def signal(self, sig):
        self.proc.send_signal(sig)

    def reload(self, **override):
        if override:
            self.write_config(**override)
        marker = self.log_text().count("configuration reloaded")
        self.signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.log_text().count("configuration reloaded") > marker:
                return
            time.sleep(0.05)
        raise TimeoutError("reload not logged")

    def stop(self, timeout=15.0):
        """SIGTERM; returns the exit code."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        self.proc = None
        self.stderr.close()
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def log_text(self):
        text = ""
        for p in (self.log, self.log + ".stderr"):
            try:
                with open(p, errors="replace") as f:
                    text += f.read()
            except OSError:
                pass
        return text

    # -- clients ---------------------------------------------------------
    def client(self, tcp=False):
        return Client(self.port if tcp else self.socket)

    def lookup(self, name, key, tcp=False):
        with self.client(tcp) as c:
            return c.lookup(name, key)

    def socketmap(self, name, tcp=False):
        where = f"inet:127.0.0.1:{self.port}" if tcp else f"unix:{self.socket}"
        return f"socketmap:{where}:{name}"

    def postfix_config_dir(self):
        """A minimal Postfix config directory for postmap -c (the host may have no main.cf)."""
        d = os.path.join(self.dir, "postfix")
        if not os.path.exists(os.path.join(d, "main.cf")):
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "main.cf"), "w") as f:
                f.write("compatibility_level = 3.6\nrecipient_delimiter = +\n")
        return d

    def postmap_run(self, name, key, tcp=False):
        """postmap -q KEY socketmap:...:NAME; the CompletedProcess."""
        postmap = shutil.which("postmap") or "/usr/sbin/postmap"
        return subprocess.run([postmap, "-c", self.postfix_config_dir(), "-q", key,
                               self.socketmap(name, tcp)],
                              capture_output=True, text=True, timeout=30)

    def postmap(self, name, key, tcp=False):
        """(exit code, stdout): 0 and the value, or 1 and "" when not found."""
        r = self.postmap_run(name, key, tcp)
        return r.returncode, r.stdout.strip()
