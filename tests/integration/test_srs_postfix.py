"""mxkit-srs in a private Postfix's smtpd_milters (the deployment of mxkit-srs(8)).

The world: a private MariaDB with our domain example.org (a mailbox, an
alias forwarding outside, an alias forwarding both inside and outside, a
catch-all domain forwarding outside), the SRS domain srs.example.org in
relay_domains, the relay sink standing for the internet and the mbox sink
for our mailboxes. Checked at the sinks:
  * mail to an alias that forwards outside arrives at the relay with an
    SRS0 sender that reverses to the original; the same through +ext and
    a catch-all; an SRS0 sender becomes SRS1;
  * local delivery keeps the original sender; so do senders in our own
    domains and the null sender when forwarded;
  * a mixed message (a local and a forwarded recipient) is rewritten for
    both (one envelope sender per message, see mxkit-srs(8));
  * a bounce to the SRS address is delivered to the original sender; a
    forged and an expired one are refused at RCPT with 550 5.1.1;
  * with the milter's database down, recipients are tempfailed at RCPT
    and nothing is delivered or rewritten.
"""
import os
import subprocess
import time

import pytest

from conftest import build_dir
from harness.mailenv import MailEnv
from harness.ports import free_port
from test_dkim_milter import Milter

SRS = os.path.join(build_dir(), "milters", "srs", "mxkit-srs")
TOOL = os.path.join(build_dir(), "milters", "srs", "mxkit-srs-tool")
OURS = "example.org"
SRS_DOMAIN = "srs.example.org"
SECRET = "integration-secret"
SENDER = "carol@sender.test"
DAY = 86400


def load_data(db):
    db.sql("INSERT INTO domains (name) VALUES (%s), (%s)", (OURS, "catch.example"))
    ids = dict(db.sql("SELECT name, id FROM domains"))
    db.sql("INSERT INTO users (domain_id, address, password) VALUES (%s, %s, 'x')",
           (ids[OURS], f"alice@{OURS}"))
    for src, dst in ((f"fwd@{OURS}", "bob@remote.test"),
                     (f"chain@{OURS}", f"fwd@{OURS}"),
                     (f"team@{OURS}", f"alice@{OURS}"),
                     (f"team@{OURS}", "dave@remote.test"),
                     (f"inside@{OURS}", f"alice@{OURS}"),
                     ("@catch.example", "eve@remote.test")):
        dom = src.split("@", 1)[1]
        db.sql("INSERT INTO aliases (domain_id, source, destination) VALUES (%s, %s, %s)",
               (ids[dom], src, dst))


def tool(*args):
    return subprocess.run([TOOL, "-d", SRS_DOMAIN, "-s", WORLD_SECRETS[0], *args],
                          capture_output=True, text=True, timeout=30)


WORLD_SECRETS = []


@pytest.fixture(scope="module")
def world():
    env = MailEnv("srs")
    milter = None
    try:
        env.start_db()
        env.start_sinks()
        load_data(env.db)
        secrets = os.path.join(env.dir, "srs.secrets")
        with open(secrets, "w") as f:
            f.write(SECRET + "\n")
        os.chmod(secrets, 0o600)
        WORLD_SECRETS[:] = [secrets]
        port = free_port()
        conf = os.path.join(env.dir, "srs.conf")
        with open(conf, "w") as f:
            f.write(env.db.write_client_config(conf))
            f.write(f'srs = {{ domain = "{SRS_DOMAIN}"; secrets_file = "{secrets}";\n'
                    f'  socket = "inet:{port}@127.0.0.1"; user = "nobody"; log_level = "debug"; }};\n')
        milter = Milter(conf, None, os.path.join(env.dir, "srs.log"), binary=SRS, port=port)
        pf = env.postfix("srs", env.mysql_maps(), extra={
            "relay_domains": SRS_DOMAIN,
            "smtpd_milters": f"inet:127.0.0.1:{port}",
            "milter_default_action": "tempfail",
            "milter_protocol": "6",
        })
        yield {"env": env, "pf": pf, "milter": milter, "port": port,
               "log": os.path.join(env.dir, "srs.log")}
    finally:
        if milter is not None:
            milter.stop()
        env.cleanup()


def send(world, sender, rcpts):
    """One message; returns {rcpt: (code, text)} for the RCPTs and the DATA reply."""
    s = world["pf"].smtp()
    try:
        code, text = s.mail(sender)
        assert code == 250, (code, text)
        replies = {r: s.rcpt(r) for r in rcpts}
        data = None
        if any(c == 250 for c, _ in replies.values()):
            data = s.data(b"Subject: srs test\r\nFrom: <x@sender.test>\r\n\r\nhello\r\n")
        else:
            s.rset()
        return replies, data
    finally:
        s.quit()


def arrivals(sink, n, timeout=30):
    """Wait for at least n transactions at sink; return them all."""
    return sink.wait_for(lambda txs: len(txs) >= n, timeout=timeout)


def fresh(world):
    for s in world["env"].sinks:
        s.clear()


def reverse(addr):
    r = tool("reverse", addr)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_forward_gets_srs_sender(world):
    fresh(world)
    env = world["env"]
    replies, data = send(world, SENDER, [f"fwd@{OURS}"])
    assert data[0] == 250, data
    tx = arrivals(env.relay, 1)[0]
    assert tx.recipients == ["bob@remote.test"]
    assert tx.mail_from.startswith("SRS0=") and tx.mail_from.endswith("@" + SRS_DOMAIN), tx.mail_from
    assert reverse(tx.mail_from) == SENDER
    # Exactly what mxkit-srs-tool (and so PostSRSd) writes.
    assert tool("forward", SENDER).stdout.strip() == tx.mail_from


@pytest.mark.parametrize("rcpt,final", [
    (f"fwd+tag@{OURS}", "bob+tag@remote.test"),       # extension re-appended, as Postfix does
    (f"chain@{OURS}", "bob@remote.test"),             # alias -> alias -> outside
    ("anyone@catch.example", "eve@remote.test"),      # catch-all
    (f"FWD@{OURS.upper()}", "bob@remote.test"),       # case
])
def test_forward_forms(world, rcpt, final):
    fresh(world)
    replies, data = send(world, SENDER, [rcpt])
    assert data[0] == 250, data
    tx = arrivals(world["env"].relay, 1)[0]
    assert tx.recipients == [final]
    assert reverse(tx.mail_from) == SENDER


def test_local_keeps_sender(world):
    fresh(world)
    env = world["env"]
    send(world, SENDER, [f"alice@{OURS}"])
    send(world, SENDER, [f"inside@{OURS}"])   # an alias that stays inside
    txs = arrivals(env.mbox, 2)
    assert [t.mail_from for t in txs] == [SENDER, SENDER]
    time.sleep(1)
    assert env.relay.transactions() == []


@pytest.mark.parametrize("sender", [f"alice@{OURS}", ""])
def test_own_domain_and_null_sender_not_rewritten(world, sender):
    fresh(world)
    send(world, sender, [f"fwd@{OURS}"])
    tx = arrivals(world["env"].relay, 1)[0]
    assert tx.mail_from == sender


def test_srs0_sender_becomes_srs1(world):
    fresh(world)
    other = "SRS0=HHHH=TT=orig.test=u@other-forwarder.test"
    send(world, other, [f"fwd@{OURS}"])
    tx = arrivals(world["env"].relay, 1)[0]
    assert tx.mail_from.startswith("SRS1="), tx.mail_from
    assert "=other-forwarder.test==HHHH=TT=orig.test=u@" + SRS_DOMAIN in tx.mail_from
    assert reverse(tx.mail_from) == other


def test_mixed_recipients_rewritten_for_both(world):
    fresh(world)
    env = world["env"]
    send(world, SENDER, [f"team@{OURS}"])   # alice (local) and dave@remote.test
    out = arrivals(env.relay, 1)[0]
    local = arrivals(env.mbox, 1)[0]
    assert out.recipients == ["dave@remote.test"]
    assert reverse(out.mail_from) == SENDER
    assert local.mail_from == out.mail_from


def test_bounce_reaches_original_sender(world):
    fresh(world)
    srs = tool("forward", SENDER).stdout.strip()
    replies, data = send(world, "", [srs])
    assert replies[srs][0] == 250, replies
    tx = arrivals(world["env"].relay, 1)[0]
    assert tx.mail_from == "" and tx.recipients == [SENDER]


def test_bounce_case_mangled_hash_accepted(world):
    fresh(world)
    srs = tool("forward", SENDER).stdout.strip()
    replies, _ = send(world, "", [srs.swapcase()])
    assert replies[srs.swapcase()][0] == 250, replies
    tx = arrivals(world["env"].relay, 1)[0]
    assert [r.lower() for r in tx.recipients] == [SENDER]


def test_forged_and_expired_bounces_refused(world):
    fresh(world)
    good = tool("forward", SENDER).stdout.strip()
    hash_ = good.split("=")[1]
    forged = good.replace("=" + hash_ + "=", "=" + ("AAAA" if hash_ != "AAAA" else "BBBB") + "=", 1)
    expired = tool("-T", str(int(time.time()) - 30 * DAY), "forward", SENDER).stdout.strip()
    assert expired.startswith("SRS0=") and expired != good
    replies, data = send(world, "", [forged, expired])
    for r in (forged, expired):
        code, text = replies[r]
        assert code == 550 and b"5.1.1" in text, (r, code, text)
    assert data is None
    time.sleep(1)
    assert world["env"].relay.transactions() == []


def test_database_down_tempfails(world):
    """A second mxkit-srs whose database is unreachable (Postfix's own maps
    still answer): recipients are tempfailed at RCPT, nothing is delivered
    and nothing rewritten."""
    fresh(world)
    env, pf = world["env"], world["pf"]
    port = free_port()
    conf = os.path.join(env.dir, "srs-down.conf")
    log = os.path.join(env.dir, "srs-down.log")
    with open(conf, "w") as f:
        f.write(f'database = {{ socket = "{env.dir}/no-such-mysqld.sock"; name = "mxkit"; '
                f'user = "mxkit"; password = "x"; connect_timeout = 2; }};\n'
                f'srs = {{ domain = "{SRS_DOMAIN}"; secrets_file = "{WORLD_SECRETS[0]}";\n'
                f'  socket = "inet:{port}@127.0.0.1"; user = "nobody"; }};\n')
    down = Milter(conf, None, log, binary=SRS, port=port)
    try:
        pf.set(smtpd_milters=f"inet:127.0.0.1:{port}")
        replies, data = send(world, SENDER, [f"fwd@{OURS}", f"alice@{OURS}"])
        for r, (code, text) in replies.items():
            assert code == 451 and b"4.3.0" in text, (r, code, text)
        assert data is None
        # A bounce to a valid short SRS address needs no database.
        srs = tool("forward", SENDER).stdout.strip()
        replies, data = send(world, "", [srs])
        assert replies[srs][0] == 250 and data[0] == 250
        tx = arrivals(env.relay, 1)[0]
        assert tx.recipients == [SENDER]
        time.sleep(1)
        assert len(env.relay.transactions()) == 1 and env.mbox.transactions() == []
    finally:
        pf.set(smtpd_milters=f"inet:127.0.0.1:{world['port']}")
        down.stop()
    with open(log, errors="replace") as f:
        assert "alias resolution" in f.read() and "tempfail" in open(log).read()


@pytest.mark.parametrize("body,why", [
    ('domain = "srs.example.org"; secrets = ["s"]; bogus = 1;', "bogus"),
    ('secrets = ["s"];', "'domain' is required"),
    ('domain = "srs.example.org"; secrets = ["s"]; socket_group = "no-such-group-x";',
     "unknown group 'no-such-group-x'"),
    ('domain = "srs.example.org"; secrets = ["s"]; recipient_delimiter = "a@";',
     "recipient_delimiter"),
    ('domain = "srs.example.org"; secrets = ["s"]; socket = "tcp:1";', "socket"),
])
def test_config_errors_found_by_t(tmp_path, body, why):
    conf = tmp_path / "bad.conf"
    conf.write_text("srs = { %s };\n" % body)
    r = subprocess.run([SRS, "-t", "-c", str(conf)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and why in r.stderr, r.stderr
    if "socket" not in why:
        assert "bad.conf:1" in r.stderr, r.stderr


def test_config_ok_t(tmp_path):
    conf = tmp_path / "ok.conf"
    conf.write_text('srs = { domain = "srs.example.org"; secrets = ["s"]; socket_group = "root"; };\n')
    r = subprocess.run([SRS, "-t", "-c", str(conf)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "configuration OK, SRS domain srs.example.org" in r.stdout, r
