"""A private MariaDB server in a temporary directory.

    db = MariaDB(tmpdir); db.start(); db.apply_schema()
    db.sql("CALL add_domain('example.org')")
    db.stop(); db.start()          # outage tests

It listens on a unix socket inside its directory and, for clients that
need TCP, on a loopback port picked at start. The `mxkit` database and a
`mxkit` user with the same privileges the deployment grants are created
by create_mxkit_db().
"""
import os
import shutil
import signal
import subprocess
import time

import pymysql

from .ports import free_port

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SQL_DIR = os.path.join(REPO, "sql")


def _which(*names):
    for n in names:
        p = shutil.which(n) or (os.path.exists(n) and n)
        if p:
            return p
    raise RuntimeError(f"none of {names} installed (apt-get install mariadb-server)")


class MariaDB:
    def __init__(self, basedir, name="mxkit", user="mxkit", password="mxkit-test-pw"):
        self.dir = os.path.join(basedir, "mariadb")
        self.datadir = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "mysqld.sock")
        self.pidfile = os.path.join(self.dir, "mysqld.pid")
        self.logfile = os.path.join(self.dir, "error.log")
        self.port = free_port()
        self.name = name
        self.user = user
        self.password = password
        self.proc = None
        os.makedirs(self.dir, exist_ok=True)

    # -- lifecycle -------------------------------------------------------
    def install(self):
        if os.path.isdir(os.path.join(self.datadir, "mysql")):
            return
        subprocess.run(
            [_which("mariadb-install-db", "mysql_install_db"), "--no-defaults",
             f"--datadir={self.datadir}", "--user=root", "--skip-test-db",
             "--auth-root-authentication-method=socket"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self, timeout=30):
        self.install()
        self.proc = subprocess.Popen(
            [_which("/usr/sbin/mariadbd", "mariadbd", "/usr/sbin/mysqld"), "--no-defaults",
             f"--datadir={self.datadir}", f"--socket={self.socket}",
             f"--pid-file={self.pidfile}", f"--log-error={self.logfile}",
             "--bind-address=127.0.0.1", f"--port={self.port}", "--user=root",
             "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M",
             "--skip-name-resolve", "--max-connections=500"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mariadbd exited: {self._log_tail()}")
            try:
                self.root().close()
                return self
            except pymysql.err.OperationalError:
                time.sleep(0.1)
        raise TimeoutError(f"mariadbd did not start: {self._log_tail()}")

    def stop(self, timeout=30):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _log_tail(self):
        try:
            with open(self.logfile) as f:
                return "".join(f.readlines()[-15:])
        except OSError:
            return "(no log)"

    # -- clients ---------------------------------------------------------
    def root(self, database=None):
        return pymysql.connect(unix_socket=self.socket, user="root", database=database,
                               autocommit=True, charset="utf8mb4")

    def connect(self):
        """A connection as the mxkit user, as the daemons use."""
        return pymysql.connect(unix_socket=self.socket, user=self.user, password=self.password,
                               database=self.name, autocommit=True, charset="utf8mb4")

    def sql(self, statement, args=None, database="__default__"):
        """Run one statement as root in the mxkit database; return all rows."""
        db = self.name if database == "__default__" else database
        conn = self.root(db)
        try:
            with conn.cursor() as cur:
                cur.execute(statement, args)
                rows = cur.fetchall()
                while cur.nextset():
                    pass
                return rows
        finally:
            conn.close()

    def mysql_cli(self, *args, input=None, check=True):
        """Run the plain mysql CLI against the mxkit database, as a user would."""
        return subprocess.run(
            [_which("mariadb", "mysql"), f"--socket={self.socket}", "-uroot", self.name, *args],
            input=input, capture_output=True, text=True, check=check)

    def create_mxkit_db(self):
        """Create the database and the mxkit user (select, execute and the writes
        the daemons need), then apply the schema and the procedures with the
        mysql CLI."""
        self.sql(f"CREATE DATABASE IF NOT EXISTS `{self.name}` "
                 "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", database=None)
        for host in ("localhost", "127.0.0.1"):
            self.sql(f"CREATE USER IF NOT EXISTS '{self.user}'@'{host}' IDENTIFIED BY %s",
                     (self.password,), database=None)
            self.sql(f"GRANT SELECT, INSERT, UPDATE, DELETE, EXECUTE ON `{self.name}`.* "
                     f"TO '{self.user}'@'{host}'", database=None)
        self.apply_sql_file(os.path.join(SQL_DIR, "schema.sql"))
        self.apply_sql_file(os.path.join(SQL_DIR, "procedures.sql"))
        return self

    def apply_sql_file(self, path):
        with open(path) as f:
            r = self.mysql_cli(input=f.read(), check=False)
        if r.returncode != 0:
            raise RuntimeError(f"{path}: {r.stderr.strip()}")

    def write_client_config(self, path, section="database"):
        """The `database` section of mxkit.conf for this instance."""
        secret = path + ".dbpw"
        with open(secret, "w") as f:
            f.write(self.password + "\n")
        os.chmod(secret, 0o600)
        return (f'{section} = {{ socket = "{self.socket}"; name = "{self.name}"; '
                f'user = "{self.user}"; password_file = "{secret}"; }};\n')
