"""mxkit-mapd's srs_forward and srs_reverse while MariaDB is down.

The event loop answers from the snapshot of our domains while it is younger
than domains_ttl, without the database: external senders rewritten, ours
not, short SRS addresses reversed. A sender too long for SRS needs the
database: TEMP. Once the snapshot is older than domains_ttl, srs_forward is
TEMP (never a rewrite made without knowing whether the sender is ours).
The TEMP answers are logged once, then counted in one summary line per
period, not a line each. With the database back, answers resume.
"""
import os
import re
import time

import pytest

from harness.mailenv import MailEnv

OURS = "example.org"
SRS_DOMAIN = "srs.example.org"
SENDER = "carol@sender.test"
LONG_SENDER = "a" * 60 + "@" + "very-long-subdomain." * 5 + "sender.test"
DOMAINS_TTL = 6      # seconds
DOMAINS_REFRESH = 1
TEMP_LOG_PERIOD = 10  # MAPD_TEMP_LOG_PERIOD_MS
TEMP_BURST = 40


@pytest.fixture(scope="module")
def env():
    env = MailEnv("mapdsrsdown")
    try:
        env.start_db()
        env.db.sql("INSERT INTO domains (name) VALUES (%s)", (OURS,))
        secrets = os.path.join(env.dir, "srs.secrets")
        with open(secrets, "w") as f:
            f.write("outage-secret\n")
        os.chmod(secrets, 0o600)
        env.start_mapd(cache_ttl=0, negative_ttl=0, domains_ttl=DOMAINS_TTL,
                       domains_refresh=DOMAINS_REFRESH, extra_config=(
                           f'srs = {{ domain = "{SRS_DOMAIN}"; secrets_file = "{secrets}"; }};\n'))
        yield env
        mapd = env.mapd
        assert env.stop_mapd() == 0
        log = mapd.log_text()
        for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            assert bad not in log, log
    finally:
        env.cleanup()


def lookup(env, name, key):
    return env.mapd.lookup(name, key)


def temp_lines(log):
    return [ln for ln in log.splitlines() if re.search(r"srs_forward \S+: ", ln)]


def test_outage(env):
    mapd = env.mapd
    status, srs = lookup(env, "srs_forward", SENDER)
    assert status == "OK"
    before_stop = time.monotonic()
    env.db.stop()

    # From the snapshot: it was at most DOMAINS_REFRESH old when the stop began.
    fresh = lookup(env, "srs_forward", "dave@sender.test")
    ours = lookup(env, "srs_forward", f"alice@{OURS}")
    back = lookup(env, "srs_reverse", srs)
    long_sender = lookup(env, "srs_forward", LONG_SENDER)
    assert time.monotonic() - before_stop < DOMAINS_TTL - DOMAINS_REFRESH - 0.5, \
        "database stop too slow for the test to mean anything"
    assert fresh[0] == "OK" and fresh[1].startswith("SRS0=") and fresh[1].endswith(SRS_DOMAIN)
    assert ours == ("NOTFOUND", "")
    assert back == ("OK", SENDER)
    assert long_sender[0] == "TEMP"

    # Older than domains_ttl: never used.
    time.sleep(max(0.0, before_stop + DOMAINS_TTL + 0.5 - time.monotonic()))
    assert lookup(env, "srs_forward", "erin@sender.test")[0] == "TEMP"
    assert lookup(env, "srs_forward", f"alice@{OURS}")[0] == "TEMP"
    assert lookup(env, "srs_reverse", srs) == ("OK", SENDER)  # needs no database

    # A burst of TEMP answers: logged once, then a summary with the count.
    first = len(temp_lines(mapd.log_text()))
    for i in range(TEMP_BURST):
        assert lookup(env, "srs_forward", f"u{i}@sender.test")[0] == "TEMP"
    assert len(temp_lines(mapd.log_text())) - first <= 1
    deadline = time.monotonic() + TEMP_LOG_PERIOD + 3
    counts = []
    while time.monotonic() < deadline and sum(counts) < TEMP_BURST:
        counts = [int(m) for m in re.findall(r"(\d+) more TEMP answer\(s\) in the last",
                                             mapd.log_text())]
        time.sleep(0.2)
    assert sum(counts) >= TEMP_BURST, mapd.log_text()[-2000:]
    assert len(temp_lines(mapd.log_text())) - first <= 1
    assert "cannot load the list of our domains" in mapd.log_text()

    # Back: the refresher loads the list again.
    env.db.start()
    t0 = time.monotonic()
    while time.monotonic() - t0 < DOMAINS_REFRESH + 10:
        if lookup(env, "srs_forward", "frank@sender.test")[0] == "OK":
            break
        time.sleep(0.2)
    assert lookup(env, "srs_forward", "frank@sender.test")[0] == "OK"
    assert lookup(env, "srs_forward", f"alice@{OURS}")[0] == "NOTFOUND"
