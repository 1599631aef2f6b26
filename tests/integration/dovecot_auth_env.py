"""A private Dovecot (IMAP on a loopback port) authenticating through the
mxkit passdb/userdb driver against a private MariaDB, for the auth tests
and bench/auth.

    env = AuthEnv(mariadb, build_dir, auth={"max_failures": 3, "window": 4})
    env.start(); env.imap_login(user, pw) -> ("OK"|"NO", text); env.stop()

The module is loaded from the build directory through the Dovecot
harness's private auth module dir (harness.dovecot, auth_modules=).
Clients on loopback are trusted (login_trusted_networks), which lets a
test give the remote address the module sees with IMAP ID
x-originating-ip; Dovecot's own failure penalty is off (see start()).
"""
import imaplib
import os
import re

from harness.dovecot import Dovecot
from harness.ports import free_port, wait_port

# imaplib does not know RFC 2971 ID; Dovecot takes the client's address from
# it (x-originating-ip) when the connection comes from a trusted network.
imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED", "LOGOUT"))

# As deployed (90-mxkit-auth-mxkit.conf): a login's userdb fields come with
# its passdb answer (prefetch); the mxkit userdb answers the lookups without
# a login (LMTP, doveadm user, iteration).
USERDB = ("userdb {\n  driver = prefetch\n}\n"
          "userdb {\n  driver = mxkit\n  args = mxkit_config=@CONF@\n}\n")

MODULE = os.path.join("dovecot-plugins", "auth", ".libs", "libauthdb_mxkit.so")


def module_path(build_dir):
    """The module to load. Dovecot's auth process is not built with ASan, so
    it cannot load an ASan-built module: when the tests run on the ASan build,
    tests/run names the plain build in $MXKIT_PLAIN_BUILD and its module is
    used (the module's plain-C parts run under ASan in tests/unit/check_auth)."""
    plain = os.environ.get("MXKIT_PLAIN_BUILD")
    return os.path.join(plain or build_dir, MODULE)


class AuthEnv:
    def __init__(self, mariadb, build_dir, name="auth", auth=None, passdb=None, userdb=None,
                 extra=None):
        self.db = mariadb
        self.port = free_port()
        self.dc = None
        self.name = name
        self.build_dir = build_dir
        self.auth = dict(auth or {})
        self.passdb = passdb
        self.userdb = userdb
        self.extra = list(extra or [])

    def _mxkit_conf(self, path):
        text = self.db.write_client_config(path)
        if self.auth:
            items = "; ".join(f"{k} = {_cfg(v)}" for k, v in self.auth.items())
            text += f"auth = {{ {items}; }};\n"
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)

    def start(self):
        conf = ["auth_username_format = %Lu", "auth_username_chars =",
                "auth_failure_delay = 0", "login_trusted_networks = 127.0.0.0/8",
                "mail_uid = nobody", "mail_gid = nogroup", "first_valid_uid = 1",
                "mail_location = maildir:~/Maildir",
                f"service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n"
                f"    port = {self.port}\n  }}\n}}",
                # Dovecot's own failure penalty (growing delays per remote
                # address, kept in anvil) would slow the tests and the bench
                # down: the auth process cannot reach the penalty socket, so
                # it turns the penalty off (one "Permission denied" logged).
                "service anvil {\n  chroot =\n  unix_listener anvil-auth-penalty {\n"
                "    mode = 0\n  }\n}"] + self.extra
        self.dc = Dovecot(name=self.name, protocols="imap", config=conf,
                          passdb="passdb {\n  driver = mxkit\n  args = mxkit_config=@CONF@\n}\n"
                          if self.passdb is None else self.passdb,
                          userdb=USERDB if self.userdb is None else self.userdb,
                          auth_modules=[module_path(self.build_dir)])
        self.conf_path = os.path.join(self.dc.dir, "mxkit.conf")
        self._mxkit_conf(self.conf_path)
        home = os.path.join(self.dc.dir, "home")
        os.makedirs(home, exist_ok=True)
        os.chmod(home, 0o1777)
        with open(self.dc.config_path) as f:
            text = f.read().replace("@CONF@", self.conf_path)
        text += f"mail_home = {home}/%Lu\n"
        with open(self.dc.config_path, "w") as f:
            f.write(text)
        self.dc.start()
        wait_port(self.port)
        return self

    def stop(self):
        if self.dc is not None:
            self.dc.cleanup()

    def log(self):
        return self.dc.log() if self.dc else ""

    def imap_login(self, user, password, ip=None, select=False):
        """Log in over IMAP; ("OK", text) or ("NO", text with the response code)."""
        with imaplib.IMAP4("127.0.0.1", self.port, timeout=60) as imap:
            if ip is not None:
                imap._simple_command("ID", f'("x-originating-ip" "{ip}")')
            try:
                typ, data = imap.login(user, password)
            except imaplib.IMAP4.error as e:
                return "NO", str(e)
            if select:
                typ, data = imap.select("INBOX")
            imap.logout()
            return typ, b" ".join(d for d in data if isinstance(d, bytes)).decode()


def _cfg(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return '"' + re.sub(r'(["\\])', r"\\\1", str(v)) + '"'
