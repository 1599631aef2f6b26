"""mxkit-dkim-sign output verified by an independent implementation (dkimpy).

Each message is signed by the C core through the mxkit-dkim-sign tool and
verified with Debian's python3-dkim, whose DNS lookups are answered from
the TXT records the tool prints (no network). Tampered copies must fail.
"""
import os
import subprocess

import pytest

from dkim_support import SIGN, dns_records, make_keys, verify
DOMAIN = "example.org"


def crlf(text):
    return text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


HEAD = crlf(b"From: Alice <alice@example.org>\n"
            b"To: Bob <bob@example.net>\n"
            b"Subject: hello\n"
            b"Date: Sun, 22 Nov 2026 05:00:00 +0000\n"
            b"Message-ID: <1@example.org>\n")

LONG_TO = b"To: " + b",\r\n\t".join(b"user%03d@example.net" % i for i in range(60)) + b"\r\n"
LONG_SUBJECT = b"Subject: " + b" ".join([b"word"] * 120) + b"\r\n"

MESSAGES = {
    "plain": HEAD + b"\r\nHello Bob,\r\n\r\nsee you.\r\n",
    "long_folded_headers": crlf(b"From: alice@example.org\nDate: Sun, 22 Nov 2026 05:00:00 +0000\n")
    + LONG_TO + LONG_SUBJECT
    + b"Subject: second\r\n  folded\r\n\t again\r\n"
    + b"References: <a@x>\r\n <b@x>\r\n <c@x>\r\n\r\nbody\r\n",
    "trailing_whitespace": crlf(b"From: alice@example.org  \nTo: bob@example.net\t\n"
                               b"Subject:   spaced   out   \n\n"
                               b"line with trailing spaces   \nand tabs\t\t\n  \n\t\n"),
    "empty_body": HEAD + b"\r\n",
    "no_body_no_separator": HEAD,
    "only_blank_lines": HEAD + b"\r\n" + b"\r\n" * 50,
    "no_final_crlf": HEAD + b"\r\nlast line without end",
    "eight_bit_and_utf8": crlf("From: Jürgen Müller <juergen@example.org>\n"
                               "To: Zoë <zoe@example.net>\n"
                               "Subject: Grüße aus Köln — ✓ 日本語\n".encode("utf-8")
                               + b"X-Latin1: caf\xe9\n\n"
                               + "Body with ünïcödé and \xff bytes\n".encode("utf-8") + b"\xfe\n"),
    "mime_multipart": crlf(b"From: alice@example.org\nTo: bob@example.net\nSubject: mime\n"
                           b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n"
                           b"--b1\nContent-Type: text/plain\n\nhi\n--b1--\n"),
}


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """An RSA-2048 and an Ed25519 key, mode 0600, and their DNS records."""
    rsa, ed = make_keys(str(tmp_path_factory.mktemp("keys")))
    specs = {"rsa": f"{DOMAIN}:rsa2026:{rsa}", "ed": f"{DOMAIN}:ed2026:{ed}"}
    return specs, dns_records(*specs.values())


def sign(specs, message, canon="relaxed/relaxed", kinds=("rsa",), tmp=None):
    args = [SIGN, "-c", canon]
    for k in kinds:
        args += ["-k", specs[k]]
    path = os.path.join(tmp, "msg.eml")
    with open(path, "wb") as f:
        f.write(message)
    proc = subprocess.run(args + [path], capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


CANONS = ["relaxed/relaxed", "simple/simple", "relaxed/simple", "simple/relaxed"]


@pytest.mark.parametrize("name", sorted(MESSAGES))
@pytest.mark.parametrize("canon", CANONS)
@pytest.mark.parametrize("kind", ["rsa", "ed"])
def test_signature_verifies(keys, tmp_path, name, canon, kind):
    specs, dns = keys
    signed = sign(specs, MESSAGES[name], canon, (kind,), str(tmp_path))
    assert signed.startswith(b"DKIM-Signature: v=1; a=")
    assert b" l=" not in signed.split(b"\r\n\r\n")[0].split(b"From:")[0]
    assert verify(signed, dns, 1) == [True]


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_dual_signature_verifies(keys, tmp_path, name):
    specs, dns = keys
    signed = sign(specs, MESSAGES[name], "relaxed/relaxed", ("rsa", "ed"), str(tmp_path))
    assert signed.count(b"DKIM-Signature:") == 2
    assert b"a=rsa-sha256" in signed and b"a=ed25519-sha256" in signed
    assert verify(signed, dns, 2) == [True, True]


@pytest.mark.parametrize("canon", CANONS)
def test_tampering_fails(keys, tmp_path, canon):
    """The verifier is not a rubber stamp: altered mail fails."""
    specs, dns = keys
    signed = sign(specs, MESSAGES["plain"], canon, ("rsa", "ed"), str(tmp_path))
    body_changed = signed.replace(b"see you.", b"see you!")
    subject_changed = signed.replace(b"Subject: hello", b"Subject: hellO")
    # Oversigning: a second Subject added in transit breaks the signature.
    subject_added = signed.replace(b"Subject: hello\r\n", b"Subject: hello\r\nSubject: buy now\r\n")
    for bad in (body_changed, subject_changed, subject_added):
        assert bad != signed
        assert True not in verify(bad, dns, 2)


def test_twenty_megabyte_body(keys, tmp_path):
    specs, dns = keys
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ 	 trailing \r\n"
    body = line * (20 * 1024 * 1024 // len(line) + 1)
    message = HEAD + b"MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n\r\n" + body
    assert len(message) > 20 * 1024 * 1024
    signed = sign(specs, message, "relaxed/relaxed", ("rsa", "ed"), str(tmp_path))
    assert verify(signed, dns, 2) == [True, True]
    signed = sign(specs, message, "simple/simple", ("ed",), str(tmp_path))
    assert verify(signed, dns, 1) == [True]


def test_key_with_loose_permissions_refused(keys, tmp_path):
    specs, _ = keys
    path = specs["ed"].split(":", 2)[2]
    loose = str(tmp_path / "loose.pem")
    with open(path, "rb") as src, open(loose, "wb") as dst:
        dst.write(src.read())
    os.chmod(loose, 0o644)
    proc = subprocess.run([SIGN, "-k", f"{DOMAIN}:s:{loose}", "-r"], capture_output=True)
    assert proc.returncode == 1
    assert b"group or others" in proc.stderr


def test_small_rsa_key_refused(tmp_path):
    key = str(tmp_path / "small.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:768",
                    "-out", key], check=True, capture_output=True)
    os.chmod(key, 0o600)
    proc = subprocess.run([SIGN, "-k", f"{DOMAIN}:s:{key}", "-r"], capture_output=True)
    assert proc.returncode == 1
    assert b"768 bits refused" in proc.stderr


def test_timestamp_and_expiry(keys, tmp_path):
    """t= is always there, x= only when asked for; dkimpy checks both."""
    specs, dns = keys
    path = str(tmp_path / "m.eml")
    with open(path, "wb") as f:
        f.write(MESSAGES["plain"])
    for extra, want_x in (([], False), (["-x", "3600"], True)):
        out = subprocess.run([SIGN, "-k", specs["ed"], *extra, path], capture_output=True, check=True).stdout
        head = out.split(b"From:")[0]
        assert b" t=" in head and (b" x=" in head) == want_x
        assert verify(out, dns, 1) == [True]
    # Expired two days ago (dkimpy allows 10 hours of clock skew): refused.
    import time
    old = str(int(time.time()) - 3 * 86400)
    out = subprocess.run([SIGN, "-k", specs["ed"], "-t", old, "-x", "3600", path],
                         capture_output=True, check=True).stdout
    assert verify(out, dns, 1) != [True]
