"""mxkit-dkim with keys from table dkim_keys (database_keys = true).

A private MariaDB of this module's own (the tests stop and restart it)
holds the keys; the milter picks up activations and retirements on its
periodic refresh and on SIGUSR1, keeps signing with the keys it loaded
while the database is down, tempfails the mail of domains whose keys it
could not read, and signs once the database is back. Every signature is
checked by dkimpy.
"""
import os
import signal
import time

import pytest

from dkim_support import dns_records, make_keys
from harness.mariadb import MariaDB
from test_dkim_milter import Milter, msg, run, verify, wait_log

FROM = b"Dee <dee@db.example>"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    m = MariaDB(str(tmp_path_factory.mktemp("dkimdb")))
    m.start()
    m.create_mxkit_db()
    yield m
    m.stop()


@pytest.fixture
def keys(db, tmp_path):
    d = str(tmp_path)
    rsa, ed = make_keys(d)
    db.sql("DELETE FROM dkim_keys")
    db.sql("INSERT INTO dkim_keys (domain, selector, algorithm, key_path, active) VALUES"
           " ('db.example', 'e1', 'ed25519-sha256', %s, 1),"
           " ('db.example', 'r1', 'rsa-sha256', %s, 0)", (ed, rsa))
    dns = dns_records(f"db.example:e1:{ed}", f"db.example:r1:{rsa}")
    return {"dir": d, "rsa": rsa, "ed": ed, "dns": dns}


def start(db, keys, refresh=2):
    d = keys["dir"]
    sock, log, conf = (os.path.join(d, n) for n in ("dkim.sock", "milter.log", "dkim.conf"))
    with open(conf, "w") as f:
        f.write(db.write_client_config(conf))
        f.write(f'dkim = {{ socket = "unix:{sock}"; user = "root"; database_keys = true; '
                f'refresh_interval = "{refresh}"; }};\n')
    m = Milter(conf, sock, log)
    return {"milter": m, "dns": keys["dns"], "log": log}


def selectors(signed):
    return sorted(part.split(b"=", 1)[1].decode()
                  for line in signed.split(b"\r\n") if line.startswith(b"DKIM-Signature:")
                  for part in line.replace(b" ", b"").split(b";") if part.startswith(b"s="))


def wait_signed_by(env, want, timeout=10, from_=FROM):
    deadline = time.monotonic() + timeout
    while True:
        code, signed = run(env, msg(from_=from_))
        got = selectors(signed) if signed else []
        if got == want or time.monotonic() > deadline:
            return code, signed, got
        time.sleep(0.2)


def test_table_keys_refresh_and_database_outage(db, keys):
    env = start(db, keys)
    try:
        code, signed = run(env, msg(from_=FROM))
        assert selectors(signed) == ["e1"] and verify(env, signed, 1) == [True]
        # Activated in the table: picked up by the periodic refresh.
        db.sql("UPDATE dkim_keys SET active = 1, activated_at = NOW() WHERE selector = 'r1'")
        code, signed, got = wait_signed_by(env, ["e1", "r1"])
        assert got == ["e1", "r1"] and verify(env, signed, 2) == [True, True]
        # Database down: a reload keeps the keys in use, and signing goes on.
        db.stop()
        env["milter"].proc.send_signal(signal.SIGUSR1)
        wait_log(env["log"], "database unreachable, keeping the configuration and keys in use")
        for _ in range(3):
            code, signed = run(env, msg(from_=FROM))
            assert selectors(signed) == ["e1", "r1"] and verify(env, signed, 2) == [True, True]
        # Back: a retirement applies again.
        db.start()
        db.sql("UPDATE dkim_keys SET active = 0, retired_at = NOW() WHERE selector = 'e1'")
        env["milter"].proc.send_signal(signal.SIGUSR1)
        code, signed, got = wait_signed_by(env, ["r1"])
        assert got == ["r1"] and verify(env, signed, 1) == [True]
    finally:
        if not db.running():
            db.start()
        env["milter"].stop()


def test_database_down_at_start_tempfails_then_signs(db, keys):
    db.stop()
    try:
        env = start(db, keys, refresh=0)
    except Exception:
        db.start()
        raise
    try:
        wait_log(env["log"], "table dkim_keys not read")
        code, signed = run(env, msg(from_=FROM))
        assert code in ("t", "y") and signed is None
        db.start()
        # Tried again every DKIM_DB_RETRY (10) seconds while unread.
        code, signed, got = wait_signed_by(env, ["e1"], timeout=25)
        assert got == ["e1"] and verify(env, signed, 1) == [True]
    finally:
        if not db.running():
            db.start()
        env["milter"].stop()


@pytest.mark.parametrize("change,why", [
    ("UPDATE dkim_keys SET algorithm = 'rsa-sha256' WHERE selector = 'e1'", "the table says rsa-sha256"),
    ("UPDATE dkim_keys SET key_path = '/nonexistent/k.pem' WHERE selector = 'e1'", "not usable"),
])
def test_unusable_table_key_tempfails(db, keys, change, why):
    db.sql(change)
    env = start(db, keys)
    try:
        code, signed = run(env, msg(from_=FROM))
        assert code in ("t", "y") and signed is None
        wait_log(env["log"], why)
        wait_log(env["log"], "could not be loaded); tempfail")
    finally:
        env["milter"].stop()
