"""mxkit-dkim in a private Postfix's smtpd_milters, signatures checked by dkimpy.

Mail submitted over SMTP from an internal network (127.0.0.0/8 in the
milter's internal_networks) arrives at the sink signed with both keys,
and dkimpy verifies every signature against the records the keys give;
with a milter for which the client is outside (inbound mail), the same
mail arrives unsigned. Both relaxed/relaxed and simple/simple run, so the
way Postfix writes the inserted header field is covered too, and a local
submission through sendmail(1) and non_smtpd_milters is signed. (SMTP AUTH
needs a SASL server; the {auth_authen} path is covered by
test_dkim_milter.py over the milter protocol.)
"""
import os
import time

import pytest

from dkim_support import dns_records, make_keys, verify
from harness.ports import free_port
from harness.postfix import Postfix
from harness.sink import Sink
from test_dkim_milter import Milter, write_config

CANONS = ("relaxed/relaxed", "simple/simple")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("dkimpf"))
    os.chmod(d, 0o755)
    rsa, ed = make_keys(d)
    dns = dns_records(f"example.org:rsa:{rsa}", f"example.org:ed:{ed}")
    milters, ports = {}, {}
    sink = Sink("smtp", "relay").start()
    pf = None
    try:
        for canon in CANONS:
            for kind, internal in (("out", "127.0.0.0/8"), ("in", "10.0.0.0/8")):
                port = free_port()
                name = f"{kind}-{canon.replace('/', '-')}"
                conf = write_config(d, None, rsa, ed, canon, spec=f"inet:{port}@127.0.0.1",
                                    internal=(internal,), name=name)
                milters[(kind, canon)] = Milter(conf, None, os.path.join(d, name + ".log"), port=port)
                ports[(kind, canon)] = port
        pf = Postfix("dkim", relayhost=sink.address, main={
            "smtpd_milters": f"inet:127.0.0.1:{ports[('out', CANONS[0])]}",
            "milter_default_action": "tempfail",
            "milter_protocol": "6",
            "message_size_limit": "40000000",
        })
        pf.start()
        yield {"pf": pf, "sink": sink, "dns": dns, "ports": ports, "current": ("out", CANONS[0])}
    finally:
        if pf is not None:
            pf.cleanup()
        sink.stop()
        for m in milters.values():
            m.stop()


def use_milter(world, kind, canon):
    if world["current"] != (kind, canon):
        world["pf"].set(smtpd_milters=f"inet:127.0.0.1:{world['ports'][(kind, canon)]}")
        world["current"] = (kind, canon)
        time.sleep(1.0)  # let the reload replace the smtpd processes


def deliver(world, message, n_before):
    with world["pf"].smtp() as s:
        assert s.sendmail("alice@example.org", ["bob@remote.test"], message) == {}
    world["sink"].wait_for(lambda t: len(t) >= n_before + 1, 60)
    return world["sink"].transactions()[n_before].data


def msg(extra=b"", body=b"Hello Bob,\r\n\r\nbye.\r\n", subject=b"hello"):
    return (b"From: Alice <alice@example.org>\r\nTo: bob@remote.test\r\nSubject: " + subject +
            b"\r\nDate: Sun, 22 Nov 2026 05:00:00 +0000\r\nMessage-ID: <p1@example.org>\r\n"
            + extra + b"\r\n" + body)


MESSAGES = {
    "plain": msg(),
    "long_folded": msg(extra=b"To: " + b",\r\n\t".join(b"u%02d@remote.test" % i for i in range(30))
                       + b"\r\nReferences: <a@x>\r\n <b@x>\r\n", subject=b"long " * 60),
    "trailing_ws": msg(body=b"a  \t\r\n\tb \r\n  \r\n", subject=b"spaces   at end   "),
    "empty_body": msg(body=b""),
    "blank_lines": msg(body=b"\r\n" * 30),
    "no_final_crlf": msg(body=b"last line without end"),
    "utf8_8bit": msg(extra="X-Name: Jürgen Müller\r\n".encode() + b"X-Latin1: caf\xe9\r\n",
                     subject="Grüße ✓".encode(), body="ünïcödé\r\n".encode()),
}


@pytest.mark.parametrize("canon", CANONS)
def test_submission_arrives_signed(world, canon):
    use_milter(world, "out", canon)
    for name, message in MESSAGES.items():
        data = deliver(world, message, len(world["sink"].transactions()))
        head = data.split(b"\r\n\r\n")[0]
        assert head.count(b"DKIM-Signature:") == 2, name
        assert f"c={canon}".encode() in head, name
        assert verify(data, world["dns"], 2) == [True, True], name


def test_twenty_megabyte_attachment(world):
    use_milter(world, "out", "relaxed/relaxed")
    line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n"
    body = (b"--b\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--b\r\n"
            b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + line * (20 * 1024 * 1024 // len(line) + 1) + b"--b--\r\n")
    message = msg(extra=b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n", body=body)
    data = deliver(world, message, len(world["sink"].transactions()))
    assert len(data) > 20 * 1024 * 1024
    assert verify(data, world["dns"], 2) == [True, True]


def test_local_submission_signed(world):
    """sendmail(1) -> pickup -> cleanup with non_smtpd_milters: signed."""
    import subprocess
    use_milter(world, "out", "relaxed/relaxed")
    pf = world["pf"]
    pf.set(non_smtpd_milters=f"inet:127.0.0.1:{world['ports'][('out', 'relaxed/relaxed')]}")
    n = len(world["sink"].transactions())
    r = subprocess.run(["/usr/sbin/sendmail", "-C", pf.config_dir, "-f", "alice@example.org", "-t"],
                       input=msg().replace(b"\r\n", b"\n"), capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    world["sink"].wait_for(lambda t: len(t) >= n + 1, 60)
    data = world["sink"].transactions()[n].data
    assert verify(data, world["dns"], 2) == [True, True]


def test_inbound_arrives_unsigned(world):
    use_milter(world, "in", "relaxed/relaxed")
    data = deliver(world, msg(), len(world["sink"].transactions()))
    assert b"DKIM-Signature:" not in data
    assert b"Subject: hello" in data
    assert world["pf"].problems() == []


def test_no_delayed_ack_stall_over_tcp(world):
    """Postfix's milter client writes macros and commands (and, with
    SMFIP_NR_HDR, header after header) as separate small packets with
    Nagle's algorithm on; unless the milter acknowledges each at once, the
    next one waits for a delayed ACK (about 40 ms, several times a
    message). Measured from the end of DATA to Postfix's 250 reply."""
    import statistics
    use_milter(world, "out", "relaxed/relaxed")
    lat = []
    with world["pf"].smtp() as s:
        for i in range(15):
            t0 = time.monotonic()
            assert s.sendmail("alice@example.org", ["bob@remote.test"], msg(subject=b"t%d" % i)) == {}
            lat.append(time.monotonic() - t0)
    print(f"median SMTP transaction through Postfix + mxkit-dkim over TCP: "
          f"{statistics.median(lat) * 1000:.1f} ms")
    assert statistics.median(lat) < 0.020, [f"{x * 1000:.1f}" for x in lat]
