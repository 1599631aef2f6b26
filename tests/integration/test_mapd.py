"""mxkit-mapd against a private MariaDB: every map through the raw socketmap
protocol and through `postmap -q`, malformed and slow clients, database
outage and recovery, signals, -t/-V, privilege drop, and a valgrind run."""
import contextlib
import grp
import os
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

from harness.mapd import Mapd, mapd_binary, netstring, read_netstring
from harness.mariadb import MariaDB
from harness.ports import free_port

DATA = [
    "INSERT INTO domains (name, active, transport) VALUES"
    " ('example.test', 1, NULL), ('off.test', 0, NULL),"
    " ('remote.test', 1, 'smtp:[192.0.2.1]:25'), ('plain.test', 1, '')",
    "INSERT INTO users (domain_id, address, password, active)"
    " SELECT d.id, u.a, '{SHA512-CRYPT}x', u.act FROM domains d JOIN ("
    " SELECT 'example.test' AS dn, 'alice@example.test' AS a, 1 AS act"
    " UNION SELECT 'example.test', 'bob@example.test', 1"
    " UNION SELECT 'example.test', 'carol@example.test', 0"
    " UNION SELECT 'off.test', 'dave@off.test', 1"
    " UNION SELECT 'plain.test', 'zed@plain.test', 1"
    " UNION SELECT 'plain.test', 'postmaster@plain.test', 1) u ON u.dn = d.name",
    "INSERT INTO aliases (domain_id, source, destination, active)"
    " SELECT d.id, x.s, x.t, x.act FROM domains d JOIN ("
    " SELECT 'example.test' AS dn, 'info@example.test' AS s, 'alice@example.test' AS t, 1 AS act"
    " UNION SELECT 'example.test', 'info@example.test', 'bob@example.test', 1"
    " UNION SELECT 'example.test', '@example.test', 'alice@example.test', 1"
    " UNION SELECT 'example.test', 'sales@example.test', 'remote@elsewhere.net', 1"
    " UNION SELECT 'example.test', 'old@example.test', 'bob@example.test', 0"
    " UNION SELECT 'off.test', 'x@off.test', 'alice@example.test', 1"
    " UNION SELECT 'plain.test', 'team@plain.test', 'zed@plain.test', 1"
    " UNION SELECT 'plain.test', 'team@plain.test', 'carol@example.test', 1) x ON x.dn = d.name",
]

# (map, key, expected status, expected value)
CASES = [
    ("domain", "example.test", "OK", "example.test"),
    ("domain", "EXAMPLE.Test", "OK", "example.test"),
    ("domain", "off.test", "NOTFOUND", ""),
    ("domain", "nowhere.test", "NOTFOUND", ""),
    ("mailbox", "alice@example.test", "OK", "alice@example.test"),
    ("mailbox", "Alice+Tag@Example.TEST", "OK", "alice@example.test"),
    ("mailbox", "carol@example.test", "NOTFOUND", ""),      # disabled user
    ("mailbox", "dave@off.test", "NOTFOUND", ""),           # disabled domain
    ("mailbox", "nobody@plain.test", "NOTFOUND", ""),
    ("alias", "info@example.test", "OK", "alice@example.test,bob@example.test"),
    ("alias", "INFO+x@example.test", "OK", "alice+x@example.test,bob+x@example.test"),
    ("alias", "bob@example.test", "OK", "bob@example.test"),   # a mailbox maps to itself
    ("alias", "bob+y@example.test", "OK", "bob+y@example.test"),
    ("alias", "sales+z@example.test", "OK", "remote+z@elsewhere.net"),
    ("alias", "random@example.test", "OK", "alice@example.test"),   # catch-all
    ("alias", "random+x@example.test", "OK", "alice@example.test"),  # no ext on @domain match
    ("alias", "carol@example.test", "OK", "alice@example.test"),  # disabled user: catch-all
    ("alias", "old@example.test", "OK", "alice@example.test"),    # disabled alias: catch-all
    ("alias", "x@off.test", "NOTFOUND", ""),
    ("alias", "nobody@plain.test", "NOTFOUND", ""),
    ("alias", "postmaster+x@plain.test", "OK", "postmaster+x@plain.test"),
    ("alias", "team@plain.test", "OK", "carol@example.test,zed@plain.test"),
    ("sender_login", "alice@example.test", "OK", "alice@example.test"),
    ("sender_login", "info+x@example.test", "OK", "alice@example.test,bob@example.test"),
    ("sender_login", "team@plain.test", "OK", "zed@plain.test"),  # carol is disabled
    ("sender_login", "nobody@plain.test", "NOTFOUND", ""),
    ("transport", "someone@remote.test", "OK", "smtp:[192.0.2.1]:25"),
    ("transport", "Remote.Test", "OK", "smtp:[192.0.2.1]:25"),
    ("transport", "alice@example.test", "NOTFOUND", ""),
    ("transport", "zed@plain.test", "NOTFOUND", ""),                # empty transport
]


def load_data(db):
    db.sql("DELETE FROM aliases")
    db.sql("DELETE FROM users")
    db.sql("DELETE FROM domains")
    for stmt in DATA:
        db.sql(stmt)


@pytest.fixture(scope="module")
def data(mariadb):
    load_data(mariadb)
    return mariadb


@pytest.fixture
def tmpdir755(tmp_path):
    d = tmp_path / "w"
    d.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(d, 0o755)
    return str(d)


@pytest.fixture
def mapd(data, tmpdir755):
    m = Mapd(tmpdir755, data, request_timeout=2)
    m.start()
    yield m
    assert m.stop() == 0
    assert_no_sanitizer_reports(m)


def assert_no_sanitizer_reports(m):
    log = m.log_text()
    assert "runtime error:" not in log and "Sanitizer" not in log, log


@contextlib.contextmanager
def running(tmpdir, db, **settings):
    """A started mapd that must stop with exit code 0 and no sanitizer report."""
    m = Mapd(tmpdir, db, **settings)
    m.start()
    try:
        yield m
    finally:
        assert m.stop() == 0
        assert_no_sanitizer_reports(m)


def timed_lookups(m, stop, latencies, errors):
    """A well-behaved client: lookups on one connection until stop is set."""
    try:
        with m.client() as c:
            while not stop.is_set():
                t = time.monotonic()
                r = c.lookup("mailbox", "alice@example.test")
                latencies.append(time.monotonic() - t)
                if r != ("OK", "alice@example.test"):
                    errors.append(r)
                time.sleep(0.01)
    except Exception as e:  # noqa: BLE001 - reported by the test
        errors.append(repr(e))


def closed_within(sock, seconds):
    """True if the peer closes sock (EOF or reset) within `seconds`."""
    sock.settimeout(seconds)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


def test_maps_raw_protocol(mapd):
    for tcp in (False, True):
        with mapd.client(tcp=tcp) as c:
            for name, key, status, value in CASES:
                assert c.lookup(name, key) == (status, value), (name, key, tcp)
    # twice: the second round comes from the cache
    with mapd.client() as c:
        for name, key, status, value in CASES:
            assert c.lookup(name, key) == (status, value), (name, key)


def test_maps_through_postmap(mapd):
    for tcp in (False, True):
        for name, key, status, value in CASES:
            rc, out = mapd.postmap(name, key, tcp=tcp)
            if status == "OK":
                assert (rc, out) == (0, value), (name, key, tcp)
            else:
                assert (rc, out) == (1, ""), (name, key, tcp)


def test_pipelined_requests_answered_in_order(mapd):
    with mapd.client() as c:
        c.send_raw(netstring("domain example.test") + netstring("mailbox bob@example.test")
                   + netstring("nomap x") + netstring("domain nowhere.test"))
        assert c.read() == b"OK example.test"
        assert c.read() == b"OK bob@example.test"
        assert c.read().startswith(b"PERM unknown map")
        assert c.read() == b"NOTFOUND "


MALFORMED = [
    (b"x:alias a,", None),
    (b"07:alias a,", None),
    (b"99999999999:", None),
    (b"9999:", None),
    (b"7:alias ab", None),
    (b"7:alias a;", None),
    (b"7:nomap x,", b"PERM unknown map"),
    (b"5:alias,", b"PERM request"),
    (b"6:alias ,", b"PERM empty key"),
    (b"9:alias a\x00b,", b"PERM key"),
    (b"9:alias a\rb,", b"PERM key"),
    (netstring(b"alias " + b"k" * 1025), b"PERM key for map 'alias' is 1025 bytes"),
]


def test_malformed_requests(mapd):
    stop, lat, errors = threading.Event(), [], []
    t = threading.Thread(target=timed_lookups, args=(mapd, stop, lat, errors))
    t.start()
    try:
        for raw, want in MALFORMED:
            with mapd.client() as c:
                c.send_raw(raw)
                reply = c.read(timeout=5)
                if want is None:
                    assert reply is None, raw
                else:
                    assert reply is not None and reply.startswith(want), (raw, reply)
                    # the stream is still in sync after a PERM
                    assert c.lookup("domain", "example.test") == ("OK", "example.test")
        # truncated request, then the client gives up its side
        with mapd.client() as c:
            c.send_raw(b"20:alias a")
            c.sock.shutdown(socket.SHUT_WR)
            assert c.read(timeout=5) is None
        time.sleep(0.5)
    finally:
        stop.set()
        t.join()
    assert not errors
    assert len(lat) > 10 and max(lat) < 0.5, (len(lat), max(lat))
    log = mapd.log_text()
    assert "malformed request, closing" in log and "bad request: unknown map 'nomap'" in log
    assert "a\\x00b" in log       # sanitized
    assert mapd.proc.poll() is None


def test_slow_client_is_cut_at_request_timeout(mapd):
    stop, lat, errors = threading.Event(), [], []
    t = threading.Thread(target=timed_lookups, args=(mapd, stop, lat, errors))
    t.start()
    try:
        with mapd.client() as slow:
            start = time.monotonic()
            closed_after = None
            for b in b"19:alias a@example.test,":    # one byte a second
                try:
                    slow.sock.sendall(bytes([b]))
                except OSError:
                    closed_after = time.monotonic() - start
                    break
                if closed_within(slow.sock, 1.0):
                    closed_after = time.monotonic() - start
                    break
                if time.monotonic() - start > 8:
                    break
        assert closed_after is not None and 1.5 <= closed_after <= 4.5, closed_after
    finally:
        stop.set()
        t.join()
    assert not errors
    assert max(lat) < 0.5, max(lat)
    assert "request not completed within 2s" in mapd.log_text()


def test_ipv6_loopback(data, tmpdir755):
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback on this host")
    port6 = free_port()
    mapd_dir = os.path.join(tmpdir755, "mapd")
    listen = [f"unix:{mapd_dir}/mapd.sock", f"inet:[::1]:{port6}"]
    with running(tmpdir755, data, listen=listen), \
            socket.create_connection(("::1", port6), timeout=5) as s6:
        s6.sendall(netstring("domain example.test"))
        assert read_netstring(s6) == b"OK example.test"


def test_max_connections(data, tmpdir755):
    with running(tmpdir755, data, max_connections=2) as m:
        time.sleep(0.5)    # the start-up probes' connections are closed by now
        a, b = m.client(), m.client()
        assert a.lookup("domain", "example.test")[0] == "OK"
        assert b.lookup("domain", "example.test")[0] == "OK"
        c = m.client()
        try:
            c.send_raw(netstring("domain example.test"))
            assert c.read(timeout=5) is None
        except (BrokenPipeError, ConnectionResetError):
            pass
        a.close()
        time.sleep(0.3)
        with m.client() as d:
            assert d.lookup("domain", "example.test")[0] == "OK"
        b.close()
        c.close()
        assert "max_connections (2) reached" in m.log_text()


def test_idle_timeout(data, tmpdir755):
    with running(tmpdir755, data, idle_timeout=1) as m, m.client() as busy, m.client() as idle:
        assert idle.lookup("domain", "example.test")[0] == "OK"
        start = time.monotonic()
        closed = None
        while time.monotonic() - start < 4:
            assert busy.lookup("domain", "example.test")[0] == "OK"  # stays open
            if closed_within(idle.sock, 0.3):
                closed = time.monotonic() - start
                break
        assert closed is not None and 0.5 <= closed <= 2.5, closed


def test_max_reply_gives_temp(data, tmpdir755):
    data.sql("INSERT INTO aliases (domain_id, source, destination) SELECT id, 'big@plain.test',"
             " CONCAT('member', seq, '@elsewhere.net') FROM domains"
             " JOIN seq_1_to_40 WHERE name = 'plain.test'")
    m = Mapd(tmpdir755, data, max_reply=200)
    m.start()
    try:
        status, reason = m.lookup("alias", "big@plain.test")
        assert status == "TEMP" and "max_reply" in reason
        assert m.lookup("alias", "team@plain.test")[0] == "OK"
    finally:
        data.sql("DELETE FROM aliases WHERE source = 'big@plain.test'")
        assert m.stop() == 0
        assert_no_sanitizer_reports(m)


def test_database_outage_and_recovery(tmp_path):
    os.chmod(tmp_path, 0o755)
    db = MariaDB(str(tmp_path))
    db.start()
    try:
        db.create_mxkit_db()
        load_data(db)
        m = Mapd(str(tmp_path), db, cache_ttl=300, negative_ttl=300)
        m.start()
        try:
            with m.client() as c:
                assert c.lookup("mailbox", "alice@example.test") == ("OK", "alice@example.test")
                assert c.lookup("domain", "nowhere.test") == ("NOTFOUND", "")
                db.stop()
                # cached answers (positive and negative) are still served
                assert c.lookup("mailbox", "alice@example.test") == ("OK", "alice@example.test")
                assert c.lookup("domain", "nowhere.test") == ("NOTFOUND", "")
                # anything else is TEMP, never NOTFOUND
                for key in ("bob@example.test", "nobody@plain.test", "x@y.test"):
                    status, reason = c.lookup("mailbox", key)
                    assert status == "TEMP", (key, status, reason)
                r = m.postmap_run("alias", "bob@example.test")
                assert r.returncode != 0 and "temporary error" in r.stderr, r.stderr
                db.start()
                deadline = time.monotonic() + 15
                while True:
                    r = c.lookup("mailbox", "bob@example.test")
                    if r[0] != "TEMP" or time.monotonic() > deadline:
                        break
                    time.sleep(0.2)
                assert r == ("OK", "bob@example.test")
                assert c.lookup("alias", "info@example.test")[0] == "OK"
            assert m.proc.poll() is None
        finally:
            assert m.stop() == 0
            assert_no_sanitizer_reports(m)
    finally:
        db.stop()


def test_sighup_changes_ttl_and_flushes(data, tmpdir755):
    m = Mapd(tmpdir755, data, cache_ttl=300)
    m.start()
    try:
        with m.client() as c:
            assert c.lookup("mailbox", "bob@example.test")[0] == "OK"
            data.sql("UPDATE users SET active = 0 WHERE address = 'bob@example.test'")
            assert c.lookup("mailbox", "bob@example.test")[0] == "OK"   # cached for 300 s
            m.reload(cache_ttl=1, negative_ttl=0)
            # the cache was flushed, the same connection keeps working
            assert c.lookup("mailbox", "bob@example.test") == ("NOTFOUND", "")
            data.sql("UPDATE users SET active = 1 WHERE address = 'bob@example.test'")
            assert c.lookup("mailbox", "bob@example.test")[0] == "OK"
            data.sql("UPDATE users SET active = 0 WHERE address = 'bob@example.test'")
            assert c.lookup("mailbox", "bob@example.test")[0] == "OK"   # cached, 1 s
            time.sleep(1.2)
            assert c.lookup("mailbox", "bob@example.test") == ("NOTFOUND", "")
        # a broken configuration is refused and the old one stays
        m.write_config(cache_ttl="soon")
        m.signal(signal.SIGHUP)
        time.sleep(0.5)
        assert "reload failed, keeping the old configuration" in m.log_text()
        assert m.lookup("domain", "example.test")[0] == "OK"
    finally:
        data.sql("UPDATE users SET active = 1 WHERE address = 'bob@example.test'")
        assert m.stop() == 0
        assert_no_sanitizer_reports(m)


def test_sigterm_exits_cleanly(data, tmpdir755):
    m = Mapd(tmpdir755, data)
    m.start()
    with m.client() as c:
        assert c.lookup("domain", "example.test")[0] == "OK"
        with open(m.pid_file) as f:
            assert int(f.read()) == m.pid
        t = time.monotonic()
        assert m.stop() == 0
        assert_no_sanitizer_reports(m)
        assert time.monotonic() - t < 6
    assert not os.path.exists(m.socket) and not os.path.exists(m.pid_file)
    assert "stopped" in m.log_text()


def test_daemon_mode_pid_file(data, tmpdir755):
    m = Mapd(tmpdir755, data)
    r = subprocess.run(m.command(), capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    with open(m.pid_file) as f:
        pid = int(f.read())
    try:
        assert m.lookup("domain", "example.test")[0] == "OK"
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not os.path.exists(f"/proc/{pid}")
        assert not os.path.exists(m.pid_file) and not os.path.exists(m.socket)
        with open(m.log) as f:
            assert "started" in f.read()
    finally:
        if os.path.exists(f"/proc/{pid}"):
            os.kill(pid, signal.SIGKILL)


def run_check(m):
    return subprocess.run(m.command("-t"), capture_output=True, text=True, timeout=10)


BAD_CONFIGS = [
    ("cache_ttl", '"soon"', "'cache_ttl' must be a duration"),
    ("listen", '[ "inet:192.0.2.7:10041" ]', "not a loopback address"),
    ("max_reply", "1", "'max_reply' is 1"),
    ("bogus_key", "1", "unknown setting 'bogus_key'"),
    ("user", '"no-such-user-here"', "unknown user"),
]


def test_config_check(data, tmpdir755):
    m = Mapd(tmpdir755, data)
    r = run_check(m)
    assert r.returncode == 0 and r.stdout.strip() == f"{m.config}: configuration OK", r
    for key, value, want in BAD_CONFIGS:
        with open(m.config) as f:
            text = f.read()
        lines = text.splitlines()
        mapd_line = next(i for i, l in enumerate(lines) if l.startswith("mapd = {"))
        lines.insert(mapd_line + 1, f"  {key} = {value};")
        # remove an earlier setting of the same key
        lines = [l for i, l in enumerate(lines)
                 if not (i > mapd_line + 1 and re.match(rf"\s+{key} = ", l))]
        with open(m.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = run_check(m)
        assert r.returncode == 1, (key, r)
        assert f"{m.config}:{mapd_line + 2}: " in r.stderr and want in r.stderr, (key, r.stderr)
        m.write_config()
    with open(m.config, "a") as f:
        f.write("mapd = { broken\n")
    r = run_check(m)
    assert r.returncode == 1 and re.search(re.escape(m.config) + r":\d+: ", r.stderr), r.stderr


def test_version():
    r = subprocess.run([mapd_binary(), "-V"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and re.fullmatch(r"mxkit-mapd \d+\.\d+\.\d+\n", r.stdout)
    r = subprocess.run([mapd_binary(), "-x"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 1 and "usage" in r.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop privileges")
def test_runs_unprivileged(data, tmpdir755):
    m = Mapd(tmpdir755, data, tcp_db=True, user="nobody", socket_group="nogroup",
             socket_mode="0620")
    m.start()
    try:
        with open(f"/proc/{m.pid}/status") as f:
            status = f.read()
        uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
        gids = re.search(r"^Gid:\s+(.*)$", status, re.M).group(1).split()
        groups = re.search(r"^Groups:\s*(.*)$", status, re.M).group(1).split()
        assert set(uids) == {"65534"} and "0" not in gids and "0" not in groups
        assert m.lookup("mailbox", "alice@example.test") == ("OK", "alice@example.test")
        st = os.stat(m.socket)
        assert oct(st.st_mode & 0o777) == oct(0o620)
        assert st.st_gid == grp.getgrnam("nogroup").gr_gid
    finally:
        assert m.stop() == 0
        assert_no_sanitizer_reports(m)
    # as root without `user`: refused
    m2 = Mapd(tmpdir755, data)
    with open(m2.config) as f:
        text = f.read().replace('  user = "root";\n', "")
    with open(m2.config, "w") as f:
        f.write(text)
    r = subprocess.run(m2.command("-f"), capture_output=True, text=True, timeout=20)
    assert r.returncode == 1 and "refusing to run as root" in r.stderr


def sanitized(binary):
    r = subprocess.run(["ldd", binary], capture_output=True, text=True)
    return "libasan" in r.stdout


def plain_binary():
    """The daemon of the plain build: $MXKIT_PLAIN_BUILD when the tests run on
    a sanitizer build (tests/run), else the build under test."""
    plain = os.environ.get("MXKIT_PLAIN_BUILD")
    return os.path.join(plain, "postfix-maps", "mxkit-mapd") if plain else mapd_binary()


def test_valgrind_clean(data, tmpdir755):
    valgrind = "/usr/bin/valgrind"
    assert os.path.exists(valgrind), "apt-get install valgrind"
    binary = plain_binary()
    if sanitized(binary):
        pytest.skip("valgrind cannot run an ASan build; set MXKIT_PLAIN_BUILD to a plain build")
    m = Mapd(tmpdir755, data, cache_size=16, binary=binary)
    m.start(wrapper=(valgrind, "--error-exitcode=99", "--leak-check=full",
                     "--errors-for-leak-kinds=definite", "-q"), timeout=60)
    try:
        with m.client() as c, m.client(tcp=True) as d:
            for _ in range(3):
                for name, key, status, value in CASES:
                    assert c.lookup(name, key) == (status, value)
                    assert d.lookup(name, key) == (status, value)
        for raw, _ in MALFORMED[:8]:
            with m.client() as c:
                c.send_raw(raw)
                c.read(timeout=20)
        m.reload(cache_ttl=5)
        # a connection left open and one with a half-sent request at shutdown
        idle = m.client()
        half = m.client()
        half.send_raw(b"30:alias a@")
        time.sleep(0.3)
        assert m.stop(timeout=60) == 0, m.log_text()
        idle.close()
        half.close()
    finally:
        m.kill()
