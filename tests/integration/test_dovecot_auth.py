"""The Dovecot auth module (dovecot-plugins/auth, issue 6) end to end: a
private MariaDB, a private Dovecot with IMAP on a loopback port loading
libauthdb_mxkit.so from the build directory, imaplib as the client, and a
private Postfix doing SMTP AUTH through that Dovecot (smtpd_sasl_type =
dovecot). Every failing attempt comes from its own remote address (IMAP ID
x-originating-ip, loopback is a trusted network) so that the per-address
lockout only shows where a test wants it."""
import concurrent.futures
import itertools
import os
import smtplib
import time

import pytest

from conftest import build_dir
from dovecot_auth_env import AuthEnv, module_path
from harness.authlogin import AuthLogin
from harness.postfix import Postfix
from harness.sink import Sink

MAX_FAILURES = 3
MAX_ADDRESS_FAILURES = 5
WINDOW = 4
PW = "main-pass-123"
_ips = itertools.count(1)


def fresh_ip():
    n = next(_ips)
    return f"10.66.{n // 250}.{n % 250 + 1}"


@pytest.fixture(scope="module")
def env(mariadb):
    if not os.path.exists(module_path(build_dir())):
        pytest.fail(f"{module_path(build_dir())} is not built")
    db = mariadb
    db.sql("CALL add_domain('auth.test')")
    db.sql("CALL add_domain('off.test')")
    e = AuthEnv(db, build_dir(), auth={"max_failures": MAX_FAILURES,
                                       "max_address_failures": MAX_ADDRESS_FAILURES,
                                       "window": WINDOW})
    e.start()
    yield e
    e.stop()


def user(db, name, domain="auth.test", password=PW):
    address = f"{name}@{domain}"
    db.sql("CALL add_user(%s, %s)", (address, password))
    return address


def login(env, address, password, ip=None):
    return env.imap_login(address, password, ip=ip or fresh_ip())


def refused(result):
    typ, text = result
    return typ == "NO" and "AUTHENTICATIONFAILED" in text


def app_password(db, address, name):
    rows = db.sql("CALL add_app_password(%s, %s)", (address, name))
    assert len(rows) == 1 and len(rows[0][0]) == 24
    return rows[0][0]


def test_correct_password(env):
    a = user(env.db, "correct")
    assert env.imap_login(a, PW, select=True)[0] == "OK"
    # the login name is lowercased like the stored address
    assert env.imap_login("Correct@AUTH.test", PW)[0] == "OK"


def test_wrong_password(env):
    a = user(env.db, "wrong")
    assert refused(login(env, a, "not-the-password"))
    assert "Password mismatch" in env.log()


def test_unknown_user(env):
    assert refused(login(env, "nobody-here@auth.test", PW))
    assert "unknown user" in env.log()


def test_overlong_login_name(env):
    assert refused(login(env, "x" * 400 + "@auth.test", PW))
    assert "login name longer than 320 bytes" in env.log()


def test_disabled_user(env):
    a = user(env.db, "disabled")
    env.db.sql("CALL disable_user(%s)", (a,))
    assert refused(login(env, a, PW))
    assert "mxkit: refused: the user is disabled" in env.log()
    env.db.sql("CALL enable_user(%s)", (a,))
    assert login(env, a, PW)[0] == "OK"


def test_disabled_domain(env):
    a = user(env.db, "carol", domain="off.test")
    env.db.sql("CALL disable_domain('off.test')")
    try:
        assert refused(login(env, a, PW))
        assert "mxkit: refused: the user's domain is disabled" in env.log()
    finally:
        env.db.sql("CALL enable_domain('off.test')")
    assert login(env, a, PW)[0] == "OK"


def test_app_password_and_revocation(env):
    a = user(env.db, "apps")
    phone = app_password(env.db, a, "phone")
    laptop = app_password(env.db, a, "laptop")
    stored = env.db.sql("SELECT hash FROM app_passwords WHERE name = 'phone'")[0][0]
    assert phone not in stored and stored.startswith("{SHA512-CRYPT}")
    assert env.db.sql("SELECT last_used FROM app_passwords WHERE name = 'phone'")[0][0] is None
    assert login(env, a, phone)[0] == "OK"
    assert login(env, a, laptop)[0] == "OK"
    assert env.db.sql("SELECT last_used FROM app_passwords WHERE name = 'phone'")[0][0] is not None
    assert "app password 'phone' used" in env.log()
    env.db.sql("CALL revoke_app_password(%s, 'phone')", (a,))
    assert refused(login(env, a, phone))
    assert login(env, a, laptop)[0] == "OK"


def test_app_passwords_only(env):
    a = user(env.db, "apponly")
    device = app_password(env.db, a, "tablet")
    env.db.sql("CALL set_app_passwords_only(%s, 1)", (a,))
    assert refused(login(env, a, PW))
    assert "only app passwords are accepted for service imap" in env.log()
    assert login(env, a, device)[0] == "OK"
    # other services (here doveadm) still take the main password
    r = env.dc.doveadm("auth", "test", "-x", f"rip={fresh_ip()}", a, PW, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    env.db.sql("CALL set_app_passwords_only(%s, 0)", (a,))
    assert login(env, a, PW)[0] == "OK"


def account_failures(db, address):
    return db.sql("SELECT COUNT(*) FROM auth_failures WHERE kind = 'account' AND subject = %s",
                  (address,))[0][0]


def test_lockout_and_release(env):
    a = user(env.db, "locked")
    for _ in range(MAX_FAILURES):
        assert refused(login(env, a, "guess-guess"))
    assert account_failures(env.db, a) == MAX_FAILURES
    locked_at = time.monotonic()
    # the right password fails too, from any address, while locked
    assert refused(login(env, a, PW))
    assert refused(login(env, a, PW))
    assert "mxkit: refused: account locked out (3 failures within 4s)" in env.log()
    time.sleep(max(0, WINDOW + 0.5 - (time.monotonic() - locked_at)))
    assert login(env, a, PW)[0] == "OK"


def test_success_resets_account_counter(env):
    a = user(env.db, "resets")
    for _ in range(MAX_FAILURES - 1):
        assert refused(login(env, a, "guess-guess"))
    assert account_failures(env.db, a) == MAX_FAILURES - 1
    assert login(env, a, PW)[0] == "OK"
    assert account_failures(env.db, a) == 0
    # without the reset these would make MAX_FAILURES + 1 within the window
    for _ in range(MAX_FAILURES - 1):
        assert refused(login(env, a, "guess-guess"))
    assert login(env, a, PW)[0] == "OK"


def test_lockout_per_address(env):
    ip = fresh_ip()
    victims = [user(env.db, f"spray{i}") for i in range(MAX_ADDRESS_FAILURES + 1)]
    for v in victims[:MAX_ADDRESS_FAILURES]:
        assert refused(login(env, v, "spray-guess", ip=ip))
    # the address is locked: a right password from it fails, from elsewhere works
    assert refused(login(env, victims[-1], PW, ip=ip))
    assert "mxkit: refused: remote address locked out" in env.log()
    assert login(env, victims[-1], PW)[0] == "OK"


def test_hash_upgrade(env):
    a = user(env.db, "upgrade")
    q = "SELECT password FROM users WHERE address = %s"
    assert env.db.sql(q, (a,))[0][0].startswith("{SHA512-CRYPT}$6$")
    assert login(env, a, PW)[0] == "OK"
    upgraded = env.db.sql(q, (a,))[0][0]
    assert upgraded.startswith("{ARGON2ID}$argon2id$")
    assert login(env, a, PW)[0] == "OK"
    assert refused(login(env, a, "wrong-after-upgrade"))
    assert env.db.sql(q, (a,))[0][0] == upgraded     # not re-hashed again


def test_userdb_fields_and_iteration(env):
    a = user(env.db, "fields")
    env.db.sql("UPDATE users SET quota_bytes = 1048576, home = '/srv/mail/fields', uid = 1234, "
               "gid = 1235 WHERE address = %s", (a,))
    out = env.dc.doveadm("user", a).stdout
    assert "home\t/srv/mail/fields" in out and "uid\t1234" in out and "gid\t1235" in out
    assert "quota_rule\t*:bytes=1048576" in out
    off = user(env.db, "gone")
    env.db.sql("CALL disable_user(%s)", (off,))
    listed = sorted(env.dc.doveadm("user", "*").stdout.split())
    active = sorted(r[0] for r in env.db.sql(
        "SELECT u.address FROM users u JOIN domains d ON d.id = u.domain_id "
        "WHERE u.active = 1 AND d.active = 1"))
    assert listed == active and off not in listed and a in listed


def test_login_userdb_comes_with_the_passdb(env):
    """A login's userdb lookup (the REQUEST imap's post-login step sends) is
    answered by the prefetch userdb from the passdb's answer: one auth-worker
    round trip per login. Lookups without a login (doveadm, LMTP) still reach
    the mxkit userdb. Seen in a Dovecot of its own with auth_debug."""
    a = user(env.db, "prefetched")
    env.db.sql("UPDATE users SET quota_bytes = 2048, home = '/srv/mail/pf', uid = 2345, "
               "gid = 2346 WHERE address = %s", (a,))
    bare = user(env.db, "bare")                 # every userdb column NULL
    dbg = AuthEnv(env.db, build_dir(), name="prefetch", extra=["auth_debug = yes"]).start()
    try:
        c = AuthLogin(dbg.dc.base_dir, os.getpid(), fresh_ip())
        try:
            fields = c.login(a, PW)
            bare_fields = c.login(bare, PW)
        finally:
            c.close()
        assert fields.get("home") == "/srv/mail/pf" and fields.get("uid") == "2345", fields
        assert fields.get("gid") == "2346" and fields.get("quota_rule") == "*:bytes=2048", fields
        assert not {"home", "uid", "gid", "mail", "quota_rule"} & set(bare_fields), bare_fields
        # the log process writes a moment later: wait (bounded) for both
        wanted = [f"prefetch({u},{c.rip}): success" for u in (a, bare)]
        deadline = time.monotonic() + 10
        while not all(w in dbg.log() for w in wanted) and time.monotonic() < deadline:
            time.sleep(0.1)
        log = dbg.log()
        for u in (a, bare):
            assert f"prefetch({u},{c.rip}): success" in log, log[-3000:]
            assert f"mxkit({u},{c.rip}): Performing userdb lookup" not in log, log[-3000:]
        assert log.count("Handling PASSV request") == 2, log[-3000:]
        assert "Handling USER request" not in log, log[-3000:]
        out = dbg.dc.doveadm("user", a).stdout
        assert "home\t/srv/mail/pf" in out and "uid\t2345" in out, out
        deadline = time.monotonic() + 10
        while f"mxkit({a}): Performing userdb lookup" not in dbg.log():
            assert time.monotonic() < deadline, dbg.log()[-3000:]
            time.sleep(0.1)
    finally:
        dbg.stop()


def test_fifty_concurrent_logins(env):
    users = [user(env.db, f"many{i}") for i in range(50)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(lambda u: env.imap_login(u, PW), users))
    assert [r[0] for r in results] == ["OK"] * 50, results


def test_mysql_cli_user_imap_and_smtp_auth(env, tmp_path):
    env.db.mysql_cli("-e", "CALL add_domain('cli.test'); "
                     "CALL add_user('dave@cli.test', 'dave-pass-42')")
    assert env.imap_login("dave@cli.test", "dave-pass-42", select=True)[0] == "OK"
    relay = Sink("smtp", "relay").start()
    pf = Postfix("authsasl", relayhost=f"[127.0.0.1]:{relay.port}", main={
        "smtpd_sasl_auth_enable": "yes", "smtpd_sasl_type": "dovecot",
        "smtpd_sasl_path": env.dc.auth_socket, "mynetworks": "",
        "smtpd_relay_restrictions": "permit_sasl_authenticated, reject_unauth_destination"})
    try:
        pf.start()
        with pf.smtp() as s:
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                s.sendmail("dave@cli.test", ["someone@remote.example"], b"Subject: x\r\n\r\nno\r\n")
        with pf.smtp() as s:
            with pytest.raises(smtplib.SMTPAuthenticationError):
                s.login("dave@cli.test", "not-daves")
        with pf.smtp() as s:
            s.login("dave@cli.test", "dave-pass-42")
            s.sendmail("dave@cli.test", ["someone@remote.example"], b"Subject: hi\r\n\r\nhello\r\n")
        relay.wait_for(lambda txs: len(txs) >= 1, timeout=30)
        tx = relay.transactions()[0]
        assert tx.mail_from == "dave@cli.test" and tx.recipients == ["someone@remote.example"]
    finally:
        pf.cleanup()
        relay.stop()


def test_database_down_is_unavailable(env):
    """Last: stops the session's MariaDB, and starts it again."""
    a = user(env.db, "outage")
    env.db.stop()
    try:
        typ, text = login(env, a, PW)
        assert typ == "NO" and "[UNAVAILABLE]" in text, text
        r = env.dc.doveadm("user", "*", check=False)
        assert r.returncode != 0
    finally:
        env.db.start()
    deadline = time.monotonic() + 30
    while login(env, a, PW)[0] != "OK":
        assert time.monotonic() < deadline, env.log()[-2000:]
        time.sleep(0.5)
