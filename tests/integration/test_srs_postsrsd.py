"""mxkit's SRS is compatible with Debian's postsrsd (1.10 on Debian 12).

Both run with the same secret and SRS domain: postsrsd by hand on
loopback ports picked here (its tcp_table protocol spoken from Python),
mxkit through mxkit-srs-tool. For every sender the forward addresses
must be the same, and mxkit must reverse what postsrsd wrote (the
migration case: bounces to postsrsd's addresses still in flight).

Intentional differences, each asserted below:
  * quoted local parts and address literals: postsrsd 1.10 writes the
    SRS local part unquoted, which is not a valid RFC 5321 address;
    mxkit writes the same local part (same hash) quoted. mxkit reverses
    both forms.
  * a quoted local part containing '@': postsrsd splits the address at
    the first '@' and hashes garbage; mxkit splits it correctly.
  * senders whose SRS form exceeds 64 octets of local part: postsrsd 1.10
    writes it anyway (RFC 5321 4.5.3.1.1 violation); mxkit keeps the
    sender in the database (not configured here: it refuses).
  * base64url hashes ('-' '_', PostSRSd >= 2.2.6): mxkit accepts them,
    postsrsd 1.10 refuses them.
"""
import os
import subprocess
import time

import pytest

from harness.postsrsd import PostSRSd

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("MXKIT_BUILD", os.path.join(REPO, "_build"))
TOOL = os.path.join(BUILD, "milters", "srs", "mxkit-srs-tool")
DOMAIN = "srs.example.net"
SECRETS = ["c0mpat-Secret/with+signs", "an-older-secret"]
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

# Senders whose forward address must be byte for byte postsrsd's.
SAME = [
    "alice@example.org",
    "Bob.Smith@Example.COM",
    "user+tag@example.org",
    "x=y@example.org",
    "a=b=c@sub.example.org",
    "100%user@example.org",
    "first.last@mail.sub.example.co.uk",
    "o'brien@example.ie",
    "user_name-123@example.org",
    "!#$&'*+-/=?^_`{|}~@example.org",
    "bob@a.b.c.d.example.net",
    "bob@xn--bcher-kva.example",
    "us\u00e9r@b\u00fccher.example",
    "averyverylongname.with.dots@long-sub.example.org",
    "UPPER@CASE.EXAMPLE",
    "srs@example.org",
    "SRS0=abcd=AB=orig.example=bob@fwd.example",
    "srs0+abcd=AB=orig.example=bob@fwd.example",
    "SRS0-wxyz=ZZ=orig.example=carol+x@fwd.example",
    "SRS1=wxyz=orig.example==abcd=AB=x.example=bob@fwd2.example",
    "SRS1+wxyz=orig.example=+abcd=AB=x.example=bob@fwd2.example",
]
# Not rewritten by either: the sender already is in the SRS domain.
UNCHANGED = ["bob@" + DOMAIN, "bob@SRS.Example.NET"]


def day_stamp(t):
    d = int(t) // 86400
    return B32[(d >> 5) & 31] + B32[d & 31]


def run_tool(args):
    """(exit status, stdout without the newline, stderr) of mxkit-srs-tool."""
    p = subprocess.run([TOOL] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    return p.returncode, p.stdout.decode("utf-8", "surrogateescape").rstrip("\n"), p.stderr.decode()


def tool(p, *args, clock=None, options=()):
    """mxkit-srs-tool with postsrsd p's domain and secrets file."""
    cmd = ["-d", p.domain, "-s", p.secrets_file] + list(options)
    if clock is not None:
        cmd += ["-T", str(int(clock))]
    return run_tool(cmd + list(args))


@pytest.fixture(scope="module")
def postsrsd(tmp_path_factory):
    assert os.access(TOOL, os.X_OK), f"{TOOL} not built"
    p = PostSRSd(str(tmp_path_factory.mktemp("srs")), DOMAIN, SECRETS)
    p.start()
    yield p
    p.stop()


def postsrsd_forward(p, sender):
    """postsrsd's forward of sender, and an instant on the day it used."""
    before = time.time()
    code, theirs = p.forward(sender)
    after = time.time()
    assert code == 200, f"postsrsd: {sender!r}: {code} {theirs}"
    # postsrsd reads the clock itself: take the instant whose day it used.
    if day_stamp(before) != day_stamp(after) and f"={day_stamp(after)}=" in theirs:
        return theirs, after
    return theirs, before


def forward_both(p, sender, options=()):
    """postsrsd's and mxkit's forward of sender, on the same day."""
    theirs, clock = postsrsd_forward(p, sender)
    rc, ours, err = tool(p, "forward", sender, clock=clock, options=options)
    return theirs, rc, ours, err


@pytest.mark.parametrize("sender", SAME)
def test_forward_same_as_postsrsd(postsrsd, sender):
    theirs, rc, ours, err = forward_both(postsrsd, sender)
    assert rc == 0, err
    assert ours == theirs
    assert ours.endswith("@" + DOMAIN)
    assert len(ours.rpartition("@")[0].encode()) <= 64


@pytest.mark.parametrize("sender", SAME)
def test_reverse_postsrsd_output(postsrsd, sender):
    theirs, _, _, _ = forward_both(postsrsd, sender)
    code, back = postsrsd.reverse(theirs)
    assert code == 200
    rc, ours, err = tool(postsrsd, "reverse", theirs)
    assert rc == 0, err
    assert ours == back
    # Both reverse the address with its case mangled by a mail system.
    rc, ours_lc, err = tool(postsrsd, "reverse", theirs.lower())
    code, back_lc = postsrsd.reverse(theirs.lower())
    assert rc == 0 and code == 200, err
    assert ours_lc == back_lc
    if sender.upper().startswith("SRS1"):
        # SRS1 goes back to the first forwarder's SRS0 address.
        assert back.upper().startswith("SRS0") and "@orig.example" in back
    elif sender.upper().startswith("SRS0"):
        assert back == "SRS0" + sender[4:]
    else:
        assert back == sender


@pytest.mark.parametrize("sender", UNCHANGED)
def test_srs_domain_not_rewritten(postsrsd, sender):
    code, theirs = postsrsd.forward(sender)
    assert (code, theirs) == (200, sender)   # postsrsd answers with the sender itself
    rc, ours, err = tool(postsrsd, "forward", sender)
    assert rc == 1 and ours == "" and "SRS domain" in err


def test_own_srs_address_not_rewritten_again(postsrsd):
    theirs, _, _, _ = forward_both(postsrsd, "alice@example.org")
    other = theirs.replace("@" + DOMAIN, "@other.example")
    code, text = postsrsd.forward(other)
    assert code == 500 and "Already rewritten" in text
    rc, _, err = tool(postsrsd, "forward", other)
    assert rc == 1 and "already a valid SRS address" in err


@pytest.mark.parametrize("sender", ['"john smith"@example.org', "bob@[192.0.2.7]"])
def test_quoting_difference(postsrsd, sender):
    """Same local part and hash; mxkit quotes it, postsrsd does not."""
    theirs, rc, ours, err = forward_both(postsrsd, sender)
    assert rc == 0, err
    local, _, dom = ours.rpartition("@")
    assert dom == DOMAIN
    assert local.startswith('"') and local.endswith('"')
    unquoted = local[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    assert unquoted + "@" + DOMAIN == theirs
    # mxkit reverses both forms to the original sender; so does postsrsd its own.
    for form in (ours, theirs):
        rc, back, err = tool(postsrsd, "reverse", form)
        assert (rc, back) == (0, sender), err
    assert postsrsd.reverse(theirs) == (200, sender)


def test_quoted_at_sign_difference(postsrsd):
    """postsrsd splits '"a@b"@example.org' at the first '@'; mxkit does not."""
    sender = '"a@b"@example.org'
    theirs, rc, ours, err = forward_both(postsrsd, sender)
    assert '=b"@example.org="a@' + DOMAIN in theirs   # postsrsd: domain 'b"@example.org'
    assert rc == 0, err
    assert '=example.org=\\"a@b\\""@' + DOMAIN in ours
    rc, back, err = tool(postsrsd, "reverse", ours)
    assert (rc, back) == (0, sender), err


def test_long_sender_difference(postsrsd):
    sender = "a.rather.long.local.part.for.srs@a-long-subdomain.of.example.org"
    theirs, rc, ours, err = forward_both(postsrsd, sender)
    assert len(theirs.rpartition("@")[0]) > 64      # postsrsd 1.10: over the RFC limit
    assert rc == 65 and "no database is configured" in err
    # mxkit still reverses postsrsd's over-long address.
    rc, back, err = tool(postsrsd, "reverse", theirs)
    assert (rc, back) == (0, sender), err


def test_base64url_accepted_by_mxkit_only(postsrsd):
    # Find a sender whose hash has a character the alphabets spell differently.
    for i in range(200):
        code, theirs = postsrsd.forward(f"user{i}@example.org")
        h = theirs.split("=")[1]
        if "+" in h or "/" in h:
            break
    else:
        pytest.fail("no hash with '+' or '/' in 200 senders")
    url = theirs.replace(h, h.replace("+", "-").replace("/", "_"), 1)
    assert postsrsd.reverse(url)[0] == 500
    rc, back, err = tool(postsrsd, "reverse", url)
    assert (rc, back) == (0, f"user{i}@example.org"), err


def test_forged_and_expired_refused(postsrsd):
    theirs, made = postsrsd_forward(postsrsd, "alice@example.org")
    h = theirs.split("=")[1]
    forged = theirs.replace(h, ("0" if h[0] != "0" else "1") + h[1:], 1)  # digits have no case
    assert postsrsd.reverse(forged)[0] == 500
    rc, _, err = tool(postsrsd, "reverse", forged)
    assert rc == 65 and "does not match" in err
    # mxkit's clock is injectable: 21 days later still good, 22 days not.
    rc, back, err = tool(postsrsd, "reverse", theirs, clock=made + 21 * 86400)
    assert (rc, back) == (0, "alice@example.org"), err
    rc, _, err = tool(postsrsd, "reverse", theirs, clock=made + 22 * 86400)
    assert rc == 65 and "expired" in err


def test_rotation_second_secret_verifies(postsrsd, tmp_path):
    """postsrsd signs with its first secret; an mxkit that moved on to a
    new secret (listed first) still accepts postsrsd's addresses."""
    theirs, _ = postsrsd_forward(postsrsd, "alice@example.org")
    rotated = tmp_path / "rotated.secret"
    rotated.write_text("brand-new-secret\n" + "".join(s + "\n" for s in SECRETS))
    os.chmod(rotated, 0o600)
    rc, back, err = run_tool(["-d", DOMAIN, "-s", str(rotated), "reverse", theirs])
    assert (rc, back) == (0, "alice@example.org"), err
    rc, ours, err = run_tool(["-d", DOMAIN, "-s", str(rotated), "forward", "alice@example.org"])
    assert rc == 0 and ours != theirs, err
    assert postsrsd.reverse(ours)[0] == 500   # postsrsd lacks the new secret


def test_config_file_settings(postsrsd, tmp_path):
    """The srs section of mxkit.conf gives the same answers as the options."""
    conf = tmp_path / "mxkit.conf"
    conf.write_text(f'srs = {{ domain = "{DOMAIN}"; secrets_file = "{postsrsd.secrets_file}"; }};\n')
    theirs, clock = postsrsd_forward(postsrsd, "user+tag@example.org")
    assert run_tool(["-c", str(conf), "-T", str(int(clock)), "forward", "user+tag@example.org"])[:2] == \
        (0, theirs)
    assert run_tool(["-c", str(conf), "reverse", theirs])[:2] == (0, "user+tag@example.org")
    assert run_tool(["-c", str(conf), "-t"])[0] == 0
    conf.write_text(f'srs = {{ domain = "{DOMAIN}";\n  secret_file = "x"; }};\n')
    rc, _, err = run_tool(["-c", str(conf), "-t"])
    assert rc == 78 and f"{conf}:2: unknown setting 'secret_file'" in err


@pytest.mark.parametrize("separator,hash_length", [("+", 6), ("-", 8)])
def test_other_separator_and_hash_length(tmp_path, separator, hash_length):
    p = PostSRSd(str(tmp_path), DOMAIN, SECRETS, separator=separator, hash_length=hash_length)
    p.start()
    try:
        options = ["-a", separator, "-n", str(hash_length)]
        for sender in ["alice@example.org", "x=y@example.org",
                       "SRS0=abcd=AB=orig.example=bob@fwd.example",
                       "SRS1=wxyz=orig.example==abcd=AB=x.example=bob@fwd2.example"]:
            theirs, rc, ours, err = forward_both(p, sender, options=options)
            assert rc == 0, err
            assert ours == theirs
            assert theirs.startswith(("SRS0" + separator, "SRS1" + separator))
            assert len(theirs.split("=")[0]) == 4 + 1 + hash_length
            code, back = p.reverse(theirs)
            assert code == 200
            assert tool(p, "reverse", theirs, options=options)[:2] == (0, back)
    finally:
        p.stop()
