"""A whole private mail world for Postfix-level tests: MariaDB, mxkit-mapd, sinks, Postfix.

    env = MailEnv("eq")
    env.start_db(); env.start_sinks(); ...load data...; env.start_mapd()
    pf_a = env.postfix("a", env.mysql_maps())        # mysql: tables, reference queries
    pf_b = env.postfix("b", env.socketmap_maps())    # socketmap: tables, mxkit-mapd
    ...
    env.cleanup()                                    # stops everything it started

Everything lives under one directory of mode 0755 (the Postfix daemons run
as user postfix and must reach the MariaDB and mapd sockets in it). Sinks:
`relay` (SMTP; relayhost, i.e. every domain that is not ours), `mbox` (LMTP;
virtual_transport, the mailbox store) and `backend` (LMTP; the transport of
the fixture's transport domain). mxkit-mapd is started from $MXKIT_BUILD
(default <repo>/_build) by harness.mapd.
"""
import os
import shutil

from . import fixtures
from .dovecot_sasl import DovecotSasl
from .instancedir import new_instance_dir
from .mariadb import MariaDB
from .postfix import Postfix
from .sink import Sink


def postfix_main(maps, sinks, extra=None):
    """main.cf settings of a virtual-domain Postfix using the given maps."""
    main = {
        "recipient_delimiter": "+",
        "virtual_alias_domains": "",
        "virtual_mailbox_domains": maps["domain"],
        "virtual_mailbox_maps": maps["mailbox"],
        "virtual_alias_maps": maps["alias"],
        "transport_maps": maps["transport"],
        "smtpd_sender_login_maps": maps["sender_login"],
        "virtual_transport": sinks["mbox"].transport,
        # Mail from 127.0.0.1 is treated as coming from the internet: no relaying.
        "smtpd_relay_restrictions": "reject_unauth_destination",
        "smtpd_recipient_restrictions": "reject_unlisted_recipient, permit",
    }
    main.update(extra or {})
    return main


class MailEnv:
    def __init__(self, name="env"):
        self.name = name
        self.dir = new_instance_dir(f"mxkit-{name}")
        self.db = None
        self.mapd = None          # harness.mapd.Mapd
        self.mapd_socket = None
        self.sinks = []
        self.relay = self.mbox = self.backend = None
        self.instances = []
        self.map_cf = {}
        self.sasl = None

    # -- servers ---------------------------------------------------------
    def start_db(self):
        self.db = MariaDB(self.dir)
        os.chmod(self.db.dir, 0o755)
        self.db.start()
        self.db.create_mxkit_db()
        return self.db

    def start_sinks(self):
        self.relay = Sink("smtp", "relay").start()
        self.mbox = Sink("lmtp", "mbox").start()
        self.backend = Sink("lmtp", "backend").start()
        self.sinks = [self.relay, self.mbox, self.backend]

    def start_mapd(self, **settings):
        """Start mxkit-mapd (harness.mapd) on a unix socket in the env directory;
        settings go to its `mapd` section (cache_ttl, negative_ttl, ...)."""
        from .mapd import Mapd
        self.mapd = Mapd(self.dir, self.db, recipient_delimiter="+", socket_mode="0666",
                         **settings)
        self.mapd.start()
        self.mapd_socket = self.mapd.socket
        return self.mapd

    def stop_mapd(self):
        if self.mapd is not None:
            rc = self.mapd.stop()
            self.mapd = None
            return rc
        return None

    def start_sasl(self, users):
        """A private Dovecot answering SMTP AUTH for {login: password}."""
        self.sasl = DovecotSasl(self.dir, users).start()
        return self.sasl

    def sasl_settings(self):
        """main.cf settings for SMTP AUTH through start_sasl()'s Dovecot, with
        smtpd_sender_login_maps enforced on every MAIL FROM."""
        return {"smtpd_sasl_auth_enable": "yes", "smtpd_sasl_type": "dovecot",
                "smtpd_sasl_path": self.sasl.socket,
                "smtpd_sender_restrictions": "reject_sender_login_mismatch"}

    # -- maps ------------------------------------------------------------
    def mysql_maps(self, proxy=False):
        """{map: 'mysql:/path.cf'} with the reference queries (hosts = unix socket)."""
        maps = {}
        cfdir = os.path.join(self.dir, "mysql-maps")
        os.makedirs(cfdir, mode=0o755, exist_ok=True)
        for m in fixtures.MAPS:
            path = os.path.join(cfdir, f"{m}.cf")
            with open(path, "w") as f:
                f.write(fixtures.mysql_table_cf(self.db, m))
            os.chmod(path, 0o640)
            shutil.chown(path, "root", "postfix")
            self.map_cf[m] = path
            maps[m] = ("proxy:" if proxy else "") + "mysql:" + path
        return maps

    def socketmap(self, name):
        return f"socketmap:unix:{self.mapd_socket}:{name}"

    def socketmap_maps(self):
        return {m: self.socketmap(m) for m in fixtures.MAPS}

    def postfix(self, name, maps, extra=None, start=True):
        pf = Postfix(name, basedir=self.dir, relayhost=self.relay.address,
                     main=postfix_main(maps, {"mbox": self.mbox}, extra))
        self.instances.append(pf)
        if start:
            pf.start()
        return pf

    # -- teardown --------------------------------------------------------
    def cleanup(self):
        for pf in self.instances:
            try:
                pf.cleanup()
            except Exception:  # keep tearing down the rest
                pass
        self.stop_mapd()
        if self.sasl is not None:
            self.sasl.stop()
        for s in self.sinks:
            s.stop()
        if self.db is not None:
            self.db.stop()
        if not os.environ.get("MXKIT_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
