"""A private Dovecot that only serves SASL authentication to a private Postfix.

    sasl = DovecotSasl(basedir, {"alice@example.org": "secret", ...}); sasl.start()
    pf main.cf: smtpd_sasl_auth_enable = yes, smtpd_sasl_type = dovecot,
                smtpd_sasl_path = sasl.socket
    sasl.stop()

Real Dovecot (no mock): its own base_dir, log file and a passwd-file passdb,
no mail protocols, no TLS, no listener but the auth socket that Postfix's
smtpd uses (mode 0666 inside the test directory). It lets tests run SMTP AUTH
so that smtpd applies smtpd_sender_login_maps (reject_sender_login_mismatch).
"""
import os
import shutil
import subprocess
import time

DOVECOT = "/usr/sbin/dovecot"


class DovecotSasl:
    def __init__(self, basedir, users):
        self.dir = os.path.join(basedir, "dovecot-sasl")
        self.base_dir = os.path.join(self.dir, "run")
        os.makedirs(self.base_dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.socket = os.path.join(self.dir, "auth-client")
        self.config = os.path.join(self.dir, "dovecot.conf")
        self.passwd = os.path.join(self.dir, "passwd")
        self.logfile = os.path.join(self.dir, "dovecot.log")
        with open(self.passwd, "w") as f:
            for user, password in users.items():
                if ":" in user or "\n" in user or ":" in password or "\n" in password:
                    raise ValueError(f"unusable user/password for passwd-file: {user!r}")
                f.write(f"{user}:{{PLAIN}}{password}\n")
        os.chmod(self.passwd, 0o640)          # read by the auth process (user dovecot)
        shutil.chown(self.passwd, "root", "dovecot")
        with open(self.config, "w") as f:
            f.write(f"""# private Dovecot for SASL only (mxkit tests)
base_dir = {self.base_dir}
state_dir = {self.dir}/state
log_path = {self.logfile}
protocols =
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %Lu
auth_verbose = yes
# the default set refuses "+", which stored addresses may contain
auth_username_chars =
default_internal_user = dovecot
default_login_user = dovenull
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self.passwd}
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}}
service auth {{
  unix_listener {self.socket} {{
    mode = 0666
  }}
  unix_listener auth-userdb {{
    mode = 0600
  }}
}}
service anvil {{
  chroot =
}}
""")
        self.running = False

    def start(self, timeout=15):
        # The daemon keeps its stdio: give it a file, not a pipe we would wait on.
        errfile = os.path.join(self.dir, "dovecot.stderr")
        with open(errfile, "w") as err:
            r = subprocess.run([DOVECOT, "-c", self.config], stdin=subprocess.DEVNULL,
                               stdout=err, stderr=err, timeout=30)
        if r.returncode != 0:
            with open(errfile) as f:
                raise RuntimeError(f"dovecot -c {self.config}: {f.read().strip()} "
                                   f"{self.log()[-2000:]}")
        self.running = True
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.socket):
            if time.monotonic() > deadline:
                raise TimeoutError(f"dovecot did not create {self.socket}: {self.log()[-2000:]}")
            time.sleep(0.05)
        return self

    def stop(self):
        if not self.running:
            return
        subprocess.run([DOVECOT, "-c", self.config, "stop"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        pidfile = os.path.join(self.base_dir, "master.pid")
        deadline = time.monotonic() + 15
        while os.path.exists(pidfile) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.running = False

    def log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except OSError:
            return ""
