"""End-to-end checks of the inbound spam path (issue 7's inbound half):
rspamd on port 25 marks spam, the global sieve script files it into Junk,
moving it out of Junk trains ham through mxkit_training and mxkit-train,
and users manage their own sieve scripts over ManageSieve.

The spam sample is rspamd's "add header" GTUBE-like test pattern: rspamd
3.4 always rejects the standard GTUBE string at SMTP time, before any rule
or setting can act (see the README), and tests/e2e/run deploys with
rspamd_test_patterns=true so the add-header variant is honoured.
"""
import base64
import imaplib
import os
import pwd
import random
import re
import secrets
import smtplib
import socket
import stat
import time
from email.message import EmailMessage

import pytest

from conftest import HOST, mysql, tls_context

WAIT = 60  # seconds any one bounded wait may take
RSPAMD_SECRET = "/etc/mxkit/rspamd-controller.secret"
CONTROLLER = (HOST, 11334)
GTUBE_STANDARD = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
TRAINING_SPOOL = "/var/spool/mxkit/training"
GTUBE_ADD_HEADER = "YJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
WORDS = ("meeting agenda quarterly report budget review project timeline update "
         "schedule lunch team notes draft proposal invoice client delivery").split()


def poll(pred, what, timeout=WAIT):
    """Call pred until it returns something true; fail after timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out after %d s waiting for %s" % (timeout, what)
        time.sleep(0.3)


def outside_message(recipient, body_extra=""):
    """A message from an outside sender with a body long enough to learn."""
    token = secrets.token_hex(8)
    rnd = random.Random(token)
    msg = EmailMessage()
    msg["From"] = "sender@e2e-%s.example" % secrets.token_hex(4)
    msg["To"] = recipient
    msg["Subject"] = "mxkit spam e2e %s" % token
    msg["Message-ID"] = "<%s@e2e.example>" % token
    body = " ".join(rnd.choice(WORDS) for _ in range(80))
    msg.set_content("%s %s\n%s\n" % (token, body, body_extra))
    return msg, token


def send_outside(msg):
    """Unauthenticated delivery on port 25, as another MTA would."""
    with smtplib.SMTP(HOST, 25, timeout=60) as smtp:
        smtp.ehlo("mx.e2e-sender.example")
        smtp.send_message(msg)


def imaps(user):
    imap = imaplib.IMAP4_SSL(HOST, 993, ssl_context=tls_context(), timeout=30)
    imap.login(user.address, user.password)
    return imap


def find(imap, mailbox, token):
    """UIDs of the messages in mailbox whose subject has token."""
    typ, _ = imap.select(mailbox)
    assert typ == "OK", "cannot select %s" % mailbox
    typ, data = imap.uid("SEARCH", None, "SUBJECT", '"%s"' % token)
    assert typ == "OK"
    return data[0].split()


def header_of(imap, uid):
    """The header of the message uid in the selected mailbox."""
    typ, data = imap.uid("FETCH", uid, "(BODY.PEEK[HEADER])")
    assert typ == "OK"
    return data[0][1].decode("utf-8", "replace")


def controller_learned():
    """rspamd's "Messages learned" from the controller's /stat, with the
    deployed password (the controller refuses requests without it)."""
    with open(RSPAMD_SECRET) as f:
        password = f.read().strip()
    with socket.create_connection(CONTROLLER, timeout=30) as s:
        s.sendall(("GET /stat HTTP/1.0\r\nPassword: %s\r\n\r\n" % password).encode())
        reply = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0], head[:200]
    m = re.search(rb'"learned"\s*:\s*(\d+)', body)
    assert m, body[:500]
    return int(m.group(1))


def controller_status_without_password():
    with socket.create_connection(CONTROLLER, timeout=30) as s:
        s.sendall(b"GET /stat HTTP/1.0\r\n\r\n")
        return s.recv(4096).split(b"\r\n")[0]


def events(user):
    rows = mysql("SELECT class, source_mailbox, dest_mailbox, state, result FROM training_events"
                 " WHERE username = '%s' ORDER BY id" % user.address)
    return [tuple(line.split("\t")) for line in rows.splitlines()]


@pytest.fixture
def spam_user(make_user):
    user = make_user("spam")
    yield user
    mysql("DELETE FROM training_events WHERE username = '%s'" % user.address)


def test_controller_needs_the_password():
    status = controller_status_without_password()
    assert b" 401 " in status or b" 403 " in status, status


def test_normal_message_lands_in_inbox(spam_user):
    msg, token = outside_message(spam_user.address)
    send_outside(msg)
    with imaps(spam_user) as imap:
        uids = poll(lambda: find(imap, "INBOX", token), "the message in INBOX")
        header = header_of(imap, uids[0])
        assert "X-Spamd-Result:" in header, "rspamd did not scan it:\n" + header
        assert not re.search(r"^X-Spam: Yes", header, re.M), header
        assert find(imap, "Junk", token) == []


def test_gtube_lands_in_junk_and_moving_it_out_trains_ham(spam_user):
    msg, token = outside_message(spam_user.address, GTUBE_ADD_HEADER)
    send_outside(msg)
    with imaps(spam_user) as imap:
        uids = poll(lambda: find(imap, "Junk", token), "the GTUBE message in Junk")
        header = header_of(imap, uids[0])
        assert re.search(r"^X-Spam: Yes", header, re.M), header
        assert find(imap, "INBOX", token) == []

        # Out of Junk into INBOX: a ham event, sent to rspamd's controller.
        uids = find(imap, "Junk", token)  # selects Junk again
        typ, _ = imap.uid("MOVE", uids[0], "INBOX")
        assert typ == "OK"
        try:
            done = poll(lambda: [e for e in events(spam_user) if e[0] == "ham" and e[3] == "done"],
                        "a done ham event")
        except AssertionError as e:
            raise AssertionError("%s; events now: %r" % (e, events(spam_user))) from None
        assert done[0][1:3] == ("Junk", "INBOX"), done
        assert find(imap, "INBOX", token)
        assert len(events(spam_user)) == 1, events(spam_user)


def test_standard_gtube_is_refused_at_smtp(spam_user):
    """rspamd 3.4 rejects the standard GTUBE string before any setting or
    rule runs: the sending MTA gets a 5xx (nothing is accepted and lost)."""
    msg, token = outside_message(spam_user.address, GTUBE_STANDARD)
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send_outside(msg)
    assert refused.value.smtp_code == 554, refused.value
    with imaps(spam_user) as imap:
        assert find(imap, "INBOX", token) == [] and find(imap, "Junk", token) == []


def test_training_spool_directory_is_private_to_the_mail_user():
    st = os.stat(TRAINING_SPOOL)
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700, oct(st.st_mode)
    assert pwd.getpwuid(st.st_uid).pw_name == "vmail"
    with open("/etc/mxkit/mxkit.conf") as f:
        assert 'spool_dir = "%s";' % TRAINING_SPOOL in f.read()


def test_moving_into_junk_trains_rspamd(spam_user):
    """rspamd 3.4 answers success to learning a GTUBE message without
    learning it (the pattern skips every stage), so the learned count is
    checked with an ordinary message moved into Junk and back out."""
    msg, token = outside_message(spam_user.address)
    send_outside(msg)
    with imaps(spam_user) as imap:
        uids = poll(lambda: find(imap, "INBOX", token), "the message in INBOX")
        learned0 = controller_learned()
        typ, _ = imap.uid("MOVE", uids[0], "Junk")
        assert typ == "OK"
        poll(lambda: [e for e in events(spam_user) if e[0] == "spam" and e[3] == "done"],
             "a done spam event")
        poll(lambda: controller_learned() >= learned0 + 1, "rspamd's learned count to rise")
        learned1 = controller_learned()
        uids = poll(lambda: find(imap, "Junk", token), "the message in Junk")
        typ, _ = imap.uid("MOVE", uids[0], "INBOX")
        assert typ == "OK"
        poll(lambda: [e for e in events(spam_user) if e[0] == "ham" and e[3] == "done"],
             "a done ham event")
        poll(lambda: controller_learned() >= learned1 + 1, "rspamd's learned count to rise (ham)")


class ManageSieve:
    """Just enough of RFC 5804 over a socket: STARTTLS, AUTHENTICATE
    PLAIN, PUTSCRIPT, SETACTIVE, LISTSCRIPTS."""

    def __init__(self):
        self.sock = socket.create_connection((HOST, 4190), timeout=30)
        self.buf = b""
        self.response()

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            assert chunk, "ManageSieve closed the connection"
            self.buf += chunk
            assert len(self.buf) < 1 << 20, "ManageSieve line too long"
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line.decode("utf-8", "replace")

    def response(self):
        """Lines up to the final OK/NO/BYE; returns (status line, lines)."""
        lines = []
        for _ in range(1000):
            line = self.line()
            if re.match(r"(OK|NO|BYE)\b", line):
                return line, lines
            lines.append(line)
        raise AssertionError("no final ManageSieve response")

    def command(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.response()

    def starttls(self):
        status, _ = self.command("STARTTLS")
        assert status.startswith("OK"), status
        self.sock = tls_context().wrap_socket(self.sock, server_hostname=HOST)
        self.buf = b""
        return self.response()  # capabilities again, after TLS

    def close(self):
        try:
            self.command("LOGOUT")
        finally:
            self.sock.close()


def test_managesieve_putscript_and_setactive(make_user):
    user = make_user("sieve")
    ms = ManageSieve()
    try:
        _, caps = ms.starttls()
        assert any(c.upper().startswith('"SASL"') and "PLAIN" in c.upper() for c in caps), caps
        plain = base64.b64encode(("\0%s\0%s" % (user.address, user.password)).encode()).decode()
        status, _ = ms.command('AUTHENTICATE "PLAIN" "%s"' % plain)
        assert status.startswith("OK"), status
        script = 'require ["fileinto"];\r\nif header :contains "Subject" "[list]" {\r\n  fileinto "INBOX";\r\n}\r\n'
        data = script.encode()
        status, _ = ms.command('PUTSCRIPT "mxkit-e2e" {%d+}\r\n%s' % (len(data), script))
        assert status.startswith("OK"), status
        status, _ = ms.command('SETACTIVE "mxkit-e2e"')
        assert status.startswith("OK"), status
        status, listed = ms.command("LISTSCRIPTS")
        assert status.startswith("OK"), status
        assert '"mxkit-e2e" ACTIVE' in listed, listed
    finally:
        ms.close()


def test_wrong_managesieve_password_is_refused(make_user):
    user = make_user("sieve")
    ms = ManageSieve()
    try:
        ms.starttls()
        plain = base64.b64encode(("\0%s\0%s" % (user.address, "wrong-" + user.password)).encode())
        status, _ = ms.command('AUTHENTICATE "PLAIN" "%s"' % plain.decode())
        assert status.startswith("NO"), status
    finally:
        ms.sock.close()
