"""End-to-end checks of SRS on the deployed host (issues 4 and 8): an alias
forwarding to an outside address (a sink on loopback) gets an SRS sender,
a bounce to it reaches the original sender, a forged one is refused.

The outside world is a recording SMTP sink on 127.0.0.1. While the test
runs, Postfix routes two made-up outside domains to it through a texthash
transport table placed in front of the deployed transport_maps; the
original value is put back (and Postfix reloaded) afterwards, so the
playbook's second run still changes nothing.
"""
import os
import secrets
import smtplib
import subprocess
import sys
import time

import pytest

from conftest import DOMAIN, HOST
from test_mail import wait_in_inbox

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness.sink import Sink  # noqa: E402

SRS_DOMAIN = os.environ.get("MXKIT_E2E_SRS_DOMAIN", "srs." + DOMAIN)
CONF = "/etc/mxkit/mxkit.conf"
TOOL = "/usr/local/sbin/mxkit-srs-tool"
TRANSPORT = "/etc/postfix/mxkit-e2e-srs-transport"
ARRIVAL_TIMEOUT = 30


def postconf(*args):
    done = subprocess.run(["postconf", *args], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def reload_postfix():
    done = subprocess.run(["postfix", "reload"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    time.sleep(1)  # new smtpd/trivial-rewrite processes pick up the change


@pytest.fixture
def outside():
    """(sink, forward-domain, sender-domain): two outside domains routed to
    a loopback sink for the duration of the test."""
    fwd = "e2e-srs-fwd-%s.example" % secrets.token_hex(4)
    snd = "e2e-srs-snd-%s.example" % secrets.token_hex(4)
    sink = Sink("smtp", "outside").start()
    old = postconf("-h", "transport_maps")
    try:
        with open(TRANSPORT, "w") as f:
            f.write("%s %s\n%s %s\n" % (fwd, sink.transport, snd, sink.transport))
        postconf("-e", "transport_maps=texthash:%s, %s" % (TRANSPORT, old))
        reload_postfix()
        yield sink, fwd, snd
    finally:
        postconf("-e", "transport_maps=" + old)
        reload_postfix()
        os.unlink(TRANSPORT)
        sink.stop()


def send25(sender, recipient, token="-"):
    """Mail in through port 25 as an outside server would; the RCPT reply."""
    with smtplib.SMTP(HOST, 25, timeout=30) as smtp:
        smtp.ehlo("mx.e2e-sender.example")
        smtp.mail(sender)
        code, text = smtp.rcpt(recipient)
        if code == 250:
            smtp.data(("Subject: mxkit e2e srs %s\r\n\r\nforwarded\r\n" % token).encode())
        return code, text.decode()


def srs_tool(*args):
    return subprocess.run([TOOL, "-c", CONF, *args], capture_output=True, text=True, timeout=30)


def test_alias_forwarding_outside_gets_srs_sender(make_alias, outside):
    sink, fwd, snd = outside
    sender = "carol@%s" % snd
    target = "bob@%s" % fwd
    alias = make_alias(target)
    assert send25(sender, alias)[0] == 250
    tx = sink.wait_for(lambda t: len(t) >= 1, timeout=ARRIVAL_TIMEOUT)[0]
    assert tx.recipients == [target]
    assert tx.mail_from.startswith("SRS0=") and tx.mail_from.endswith("@" + SRS_DOMAIN), tx.mail_from
    rev = srs_tool("reverse", tx.mail_from)
    assert rev.returncode == 0 and rev.stdout.strip() == sender, rev

    # A bounce to the SRS address goes back to the original sender.
    sink.clear()
    assert send25("", tx.mail_from)[0] == 250
    back = sink.wait_for(lambda t: len(t) >= 1, timeout=ARRIVAL_TIMEOUT)[0]
    assert back.mail_from == "" and back.recipients == [sender]

    # A forged one is refused at RCPT.
    h = tx.mail_from.split("=")[1]
    forged = tx.mail_from.replace("=%s=" % h, "=%s=" % ("AAAA" if h != "AAAA" else "BBBB"), 1)
    code, text = send25("", forged)
    assert code == 550, (code, text)


def test_local_delivery_keeps_the_sender(make_user, make_alias, outside):
    """An alias that stays inside: delivered with the original sender as
    its Return-Path, and nothing goes out."""
    sink, _, snd = outside
    user = make_user("srs-local")
    alias = make_alias(user.address)
    token = secrets.token_hex(8)
    assert send25("carol@%s" % snd, alias, token)[0] == 250
    text = wait_in_inbox(user, token)
    assert "Return-Path: <carol@%s>" % snd in text, text[:500]
    assert sink.transactions() == []
