"""The stored procedures of sql/procedures.sql, driven through the real mysql CLI.

Every test gets a database of its own (schema.sql + procedures.sql applied
with the CLI) on the session's private MariaDB. Success paths check the
rows written; error paths check the message (procedure name and offending
value) and that nothing changed. Password hashes are verified by Dovecot's
own `doveadm pw -t`. A second private MariaDB with binary and general logs
shows where the clear password does and does not end up.
"""
import glob
import os
import re
import shutil
import subprocess
import time
import uuid

import pytest

from harness.mariadb import SQL_DIR, MariaDB, _which

PASSWORD = "s3cret-pass"
HASH_RE = re.compile(r"^\{SHA512-CRYPT\}\$6\$([./0-9A-Za-z]{16})\$[./0-9A-Za-z]{86}$")


# -- helpers ---------------------------------------------------------------

def sql_literal(value):
    """value as an SQL string literal (or NULL) for a CALL typed at the CLI."""
    if value is None:
        return "NULL"
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


class Db:
    """One fresh database on the shared server, used through the mysql CLI."""

    def __init__(self, server, name):
        self.server = server
        self.name = name

    def cli(self, statements):
        return self.server.mysql_cli("-e", f"USE `{self.name}`; {statements}", check=False)

    def call(self, proc, *args):
        """CALL proc(args...) with the CLI; returns the CompletedProcess."""
        return self.cli(f"CALL {proc}({', '.join(sql_literal(a) for a in args)})")

    def ok(self, proc, *args):
        r = self.call(proc, *args)
        assert r.returncode == 0, f"{proc}{args}: {r.stderr}"
        return r.stdout

    def fails(self, proc, *args, message):
        """The call fails with SQLSTATE 45000, `message` in the error, nothing changed."""
        before = self.snapshot()
        r = self.call(proc, *args)
        assert r.returncode != 0, f"{proc}{args} succeeded, expected: {message}"
        # The client echoes the failing statement before the error: keep the error.
        errors = [line for line in r.stderr.splitlines() if line.startswith("ERROR ")]
        assert len(errors) == 1 and "(45000)" in errors[0], r.stderr
        assert message in errors[0], r.stderr
        assert self.snapshot() == before, f"{proc}{args} changed data although it failed"
        return errors[0]

    def rows(self, query, *args):
        return self.server.sql(query, args or None, database=self.name)

    def snapshot(self):
        return {t: self.rows(f"SELECT * FROM {t} ORDER BY id")
                for t in ("domains", "users", "aliases")}

    def user(self, address):
        rows = self.rows("SELECT address, password, active FROM users WHERE address = %s", address)
        assert len(rows) == 1, f"{address}: {rows}"
        return rows[0]

    def aliases(self):
        return sorted(self.rows("SELECT source, destination FROM aliases"))


def apply_sql(server, name, path):
    with open(path) as f:
        r = server.mysql_cli(input=f"USE `{name}`;\n" + f.read(), check=False)
    assert r.returncode == 0, f"{path}: {r.stderr}"


def make_db(server, prefix="proc"):
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    server.sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", database=None)
    for f in ("schema.sql", "procedures.sql"):
        apply_sql(server, name, os.path.join(SQL_DIR, f))
    return Db(server, name)


@pytest.fixture
def db(mariadb):
    d = make_db(mariadb)
    yield d
    mariadb.sql(f"DROP DATABASE `{d.name}`", database=None)


@pytest.fixture
def org(db):
    """A database holding the domain example.org."""
    db.ok("add_domain", "example.org")
    return db


DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"   # package dovecot-core


def doveadm_verifies(hashed, password):
    """Dovecot's own check of a {SCHEME} hash: `doveadm pw -t HASH -p PASSWORD`."""
    r = subprocess.run([DOVEADM, "pw", "-t", hashed, "-p", password],
                       capture_output=True, text=True)
    return r.returncode == 0 and "(verified)" in r.stdout


# -- domains ---------------------------------------------------------------

@pytest.mark.parametrize("given, stored", [
    ("example.org", "example.org"),
    ("  Example.ORG\t", "example.org"),
    ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ("a.b", "a.b"),
    ("mail-1.sub.example.co.uk", "mail-1.sub.example.co.uk"),
    ("x" * 63 + ".org", "x" * 63 + ".org"),
])
def test_add_domain(db, given, stored):
    db.ok("add_domain", given)
    assert db.rows("SELECT name, active, transport FROM domains") == ((stored, 1, None),)


@pytest.mark.parametrize("given, reason", [
    ("", "the domain is empty"),
    (None, "the domain is empty"),
    ("localhost", "at least two labels"),
    ("bad_domain.org", "dot-separated labels"),
    ("-a.org", "dot-separated labels"),
    ("a-.org", "dot-separated labels"),
    ("a..org", "dot-separated labels"),
    ("example.org.", "dot-separated labels"),
    ("exa mple.org", "dot-separated labels"),
    ("x" * 64 + ".org", "dot-separated labels"),
    (".".join(["a" * 63] * 4) + ".org", "longer than 255"),
    ("1.2.3.4", "all-digit label"),
    ("[127.0.0.1]", "dot-separated labels"),
    ("exämple.org", "xn-- form"),
    ("alice@example.org", "dot-separated labels"),
])
def test_add_domain_refuses_malformed(db, given, reason):
    shown = "NULL" if given is None else f"'{given[:100]}"
    err = db.fails("add_domain", given, message=f"add_domain: {shown}")
    assert "is not a valid domain name" in err and reason in err


def test_add_domain_refuses_duplicate(org):
    org.fails("add_domain", " EXAMPLE.org", message="add_domain: example.org already exists")


def test_disable_enable_domain(org):
    org.ok("disable_domain", "Example.org")
    assert org.rows("SELECT active FROM domains") == ((0,),)
    org.ok("disable_domain", "example.org")      # again: still disabled, no error
    assert org.rows("SELECT active FROM domains") == ((0,),)
    org.ok("enable_domain", "EXAMPLE.ORG")
    assert org.rows("SELECT active FROM domains") == ((1,),)


@pytest.mark.parametrize("proc", ["disable_domain", "enable_domain"])
def test_domain_state_errors(org, proc):
    org.fails(proc, "example.net", message=f"{proc}: domain example.net does not exist")
    org.fails(proc, "bad..name", message=f"{proc}: 'bad..name' is not a valid domain name")


def test_set_domain_transport(org):
    org.ok("set_domain_transport", "example.org", " lmtp:inet:[10.0.0.5]:24 ")
    assert org.rows("SELECT transport FROM domains") == (("lmtp:inet:[10.0.0.5]:24",),)
    org.ok("set_domain_transport", "example.org", None)
    assert org.rows("SELECT transport FROM domains") == ((None,),)
    org.ok("set_domain_transport", "example.org", "smtp:[relay.example.net]:587")
    org.ok("set_domain_transport", "example.org", "")
    assert org.rows("SELECT transport FROM domains") == ((None,),)


@pytest.mark.parametrize("transport", ["no colon", "lmtp:inet:[10.0.0.5]:24 extra", "nocolon",
                                       "lmtp:" + "x" * 260, "lmtp:\u00e9"])
def test_set_domain_transport_refuses_malformed(org, transport):
    org.ok("set_domain_transport", "example.org", "relay:[a.example]")
    org.fails("set_domain_transport", "example.org", transport,
              message="set_domain_transport: '" + transport[:100])


def test_set_domain_transport_unknown_domain(org):
    org.fails("set_domain_transport", "example.net", "relay:[a.example]",
              message="set_domain_transport: domain example.net does not exist")


# -- users -----------------------------------------------------------------

def test_add_user_normalises_and_hashes(org):
    org.ok("add_user", "  Alice@Example.ORG ", PASSWORD)
    address, hashed, active = org.user("alice@example.org")
    assert active == 1
    assert HASH_RE.match(hashed), hashed
    assert doveadm_verifies(hashed, PASSWORD)
    assert not doveadm_verifies(hashed, PASSWORD + "x")
    assert org.rows("SELECT d.name FROM users u JOIN domains d ON d.id = u.domain_id") == \
        (("example.org",),)


def test_password_is_nowhere_in_clear(org):
    org.ok("add_user", "alice@example.org", PASSWORD)
    org.ok("add_user", "bob@example.org", PASSWORD)
    every_value = repr(org.rows("SELECT * FROM users"))
    assert "alice@example.org" in every_value          # the dump does hold the rows
    assert PASSWORD not in every_value


def test_same_password_different_salts(org):
    org.ok("add_user", "alice@example.org", PASSWORD)
    org.ok("add_user", "bob@example.org", PASSWORD)
    a = org.user("alice@example.org")[1]
    b = org.user("bob@example.org")[1]
    assert HASH_RE.match(a).group(1) != HASH_RE.match(b).group(1)
    assert a != b and doveadm_verifies(a, PASSWORD) and doveadm_verifies(b, PASSWORD)


@pytest.mark.parametrize("password", ["12345678", "pässwörd-1", "with 'quote' and \\ backslash",
                                      " spaces kept ", "x" * 500])
def test_password_characters_survive(org, password):
    org.ok("add_user", "alice@example.org", password)
    hashed = org.user("alice@example.org")[1]
    assert doveadm_verifies(hashed, password)


@pytest.mark.parametrize("password, reason", [
    ("", "the password is empty"),
    (None, "the password is empty"),
    ("1234567", "the password is shorter than 8 characters"),
    ("qZ7!x", "the password is shorter than 8 characters"),
])
def test_add_user_refuses_bad_password(org, password, reason):
    err = org.fails("add_user", "alice@example.org", password, message=f"add_user: {reason}")
    if password:
        assert password not in err


ATEXT_LOCAL = "a!#$%&'*+/=?^_`{|}~-b"


@pytest.mark.parametrize("given, stored", [
    (f"{ATEXT_LOCAL}@example.org", f"{ATEXT_LOCAL}@example.org"),
    ("First.Last@EXAMPLE.org", "first.last@example.org"),
    ("x" * 64 + "@example.org", "x" * 64 + "@example.org"),
    ("user+tag@example.org", "user+tag@example.org"),
])
def test_add_user_accepts(org, given, stored):
    org.ok("add_user", given, PASSWORD)
    assert org.user(stored)[0] == stored


@pytest.mark.parametrize("given, reason", [
    ("bob@@example.org", "more than one @"),
    ("bob", "no @domain"),
    ("", "it is empty"),
    (None, "it is empty"),
    ("@example.org", "the local part is empty"),
    ("bob@", "the domain is empty"),
    (".bob@example.org", "dot-separated atoms"),
    ("bob.@example.org", "dot-separated atoms"),
    ("b..ob@example.org", "dot-separated atoms"),
    ("bo b@example.org", "dot-separated atoms"),
    ("bo,b@example.org", "dot-separated atoms"),
    ("b\u00f3b@example.org", "dot-separated atoms"),
    ('"bob"@example.org', "quoted local parts are not supported"),
    ("x" * 65 + "@example.org", "longer than 64"),
    ("bob@exa_mple.org", "dot-separated labels"),
    ("bob@[127.0.0.1]", "dot-separated labels"),
])
def test_add_user_refuses_malformed_address(org, given, reason):
    shown = "NULL" if given is None else f"'{given[:100]}'"
    err = org.fails("add_user", given, PASSWORD, message=f"add_user: {shown} is not a valid address")
    assert reason in err


def test_add_user_unknown_domain(org):
    org.fails("add_user", "bob@Example.NET", PASSWORD,
              message="add_user: domain example.net does not exist "
                      "(CALL add_domain('example.net') first)")


def test_add_user_duplicate(org):
    org.ok("add_user", "alice@example.org", PASSWORD)
    org.fails("add_user", "ALICE@example.org", "other-password",
              message="add_user: alice@example.org already exists")


def test_set_password(org):
    org.ok("add_user", "alice@example.org", PASSWORD)
    old = org.user("alice@example.org")[1]
    org.ok("set_password", "Alice@Example.org", "n3w-password")
    new = org.user("alice@example.org")[1]
    assert HASH_RE.match(new) and new != old
    assert doveadm_verifies(new, "n3w-password")
    assert not doveadm_verifies(new, PASSWORD)


def test_set_password_errors(org):
    org.ok("add_user", "alice@example.org", PASSWORD)
    org.fails("set_password", "nobody@example.org", "n3w-password",
              message="set_password: user nobody@example.org does not exist")
    org.fails("set_password", "alice@example.org", "short",
              message="set_password: the password is shorter than 8 characters")
    org.fails("set_password", "alice@example.org", "",
              message="set_password: the password is empty")
    org.fails("set_password", "alice@@example.org", "n3w-password",
              message="set_password: 'alice@@example.org' is not a valid address")


def test_disable_enable_user(org):
    org.ok("add_user", "alice@example.org", PASSWORD)
    org.ok("disable_user", "ALICE@example.org")
    assert org.user("alice@example.org")[2] == 0
    org.ok("enable_user", " alice@example.org")
    assert org.user("alice@example.org")[2] == 1


@pytest.mark.parametrize("proc", ["disable_user", "enable_user", "delete_user"])
def test_user_state_errors(org, proc):
    org.fails(proc, "nobody@example.org", message=f"{proc}: user nobody@example.org does not exist")
    org.fails(proc, "no body@example.org", message=f"{proc}: 'no body@example.org' is not a valid address")


def test_delete_user(org):
    org.ok("add_user", "alice@example.org", PASSWORD)
    org.ok("add_user", "bob@example.org", PASSWORD)
    org.ok("add_alias", "postmaster@example.org", "alice@example.org, bob@example.org")
    org.ok("add_alias", "alice@example.org", "alice@elsewhere.example")
    out = org.ok("delete_user", "Alice@example.org")
    assert "deleted alice@example.org and 1 alias row(s)" in out
    assert org.rows("SELECT address FROM users") == (("bob@example.org",),)
    assert org.aliases() == [("alice@example.org", "alice@elsewhere.example"),
                             ("postmaster@example.org", "bob@example.org")]


# -- aliases ---------------------------------------------------------------

def test_add_alias_single_and_catch_all(org):
    org.ok("add_alias", "Postmaster@Example.org", "Alice@Example.org")
    org.ok("add_alias", " @EXAMPLE.org", "catch@remote.example")
    assert org.aliases() == [("@example.org", "catch@remote.example"),
                             ("postmaster@example.org", "alice@example.org")]
    ids = org.rows("SELECT DISTINCT a.domain_id = d.id FROM aliases a, domains d")
    assert ids == ((1,),)


def test_add_alias_list(org):
    org.ok("add_alias", "team@example.org", " A@example.org ,b@Remote.example,\tc@example.org ")
    assert org.aliases() == [("team@example.org", "a@example.org"),
                             ("team@example.org", "b@remote.example"),
                             ("team@example.org", "c@example.org")]


@pytest.mark.parametrize("source, destinations, message", [
    ("team@example.org", "a@example.org, bob@@x, c@example.org",
     "add_alias: 'bob@@x' is not a valid address"),
    ("team@example.org", "a@example.org,,c@example.org",
     "add_alias: entry 2 of the destination list 'a@example.org,,c@example.org' is empty"),
    ("team@example.org", "a@example.org, c@example.org,",
     "add_alias: entry 3 of the destination list"),
    ("team@example.org", "a@example.org, A@Example.org", "add_alias: destination a@example.org is listed twice"),
    ("team@example.org", "", "add_alias: the destination is empty"),
    ("team@example.org", None, "add_alias: the destination is empty"),
    ("team@example.org", "@remote.example", "add_alias: '@remote.example' is not a valid address"),
    ("team@example.net", "a@example.org", "add_alias: domain example.net does not exist"),
    ("@example.net", "a@example.org", "add_alias: domain example.net does not exist"),
    ("@", "a@example.org", "add_alias: '@' is not a valid catch-all (@domain): the domain is empty"),
    ("@bad..org", "a@example.org", "add_alias: '@bad..org' is not a valid catch-all"),
    ("@@example.org", "a@example.org", "add_alias: '@@example.org' is not a valid catch-all"),
    ("team", "a@example.org", "add_alias: 'team' is not a valid address"),
    ("te am@example.org", "a@example.org", "add_alias: 'te am@example.org' is not a valid address"),
])
def test_add_alias_refuses(org, source, destinations, message):
    org.ok("add_alias", "other@example.org", "keep@example.org")
    org.fails("add_alias", source, destinations, message=message)


def test_add_alias_duplicate_pair_inserts_nothing(org):
    org.ok("add_alias", "team@example.org", "a@example.org")
    org.fails("add_alias", "TEAM@example.org", "new@example.org, A@example.org",
              message="add_alias: alias team@example.org -> a@example.org already exists")
    assert org.aliases() == [("team@example.org", "a@example.org")]


def test_remove_alias(org):
    org.ok("add_alias", "team@example.org", "a@example.org, b@example.org, c@example.org")
    org.ok("remove_alias", "Team@example.org", "B@example.org , c@example.org")
    assert org.aliases() == [("team@example.org", "a@example.org")]


def test_remove_alias_errors_remove_nothing(org):
    org.ok("add_alias", "team@example.org", "a@example.org, b@example.org")
    org.fails("remove_alias", "team@example.org", "a@example.org, zz@example.org",
              message="remove_alias: there is no alias team@example.org -> zz@example.org")
    org.fails("remove_alias", "team@example.org", "a@example.org, bad@@x",
              message="remove_alias: 'bad@@x' is not a valid address")
    org.fails("remove_alias", "team@example.net", "a@example.org",
              message="remove_alias: domain example.net does not exist")
    assert len(org.aliases()) == 2


# -- the procedures are usable by the daemons' user and stay as written ----

def test_reapplying_procedures_changes_nothing(db, mariadb):
    def routines():
        names = db.rows("SELECT routine_type, routine_name FROM information_schema.routines "
                        "WHERE routine_schema = DATABASE() ORDER BY 1, 2")
        return [(t, n, db.rows(f"SHOW CREATE {t} `{n}`")[0][2]) for t, n in names]
    before = routines()
    assert {"add_domain", "add_user", "set_password", "add_alias", "remove_alias", "disable_user",
            "enable_user", "disable_domain", "enable_domain", "set_domain_transport",
            "delete_user"} <= {n for _, n, _ in before}
    apply_sql(mariadb, db.name, os.path.join(SQL_DIR, "procedures.sql"))
    assert routines() == before


# -- logs: where the clear password goes -----------------------------------

@pytest.fixture(scope="module")
def logged_server(tmp_path_factory):
    """A private MariaDB with the binary log and the general query log on."""
    server = MariaDB(str(tmp_path_factory.mktemp("logged")))
    server.install()
    logs = os.path.join(server.dir, "logs")
    os.makedirs(logs)
    server.proc = subprocess.Popen(
        [_which("/usr/sbin/mariadbd", "mariadbd"), "--no-defaults", f"--datadir={server.datadir}",
         f"--socket={server.socket}", f"--pid-file={server.pidfile}", f"--log-error={server.logfile}",
         "--skip-networking", "--user=root", "--innodb-buffer-pool-size=32M", "--server-id=1",
         f"--log-bin={logs}/binlog", "--binlog-format=MIXED",
         "--general-log=1", f"--general-log-file={logs}/general.log"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        assert server.proc.poll() is None, f"mariadbd exited: {server._log_tail()}"
        try:
            server.root().close()
            break
        except Exception:
            assert time.monotonic() < deadline, f"mariadbd did not start: {server._log_tail()}"
            time.sleep(0.1)
    server.sql(f"CREATE DATABASE `{server.name}`", database=None)   # mysql_cli starts there
    server.logs = logs
    yield server
    server.stop()


@pytest.mark.parametrize("binlog_format", ["STATEMENT", "MIXED", "ROW"])
def test_password_not_in_binary_log(logged_server, binlog_format):
    db = make_db(logged_server, prefix=f"log_{binlog_format.lower()}")
    secret = f"binlog-{binlog_format}-{uuid.uuid4().hex[:8]}"
    db.ok("add_domain", "example.org")
    r = db.cli(f"SET SESSION binlog_format = '{binlog_format}'; "
               f"CALL add_user('alice@example.org', '{secret}'); "
               f"CALL set_password('alice@example.org', '{secret}-2')")
    assert r.returncode == 0, r.stderr
    hashed = db.user("alice@example.org")[1]
    logged_server.sql("FLUSH BINARY LOGS", database=None)
    binlog = subprocess.run(
        [_which("mariadb-binlog", "mysqlbinlog"), "-vv", "--base64-output=DECODE-ROWS",
         *sorted(glob.glob(os.path.join(logged_server.logs, "binlog.[0-9]*")))],
        capture_output=True, text=True, check=True).stdout
    # The writes are in the log (so this check could fail) ...
    assert db.name in binlog and hashed[len("{SHA512-CRYPT}"):] in binlog
    # ... and the clear password is not, in any format.
    assert secret not in binlog
    # The general query log records each statement as the client sent it:
    # the CALL, with its argument. It is off by default; keep it off.
    with open(os.path.join(logged_server.logs, "general.log"), errors="replace") as f:
        assert secret in f.read()

