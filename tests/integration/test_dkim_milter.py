"""mxkit-dkim driven over the milter protocol, signatures checked by dkimpy.

A private mxkit-dkim runs on a unix socket in a temp dir with an RSA-2048
and an Ed25519 key for example.org; the test client plays the MTA (as
Postfix does: header folds as LF, body lines CRLF). What gets signed:
authenticated submissions, internal networks and local submissions whose
single From: domain has keys; inbound mail never. Every signature the
milter returns is verified with dkimpy against the records the keys
give, for relaxed/relaxed and simple/simple configurations.
"""
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import build_dir
from dkim_support import dns_records, make_keys
from dkim_support import verify as dkim_verify
from harness.ports import wait_port
from harness.milter import (MilterClient, SMFIP_NOHELO, SMFIP_NORCPT, SMFIP_NODATA,
                            SMFIP_NOUNKNOWN)

MILTER = os.path.join(build_dir(), "milters", "dkim", "mxkit-dkim")


def genkeys(d):
    rsa, ed = make_keys(d)
    dns = dns_records(f"example.org:rsa:{rsa}", f"example.org:ed:{ed}", f"single.example:s1:{ed}")
    return rsa, ed, dns


def write_config(d, sock, rsa, ed, canon, extra="", spec=None,
                 internal=("10.0.0.0/8", "2001:db8:1::/48"), name=None):
    """A config with example.org (RSA + Ed25519) and single.example keys;
    the socket is unix:SOCK unless a full libmilter spec is given."""
    name = name or f"mxkit-{canon.replace('/', '-')}"
    path = os.path.join(d, f"{name}.conf")
    nets = ", ".join(f'"{n}"' for n in internal)
    with open(path, "w") as f:
        f.write(f"""
dkim = {{
  socket = "{spec or 'unix:' + sock}";
  user = "nobody";
  canonicalization = "{canon}";
  internal_networks = [ {nets} ];
  keys = ( {{ domain = "example.org"; selector = "rsa"; key = "{rsa}"; }},
           {{ domain = "example.org"; selector = "ed"; key = "{ed}"; }},
           {{ domain = "single.example"; selector = "s1"; key = "{ed}"; }} );
  {extra}
}};
""")
    return path


class Milter:
    def __init__(self, conf, sock, log, binary=None, port=None):
        """Start mxkit-dkim on conf; wait for the unix socket sock, or for
        the loopback TCP port."""
        self.sock = sock
        self.logpath = log
        self.log = open(log, "wb")
        env = dict(os.environ)
        # Under ASan, freed buffers sit in quarantine and would count as
        # peak RSS; keep it small so the memory bound means something.
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=1"
        self.proc = subprocess.Popen([binary or MILTER, "-f", "-c", conf], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env)
        if port is not None:
            wait_port(port, timeout=10)
            return
        deadline = time.monotonic() + 10
        while not os.path.exists(sock):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mxkit-dkim did not start: {open(log).read()}")
            time.sleep(0.05)

    def peak_rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmHWM")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        with open(self.logpath, errors="replace") as f:
            text = f.read()
        for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            assert bad not in text, text


@pytest.fixture(scope="module", params=["relaxed/relaxed", "simple/simple"])
def env(request, tmp_path_factory):
    d = str(tmp_path_factory.mktemp("dkim"))
    rsa, ed, dns = genkeys(d)
    sock = os.path.join(d, "dkim.sock")
    conf = write_config(d, sock, rsa, ed, request.param)
    m = Milter(conf, sock, os.path.join(d, "milter.log"))
    yield {"milter": m, "dns": dns, "dir": d, "rsa": rsa, "ed": ed, "log": os.path.join(d, "milter.log")}
    m.stop()


def split(message):
    head, _, body = message.partition(b"\r\n\r\n")
    fields = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            name, value = fields[-1]
            fields[-1] = (name, value + b"\r\n" + line)
        else:
            name, _, value = line.partition(b":")
            fields.append((name.decode(), value))
    return fields, body


def run(env, message, auth="alice", addr="203.0.113.5", protocol=None):
    """One SMTP transaction through the milter: (final code, signed message or None)."""
    kw = {} if protocol is None else {"protocol": protocol}
    c = MilterClient("unix:" + env["milter"].sock, **kw)
    try:
        c.negotiate()
        assert c.connect("client.example" if addr else "localhost", addr) == "c"
        c.helo("client.example")
        macros = {"{auth_authen}": auth} if auth else {}
        r = c.mail("<alice@example.org>", macros=macros)
        if r != "c":
            return r, None
        c.rcpt("<bob@example.net>")
        c.data()
        fields, body = split(message)
        for name, value in fields:
            # Postfix hands header folds over as bare LF.
            r = c.header(name, value.replace(b"\r\n", b"\n"))
            assert r in (None, "c")
        r = c.eoh()
        if r != "c":
            return r, None
        r = c.body(body)
        assert r is None
        code, mods = c.eom()
        out = message
        for action, idx, name, value in mods:
            assert action == "i" and idx == 0 and name == "DKIM-Signature"
            if c.protocol & 0x100000 == 0:
                value = b" " + value
            out = name.encode() + b":" + value.replace(b"\n", b"\r\n") + b"\r\n" + out
        return code, (out if mods else None)
    finally:
        c.close()


def verify(env, signed, count):
    return dkim_verify(signed, env["dns"], count)


def msg(from_=b"Alice <alice@example.org>", extra=b"", body=b"Hello,\r\n\r\nbye.\r\n"):
    return (b"From: " + from_ + b"\r\nTo: bob@example.net\r\nSubject: test\r\n"
            b"Date: Sun, 22 Nov 2026 05:00:00 +0000\r\nMessage-ID: <m1@example.org>\r\n"
            + extra + b"\r\n" + body)


BODIES = {
    "plain": b"Hello,\r\n\r\nbye.\r\n",
    "empty": b"",
    "blank_lines": b"\r\n" * 20,
    "no_final_crlf": b"no end",
    "trailing_ws": b"a  \t\r\n\tb \r\n  \r\n",
    "utf8": "Grüße ✓\r\n".encode(),
}


@pytest.mark.parametrize("body", sorted(BODIES))
def test_authenticated_submission_dual_signed(env, body):
    extra = b"Subject2: x\r\n" if body == "plain" else b""
    m = msg(extra=extra + "X-Name: Jürgen\r\n".encode(), body=BODIES[body])
    code, signed = run(env, m)
    assert code == "a"
    assert signed is not None and signed.count(b"DKIM-Signature:") == 2
    assert signed.index(b"a=rsa-sha256") < signed.index(b"a=ed25519-sha256")
    assert verify(env, signed, 2) == [True, True]
    # and a changed copy fails: the verifier really checks
    assert True not in verify(env, signed.replace(b"Subject: test", b"Subject: tesT"), 2)


def test_long_folded_headers(env):
    to = b"To: " + b",\r\n\t".join(b"u%02d@example.net" % i for i in range(40)) + b"\r\n"
    m = (b"From: alice@example.org\r\n" + to + b"Subject: " + b"long " * 100 + b"\r\n"
         b"References: <a@x>\r\n <b@x>\r\n\r\nbody\r\n")
    code, signed = run(env, m)
    assert code == "a" and verify(env, signed, 2) == [True, True]


def test_without_leadspc_and_noreply(env):
    """An MTA that offers neither SMFIP_HDR_LEADSPC nor no-reply modes."""
    proto = SMFIP_NOHELO | SMFIP_NORCPT | SMFIP_NODATA | SMFIP_NOUNKNOWN
    code, signed = run(env, msg(), protocol=proto)
    assert code == "a" and verify(env, signed, 2) == [True, True]


def test_unauthenticated_inbound_not_signed(env):
    code, signed = run(env, msg(), auth=None, addr="203.0.113.5")
    assert code == "a" and signed is None


def test_internal_network_signed(env):
    for addr in ("10.1.2.3", "2001:db8:1::25"):
        code, signed = run(env, msg(), auth=None, addr=addr)
        assert code == "a" and verify(env, signed, 2) == [True, True]


def test_local_submission_signed(env):
    code, signed = run(env, msg(), auth=None, addr=None)
    assert code == "a" and verify(env, signed, 2) == [True, True]


def test_single_key_domain(env):
    code, signed = run(env, msg(from_=b"<bob@Single.Example>"))
    assert code == "a" and signed.count(b"DKIM-Signature:") == 1
    assert b"d=single.example" in signed
    assert verify(env, signed, 1) == [True]


@pytest.mark.parametrize("from_", [b"carol@other.example", b"a@example.org, b@example.org",
                                   b"no address here", b"undisclosed-recipients:;"])
def test_not_signed_and_logged(env, from_):
    code, signed = run(env, msg(from_=from_))
    assert code == "a" and signed is None
    with open(env["log"]) as f:
        assert "not signed" in f.read()


def test_two_from_fields_not_signed(env):
    code, signed = run(env, msg(extra=b"From: mallory@example.org\r\n"))
    assert code == "a" and signed is None


def test_too_many_fields_tempfails(env):
    """A failure to sign follows on_error (default tempfail): 451, never unsigned."""
    extra = b"".join(b"To: u%d@example.net\r\n" % i for i in range(1100))
    code, signed = run(env, msg(extra=extra))
    assert code in ("t", "y") and signed is None


def test_twenty_megabytes_bounded_memory(env):
    line = b"x" * 76 + b" \r\n"
    body = line * (20 * 1024 * 1024 // len(line) + 1)
    before = env["milter"].peak_rss_kb()
    code, signed = run(env, msg(body=body))
    assert code == "a"
    assert verify(env, signed, 2) == [True, True]
    grew = env["milter"].peak_rss_kb() - before
    assert grew < 4096, f"peak RSS grew by {grew} KiB for a 20 MB body"


def test_config_check(env, tmp_path):
    """-t accepts the running configuration and refuses a key readable by others."""
    d = str(tmp_path)
    sock = os.path.join(d, "x.sock")
    good = write_config(d, sock, env["rsa"], env["ed"], "relaxed/relaxed")
    r = subprocess.run([MILTER, "-t", "-c", good], capture_output=True)
    assert r.returncode == 0, r.stderr
    loose = os.path.join(d, "loose.pem")
    with open(env["ed"], "rb") as s, open(loose, "wb") as t:
        t.write(s.read())
    os.chmod(loose, 0o644)
    bad = write_config(d, sock, env["rsa"], loose, "relaxed/relaxed")
    r = subprocess.run([MILTER, "-t", "-c", bad], capture_output=True)
    assert r.returncode == 1
    assert b"group or others" in r.stderr and b".conf:" in r.stderr
    typo = write_config(d, sock, env["rsa"], env["ed"], "relaxed/relaxed", extra='sign_subdomain = true;')
    r = subprocess.run([MILTER, "-t", "-c", typo], capture_output=True)
    assert r.returncode == 1 and b"sign_subdomain" in r.stderr


def test_runs_unprivileged_and_version(env):
    import pwd
    with open(f"/proc/{env['milter'].proc.pid}/status") as f:
        uids = [line.split()[1:] for line in f if line.startswith("Uid:")][0]
    assert set(uids) == {str(pwd.getpwnam("nobody").pw_uid)}
    r = subprocess.run([MILTER, "-V"], capture_output=True)
    assert r.returncode == 0 and r.stdout.startswith(b"mxkit-dkim ")


def test_key_of_another_owner_refused(env, tmp_path):
    d = str(tmp_path)
    other = os.path.join(d, "other.pem")
    with open(env["ed"], "rb") as s, open(other, "wb") as t:
        t.write(s.read())
    os.chmod(other, 0o600)
    os.chown(other, 1, 1)  # neither root nor the daemon's user (nobody)
    conf = write_config(d, os.path.join(d, "x.sock"), env["rsa"], other, "relaxed/relaxed")
    r = subprocess.run([MILTER, "-t", "-c", conf], capture_output=True)
    assert r.returncode == 1 and b"not by root or the daemon's user" in r.stderr


def test_valgrind_clean(tmp_path):
    """A run under valgrind: signed, unsigned and failed messages, then
    SIGTERM; no memory errors and no definite leaks. (An ASan build is
    checked by its own sanitizer instead: Milter.stop() reads its log.)"""
    d = str(tmp_path)
    rsa, ed, dns = genkeys(d)
    sock = os.path.join(d, "vg.sock")
    conf = write_config(d, sock, rsa, ed, "relaxed/relaxed")
    # tests/run gives the ASan build as MXKIT_BUILD and the plain one here.
    plain = os.environ.get("MXKIT_PLAIN_BUILD")
    binary = os.path.join(plain, "milters", "dkim", "mxkit-dkim") if plain else MILTER
    asan = b"libasan" in subprocess.run(["ldd", binary], capture_output=True).stdout
    vglog = os.path.join(d, "valgrind.log")
    wrapper = os.path.join(d, "vg.sh")
    with open(wrapper, "w") as f:
        if asan:
            f.write(f"#!/bin/sh\nexec {binary} \"$@\"\n")
        else:
            f.write("#!/bin/sh\nexec valgrind --error-exitcode=9 --leak-check=full "
                    f"--errors-for-leak-kinds=definite --log-file={vglog} {binary} \"$@\"\n")
    os.chmod(wrapper, 0o755)
    m = Milter(conf, sock, os.path.join(d, "milter.log"), binary=wrapper)
    env = {"milter": m, "dns": dns, "log": os.path.join(d, "milter.log")}
    try:
        for body in (b"x\r\n", b"", b"y" * 300000):
            code, signed = run(env, msg(body=body))
            assert code == "a" and verify(env, signed, 2) == [True, True]
        assert run(env, msg(), auth=None) == ("a", None)
        assert run(env, msg(from_=b"a@nokey.example")) == ("a", None)
        extra = b"".join(b"To: u%d@example.net\r\n" % i for i in range(1100))
        assert run(env, msg(extra=extra))[0] in ("t", "y")
    finally:
        m.proc.send_signal(signal.SIGTERM)
        rc = m.proc.wait(timeout=60)
        m.log.close()
    assert rc == 0
    if not asan:
        with open(vglog) as f:
            text = f.read()
        assert "ERROR SUMMARY: 0 errors" in text, text


def wait_log(path, text, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path, errors="replace") as f:
            if text in f.read():
                return
        time.sleep(0.05)
    raise AssertionError(f"'{text}' not logged in {timeout}s")


@pytest.mark.parametrize("sig", [signal.SIGUSR1, signal.SIGHUP], ids=["SIGUSR1", "SIGHUP"])
def test_reload_on_signal(sig):
    """SIGHUP (the DESIGN.md convention) and SIGUSR1 reload keys: an added
    key signs new connections, a broken configuration is refused and the
    keys in use keep signing."""
    import pwd
    import shutil
    import tempfile
    # The daemon reads the files again as nobody: a world-searchable path.
    d = tempfile.mkdtemp(prefix="mxkit-dkim-reload-")
    os.chmod(d, 0o755)
    rsa, ed, dns = genkeys(d)
    nobody = pwd.getpwnam("nobody")
    for k in (rsa, ed):  # read again after privileges are dropped
        os.chown(k, nobody.pw_uid, nobody.pw_gid)
    sock = os.path.join(d, "r.sock")
    conf = os.path.join(d, "reload.conf")

    def write(keys):
        with open(conf, "w") as f:
            f.write(f'dkim = {{ socket = "unix:{sock}"; user = "nobody"; keys = ( {keys} ); }};\n')

    write(f'{{ domain = "example.org"; selector = "rsa"; key = "{rsa}"; }}')
    log = os.path.join(d, "milter.log")
    m = Milter(conf, sock, log)
    env = {"milter": m, "dns": dns, "log": log}
    try:
        code, signed = run(env, msg())
        assert signed.count(b"DKIM-Signature:") == 1 and verify(env, signed, 1) == [True]
        write(f'{{ domain = "example.org"; selector = "rsa"; key = "{rsa}"; }}, '
              f'{{ domain = "example.org"; selector = "ed"; key = "{ed}"; }}')
        m.proc.send_signal(sig)
        wait_log(log, "configuration reloaded")
        assert m.proc.poll() is None
        code, signed = run(env, msg())
        assert signed.count(b"DKIM-Signature:") == 2 and verify(env, signed, 2) == [True, True]
        write('{ domain = "example.org"; selector = "bad"; key = "/nonexistent.pem"; }')
        m.proc.send_signal(sig)
        wait_log(log, "reload failed, keeping the old configuration")
        code, signed = run(env, msg())
        assert signed.count(b"DKIM-Signature:") == 2 and verify(env, signed, 2) == [True, True]
    finally:
        m.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_sigterm_lets_open_connections_finish(env, tmp_path):
    """SIGTERM: no new connections, but one already open finishes its
    message (signed), and the daemon exits once it closes."""
    d = str(tmp_path)
    sock = os.path.join(d, "t.sock")
    conf = write_config(d, sock, env["rsa"], env["ed"], "relaxed/relaxed", name="term")
    m = Milter(conf, sock, os.path.join(d, "t.log"))
    c = MilterClient("unix:" + sock)
    try:
        c.negotiate()
        assert c.connect("client.example", "203.0.113.5") == "c"
        m.proc.send_signal(signal.SIGTERM)
        deadline, refused = time.monotonic() + 5, False
        while not refused and time.monotonic() < deadline:
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(sock)
                time.sleep(0.05)
            except OSError:
                refused = True  # no longer accepting (or the socket is gone)
            finally:
                s.close()
        assert refused, "new connections still accepted after SIGTERM"
        assert c.mail("<alice@example.org>", macros={"{auth_authen}": "alice"}) == "c"
        fields, body = split(msg())
        for name, value in fields:
            c.header(name, value)
        assert c.eoh() == "c"
        c.body(body)
        code, mods = c.eom()
        assert code == "a" and [x[2] for x in mods] == ["DKIM-Signature", "DKIM-Signature"]
        assert m.proc.poll() is None  # still serving the open connection
    finally:
        c.close()
    assert m.proc.wait(timeout=5) == 0
    m.stop()


def tcp_median_latency(tmp_path, nodelay):
    """Median time of 20 messages through mxkit-dkim on loopback TCP, from
    MAIL to the end-of-message verdict, the client writing each packet on
    its own (as Postfix does), with or without TCP_NODELAY on its side."""
    import socket
    import statistics
    from harness.ports import free_port
    d = str(tmp_path)
    rsa, ed, dns = genkeys(d)
    port = free_port()
    conf = write_config(d, None, rsa, ed, "relaxed/relaxed", spec=f"inet:{port}@127.0.0.1", name="tcp")
    m = Milter(conf, None, os.path.join(d, "milter.log"), port=port)
    try:
        fields, body = split(msg())
        c = MilterClient(f"inet:{port}@127.0.0.1")
        if nodelay:
            c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.negotiate()
        c.connect("client.example", "203.0.113.5")
        lat = []
        for _ in range(20):
            t0 = time.monotonic()
            c.mail("<alice@example.org>", macros={"{auth_authen}": "alice"})
            for name, value in fields:
                c.header(name, value.replace(b"\r\n", b"\n"))
            c.eoh()
            c.body(body)
            code, mods = c.eom()
            lat.append(time.monotonic() - t0)
            assert code == "a" and len(mods) == 2
        c.close()
        return statistics.median(lat)
    finally:
        m.stop()


def test_tcp_replies_not_held_back(tmp_path):
    """Over TCP the end-of-message replies (one packet per inserted header,
    then the verdict) go out at once: TCP_NODELAY on libmilter's socket.
    Without it the second packet waits for a delayed ACK (about 40 ms).
    The client side must not add its own Nagle delays here."""
    median = tcp_median_latency(tmp_path, nodelay=True)
    assert median < 0.025, f"median {median * 1000:.1f} ms"


def test_tcp_mta_packets_acknowledged_at_once(tmp_path):
    """A client that writes like Postfix (each packet its own write, Nagle
    on, headers not answered with SMFIP_NR_HDR) is not slowed down by
    delayed ACKs: the milter re-arms TCP_QUICKACK after every read. Without
    it a message took 90 to 130 ms here."""
    median = tcp_median_latency(tmp_path, nodelay=False)
    assert median < 0.010, f"median {median * 1000:.1f} ms"
