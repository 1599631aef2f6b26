"""sql/mxkit-db-upgrade and the migration rule, against the session's private MariaDB.

- a fresh database made by the runner equals itself after a second run
  (SHOW CREATE of every table and routine, schema_version, data);
- a migration added to a copy of sql/ is applied once and only once, and one
  that forgets its schema_version row is refused;
- --check exit codes;
- schema.sql equals the migration path (0001-initial-schema.sql, then every
  later migration), whatever migrations exist: the test bites as soon as a
  migration is not folded into schema.sql, or the other way round.
Each test uses databases of its own and drops them.
"""
import os
import re
import shutil
import subprocess
import uuid

import pytest

from harness.mariadb import SQL_DIR

RUNNER = os.path.join(SQL_DIR, "mxkit-db-upgrade")
MIGRATIONS = sorted(f for f in os.listdir(os.path.join(SQL_DIR, "migrations")) if f.endswith(".sql"))
USER_PROCEDURES = {"add_domain", "add_user", "set_password", "add_alias", "remove_alias",
                   "disable_user", "enable_user", "disable_domain", "enable_domain",
                   "set_domain_transport", "delete_user"}


@pytest.fixture
def dbname(mariadb):
    """A database name nobody uses yet; the database is dropped afterwards."""
    names = []

    def new():
        names.append(f"mig_{uuid.uuid4().hex[:12]}")
        return names[-1]
    yield new
    for n in names:
        mariadb.sql(f"DROP DATABASE IF EXISTS `{n}`", database=None)


def upgrade(mariadb, *args, sql_dir=None, runner=RUNNER):
    cmd = [runner, f"--socket={mariadb.socket}", "--user=root", *args]
    if sql_dir:
        cmd.append(f"--sql-dir={sql_dir}")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def upgrade_ok(mariadb, *args, **kw):
    r = upgrade(mariadb, *args, **kw)
    assert r.returncode == 0, f"{args}: {r.stdout}{r.stderr}"
    return r.stdout


def dump(mariadb, name):
    """Everything a schema change or a re-run could alter: table and routine
    definitions, schema_version rows, and the data of the mxkit tables."""
    q = lambda s: mariadb.sql(s, database=name)  # noqa: E731
    tables = [r[0] for r in q("SHOW TABLES")]
    out = {"tables": {t: re.sub(r" AUTO_INCREMENT=\d+", "", q(f"SHOW CREATE TABLE `{t}`")[0][1])
                      for t in tables}}
    routines = q("SELECT routine_type, routine_name FROM information_schema.routines "
                 "WHERE routine_schema = DATABASE() ORDER BY 1, 2")
    out["routines"] = {n: q(f"SHOW CREATE {t} `{n}`")[0][2] for t, n in routines}
    if "schema_version" in tables:
        out["versions"] = q("SELECT * FROM schema_version ORDER BY version")
    for t in ("domains", "users", "aliases"):
        if t in tables:
            out[t] = q(f"SELECT * FROM `{t}` ORDER BY id")
    return out


def apply_file(mariadb, name, path):
    with open(path) as f:
        r = mariadb.mysql_cli(input=f"USE `{name}`;\n" + f.read(), check=False)
    assert r.returncode == 0, f"{path}: {r.stderr}"


def sql_copy(tmp_path):
    """A private copy of sql/ to add migrations to."""
    d = tmp_path / "sql"
    shutil.copytree(SQL_DIR, d)
    return d


def number(migration):
    return int(migration.split("-", 1)[0])


# -- the runner ------------------------------------------------------------

def test_fresh_database_then_rerun_is_noop(mariadb, dbname):
    name = dbname()
    out = upgrade_ok(mariadb, "--create", f"--database={name}")
    assert "applied schema.sql" in out
    first = dump(mariadb, name)
    assert USER_PROCEDURES <= set(first["routines"])
    assert {"schema_version", "domains", "users", "aliases"} <= set(first["tables"])
    assert max(v[0] for v in first["versions"]) == number(MIGRATIONS[-1])

    # Data added in between survives the re-run untouched.
    r = mariadb.mysql_cli("-e", f"USE `{name}`; CALL add_domain('example.org'); "
                                "CALL add_user('alice@example.org', 'pass-word-1')", check=False)
    assert r.returncode == 0, r.stderr
    before = dump(mariadb, name)
    out = upgrade_ok(mariadb, f"--database={name}")
    assert "applied" not in out.replace("(re)applied", "")
    assert dump(mariadb, name) == before
    upgrade_ok(mariadb, "--create", f"--database={name}", "--quiet")
    assert dump(mariadb, name) == before


def test_missing_database_needs_create(mariadb, dbname):
    name = dbname()
    r = upgrade(mariadb, f"--database={name}")
    assert r.returncode == 2 and f"database {name} does not exist (give --create" in r.stderr
    assert not mariadb.sql("SHOW DATABASES LIKE %s", (name,), database=None)


def test_extra_migration_applied_once(mariadb, dbname, tmp_path):
    name = dbname()
    upgrade_ok(mariadb, "--create", f"--database={name}")      # today's schema
    current = number(MIGRATIONS[-1])
    extra = current + 1
    sql = sql_copy(tmp_path)
    # Every run of this migration leaves a row in migration_probe.
    (sql / "migrations" / f"{extra:04d}-test-probe.sql").write_text(
        "CREATE TABLE IF NOT EXISTS migration_probe (n INT NOT NULL);\n"
        "INSERT INTO migration_probe VALUES (1);\n"
        "ALTER TABLE domains ADD COLUMN note VARCHAR(64) NULL;\n"
        f"INSERT INTO schema_version (version, description) VALUES ({extra}, 'test probe');\n")

    r = upgrade(mariadb, "--check", f"--database={name}", sql_dir=sql)
    assert r.returncode == 1 and f"at version {current}, available {extra}" in r.stdout
    out = upgrade_ok(mariadb, f"--database={name}", sql_dir=sql)
    assert f"applied migrations/{extra:04d}-test-probe.sql: version {extra}" in out
    for _ in range(2):
        upgrade_ok(mariadb, f"--database={name}", sql_dir=sql)
        assert mariadb.sql("SELECT COUNT(*) FROM migration_probe", database=name) == ((1,),)
        assert mariadb.sql("SELECT MAX(version) FROM schema_version", database=name) == ((extra,),)
    assert upgrade(mariadb, "--check", f"--database={name}", sql_dir=sql).returncode == 0
    cols = [r[0] for r in mariadb.sql("SHOW COLUMNS FROM domains", database=name)]
    assert "note" in cols

    # A fresh database from the same copy: schema.sql (not yet folded), then the migration.
    fresh = dbname()
    upgrade_ok(mariadb, "--create", f"--database={fresh}", sql_dir=sql)
    assert mariadb.sql("SELECT COUNT(*) FROM migration_probe", database=fresh) == ((1,),)


def test_gap_below_the_newest_version_is_filled(mariadb, dbname):
    """A database whose versions have a hole (migrations applied out of
    order, e.g. from two development branches) gets the missing one."""
    name = dbname()
    upgrade_ok(mariadb, "--create", f"--database={name}")
    training = next(m for m in MIGRATIONS if m.endswith("-training.sql"))
    gap = number(training)
    assert gap < number(MIGRATIONS[-1])
    def shape():
        d = dump(mariadb, name)      # applied_at of the re-applied row is new
        d["versions"] = [v[:2] for v in d["versions"]]
        return d
    full = shape()
    mariadb.sql("DROP TABLE training_events", database=name)
    mariadb.sql("DELETE FROM schema_version WHERE version = %s", (gap,), database=name)
    r = upgrade(mariadb, "--check", f"--database={name}")
    assert r.returncode == 1 and f"missing {gap}: run" in r.stdout, r.stdout
    out = upgrade_ok(mariadb, f"--database={name}")
    assert f"applied migrations/{training}" in out
    assert out.count("applied migrations/") == 1, out
    assert shape() == full
    r = upgrade(mariadb, "--check", f"--database={name}")
    assert r.returncode == 0 and "up to date" in r.stdout


def test_migration_must_record_its_version(mariadb, dbname, tmp_path):
    name = dbname()
    upgrade_ok(mariadb, "--create", f"--database={name}")
    extra = number(MIGRATIONS[-1]) + 1
    sql = sql_copy(tmp_path)
    (sql / "migrations" / f"{extra:04d}-forgetful.sql").write_text(
        "CREATE TABLE IF NOT EXISTS forgetful (n INT);\n")
    r = upgrade(mariadb, f"--database={name}", sql_dir=sql)
    assert r.returncode == 2
    assert f"{extra:04d}-forgetful.sql did not insert its schema_version row ({extra})" in r.stderr


@pytest.mark.parametrize("filename, message", [
    ("2-short.sql", "migration names are NNNN-short-name.sql"),
    ("0001-again.sql", "is not above the previous migration's"),
    ("0099-has space.sql", "use only letters, digits"),
])
def test_bad_migration_files_are_refused(mariadb, dbname, tmp_path, filename, message):
    sql = sql_copy(tmp_path)
    (sql / "migrations" / filename).write_text("SELECT 1;\n")
    name = dbname()
    r = upgrade(mariadb, "--create", f"--database={name}", sql_dir=sql)
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert not mariadb.sql("SHOW DATABASES LIKE %s", (name,), database=None)


def test_failing_migration_stops_the_run(mariadb, dbname, tmp_path):
    name = dbname()
    upgrade_ok(mariadb, "--create", f"--database={name}")
    extra = number(MIGRATIONS[-1]) + 1
    sql = sql_copy(tmp_path)
    (sql / "migrations" / f"{extra:04d}-broken.sql").write_text("ALTER TABLE no_such_table ADD x INT;\n")
    (sql / "migrations" / f"{extra + 1:04d}-after.sql").write_text(
        f"INSERT INTO schema_version (version, description) VALUES ({extra + 1}, 'after');\n")
    r = upgrade(mariadb, f"--database={name}", sql_dir=sql)
    assert r.returncode == 2 and f"{extra:04d}-broken.sql failed" in r.stderr
    assert mariadb.sql("SELECT MAX(version) FROM schema_version", database=name) == ((extra - 1,),)


def test_check_exit_codes(mariadb, dbname, tmp_path):
    name = dbname()
    r = upgrade(mariadb, "--check", f"--database={name}")
    assert r.returncode == 1 and "does not exist" in r.stdout
    mariadb.sql(f"CREATE DATABASE `{name}`", database=None)
    r = upgrade(mariadb, "--check", f"--database={name}")
    assert r.returncode == 1 and f"at version 0, available {number(MIGRATIONS[-1])}" in r.stdout
    upgrade_ok(mariadb, f"--database={name}")
    r = upgrade(mariadb, "--check", f"--database={name}")
    assert r.returncode == 0 and "up to date" in r.stdout
    r = subprocess.run([RUNNER, f"--socket={tmp_path}/no-server.sock", "--user=root", "--check"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "query failed" in r.stderr


@pytest.mark.parametrize("args, message", [
    (["--database=bad;name"], "must be letters, digits and _ only"),
    (["--no-such-option"], "unknown option '--no-such-option'"),
    (["--database"], "option --database needs a value"),
    (["--defaults-file=/nonexistent/my.cnf"], "cannot read defaults file"),
    (["--sql-dir=/nonexistent"], "/nonexistent/schema.sql not found"),
])
def test_usage_errors(mariadb, args, message):
    r = upgrade(mariadb, *args)
    assert r.returncode == 2 and message in r.stderr, r.stderr


def test_defaults_file(mariadb, dbname, tmp_path):
    name = dbname()
    cnf = tmp_path / "admin.cnf"
    cnf.write_text(f"[client]\nsocket = {mariadb.socket}\nuser = root\n")
    r = subprocess.run([RUNNER, f"--defaults-file={cnf}", f"--database={name}", "--create"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert mariadb.sql("SELECT COUNT(*) FROM schema_version", database=name)[0][0] >= 1


def test_installed_layout_finds_its_sql(mariadb, dbname, tmp_path):
    """Laid out as `make install` does ($prefix/sbin, $prefix/share/mxkit/sql),
    the runner needs no --sql-dir."""
    prefix = tmp_path / "usr"
    (prefix / "sbin").mkdir(parents=True)
    shutil.copy2(RUNNER, prefix / "sbin" / "mxkit-db-upgrade")
    shutil.copytree(SQL_DIR, prefix / "share" / "mxkit" / "sql",
                    ignore=shutil.ignore_patterns("mxkit-db-upgrade", "Makefile.inc"))
    name = dbname()
    upgrade_ok(mariadb, "--create", f"--database={name}", runner=str(prefix / "sbin" / "mxkit-db-upgrade"))
    assert USER_PROCEDURES <= set(dump(mariadb, name)["routines"])


# -- the migration rule ----------------------------------------------------

def test_migration_files_follow_the_rule():
    assert MIGRATIONS and MIGRATIONS[0] == "0001-initial-schema.sql"
    # Numbers are reserved per part (wave 2: 0003 auth, 0004 training, 0005
    # dkim keys), so a branch may hold a gap; they never repeat or go back.
    numbers = [number(m) for m in MIGRATIONS]
    assert numbers == sorted(set(numbers)) and numbers[0] == 1
    for m in MIGRATIONS:
        with open(os.path.join(SQL_DIR, "migrations", m)) as f:
            statements = [s.strip() for s in f.read().split(";") if s.strip()]
        last = re.sub(r"^(\s*--[^\n]*\n)*", "", statements[-1]).strip()
        assert re.match(r"INSERT INTO schema_version \(version, description\) VALUES "
                        rf"\({number(m)}, '[^']+'\)$", last), f"{m} must end with its own version row"


def test_schema_sql_equals_the_migration_path(mariadb, dbname):
    """Today's schema.sql == 0001 (the version-1 schema) + every later migration,
    and == a version-1 database brought forward by the runner."""
    from_schema, from_migrations, upgraded = dbname(), dbname(), dbname()
    for n in (from_schema, from_migrations, upgraded):
        mariadb.sql(f"CREATE DATABASE `{n}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", database=None)
    apply_file(mariadb, from_schema, os.path.join(SQL_DIR, "schema.sql"))
    for m in MIGRATIONS:
        apply_file(mariadb, from_migrations, os.path.join(SQL_DIR, "migrations", m))
    apply_file(mariadb, upgraded, os.path.join(SQL_DIR, "migrations", MIGRATIONS[0]))
    upgrade_ok(mariadb, f"--database={upgraded}")

    def shape(name):
        d = dump(mariadb, name)
        return d["tables"], [(v[0], v[1]) for v in d["versions"]]
    assert shape(from_migrations) == shape(from_schema)
    assert shape(upgraded) == shape(from_schema)
    assert shape(from_schema)[1][-1][0] == number(MIGRATIONS[-1])
