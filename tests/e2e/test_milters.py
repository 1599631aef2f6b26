"""End-to-end checks of the submission milters on the deployed host: a
message submitted on 587 with AUTH from 127.0.0.2, with the client's mail
program named in User-Agent/X-Mailer, arrives at another local user (read
over IMAPS) without the client's IP address or program, and with DKIM
signatures that dkimpy verifies against the records the role wrote to
/etc/mxkit/dns-records.txt."""
import re
import smtplib

import dkim
from conftest import HOST, tls_context
from test_mail import message, wait_in_inbox

RECORDS = "/etc/mxkit/dns-records.txt"
CLIENT_IP = "127.0.0.2"


def dns_txt_records():
    """{name: value} of the TXT records in the role's zone-file output; a
    value split into several quoted strings is joined."""
    records = {}
    with open(RECORDS) as f:
        for line in f:
            m = re.match(r"^(\S+)\tIN TXT\t(.*)$", line.rstrip("\n"))
            if m:
                records[m.group(1).rstrip(".").lower()] = "".join(re.findall(r'"([^"]*)"', m.group(2)))
    return records


def submit_from(user, recipient, source_ip, extra_headers):
    msg, token = message(user.address, recipient)
    for name, value in extra_headers.items():
        msg[name] = value
    with smtplib.SMTP(HOST, 587, timeout=30, source_address=(source_ip, 0)) as smtp:
        smtp.starttls(context=tls_context())
        smtp.login(user.address, user.password)
        smtp.send_message(msg, from_addr=user.address, to_addrs=[recipient])
    return token


def test_role_wrote_both_dkim_records():
    records = dns_txt_records()
    dkim_records = {k: v for k, v in records.items() if "._domainkey." in k}
    assert any("k=ed25519" in v for v in dkim_records.values()), dkim_records
    assert any("k=rsa" in v for v in dkim_records.values()), dkim_records


def test_submission_is_signed_and_stripped(make_user):
    alice, bob = make_user("sender"), make_user("rcpt")
    token = submit_from(alice, bob.address, CLIENT_IP, {
        "User-Agent": "Mozilla/5.0 Thunderbird/115.0 e2e-agent",
        "X-Mailer": "e2e-mailer 1.0",
        "X-Originating-IP": "[%s]" % CLIENT_IP,
    })
    text = wait_in_inbox(bob, token)
    head = text.split("\r\n\r\n", 1)[0] if "\r\n\r\n" in text else text.split("\n\n", 1)[0]

    # The client is gone: no IP address, no program, anywhere in the header.
    assert CLIENT_IP not in head, head
    for gone in ("e2e-agent", "e2e-mailer", "User-Agent:", "X-Mailer:", "X-Originating-IP:"):
        assert gone.lower() not in head.lower(), "%s left in:\n%s" % (gone, head)

    # Both signatures (ed25519 and rsa) verify against the role's records.
    raw = text.replace("\r\n", "\n").replace("\n", "\r\n").encode()
    records = dns_txt_records()

    def dnsfunc(name, timeout=5):
        return records.get(name.decode().rstrip(".").lower(), "").encode()

    sigs = [l for l in raw.split(b"\r\n") if l.lower().startswith(b"dkim-signature:")]
    algos = set(re.findall(rb"a=([a-z0-9-]+)", b"".join(sigs)))
    assert {b"ed25519-sha256", b"rsa-sha256"} <= algos, sigs
    verdicts = [dkim.DKIM(raw).verify(idx=i, dnsfunc=dnsfunc) for i in range(len(sigs))]
    assert verdicts and all(verdicts), verdicts


def test_tampered_body_does_not_verify(make_user):
    """The check above can fail: a tampered body does not verify."""
    alice, bob = make_user("sender"), make_user("rcpt")
    token = submit_from(alice, bob.address, HOST, {})
    text = wait_in_inbox(bob, token).replace("\r\n", "\n").replace("\n", "\r\n")
    records = dns_txt_records()

    def dnsfunc(name, timeout=5):
        return records.get(name.decode().rstrip(".").lower(), "").encode()

    tampered = text.replace("end-to-end test message", "end-to-end test massage").encode()
    try:
        verdict = dkim.DKIM(tampered).verify(dnsfunc=dnsfunc)
    except dkim.DKIMException:
        verdict = False
    assert not verdict
    assert dkim.DKIM(text.encode()).verify(dnsfunc=dnsfunc)
