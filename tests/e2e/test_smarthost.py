"""End-to-end checks of the outbound smarthost (issue 9) on the deployed host.

Two private Postfix instances on loopback play third-party relays: each
requires SASL AUTH (a private Dovecot with a passwd-file), offers TLS with a
certificate from a test CA made here, and relays to one sink. Relay A speaks
STARTTLS (the default smarthost), relay B TLS from the first byte (the
per-domain smarthost of example.org in the last test). The playbook is
re-run with --tags mxkit_smarthost and the relay variables, as an
administrator would; the module fixture re-runs it without them at the end,
so the host is back to direct delivery (the second full deploy of
tests/e2e/run checks that).

Only 127.0.0.1 is contacted. The deploy lock is held by the caller
(tests/e2e/run under flock): these tests do not take it themselves.
"""
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

import dkim
import pytest

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
from harness.dovecot_sasl import DovecotSasl  # noqa: E402
from harness.postfix import Postfix  # noqa: E402
from harness.sink import Sink  # noqa: E402

from conftest import DOMAIN  # noqa: E402
from test_mail import submit, wait_in_inbox  # noqa: E402
from test_milters import dns_txt_records  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY_TIMEOUT = 240
DELIVERY_TIMEOUT = 60
RELAY_USER = "mxkit@relay.test"


def run(cmd, **kw):
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, **kw)
    assert done.returncode == 0, "%s: %s" % (" ".join(cmd), done.stderr)
    return done.stdout


def make_ca(d):
    """A test CA and one certificate per relay name, signed by it."""
    ca_key, ca_cert = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=mxkit e2e test CA", "-keyout", ca_key, "-out", ca_cert,
         "-addext", "basicConstraints=critical,CA:true",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    os.chmod(ca_cert, 0o644)
    certs = {}
    for name in ("relay-a.e2e.test", "relay-b.e2e.test"):
        key, csr, cert = (os.path.join(d, name + ext) for ext in (".key", ".csr", ".pem"))
        run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name,
             "-keyout", key, "-out", csr])
        ext = os.path.join(d, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n" % name)
        run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key,
             "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", cert])
        certs[name] = (cert, key)
    return ca_cert, certs


def deploy(variables):
    """Re-run the playbook's smarthost part with these variables."""
    path = os.path.join(tempfile.gettempdir(), "mxkit-e2e-smarthost-%s.json" % secrets.token_hex(4))
    with open(path, "w") as f:
        json.dump(variables, f)
    os.chmod(path, 0o600)
    try:
        done = subprocess.run([os.path.join(TOP, "deploy"), "--tags", "mxkit_smarthost", "-e", "@" + path],
                              capture_output=True, text=True, timeout=DEPLOY_TIMEOUT, cwd=TOP)
    finally:
        os.unlink(path)
    assert done.returncode == 0, "deploy failed:\n%s\n%s" % (done.stdout[-4000:], done.stderr[-2000:])
    return done.stdout


class Relay:
    """A private Postfix relay requiring AUTH over TLS, in front of `sink`."""

    def __init__(self, d, name, cert, key, sink, password, wrapper):
        self.sasl = DovecotSasl(os.path.join(d, name), {RELAY_USER: password}).start()
        options = {"smtpd_tls_wrappermode": "yes"} if wrapper else {}
        self.pf = Postfix(name=name, basedir=d, relayhost=sink.address, smtpd_options=options, main={
            "smtpd_tls_cert_file": cert,
            "smtpd_tls_key_file": key,
            "smtpd_tls_security_level": "encrypt",
            "smtpd_tls_auth_only": "yes",
            "smtpd_tls_received_header": "yes",
            "smtpd_sasl_auth_enable": "yes",
            "smtpd_sasl_type": "dovecot",
            "smtpd_sasl_path": self.sasl.socket,
            "smtpd_sasl_authenticated_header": "yes",
            "smtpd_relay_restrictions": "permit_sasl_authenticated, reject",
            "smtpd_recipient_restrictions": "permit_sasl_authenticated, reject",
            "mynetworks": "",
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
        })
        # smtpd's TLS needs tlsmgr, which the harness's master.cf leaves out.
        with open(os.path.join(self.pf.config_dir, "master.cf"), "a") as f:
            f.write("tlsmgr    unix  -       -       n       1000?   1       tlsmgr\n")
        self.pf.start()
        self.port = self.pf.smtp_port

    def connections(self):
        return len(self.pf.log_lines(r"connect from"))

    def stop(self):
        self.pf.cleanup()
        self.sasl.stop()


@pytest.fixture(scope="module")
def world():
    d = tempfile.mkdtemp(prefix="mxkit-e2e-smarthost-", dir="/tmp")
    os.chmod(d, 0o755)
    sink = Sink(name="outside", hostname="mx.outside.test").start()
    started = []
    try:
        ca, certs = make_ca(d)
        good = secrets.token_hex(12)
        a = Relay(d, "relay-a", *certs["relay-a.e2e.test"], sink, good, wrapper=False)
        started.append(a)
        b = Relay(d, "relay-b", *certs["relay-b.e2e.test"], sink, good, wrapper=True)
        started.append(b)
        yield {"sink": sink, "a": a, "b": b, "ca": ca, "password": good}
    finally:
        try:
            deploy({})  # back to direct delivery
        finally:
            for r in started:
                r.stop()
            sink.stop()
            shutil.rmtree(d, ignore_errors=True)


def relay_vars(w, relay, password, **more):
    name = "relay-a.e2e.test" if relay is w["a"] else "relay-b.e2e.test"
    v = {"host": "127.0.0.1", "port": relay.port, "username": RELAY_USER, "password": password,
         "ca_file": w["ca"], "tls_match": name, "spf_include": "include:spf.%s" % name}
    v.update(more)
    return v


def outside_address():
    return "someone-%s@outside.example" % secrets.token_hex(4)


def queue_entry(recipient):
    """The deployed host's queue entry (postqueue -j) for a recipient, or None."""
    out = subprocess.run(["postqueue", "-j"], capture_output=True, text=True, timeout=30).stdout
    for line in out.splitlines():
        entry = json.loads(line)
        if any(r.get("address") == recipient for r in entry.get("recipients", [])):
            return entry
    return None


def wait_for_recipient(sink, recipient):
    txs = sink.wait_for(lambda txs: any(recipient in t.recipients for t in txs), timeout=DELIVERY_TIMEOUT)
    return [t for t in txs if recipient in t.recipients][0]


def verify_dkim(data):
    records = dns_txt_records()

    def dnsfunc(name, timeout=5):
        return records.get(name.decode().rstrip(".").lower(), "").encode()

    n = sum(1 for l in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n") if l.lower().startswith(b"dkim-signature:"))
    assert n >= 2, "expected two DKIM signatures:\n%s" % data[:3000].decode("utf-8", "replace")
    return [dkim.DKIM(data).verify(idx=i, dnsfunc=dnsfunc) for i in range(n)]


def test_wrong_credentials_defer_then_fixed_credentials_deliver(world, make_user):
    sink, a = world["sink"], world["a"]
    deploy({"mxkit_smarthost": relay_vars(world, a, "wrong-" + world["password"])})
    # the credentials are in a table only root and postfix read, not in main.cf
    st = os.stat("/etc/postfix/mxkit_smarthost_passwd")
    assert st.st_mode & 0o777 == 0o640 and st.st_uid == 0
    assert world["password"][:8] not in run(["postconf", "-n"])
    assert "include:spf.relay-a.e2e.test" in open("/etc/mxkit/dns-records.txt").read()

    alice = make_user("sh-sender")
    rcpt = outside_address()
    submit(alice, rcpt)
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    entry = None
    while time.monotonic() < deadline:
        entry = queue_entry(rcpt)
        if entry and entry.get("queue_name") == "deferred":
            break
        time.sleep(0.5)
    assert entry and entry["queue_name"] == "deferred", entry
    reason = entry["recipients"][0].get("delay_reason", "")
    assert "authentication failed" in reason.lower() or "535" in reason, reason
    assert not any(rcpt in t.recipients for t in sink.transactions())
    assert a.connections() >= 1

    deploy({"mxkit_smarthost": relay_vars(world, a, world["password"])})
    run(["postqueue", "-i", entry["queue_id"]])
    tx = wait_for_recipient(sink, rcpt)
    assert tx.helo == a.pf.hostname, tx.helo
    received = tx.header("Received")
    assert "ESMTPSA" in received and "Authenticated sender: %s" % RELAY_USER in received, received
    assert all(verify_dkim(tx.data))
    assert queue_entry(rcpt) is None


def test_per_domain_smarthost_and_local_mail(world, make_user):
    sink, a, b = world["sink"], world["a"], world["b"]
    deploy({"mxkit_smarthost": relay_vars(world, a, world["password"]),
            "mxkit_smarthost_domains": [relay_vars(world, b, world["password"], domain=DOMAIN, tls="wrapper")]})
    alice, bob = make_user("sh-sender"), make_user("sh-local")

    # the domain's mail takes relay B (TLS from the first byte), signed
    rcpt = outside_address()
    submit(alice, rcpt)
    tx = wait_for_recipient(sink, rcpt)
    assert tx.helo == b.pf.hostname, tx.helo
    assert "Authenticated sender: %s" % RELAY_USER in tx.header("Received")
    assert all(verify_dkim(tx.data))

    # mail of another sending domain (local root, myorigin) takes relay A
    rcpt2 = outside_address()
    msg = "From: root\nTo: %s\nSubject: smarthost e2e\n\nnot %s's domain\n" % (rcpt2, DOMAIN)
    subprocess.run(["/usr/sbin/sendmail", "-f", "root@mail.%s" % DOMAIN, rcpt2], input=msg,
                   text=True, check=True, timeout=30)
    tx2 = wait_for_recipient(sink, rcpt2)
    assert tx2.helo == a.pf.hostname, tx2.helo

    # local mail never touches a relay
    before = (a.connections(), b.connections())
    token = submit(alice, bob.address)
    wait_in_inbox(bob, token)
    time.sleep(1)
    assert (a.connections(), b.connections()) == before
    assert not any(token.encode() in t.data for t in sink.transactions())
