"""A private Dovecot instance: its own base_dir, state and log, no system files.

    dc = Dovecot(name="sasl", users={"alice@example.org": "secret"})
    dc.start()                       # dovecot -c <dir>/dovecot.conf
    dc.auth_socket                   # unix socket for Postfix: smtpd_sasl_type = dovecot
    dc.log(); dc.doveadm("auth", "test", "alice@example.org", "secret")
    dc.stop(); dc.cleanup()          # or use it as a context manager

By default it serves only authentication: `protocols` is empty, so no
IMAP/POP3/LMTP listener exists, and the one auth listener (auth_socket,
mode 0666) sits in the instance's directory. The passdb is a passwd-file
written from `users` ({user: password}, stored as {PLAIN} or as given
when the password already starts with a {SCHEME}); the userdb is static.
Callers that need more pass config text snippets (`config=[...]`, appended
to the generated file) and may replace the passdb/userdb blocks
(`passdb=`, `userdb=`) or set `protocols=`. Logs go to log_path (these
machines have no syslog). Dovecot is started and stopped only with its own
commands: `dovecot -c FILE`, `doveadm -c FILE stop` (then the master pid is
waited for, and killed if it lingers).

Auth modules under test (libauthdb_*.so) load only from Dovecot's
compiled-in module directory. With `auth_modules=[path, ...]` the instance
gets a private copy of that directory holding the system's modules plus
the given ones, and its master is started in a private mount namespace
(`unshare --mount`) where that copy is bind-mounted over the system
directory: the host's files and other instances are never touched.
"""
import os
import shutil
import signal
import subprocess
import time

from .instancedir import new_instance_dir, require_root

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"
UNSHARE = "/usr/bin/unshare"
AUTH_MODULE_DIR = "/usr/lib/dovecot/modules/auth"
MAX_LOG_BYTES = 16 << 20


class DovecotError(RuntimeError):
    pass


class Dovecot:
    def __init__(self, name="dc", basedir=None, users=None, config=None, passdb=None,
                 userdb=None, protocols="", auth_modules=None):
        """name: short tag (instance_name and log prefix).
        basedir: parent directory (must be searchable by Dovecot's users); default /tmp.
        users: {user: password} for the passwd-file passdb.
        config: list of text snippets appended to dovecot.conf.
        passdb/userdb: replace the default blocks (full text, braces included).
        protocols: value of `protocols` (empty: authentication only).
        auth_modules: paths of auth modules to load from a private module dir."""
        require_root("Dovecot", DovecotError)
        self.name = name
        self.dir = new_instance_dir(f"mxkit-dovecot-{name}", basedir)
        self.base_dir = os.path.join(self.dir, "run")
        self.state_dir = os.path.join(self.dir, "state")
        self.config_path = os.path.join(self.dir, "dovecot.conf")
        self.passwd_path = os.path.join(self.dir, "passwd")
        self.log_path = os.path.join(self.dir, "dovecot.log")
        self.auth_socket = os.path.join(self.dir, "auth-client")
        os.makedirs(self.state_dir, mode=0o750, exist_ok=True)
        self.users = dict(users or {})
        self.snippets = list(config or [])
        self.passdb = passdb
        self.userdb = userdb
        self.protocols = protocols
        self.running = False
        self.pid = None
        self.auth_module_dir = None
        if auth_modules:
            self._copy_auth_modules(auth_modules)
        self._write_passwd()
        self._write_config()

    # -- configuration ---------------------------------------------------
    def _write_passwd(self):
        with open(self.passwd_path, "w") as f:
            for user, password in self.users.items():
                if ":" in user or "\n" in user or "\n" in password:
                    raise DovecotError(f"user {user!r}: ':' and newlines cannot be stored")
                pw = password if password.startswith("{") else "{PLAIN}" + password
                f.write(f"{user}:{pw}::::::\n")
        os.chmod(self.passwd_path, 0o640)
        shutil.chown(self.passwd_path, "root", "dovecot")

    def _write_config(self):
        passdb = self.passdb or (
            "passdb {\n  driver = passwd-file\n"
            f"  args = scheme=PLAIN username_format=%u {self.passwd_path}\n}}\n")
        userdb = self.userdb or (
            "userdb {\n  driver = static\n"
            f"  args = uid=nobody gid=nogroup home={self.dir}/home/%u\n}}\n")
        text = f"""# private Dovecot instance '{self.name}' for mxkit tests
instance_name = mxkit-{self.name}
base_dir = {self.base_dir}
state_dir = {self.state_dir}
log_path = {self.log_path}
info_log_path = {self.log_path}
debug_log_path = {self.log_path}
protocols = {self.protocols}
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
{passdb}{userdb}
service auth {{
  unix_listener {self.auth_socket} {{
    mode = 0666
  }}
}}
"""
        text += "".join(s if s.endswith("\n") else s + "\n" for s in self.snippets)
        with open(self.config_path, "w") as f:
            f.write(text)

    def _copy_auth_modules(self, modules):
        self.auth_module_dir = os.path.join(self.dir, "auth-modules")
        shutil.copytree(AUTH_MODULE_DIR, self.auth_module_dir, symlinks=True)
        for m in modules:
            if not os.path.isfile(m):
                raise DovecotError(f"auth module {m} not found (build it first)")
            shutil.copy(m, self.auth_module_dir)
        os.chmod(self.auth_module_dir, 0o755)

    def _start_command(self):
        cmd = [DOVECOT, "-c", self.config_path]
        if self.auth_module_dir is None:
            return cmd
        # A private mount namespace that the daemonised master and all its
        # children keep: the module copy replaces the system dir only there.
        return [UNSHARE, "--mount", "--propagation", "private", "sh", "-c",
                'mount --bind "$0" "$1" && exec "$2" -c "$3"',
                self.auth_module_dir, AUTH_MODULE_DIR, DOVECOT, self.config_path]

    def add_user(self, user, password):
        """Add a user (takes effect at once: passwd-file is re-read when it changes)."""
        self.users[user] = password
        self._write_passwd()

    # -- lifecycle -------------------------------------------------------
    def start(self, timeout=15):
        # The daemon keeps its inherited stdio: give it a file, not a pipe.
        out = os.path.join(self.dir, "start.out")
        with open(out, "wb") as f:
            r = subprocess.run(self._start_command(), stdin=subprocess.DEVNULL,
                               stdout=f, stderr=subprocess.STDOUT, timeout=60)
        if r.returncode != 0:
            with open(out, errors="replace") as f:
                raise DovecotError(f"dovecot -c {self.config_path}: {f.read().strip()}\n"
                                   + self.log()[-2000:])
        self.running = True
        self.pid = self.master_pid()
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.auth_socket):
            if time.monotonic() >= deadline:
                self.stop()
                raise DovecotError(f"no auth socket {self.auth_socket} after {timeout}s\n"
                                   + self.log()[-2000:])
            time.sleep(0.05)
        return self

    def master_pid(self):
        try:
            with open(os.path.join(self.base_dir, "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self, timeout=15):
        if not self.running:
            return
        pid = self.master_pid() or self.pid
        subprocess.run([DOVEADM, "-c", self.config_path, "stop"], capture_output=True, timeout=60)
        deadline = time.monotonic() + timeout
        while pid and _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid and _alive(pid):
            os.kill(pid, signal.SIGKILL)
        self.running = False

    def cleanup(self):
        """Stop and remove the instance's directory (kept when MXKIT_KEEP is set)."""
        self.stop()
        if not os.environ.get("MXKIT_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    # -- tools -----------------------------------------------------------
    def doveadm(self, *args, check=True):
        """Run `doveadm -c FILE ARGS...`; returns the CompletedProcess."""
        r = subprocess.run([DOVEADM, "-c", self.config_path, *args], capture_output=True,
                           text=True, timeout=60)
        if check and r.returncode != 0:
            raise DovecotError(f"doveadm {' '.join(args)} exited {r.returncode}: {r.stderr.strip()}")
        return r

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read(MAX_LOG_BYTES).decode("utf-8", "replace")
        except FileNotFoundError:
            return ""


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
