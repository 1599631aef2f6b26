"""End-to-end checks of the mxkit Dovecot auth module on the deployed host:
Dovecot uses the mxkit driver, app passwords work over IMAPS and SMTP AUTH
and stop working when revoked, a weak hash is upgraded at the first login,
the account lockout holds, and `doveadm user '*'` lists the users."""
import imaplib
import smtplib
import subprocess

from conftest import HOST, mysql, tls_context


def imaps_login(address, password):
    with imaplib.IMAP4_SSL(HOST, 993, ssl_context=tls_context(), timeout=30) as imap:
        try:
            imap.login(address, password)
        except imaplib.IMAP4.error as e:
            return str(e)
        imap.logout()
        return "OK"


def smtp_login(address, password):
    with smtplib.SMTP(HOST, 587, timeout=30) as smtp:
        smtp.starttls(context=tls_context())
        try:
            smtp.login(address, password)
        except smtplib.SMTPAuthenticationError as e:
            return str(e)
        return "OK"


def test_dovecot_uses_the_mxkit_driver():
    conf = subprocess.run(["doveconf", "-n"], capture_output=True, text=True, timeout=30).stdout
    assert "driver = mxkit" in conf and "driver = sql" not in conf
    # a login's userdb fields come with the passdb answer (one auth-worker
    # round trip); the mxkit userdb follows for lookups without a login
    drivers = [line.strip() for line in conf.splitlines() if line.strip().startswith("driver =")]
    assert drivers[-2:] == ["driver = prefetch", "driver = mxkit"], drivers


def test_app_password_imaps_and_smtp(make_user):
    user = make_user("app")
    app = mysql("CALL add_app_password('%s', 'phone')" % user.address).strip()
    assert len(app) == 24
    assert imaps_login(user.address, app) == "OK"
    assert smtp_login(user.address, app) == "OK"
    mysql("CALL set_app_passwords_only('%s', 1)" % user.address)
    assert "AUTHENTICATIONFAILED" in imaps_login(user.address, user.password)
    mysql("CALL revoke_app_password('%s', 'phone')" % user.address)
    assert "AUTHENTICATIONFAILED" in imaps_login(user.address, app)
    assert smtp_login(user.address, app) != "OK"


def test_hash_upgrade_and_iteration(make_user):
    user = make_user("upgrade")
    query = "SELECT password FROM users WHERE address = '%s'" % user.address
    assert mysql(query).startswith("{SHA512-CRYPT}")
    assert imaps_login(user.address, user.password) == "OK"
    assert mysql(query).startswith("{ARGON2ID}") or mysql(query).startswith("{BLF-CRYPT}")
    assert imaps_login(user.address, user.password) == "OK"
    listed = subprocess.run(["doveadm", "user", "*"], capture_output=True, text=True,
                            timeout=60).stdout.split()
    assert user.address in listed


def test_lockout_shared_through_the_database(make_user):
    """Failures another host recorded in the shared database lock the
    account here too (the deployed default: 10 within 15 minutes). The rows
    are written directly, so that this host's own failure penalty does not
    slow the suite down; the integration tests drive the counting itself."""
    user = make_user("lock")
    mysql("INSERT INTO auth_failures (kind, subject) VALUES %s"
          % ", ".join(["('account', '%s')" % user.address] * 10))
    assert "AUTHENTICATIONFAILED" in imaps_login(user.address, user.password)
    mysql("DELETE FROM auth_failures WHERE subject = '%s'" % user.address)
    assert imaps_login(user.address, user.password) == "OK"
