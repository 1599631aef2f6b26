"""mxkit-strip in a private Postfix with SMTP AUTH (Dovecot SASL), then mxkit-dkim.

The deployment is the one mxkit-strip(8) documents: smtpd_milters =
strip, then dkim; the submission listener authenticates through a
private Dovecot's auth socket and hands its mail to its own cleanup
service, `cleanup-submission`, whose header_checks (SUBMISSION_CHECKS)
rewrite Postfix's own Received: header, the one Postfix hides from
milters and does not let them change. The client connects from
127.0.0.2 (Postfix listens on 127.0.0.1).

Checked at the sinks: an authenticated submission arrives with no
occurrence of 127.0.0.2, none of the client's User-Agent, X-Mailer and
X-Originating-IP fields nor its Received: fields that name it, a body
byte-identical to what was sent, and a DKIM signature dkimpy verifies;
the same message sent without AUTH to a local user keeps every header.
"""
import os
import re
import smtplib

import pytest

from conftest import build_dir
from dkim_support import dns_records, make_keys, verify
from harness.dovecot import Dovecot
from harness.ports import free_port, wait_port
from harness.postfix import Postfix
from harness.sink import Sink
from test_dkim_milter import Milter

STRIP = os.path.join(build_dir(), "milters", "strip", "mxkit-strip")
DKIM = os.path.join(build_dir(), "milters", "dkim", "mxkit-dkim")
CLIENT_IP = "127.0.0.2"
USER, PASSWORD = "alice@example.org", "correct horse battery"

# header_checks(5) of the submission cleanup service, as in mxkit-strip(8):
# Postfix's own Received: header of an authenticated session becomes the
# form Postfix >= 3.10 writes with smtpd_hide_client_session = yes.
SUBMISSION_CHECKS = (
    r"/^Received: from .*[[:space:]]by ([^[:space:]]+ \([^)]*\)) with E?SMTPS?A (id .*)$/"
    r"  REPLACE Received: by ${1} ${2}" "\n")

BODY = ("Hello Bob,\r\n\r\n.a line that starts with a dot\r\nFrom the start of a line\r\n"
        "trailing space   \r\n\ttab first\r\n" + "x" * 900 + "\r\n"
        "Gr\u00fc\u00dfe, \u00e0 bient\u00f4t\r\n\r\n-- \r\nAlice\r\n").encode()


def message(to):
    return (f"From: Alice <{USER}>\r\nTo: <{to}>\r\nSubject: privacy test\r\n"
            "Date: Sun, 22 Nov 2026 05:00:00 +0000\r\nMessage-ID: <strip-1@example.org>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n"
            f"Received: from [{CLIENT_IP}] (helo=alice-laptop)\r\n\tby laptop.local with esmtp; "
            "Sun, 22 Nov 2026 04:59:59 +0000\r\n"
            "Received: from relay.elsewhere.test (relay.elsewhere.test [198.51.100.1])\r\n"
            "\tby laptop.local; Sun, 22 Nov 2026 04:59:58 +0000\r\n"
            "User-Agent: Mozilla/5.0 Thunderbird/115.0\r\n"
            "X-Mailer: Microsoft Outlook 16.0\r\n"
            f"X-Originating-IP: [{CLIENT_IP}]\r\n"
            "X-Kept: stays\r\n"
            "\r\n").encode() + BODY


def fields(data):
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    out = []
    for line in head.split("\r\n"):
        if line[:1] in (" ", "\t") and out:
            out[-1] += "\r\n" + line
        else:
            out.append(line)
    return out


class SubmissionPostfix(Postfix):
    """The harness instance plus a submission listener with SASL and its own cleanup."""

    def __init__(self, name, auth_socket, checks_path, **kw):
        self.submission_port = free_port()
        self._auth_socket = auth_socket
        self._checks_path = checks_path
        super().__init__(name, **kw)

    def _write_config(self):
        super()._write_config()
        with open(os.path.join(self.config_dir, "master.cf"), "a") as f:
            f.write(f"""127.0.0.1:{self.submission_port} inet n - n - - smtpd
  -o syslog_name=postfix-{self.name}/submission
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_sasl_type=dovecot
  -o smtpd_sasl_path={self._auth_socket}
  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject
  -o cleanup_service_name=cleanup-submission
cleanup-submission unix n - n - 0 cleanup
  -o header_checks=regexp:{self._checks_path}
""")

    def start(self, timeout=30):
        super().start(timeout)
        wait_port(self.submission_port, timeout=timeout)
        return self


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("strip"))
    os.chmod(d, 0o755)
    rsa, ed = make_keys(d)
    dns = dns_records(f"example.org:rsa:{rsa}", f"example.org:ed:{ed}")
    strip_port, dkim_port = free_port(), free_port()
    with open(os.path.join(d, "mxkit.conf"), "w") as f:
        f.write(f"""
strip = {{ socket = "inet:{strip_port}@127.0.0.1"; user = "nobody"; }};
dkim = {{
  socket = "inet:{dkim_port}@127.0.0.1";
  user = "nobody";
  internal_networks = [ "192.0.2.0/24" ];   # sign authenticated mail only
  keys = ( {{ domain = "example.org"; selector = "rsa"; key = "{rsa}"; }},
           {{ domain = "example.org"; selector = "ed"; key = "{ed}"; }} );
}};
""")
    conf = os.path.join(d, "mxkit.conf")
    started = []
    relay, lmtp = Sink("smtp", "relay").start(), Sink("lmtp", "local").start()
    started += [relay.stop, lmtp.stop]
    try:
        strip = Milter(conf, None, os.path.join(d, "strip.log"), binary=STRIP, port=strip_port)
        started.append(strip.stop)
        dkim = Milter(conf, None, os.path.join(d, "dkim.log"), binary=DKIM, port=dkim_port)
        started.append(dkim.stop)
        dc = Dovecot("strip", users={USER: PASSWORD})
        dc.start()
        started.append(dc.cleanup)
        checks = os.path.join(d, "submission_header_checks")
        with open(checks, "w") as f:
            f.write(SUBMISSION_CHECKS)
        os.chmod(checks, 0o644)
        pf = SubmissionPostfix("strip", dc.auth_socket, checks, relayhost=relay.address, main={
            "smtpd_milters": f"inet:127.0.0.1:{strip_port}, inet:127.0.0.1:{dkim_port}",
            "milter_default_action": "tempfail",
            "milter_protocol": "6",
            "virtual_mailbox_domains": "example.org",
            "virtual_mailbox_maps": f"inline:{{ {USER}=ok, bob@example.org=ok }}",
            "virtual_transport": lmtp.transport,
        })
        started.append(pf.cleanup)
        pf.start()
        yield {"pf": pf, "relay": relay, "lmtp": lmtp, "dns": dns, "strip": strip, "dkim": dkim,
               "dovecot": dc, "dir": d}
    finally:
        for stop in reversed(started):
            stop()


def send(port, to, auth, msg):
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="alice-laptop.example.net",
                     source_address=(CLIENT_IP, 0), timeout=60)
    try:
        s.ehlo()
        if auth:
            s.login(USER, PASSWORD)
        refused = s.sendmail(USER, [to], msg, mail_options=["BODY=8BITMIME"])
        assert refused == {}
    finally:
        s.quit()


def deliver(world, sink, port, to, auth):
    n = len(world[sink].transactions())
    send(port, to, auth, message(to))
    world[sink].wait_for(lambda t: len(t) >= n + 1, 60)
    tx = world[sink].transactions()[n]
    assert tx.peer == "127.0.0.1"
    return tx.data


def assert_stripped(world, data, to):
    sent = message(to)
    assert CLIENT_IP.encode() not in data
    names = [f.split(":", 1)[0].lower() for f in fields(data)]
    for gone in ("user-agent", "x-mailer", "x-originating-ip"):
        assert gone not in names, data
    # kept: everything else the client wrote, the Received: of another host
    assert "X-Kept: stays" in fields(data)
    assert any("relay.elsewhere.test [198.51.100.1]" in f for f in fields(data))
    # Postfix's own Received:, redacted by the submission cleanup
    own = [f for f in fields(data) if f.startswith("Received: by strip.mxkit.test (Postfix) id ")]
    assert len(own) == 1, fields(data)
    assert data.split(b"\r\n\r\n", 1)[1] == sent.split(b"\r\n\r\n", 1)[1]
    assert verify(data, world["dns"], 2) == [True, True]


def test_authenticated_submission_to_remote(world):
    data = deliver(world, "relay", world["pf"].submission_port, "bob@remote.test", auth=True)
    assert_stripped(world, data, "bob@remote.test")


def test_authenticated_submission_to_local(world):
    data = deliver(world, "lmtp", world["pf"].submission_port, "bob@example.org", auth=True)
    assert_stripped(world, data, "bob@example.org")


def test_unauthenticated_to_local_keeps_every_header(world):
    to = "bob@example.org"
    data = deliver(world, "lmtp", world["pf"].smtp_port, to, auth=False)
    got = fields(data)
    for f in fields(message(to)):
        assert f in got, f
    assert data.split(b"\r\n\r\n", 1)[1] == message(to).split(b"\r\n\r\n", 1)[1]
    # Postfix's own Received: names the client, and nothing was signed.
    assert any(f.startswith("Received: from alice-laptop.example.net") and f"[{CLIENT_IP}]" in f
               for f in got), got
    assert not any(f.lower().startswith("dkim-signature:") for f in got)


def test_submission_without_auth_is_refused(world):
    s = smtplib.SMTP("127.0.0.1", world["pf"].submission_port, source_address=(CLIENT_IP, 0),
                     timeout=30)
    try:
        s.ehlo()
        s.mail(USER)
        code, _ = s.rcpt("bob@remote.test")
        assert code == 554
    finally:
        s.quit()


def test_logs(world):
    assert re.search(r"removed [1-9][0-9]* and replaced 0 header field", open(world["strip"].logpath, errors="replace").read())
    problems = [l for l in world["pf"].problems() if "milter" in l or "cleanup" in l]
    assert problems == []
