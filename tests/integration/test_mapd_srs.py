"""mxkit-mapd's srs_forward and srs_reverse maps (PostSRSd's canonical-map wiring).

Against a private MariaDB: the raw socketmap answers (same addresses as
mxkit-srs-tool, hence as PostSRSd; our domains and the null sender not
rewritten; forged, expired and foreign-domain addresses NOTFOUND; a sender
too long for SRS kept in the database and reversed; TEMP, never a
rewrite, when the database is down), then a private Postfix wired the way
mxkit-srs(8) documents for canonical-map mode: forwarded mail leaves with
an SRS sender, a bounce reaches the original sender, and a forged bounce
is refused at RCPT (relay_recipient_maps = srs_reverse).
"""
import os
import subprocess
import time

import pytest

from conftest import build_dir
from harness.mailenv import MailEnv

TOOL = os.path.join(build_dir(), "milters", "srs", "mxkit-srs-tool")
OURS = "example.org"
SRS_DOMAIN = "srs.example.org"
SENDER = "carol@sender.test"
DOMAINS_TTL = 4      # seconds: oldest snapshot of our domains srs_forward uses
DOMAINS_REFRESH = 1  # seconds between loads of it
LONG_SENDER = "a" * 60 + "@" + "very-long-subdomain." * 5 + "sender.test"


@pytest.fixture(scope="module")
def world():
    env = MailEnv("mapdsrs")
    try:
        env.start_db()
        env.start_sinks()
        env.db.sql("INSERT INTO domains (name) VALUES (%s)", (OURS,))
        did = env.db.sql("SELECT id FROM domains WHERE name = %s", (OURS,))[0][0]
        env.db.sql("INSERT INTO users (domain_id, address, password) VALUES (%s, %s, 'x')",
                   (did, f"alice@{OURS}"))
        env.db.sql("INSERT INTO aliases (domain_id, source, destination) VALUES (%s, %s, %s)",
                   (did, f"fwd@{OURS}", "bob@remote.test"))
        secrets = os.path.join(env.dir, "srs.secrets")
        with open(secrets, "w") as f:
            f.write("mapd-secret\n")
        os.chmod(secrets, 0o600)
        env.start_mapd(cache_ttl=0, negative_ttl=0, domains_ttl=DOMAINS_TTL,
                       domains_refresh=DOMAINS_REFRESH, extra_config=(
            f'srs = {{ domain = "{SRS_DOMAIN}"; secrets_file = "{secrets}"; }};\n'))
        yield {"env": env, "secrets": secrets}
        mapd = env.mapd
        assert env.stop_mapd() == 0
        log = mapd.log_text()
        for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            assert bad not in log, log
    finally:
        env.cleanup()


def tool(world, *args):
    r = subprocess.run([TOOL, "-c", world["env"].mapd.config, *args],
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout.strip()


def lookup(world, name, key):
    return world["env"].mapd.lookup(name, key)


def test_forward_same_as_tool(world):
    for sender in (SENDER, "x.y+z@Other.Example", "SRS0=HHHH=TT=orig.test=u@other.test"):
        rc, want = tool(world, "forward", sender.lower())
        assert rc == 0
        assert lookup(world, "srs_forward", sender) == ("OK", want)


@pytest.mark.parametrize("key", [f"alice@{OURS}", f"someone@{OURS.upper()}", "nodomain",
                                 f"x@{SRS_DOMAIN}"])
def test_forward_not_rewritten(world, key):
    assert lookup(world, "srs_forward", key)[0] == "NOTFOUND"


def test_reverse(world):
    srs = lookup(world, "srs_forward", SENDER)[1]
    assert lookup(world, "srs_reverse", srs) == ("OK", SENDER)
    assert lookup(world, "srs_reverse", srs.upper()) == ("OK", SENDER)


def test_reverse_refuses(world):
    srs = lookup(world, "srs_forward", SENDER)[1]
    h = srs.split("=")[1]
    forged = srs.replace("=" + h + "=", "=" + ("AAAA" if h != "AAAA" else "BBBB") + "=", 1)
    rc, expired = tool(world, "-T", str(int(time.time()) - 40 * 86400), "forward", SENDER)
    assert rc == 0
    foreign = srs.rsplit("@", 1)[0] + "@elsewhere.test"
    for key in (forged, expired, foreign, "plain@" + SRS_DOMAIN, f"alice@{OURS}"):
        assert lookup(world, "srs_reverse", key)[0] == "NOTFOUND", key


def test_long_sender_kept_in_database(world):
    status, srs = lookup(world, "srs_forward", LONG_SENDER)
    assert status == "OK" and len(srs.split("@")[0]) <= 64, srs
    assert world["env"].db.sql("SELECT sender FROM srs_senders")[0][0] == LONG_SENDER
    assert lookup(world, "srs_reverse", srs) == ("OK", LONG_SENDER)


def test_postmap(world):
    mapd = world["env"].mapd
    rc, srs = mapd.postmap("srs_forward", SENDER)
    assert rc == 0 and srs.startswith("SRS0=")
    assert mapd.postmap("srs_reverse", srs) == (0, SENDER)


def canonical_postfix(env):
    return env.postfix("canon", env.socketmap_maps(), extra={
        "relay_domains": SRS_DOMAIN,
        "relay_recipient_maps": env.socketmap("srs_reverse"),
        "sender_canonical_maps": env.socketmap("srs_forward"),
        "sender_canonical_classes": "envelope_sender",
        "recipient_canonical_maps": env.socketmap("srs_reverse"),
        "recipient_canonical_classes": "envelope_recipient, header_recipient",
    })


def test_postfix_canonical_mode(world):
    env = world["env"]
    pf = canonical_postfix(env)
    for s in env.sinks:
        s.clear()
    with pf.smtp() as s:
        s.sendmail(SENDER, [f"fwd@{OURS}"], b"Subject: fwd\r\n\r\nhi\r\n")
    tx = env.relay.wait_for(lambda t: len(t) >= 1)[0]
    assert tx.recipients == ["bob@remote.test"]
    assert tx.mail_from == lookup(world, "srs_forward", SENDER)[1]
    env.relay.clear()
    with pf.smtp() as s:
        s.sendmail("", [tx.mail_from], b"Subject: bounce\r\n\r\nbounced\r\n")
        good = tx.mail_from
        h = good.split("=")[1]
        forged = good.replace("=" + h + "=", "=" + ("AAAA" if h != "AAAA" else "BBBB") + "=", 1)
        s.mail("")
        code, text = s.rcpt(forged)
        assert code == 550, (code, text)
        s.rset()
    bounce = env.relay.wait_for(lambda t: len(t) >= 1)[0]
    assert bounce.mail_from == "" and bounce.recipients == [SENDER]


def wait_answer(world, key, status, within):
    """Poll srs_forward until it answers `status`; the seconds it took."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < within:
        if lookup(world, "srs_forward", key)[0] == status:
            return time.monotonic() - t0
        time.sleep(0.1)
    raise AssertionError(f"srs_forward {key}: not {status} within {within} s")


def test_new_domain_seen_within_refresh_period(world):
    """The snapshot is loaded again every domains_refresh seconds, well
    before it reaches domains_ttl: a domain added (or removed) in the
    database shows within the refresh period."""
    db = world["env"].db
    assert lookup(world, "srs_forward", "x@new.example")[0] == "OK"
    db.sql("INSERT INTO domains (name) VALUES ('new.example')")
    try:
        assert wait_answer(world, "x@new.example", "NOTFOUND", DOMAINS_REFRESH + 1.0) < DOMAINS_TTL
    finally:
        db.sql("DELETE FROM domains WHERE name = 'new.example'")
    assert wait_answer(world, "x@new.example", "OK", DOMAINS_REFRESH + 1.0) < DOMAINS_TTL


def test_reload_loads_the_domains_again(world):
    """SIGHUP starts a new snapshot at once (here with a refresh period
    longer than the test)."""
    env = world["env"]
    db = env.db
    try:
        env.mapd.reload(domains_refresh=3600, domains_ttl=7200)
        assert lookup(world, "srs_forward", "x@later.example")[0] == "OK"
        db.sql("INSERT INTO domains (name) VALUES ('later.example')")
        env.mapd.reload()
        assert lookup(world, "srs_forward", "x@later.example")[0] == "NOTFOUND"
    finally:
        db.sql("DELETE FROM domains WHERE name = 'later.example'")
        env.mapd.reload(domains_refresh=DOMAINS_REFRESH, domains_ttl=DOMAINS_TTL)
    assert lookup(world, "srs_forward", "x@later.example")[0] == "OK"


def test_pipelined_burst(world):
    """Thousands of requests written at once on one connection, read only
    after a pause (the server's writes fill the socket and wait): every
    answer comes back, in order, as when asked one by one."""
    from harness.mapd import netstring

    mapd = world["env"].mapd
    keys = [f"p{i}.x@burst{i % 7}.test" for i in range(5000)] + [f"alice@{OURS}"]
    with mapd.client() as c:
        c.send_raw(b"".join(netstring(b"srs_forward " + k.encode()) for k in keys))
        time.sleep(1.0)
        replies = [c.read(timeout=30) for _ in keys]
    assert replies[-1] == b"NOTFOUND "
    for i in (0, 1, 2499, 4999):
        assert replies[i] == ("OK " + lookup(world, "srs_forward", keys[i])[1]).encode()
    assert all(r.startswith(b"OK SRS0=") for r in replies[:-1])


def test_valgrind_clean(world):
    """The plain build under valgrind: answers from the event loop (pipelined
    on one connection) and from a worker (a long sender), the snapshot's
    refresher thread, a reload and a stop."""
    from harness.mapd import Mapd, netstring
    from test_mapd import plain_binary, sanitized

    binary = plain_binary()
    if sanitized(binary):
        pytest.skip("valgrind cannot run an ASan build; set MXKIT_PLAIN_BUILD to a plain build")
    env = world["env"]
    m = Mapd(os.path.join(env.dir, "vg"), env.db, binary=binary, cache_ttl=0, negative_ttl=0,
             domains_ttl=DOMAINS_TTL, domains_refresh=DOMAINS_REFRESH, extra_config=(
                 f'srs = {{ domain = "{SRS_DOMAIN}"; secrets_file = "{world["secrets"]}"; }};\n'))
    m.start(wrapper=("/usr/bin/valgrind", "--error-exitcode=99", "--leak-check=full",
                     "--errors-for-leak-kinds=definite", "-q"), timeout=60)
    try:
        keys = [f"u{i}@sender.test" for i in range(20)] + [f"alice@{OURS}"]
        with m.client() as c:
            c.send_raw(b"".join(netstring(b"srs_forward " + k.encode()) for k in keys))
            replies = [c.read(timeout=30) for _ in keys]
        assert all(r.startswith(b"OK SRS0=") for r in replies[:-1]), replies
        assert replies[-1] == b"NOTFOUND "
        srs = replies[0][3:].decode()
        assert m.lookup("srs_reverse", srs) == ("OK", keys[0])
        status, long_srs = m.lookup("srs_forward", LONG_SENDER)
        assert status == "OK"
        assert m.lookup("srs_reverse", long_srs) == ("OK", LONG_SENDER)
        time.sleep(DOMAINS_REFRESH * 2 + 0.5)  # the refresher runs
        m.reload()
        assert m.lookup("srs_forward", f"alice@{OURS}") == ("NOTFOUND", "")
        assert m.stop(timeout=60) == 0, m.log_text()
    finally:
        m.kill()


def test_database_down(world):
    """Last: stops the database. Forward needs it (our domains): once the
    snapshot of our domains is older than domains_ttl, TEMP; reverse of a
    short SRS address does not need it."""
    srs = lookup(world, "srs_forward", SENDER)[1]
    world["env"].db.stop()
    time.sleep(DOMAINS_TTL + 0.5)
    assert lookup(world, "srs_forward", "dave@sender.test")[0] == "TEMP"
    assert lookup(world, "srs_forward", f"alice@{OURS}")[0] == "TEMP"
    assert lookup(world, "srs_reverse", srs) == ("OK", SENDER)

