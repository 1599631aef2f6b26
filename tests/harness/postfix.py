"""A private Postfix instance: its own config, queue and data directories, on a loopback port.

    pf = Postfix(name="a", relayhost=sink.address,
                 main={"virtual_transport": lmtp_sink.transport,
                       "virtual_alias_maps": "socketmap:unix:/path/mapd.sock:alias"})
    pf.write_map("alias.cf", "hosts = unix:/..\\nquery = ...")   # -> path in pf.maps_dir
    pf.start()
    with pf.smtp() as s: s.sendmail(...)          # smtplib.SMTP on pf.smtp_port
    pf.flush(); pf.wait_queue_empty(); pf.queue(); pf.log()
    pf.stop(); pf.cleanup()

Every instance gets a fresh directory (mode 0755, since the Postfix daemons
run as user `postfix` and must reach it) with etc/ (main.cf and master.cf),
spool/ (queue_directory), data/ (data_directory), maps/ and maillog (the
postlog service writes it: these machines have no syslog). master.cf runs
nothing chrooted and only the services a test needs; smtpd listens on
127.0.0.1 on a port picked at start. Several instances run side by side:
directories, port, myhostname and syslog_name differ.

Postfix is driven only through its own commands (`postfix -c DIR start|stop|
reload`, `postqueue -c DIR -f|-j`, `postsuper -c DIR`, `postconf -c DIR`).
It must run as root (mail_owner postfix, setgid_group postdrop).
"""
import json
import os
import re
import shutil
import smtplib
import subprocess
import time

from .ports import free_port, wait_port
from .instancedir import new_instance_dir, require_root

POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
POSTQUEUE = "/usr/sbin/postqueue"
POSTSUPER = "/usr/sbin/postsuper"
POSTMAP = "/usr/sbin/postmap"
MAX_LOG_BYTES = 64 << 20

# Services of a private instance: name type private unpriv chroot wakeup maxproc command.
# No chroot anywhere: maps and sockets live in temp dirs the daemons reach directly.
MASTER_SERVICES = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class PostfixError(RuntimeError):
    pass


def _run(cmd, check=True, timeout=60, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise PostfixError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()}")
    return r


class Postfix:
    def __init__(self, name="pf", basedir=None, relayhost=None, main=None, smtpd_options=None):
        """name: short tag (myhostname NAME.mxkit.test, syslog_name postfix-NAME).
        basedir: parent directory (must be traversable by user postfix); default /tmp.
        relayhost: next hop for mail to domains that are not ours (e.g. '[127.0.0.1]:2525').
        main: extra main.cf settings (override the defaults below).
        smtpd_options: extra `-o name=value` for the smtpd listener."""
        require_root("Postfix", PostfixError)
        self.name = name
        self.dir = new_instance_dir(f"mxkit-postfix-{name}", basedir)
        self.config_dir = os.path.join(self.dir, "etc")
        self.queue_dir = os.path.join(self.dir, "spool")
        self.data_dir = os.path.join(self.dir, "data")
        self.maps_dir = os.path.join(self.dir, "maps")
        self.logfile = os.path.join(self.dir, "maillog")
        for d in (self.config_dir, self.queue_dir, self.maps_dir):
            os.makedirs(d, mode=0o755, exist_ok=True)
        os.makedirs(self.data_dir, mode=0o700, exist_ok=True)
        shutil.chown(self.data_dir, "postfix", "postfix")
        self.smtp_port = free_port()
        self.hostname = f"{name}.mxkit.test"
        self.settings = self._defaults(relayhost)
        self.settings.update(main or {})
        self.smtpd_options = dict(smtpd_options or {})
        self.running = False
        self._write_config()
        self._check_traversable()

    # -- configuration ---------------------------------------------------
    def _defaults(self, relayhost):
        return {
            "compatibility_level": "3.6",
            "queue_directory": self.queue_dir,
            "data_directory": self.data_dir,
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": self.hostname,
            "mydomain": "mxkit.test",
            "myorigin": "$myhostname",
            "mydestination": "",
            "local_recipient_maps": "",
            "local_transport": "error:5.1.1 local delivery is disabled",
            "alias_maps": "",
            "alias_database": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "relayhost": relayhost or "",
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "lmtp_host_lookup": "native",
            "syslog_name": f"postfix-{self.name}",
            "maillog_file": self.logfile,
            "maillog_file_prefixes": self.dir,
            "import_environment": "MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C",
            "biff": "no",
            "append_dot_mydomain": "no",
            "smtputf8_enable": "no",
            "smtpd_banner": "$myhostname ESMTP",
            # Tests send many transactions with many refusals per session.
            "smtpd_hard_error_limit": "100000",
            "smtpd_soft_error_limit": "100000",
            "smtpd_error_sleep_time": "0",
            "smtpd_junk_command_limit": "100000",
            "smtpd_client_connection_count_limit": "0",
            "smtpd_recipient_limit": "10000",
            # Deferred mail stays deferred until the test flushes the queue.
            "queue_run_delay": "300s",
            "minimal_backoff_time": "300s",
            "maximal_backoff_time": "600s",
            "delay_warning_time": "0",
            "notify_classes": "",
            "in_flow_delay": "0",
        }

    def _write_config(self):
        with open(os.path.join(self.config_dir, "main.cf"), "w") as f:
            f.write(f"# private Postfix instance '{self.name}' for mxkit tests\n")
            for k, v in self.settings.items():
                f.write(f"{k} = {v}\n")
        opts = "".join(f"\n  -o {k}={v}" for k, v in self.smtpd_options.items())
        with open(os.path.join(self.config_dir, "master.cf"), "w") as f:
            f.write(f"127.0.0.1:{self.smtp_port} inet n - n - - smtpd{opts}\n")
            f.write(MASTER_SERVICES)

    def _check_traversable(self):
        """The daemons run as user postfix: every parent of the instance must be searchable."""
        path = self.dir
        while path != "/":
            path = os.path.dirname(path)
            if not os.stat(path).st_mode & 0o001:
                raise PostfixError(f"{path} is not searchable by user postfix; "
                                   "give Postfix a basedir under a world-searchable directory")

    def set(self, reload=True, **settings):
        """Change main.cf settings (and reload a running instance)."""
        self.settings.update({k: str(v) for k, v in settings.items()})
        self._write_config()
        if reload and self.running:
            self.reload()

    def write_map(self, filename, content, mode=0o640):
        """Write a map file (e.g. a mysql: .cf) under maps/, readable by group postfix."""
        path = os.path.join(self.maps_dir, filename)
        with open(path, "w") as f:
            f.write(content)
        os.chmod(path, mode)
        shutil.chown(path, "root", "postfix")
        return path

    def postconf(self, *args, check=True):
        return _run([POSTCONF, "-c", self.config_dir, *args], check=check).stdout

    def postmap_query(self, table, keys, check=False):
        """`postmap -c DIR -q - TABLE` for the given keys; returns {key: value}."""
        r = _run([POSTMAP, "-c", self.config_dir, "-q", "-", table], check=False,
                 input="".join(k + "\n" for k in keys))
        if check and r.returncode not in (0, 1):
            raise PostfixError(f"postmap -q - {table}: {r.stderr.strip()}")
        out = {}
        for line in r.stdout.splitlines():
            k, _, v = line.partition("\t")
            out[k] = v
        return out

    # -- lifecycle -------------------------------------------------------
    def start(self, timeout=30):
        r = _run([POSTFIX, "-c", self.config_dir, "start"], check=False)
        if r.returncode != 0:
            raise PostfixError(f"postfix -c {self.config_dir} start: {r.stderr.strip()}\n"
                               + "\n".join(self.log_lines()[-10:]))
        self.running = True
        wait_port(self.smtp_port, timeout=timeout)
        return self

    def stop(self, timeout=30):
        if not self.running:
            return
        pid = self.master_pid()
        _run([POSTFIX, "-c", self.config_dir, "stop"], check=False)
        deadline = time.monotonic() + timeout
        while pid and _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid and _alive(pid):
            _run([POSTFIX, "-c", self.config_dir, "abort"], check=False)
        self.running = False

    def reload(self):
        _run([POSTFIX, "-c", self.config_dir, "reload"])

    def restart(self):
        """Stop and start: unlike reload, no process of the old configuration
        can take the next connection (an idle smtpd may, after a reload)."""
        self.stop()
        return self.start()

    def cleanup(self):
        """Stop and remove the instance's directory (keep it when MXKIT_KEEP is set)."""
        self.stop()
        if not os.environ.get("MXKIT_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    def master_pid(self):
        try:
            with open(os.path.join(self.queue_dir, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    # -- clients ---------------------------------------------------------
    def smtp(self, timeout=60):
        """An smtplib.SMTP session with this instance's smtpd (EHLO done)."""
        s = smtplib.SMTP("127.0.0.1", self.smtp_port, local_hostname="client.mxkit.test",
                         timeout=timeout)
        s.ehlo()
        return s

    # -- queue -----------------------------------------------------------
    def flush(self):
        """Attempt to deliver all queued mail now (postqueue -f)."""
        _run([POSTQUEUE, "-c", self.config_dir, "-f"])

    def queue(self):
        """The queue as a list of dicts (postqueue -j): queue_name, queue_id, sender,
        recipients [{address, delay_reason}], ..."""
        r = _run([POSTQUEUE, "-c", self.config_dir, "-j"])
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]

    def wait_queue(self, predicate, timeout=60.0, interval=0.2):
        """Poll the queue until predicate(queue) is true; return the queue."""
        deadline = time.monotonic() + timeout
        while True:
            q = self.queue()
            if predicate(q):
                return q
            if time.monotonic() >= deadline:
                raise TimeoutError(f"postfix {self.name}: queue condition not met after "
                                   f"{timeout}s: {len(q)} messages, e.g. {q[:2]}")
            time.sleep(interval)

    def wait_queue_empty(self, timeout=60.0):
        return self.wait_queue(lambda q: not q, timeout=timeout)

    def delete_queue(self):
        _run([POSTSUPER, "-c", self.config_dir, "-d", "ALL"], check=False)

    # -- log -------------------------------------------------------------
    def log(self):
        """The whole maillog so far."""
        try:
            with open(self.logfile, "rb") as f:
                return f.read(MAX_LOG_BYTES).decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_lines(self, pattern=None):
        """Lines of the maillog, all or those matching a regular expression."""
        lines = self.log().splitlines()
        if pattern is None:
            return lines
        rx = re.compile(pattern)
        return [l for l in lines if rx.search(l)]

    def problems(self):
        """Log lines at warning/error/fatal/panic level."""
        return self.log_lines(r"(warning|error|fatal|panic):")


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
