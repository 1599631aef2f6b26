"""A private rspamd with its own redis, both on loopback ports picked at run time.

    rs = Rspamd(); rs.start()           # redis-server, then rspamd -f
    rs.controller_port                 # /learnspam, /learnham, /stat
    rs.normal_port, rs.proxy_port      # scanning; milter (proxy worker, milter = yes)
    rs.learned()                       # "Messages learned" of rspamc stat
    rs.stop_rspamd(); rs.start_rspamd()   # an outage, then recovery
    rs.stop(); rs.cleanup()

The stock configuration in /etc/rspamd is used with a private LOCAL_CONFDIR
(local.d overrides), RUNDIR, DBDIR and LOGDIR, so the system's rspamd and
redis are never touched. DNS goes to a loopback port where nothing answers,
so no query leaves the machine. Both servers run as their Debian users and
are stopped by the pids this object started.
"""
import os
import re
import shutil
import signal
import subprocess
import time

from .ports import free_port, wait_port
from .instancedir import new_instance_dir

RSPAMD = "/usr/bin/rspamd"
RSPAMC = "/usr/bin/rspamc"
REDIS = "/usr/bin/redis-server"


class Rspamd:
    def __init__(self, basedir=None):
        self.dir = new_instance_dir("mxkit-rspamd", basedir)
        self.local = os.path.join(self.dir, "local")
        self.run = os.path.join(self.dir, "run")
        self.redis_dir = os.path.join(self.dir, "redis")
        for d in (self.local + "/local.d", self.run, self.redis_dir):
            os.makedirs(d, exist_ok=True)
        shutil.chown(self.run, "_rspamd", "_rspamd")
        shutil.chown(self.redis_dir, "redis", "redis")
        self.redis_port = free_port()
        self.normal_port = free_port()
        self.controller_port = free_port()
        self.proxy_port = free_port()
        self.dns_port = free_port()
        self.redis = None
        self.proc = None
        self._write_config()

    def _write_config(self):
        files = {
            "worker-normal.inc": f'bind_socket = "127.0.0.1:{self.normal_port}";\n',
            "worker-controller.inc": f'bind_socket = "127.0.0.1:{self.controller_port}";\n',
            "worker-proxy.inc": (f'bind_socket = "127.0.0.1:{self.proxy_port}";\nmilter = yes;\n'
                                 'upstream "local" { default = yes; self_scan = yes; }\n'),
            "worker-fuzzy.inc": "count = 0;\n",
            "redis.conf": f'servers = "127.0.0.1:{self.redis_port}";\n',
            "options.inc": (f'dns {{ nameserver = ["127.0.0.1:{self.dns_port}"]; timeout = 0.5s; '
                            'retransmits = 1; }\n'),
            "logging.inc": f'type = "file";\nfilename = "{self.run}/rspamd.log";\nlevel = "info";\n',
        }
        for name, text in files.items():
            with open(os.path.join(self.local, "local.d", name), "w") as f:
                f.write(text)

    def _args(self):
        return [RSPAMD, "-f", "-u", "_rspamd", "-g", "_rspamd", "-c", "/etc/rspamd/rspamd.conf",
                f"--var=LOCAL_CONFDIR={self.local}", f"--var=RUNDIR={self.run}",
                f"--var=DBDIR={self.run}", f"--var=LOGDIR={self.run}"]

    def start(self, timeout=30):
        self.redis = subprocess.Popen(
            [REDIS, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.redis_dir, "--daemonize", "no",
             "--logfile", os.path.join(self.redis_dir, "redis.log")],
            user="redis", group="redis", stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.redis_port, timeout)
        self.start_rspamd(timeout)
        return self

    def start_rspamd(self, timeout=30):
        out = open(os.path.join(self.dir, "rspamd.out"), "ab")
        self.proc = subprocess.Popen(self._args(), stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.STDOUT)
        out.close()
        try:
            wait_port(self.controller_port, timeout)
            wait_port(self.normal_port, timeout)
        except TimeoutError:
            self.stop_rspamd()
            raise RuntimeError("rspamd did not start:\n" + self.log()[-3000:])

    def stop_rspamd(self, timeout=20):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self.proc = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _listening(self.controller_port):
            time.sleep(0.05)

    def stop(self):
        self.stop_rspamd()
        if self.redis is not None:
            self.redis.terminate()
            try:
                self.redis.wait(20)
            except subprocess.TimeoutExpired:
                self.redis.kill()
                self.redis.wait(20)
            self.redis = None

    def cleanup(self):
        self.stop()
        if not os.environ.get("MXKIT_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    def rspamc(self, *args, input=None):
        return subprocess.run([RSPAMC, "-h", f"127.0.0.1:{self.controller_port}", *args],
                              input=input, capture_output=True, timeout=60)

    def learned(self):
        """The "Messages learned" count of rspamc stat (spam and ham; the
        per-statfile counts are only refreshed from redis now and then)."""
        r = self.rspamc("stat")
        text = r.stdout.decode("utf-8", "replace")
        m = re.search(r"^Messages learned: (\d+)$", text, re.M)
        if r.returncode != 0 or not m:
            raise RuntimeError(f"rspamc stat: no learned count:\n{text}{r.stderr!r}")
        return int(m.group(1))

    def log(self):
        parts = []
        for p in (os.path.join(self.dir, "rspamd.out"), os.path.join(self.run, "rspamd.log")):
            try:
                with open(p, errors="replace") as f:
                    parts.append(f.read()[-20000:])
            except OSError:
                pass
        return "\n".join(parts)


def _listening(port):
    import socket
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False
