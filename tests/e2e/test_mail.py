"""End-to-end checks of the deployed host: submission, delivery, IMAPS and
the refusals that keep it from being an open relay or a forgery tool."""
import base64
import imaplib
import secrets
import smtplib
import socket
import ssl
import time
from email.message import EmailMessage

import pytest

from conftest import DOMAIN, HOST, tls_context

DELIVERY_TIMEOUT = 30  # seconds to wait for a message to show up in IMAP


def remote_address():
    """An address in a domain this host cannot be hosting (RFC 2606's
    reserved .example TLD, a random label)."""
    return "victim@e2e-%s.example" % secrets.token_hex(4)


def message(sender, recipient):
    token = secrets.token_hex(8)
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = "mxkit e2e %s" % token
    msg.set_content("end-to-end test message %s\n" % token)
    return msg, token


def submit(user, recipient, port=587):
    """Send as `user` through submission (587 STARTTLS or 465 TLS) with AUTH."""
    msg, token = message(user.address, recipient)
    if port == 465:
        smtp = smtplib.SMTP_SSL(HOST, port, context=tls_context(), timeout=30)
    else:
        smtp = smtplib.SMTP(HOST, port, timeout=30)
        smtp.starttls(context=tls_context())
    with smtp:
        smtp.login(user.address, user.password)
        smtp.send_message(msg, from_addr=user.address, to_addrs=[recipient])
    return token


def wait_in_inbox(user, token):
    """Log in over IMAPS (993) and wait until a message with `token` arrives;
    returns its full text."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    with imaplib.IMAP4_SSL(HOST, 993, ssl_context=tls_context(), timeout=30) as imap:
        imap.login(user.address, user.password)
        while True:
            imap.select("INBOX")
            typ, data = imap.search(None, "SUBJECT", '"%s"' % token)
            assert typ == "OK"
            if data[0].split():
                typ, fetched = imap.fetch(data[0].split()[0], "(RFC822)")
                assert typ == "OK"
                return fetched[0][1].decode("utf-8", "replace")
            assert time.monotonic() < deadline, "no message %s for %s within %d s" % (
                token, user.address, DELIVERY_TIMEOUT)
            time.sleep(0.5)


def rcpt_reply(port, sender, recipient, login=None):
    """(code, text) of the RCPT TO reply, optionally after STARTTLS + AUTH."""
    with smtplib.SMTP(HOST, port, timeout=30) as smtp:
        smtp.ehlo("client.example.net")
        if port == 587 or login:
            smtp.starttls(context=tls_context())
            smtp.ehlo("client.example.net")
        if login:
            smtp.login(login.address, login.password)
        code, text = smtp.mail(sender)
        assert code == 250, "MAIL FROM refused: %d %s" % (code, text)
        code, text = smtp.rcpt(recipient)
        return code, text.decode()


@pytest.mark.parametrize("port", [587, 465])
def test_submission_delivers_to_imaps(make_user, port):
    alice, bob = make_user("alice"), make_user("bob")
    token = submit(alice, bob.address, port=port)
    text = wait_in_inbox(bob, token)
    assert "end-to-end test message %s" % token in text
    assert "From: %s" % alice.address in text


def test_mixed_case_recipient_is_delivered(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    token = submit(alice, bob.address.upper())
    assert token in wait_in_inbox(bob, token)


def test_inbound_to_known_user_is_delivered(make_user):
    bob = make_user("bob")
    msg, token = message("someone@example.net", bob.address)
    with smtplib.SMTP(HOST, 25, timeout=30) as smtp:
        smtp.send_message(msg, from_addr="someone@example.net", to_addrs=[bob.address])
    assert token in wait_in_inbox(bob, token)


def test_inbound_to_unknown_user_is_refused_550(make_user):
    make_user("bob")  # the domain has users; this one does not exist
    code, text = rcpt_reply(25, "someone@example.net", "nobody-%s@%s" % (secrets.token_hex(4), DOMAIN))
    assert code == 550, text
    assert "User unknown" in text


def test_unauthenticated_relay_is_refused():
    code, text = rcpt_reply(25, "someone@example.net", remote_address())
    assert code == 554, text
    assert "Relay access denied" in text


def test_unauthenticated_relay_with_local_sender_is_refused(make_user):
    alice = make_user("alice")
    code, text = rcpt_reply(25, alice.address, remote_address())
    assert code == 554, text


def test_submission_without_auth_is_refused(make_user):
    bob = make_user("bob")
    code, text = rcpt_reply(587, "someone@example.net", bob.address)
    assert code == 554, text


def test_auth_is_offered_only_after_starttls():
    with smtplib.SMTP(HOST, 587, timeout=30) as smtp:
        smtp.ehlo("client.example.net")
        assert not smtp.has_extn("auth")
        assert smtp.has_extn("starttls")
        smtp.starttls(context=tls_context())
        smtp.ehlo("client.example.net")
        assert smtp.has_extn("auth")


def test_port_25_offers_no_auth():
    with smtplib.SMTP(HOST, 25, timeout=30) as smtp:
        smtp.ehlo("client.example.net")
        smtp.starttls(context=tls_context())
        smtp.ehlo("client.example.net")
        assert not smtp.has_extn("auth")


def test_wrong_password_is_refused(make_user):
    alice = make_user("alice")
    with smtplib.SMTP(HOST, 587, timeout=30) as smtp:
        smtp.starttls(context=tls_context())
        with pytest.raises(smtplib.SMTPAuthenticationError) as err:
            smtp.login(alice.address, alice.password + "x")
        assert err.value.smtp_code == 535
    with imaplib.IMAP4_SSL(HOST, 993, ssl_context=tls_context(), timeout=30) as imap:
        with pytest.raises(imaplib.IMAP4.error):
            imap.login(alice.address, alice.password + "x")


def test_sending_as_another_user_is_refused(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    code, text = rcpt_reply(587, bob.address, remote_address(), login=alice)
    assert code == 553, text
    assert "not owned by user" in text


def test_authenticated_user_may_relay_as_themself(make_user):
    alice = make_user("alice")
    code, text = rcpt_reply(587, alice.address, remote_address(), login=alice)
    assert code == 250, text


def test_alias_delivers_to_its_user(make_user, make_alias):
    alice, bob = make_user("alice"), make_user("bob")
    alias = make_alias(bob.address)
    token = submit(alice, alias)
    assert token in wait_in_inbox(bob, token)


def test_plus_extension_reaches_the_mailbox(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    token = submit(alice, bob.address.replace("@", "+lists@"))
    assert token in wait_in_inbox(bob, token)


def test_user_may_send_as_an_alias_that_delivers_to_them(make_user, make_alias):
    bob = make_user("bob")
    alias = make_alias(bob.address)
    code, text = rcpt_reply(587, alias, remote_address(), login=bob)
    assert code == 250, text


def test_user_may_not_send_as_an_alias_of_someone_else(make_user, make_alias):
    alice, bob = make_user("alice"), make_user("bob")
    alias = make_alias(bob.address)
    code, text = rcpt_reply(587, alias, remote_address(), login=alice)
    assert code == 553, text


def read_sieve_capabilities(stream):
    """Lines of a ManageSieve capability response up to its OK line."""
    lines = []
    for _ in range(100):
        line = stream.readline().decode("utf-8", "replace").rstrip("\r\n")
        assert line, "connection closed during the capability response"
        lines.append(line)
        if line.startswith("OK"):
            return lines
    raise AssertionError("no OK after 100 capability lines")


def test_managesieve_login_after_starttls(make_user):
    # Dovecot counts loopback connections as secure, so from 127.0.0.1 it
    # would offer AUTH before STARTTLS too; remote clients get it only after.
    bob = make_user("bob")
    with socket.create_connection((HOST, 4190), timeout=30) as sock:
        stream = sock.makefile("rwb")
        assert '"STARTTLS"' in read_sieve_capabilities(stream)
        stream.write(b"STARTTLS\r\n")
        stream.flush()
        assert stream.readline().startswith(b"OK")
        with tls_context().wrap_socket(sock, server_hostname=HOST) as tls:
            stream = tls.makefile("rwb")
            caps = read_sieve_capabilities(stream)
            assert any(line.startswith('"SASL"') and "PLAIN" in line for line in caps), caps
            assert any(line.startswith('"SIEVE"') for line in caps), caps
            plain = base64.b64encode(("\0%s\0%s" % (bob.address, bob.password)).encode()).decode()
            stream.write(('AUTHENTICATE "PLAIN" "%s"\r\n' % plain).encode())
            stream.flush()
            reply = stream.readline()
            assert reply.startswith(b"OK"), reply
            stream.write(b"LISTSCRIPTS\r\n")
            stream.flush()
            assert stream.readline().startswith(b"OK")


def test_imaps_refuses_a_client_that_does_not_trust_another_certificate():
    ctx = ssl.create_default_context()  # system CAs only: the self-signed certificate is unknown
    if ctx.cert_store_stats()["x509_ca"] == 0:
        pytest.fail("no system CA certificates to compare against")
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL(HOST, 993, ssl_context=ctx, timeout=30)
