"""Fixtures of the end-to-end tests: users created on the deployed host.

The e2e tests run against the mail server ./deploy set up on this host, as a
user would: accounts are made with the mysql CLI and the stored procedures,
mail goes in through Postfix's real ports and comes out over IMAPS. Only
127.0.0.1 is contacted. Everything a test creates it deletes again.

Environment: MXKIT_E2E_DOMAIN (default example.org), MXKIT_E2E_CAFILE (the
certificate the server presents, default /etc/mxkit/tls/cert.pem).
"""
import os
import secrets
import shutil
import ssl
import subprocess

import pytest

DOMAIN = os.environ.get("MXKIT_E2E_DOMAIN", "example.org")
CAFILE = os.environ.get("MXKIT_E2E_CAFILE", "/etc/mxkit/tls/cert.pem")
VMAIL = "/var/vmail"
HOST = "127.0.0.1"


def mysql(sql):
    """Run SQL through the mysql CLI as an administrator would."""
    done = subprocess.run(["mysql", "--batch", "--skip-column-names", "mxkit", "-e", sql],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, "mysql failed: %s\n%s" % (sql, done.stderr)
    return done.stdout


def tls_context():
    """A client context that verifies the server's certificate."""
    ctx = ssl.create_default_context(cafile=CAFILE)
    ctx.check_hostname = True
    return ctx


class User:
    def __init__(self, local):
        self.local = local
        self.address = "%s@%s" % (local, DOMAIN)
        self.password = secrets.token_hex(12)


@pytest.fixture
def make_user():
    """Create users with CALL add_user; delete them and their mail afterwards."""
    made = []

    def make(role):
        user = User("e2e-%s-%s" % (role, secrets.token_hex(4)))
        mysql("CALL add_user('%s', '%s')" % (user.address, user.password))
        made.append(user)
        return user

    yield make
    for user in made:
        mysql("CALL delete_user('%s')" % user.address)
        shutil.rmtree(os.path.join(VMAIL, DOMAIN, user.local), ignore_errors=True)


@pytest.fixture
def make_alias():
    """Create aliases with CALL add_alias; remove them afterwards."""
    made = []

    def make(destination):
        source = "e2e-alias-%s@%s" % (secrets.token_hex(4), DOMAIN)
        mysql("CALL add_alias('%s', '%s')" % (source, destination))
        made.append((source, destination))
        return source

    yield make
    for source, destination in made:
        mysql("CALL remove_alias('%s', '%s')" % (source, destination))
