"""Senders too long for an SRS address are kept in MariaDB (srs_senders).

mxkit-srs-tool with a configuration file uses its database section: a
long sender is stored under its key and the SRS address carries the key;
reversing it reads the sender back. Expired rows are not used and are
purged; with the database away every answer that needs it is a
temporary failure (exit 75), and the rest keeps working.
"""
import hashlib
import base64
import os
import subprocess
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("MXKIT_BUILD", os.path.join(REPO, "_build"))
TOOL = os.path.join(BUILD, "milters", "srs", "mxkit-srs-tool")
DOMAIN = "srs.example.net"
LONG = "a.rather.long.local.part.for.srs@a-long-subdomain.of.example.org"
# Quotes and SQL metacharacters travel as bound parameters, byte for byte.
NASTY = "\"it's; DROP TABLE srs_senders; -- \\\" x\"@a-long-subdomain.of.example.org"


def key_of(sender):
    return base64.b32hexencode(hashlib.sha1(sender.encode()).digest()).decode()


def run(conf, *args):
    p = subprocess.run([TOOL, "-c", conf] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    return p.returncode, p.stdout.decode().rstrip("\n"), p.stderr.decode()


@pytest.fixture
def conf(mariadb, tmp_path):
    path = str(tmp_path / "mxkit.conf")
    with open(path, "w") as f:
        f.write(mariadb.write_client_config(path))
        f.write(f'srs = {{ domain = "{DOMAIN}"; secrets = [ "store-test-secret" ]; }};\n')
    mariadb.sql("DELETE FROM srs_senders")
    yield path
    mariadb.sql("DELETE FROM srs_senders")


def rows(mariadb):
    return mariadb.sql("SELECT srs_key, sender, "
                       "TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), expires_at) FROM srs_senders "
                       "ORDER BY srs_key")


@pytest.mark.parametrize("sender", [LONG, NASTY])
def test_long_sender_round_trip(mariadb, conf, sender):
    rc, srs, err = run(conf, "forward", sender)
    assert rc == 0, err
    key = key_of(sender)
    assert srs.startswith("SRS0=") and srs.endswith(f"=1={key}@{DOMAIN}")
    assert len(srs.rpartition("@")[0]) <= 64
    (row,) = rows(mariadb)
    assert row[0] == key and row[1] == sender
    assert 21 * 86400 <= row[2] <= 23 * 86400
    assert run(conf, "reverse", srs)[:2] == (0, sender)
    # The key survives a mail system lowercasing the address.
    assert run(conf, "reverse", srs.lower())[:2] == (0, sender)
    # The same sender again: the same key, still one row.
    assert run(conf, "forward", sender)[:2] == (0, srs)
    assert len(rows(mariadb)) == 1


def test_short_senders_never_touch_the_database(mariadb, conf):
    rc, srs, err = run(conf, "forward", "alice@example.org")
    assert rc == 0 and "=example.org=alice@" in srs, err
    assert rows(mariadb) == ()


def test_expired_and_unknown_keys_refused_and_purged(mariadb, conf):
    rc, srs, err = run(conf, "forward", LONG)
    assert rc == 0, err
    mariadb.sql("UPDATE srs_senders SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 DAY")
    rc, _, err = run(conf, "reverse", srs)
    assert rc == 65 and "unknown or expired" in err
    # The next store purges the expired row and keeps its own.
    other = "another.quite.long.local.part.for.srs@a-long-subdomain.of.example.org"
    assert run(conf, "forward", other)[0] == 0
    assert [r[1] for r in rows(mariadb)] == [other]
    # A key the table does not have (any more): refused the same way.
    mariadb.sql("DELETE FROM srs_senders")
    rc, _, err = run(conf, "reverse", srs)
    assert rc == 65 and "unknown or expired" in err
    # A forged hash never reaches the table.
    rc, _, err = run(conf, "reverse", f"SRS0=xxxx=AA=1={key_of(LONG)}@{DOMAIN}")
    assert rc == 65 and "does not match" in err


def test_database_away_is_temporary(mariadb, conf, tmp_path):
    rc, srs, err = run(conf, "forward", LONG)
    assert rc == 0, err
    away = str(tmp_path / "away.conf")
    with open(away, "w") as f:
        f.write(f'database = {{ socket = "{tmp_path}/no-such.sock"; name = "mxkit"; user = "mxkit"; '
                f'connect_timeout = 1; }};\n')
        f.write(f'srs = {{ domain = "{DOMAIN}"; secrets = [ "store-test-secret" ]; }};\n')
    start = time.monotonic()
    rc, out, err = run(away, "forward", LONG)
    assert rc == 75 and out == "" and "temporary failure" in err
    rc, out, err = run(away, "reverse", srs)
    assert rc == 75 and out == "" and "temporary failure" in err
    assert time.monotonic() - start < 30
    # What needs no database still works.
    assert run(away, "forward", "alice@example.org")[0] == 0
    assert run(away, "reverse", run(away, "forward", "alice@example.org")[1])[:2] == \
        (0, "alice@example.org")
