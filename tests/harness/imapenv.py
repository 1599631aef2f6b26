"""A private Dovecot serving IMAP on a loopback port with the mxkit_training
plugin loaded from the build directory, for the training tests and bench.

    env = TrainingImap(build, mariadb, rspamd_port=rs.controller_port)
    env.start(); c = env.login("alice@example.org")   # imaplib.IMAP4, logged in
    env.events()                                      # rows of training_events
    env.cleanup()

Mail is stored as maildir under the instance directory, owned by `nobody`
(the harness's static userdb); Junk and Trash carry their special-use flags.
plugin=False gives the same server without the plugin (bench baseline).
The plugin and mxkit-train read a mxkit.conf written here, which reaches the
private MariaDB over TCP on loopback (imap processes run as nobody); the
training spool (events written while MariaDB is down) is `spool_dir`, a
directory of the instance owned by nobody.
"""
import imaplib
import os
import pwd
import subprocess

from .dovecot import Dovecot
from .ports import free_port, wait_port

PASSWORD = "training-pw"


class TrainingImap:
    def __init__(self, build, mariadb, rspamd_port=None, plugin=True, users=("alice@example.org",),
                 extra_training=""):
        self.build = build
        self.db = mariadb
        self.port = free_port()
        # MXKIT_TRAINER: another mxkit-train build (e.g. the ASan one) to run
        self.trainer = os.environ.get("MXKIT_TRAINER") or os.path.join(build, "mxkit-train")
        # Dovecot itself is not built with ASan, so an ASan-built plugin cannot be
        # loaded into it ("ASan runtime does not come first"): when the tests run
        # on a sanitizer build, Dovecot loads the plugin of the plain build
        # ($MXKIT_PLAIN_BUILD) and the ASan trainer still runs.
        plain = os.environ.get("MXKIT_PLAIN_BUILD")
        asan_build = bool(plain) and os.path.realpath(plain) != os.path.realpath(build)
        plugdir = os.path.join(plain if asan_build else build, "dovecot-plugins", "training", ".libs")
        snippets = [
            f"service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n"
            f"    port = {self.port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n",
            "mail_location = maildir:~/Maildir\n",
            "namespace inbox {\n  inbox = yes\n"
            "  mailbox Junk {\n    special_use = \\Junk\n    auto = subscribe\n  }\n"
            "  mailbox Trash {\n    special_use = \\Trash\n    auto = subscribe\n  }\n"
            "  mailbox Archive {\n    auto = subscribe\n  }\n}\n",
        ]
        self.dc = Dovecot(name="training", users={u: PASSWORD for u in users},
                          protocols="imap", config=[])
        self.config_path = os.path.join(self.dc.dir, "mxkit.conf")
        self.spool_dir = os.path.join(self.dc.dir, "spool")
        if plugin:
            snippets.append(f"mail_plugin_dir = {plugdir}\nmail_plugins = $mail_plugins mxkit_training\n"
                            f"plugin {{\n  mxkit_training_config = {self.config_path}\n"
                            f"  mxkit_training_trainer = {self.trainer}\n}}\n")
        if os.environ.get("MXKIT_TRAINER") or asan_build:
            # an ASan trainer inherits the imap process's address-space limit
            snippets.append("service imap {\n  vsz_limit = 0\n}\n")
        self.dc.snippets = snippets
        self.dc._write_config()
        with open(self.config_path, "w") as f:
            f.write(f'database = {{ host = "127.0.0.1"; port = {mariadb.port}; name = "{mariadb.name}";'
                    f' user = "{mariadb.user}"; password = "{mariadb.password}"; }};\n'
                    f'training = {{ rspamd_port = {rspamd_port or free_port()}; timeout = 5;'
                    f' lock_wait = 60; spool_dir = "{self.spool_dir}"; {extra_training} }};\n')
        os.chmod(self.config_path, 0o644)
        nobody = pwd.getpwnam("nobody")
        os.makedirs(self.spool_dir, mode=0o700)
        os.chown(self.spool_dir, nobody.pw_uid, nobody.pw_gid)
        for u in users:
            home = os.path.join(self.dc.dir, "home", u)
            os.makedirs(home, exist_ok=True)
            os.chown(home, nobody.pw_uid, nobody.pw_gid)

    def start(self):
        self.dc.start()
        wait_port(self.port, 15)
        return self

    def cleanup(self):
        self.dc.cleanup()

    def login(self, user="alice@example.org"):
        c = imaplib.IMAP4("127.0.0.1", self.port, timeout=60)
        c.login(user, PASSWORD)
        return c

    def train_pending(self, timeout=120):
        return subprocess.run([self.trainer, "-c", self.config_path, "-v", "--pending"],
                              capture_output=True, text=True, timeout=timeout)

    def spool_files(self):
        """{name: bytes} of the files in the training spool."""
        out = {}
        for name in sorted(os.listdir(self.spool_dir)):
            with open(os.path.join(self.spool_dir, name), "rb") as f:
                out[name] = f.read()
        return out

    def events(self, user=None):
        sql = ("SELECT id, username, message_key, message_id, class, source_mailbox, dest_mailbox,"
               " state, attempts, result FROM training_events")
        args = None
        if user:
            sql += " WHERE username = %s"
            args = (user,)
        return self.db.sql(sql + " ORDER BY id", args)
