"""mxkit-strip over the milter protocol (no MTA): what it changes, for whom, and -t.

Driven by harness.milter.MilterClient as Postfix would: the client's
address in the connect event (IPv4, IPv6, IPv4-mapped IPv6), {auth_authen}
at MAIL FROM, header fields, end of message; the answer is the list of
header changes. Also the configuration check (-t) on bad rules: each
message names the file, the line and the problem.
"""
import os
import signal
import subprocess
import time

import pytest

from conftest import build_dir
from harness.milter import MilterClient
from test_dkim_milter import Milter

STRIP = os.path.join(build_dir(), "milters", "strip", "mxkit-strip")

EXTRA_RULES = """
rules = (
  { header = "X-Webmail"; match = "^roundcube"; action = "replace"; text = "webmail"; },
  { header = "X-Client-Trace"; client = true; action = "remove"; }
);
"""


@pytest.fixture(scope="module")
def milter(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("stripm"))
    sock = os.path.join(d, "strip.sock")
    conf = os.path.join(d, "mxkit.conf")
    with open(conf, "w") as f:
        f.write(f'strip = {{ socket = "unix:{sock}"; user = "root"; {EXTRA_RULES} }};\n')
    m = Milter(conf, sock, os.path.join(d, "strip.log"), binary=STRIP)
    yield sock
    m.stop()


def run(sock, addr, host, headers, auth="alice@example.org"):
    """One message; returns (answer at MAIL, eom code, [(action, index, name, value)])."""
    m = MilterClient("unix:" + sock)
    try:
        m.negotiate()
        assert m.connect(host, addr) in (None, "c")
        macros = {"i": "QID1"}
        if auth is not None:
            macros["{auth_authen}"] = auth
        at_mail = m.mail("<alice@example.org>", macros=macros)
        if at_mail == "a":
            return at_mail, None, []
        for name, value in headers:
            assert m.header(name, " " + value) in (None, "c")
        m.eoh()
        m.body(b"body\r\n")
        code, mods = m.eom()
        return at_mail, code, mods
    finally:
        m.close()


HEADERS = [
    ("Received", "from pc (pc [{fmt}]) by laptop; Sun, 22 Nov 2026"),
    ("Received", "from relay.elsewhere.test ([198.51.100.1]) by pc"),
    ("X-Mailer", "Outlook"),
    ("received", "from x\r\n\t(helo [{fmt}]:50123) by y"),
    ("X-Webmail", "Roundcube 1.6"),
    ("X-Webmail", "Other"),
    ("X-Client-Trace", "seen at {fmt}"),
    ("Subject", "about {fmt}"),
    ("User-Agent", "Mutt"),
]

# (connect address, form written in the header fields)
FORMS = [
    ("192.0.2.7", "192.0.2.7"),
    ("192.0.2.7", "IPv6:::ffff:192.0.2.7"),
    ("::ffff:192.0.2.7", "192.0.2.7"),
    ("::ffff:192.0.2.7", "::FFFF:C000:207"),
    ("2001:db8::7", "IPv6:2001:DB8:0:0:0:0:0:7"),
    ("2001:db8::7", "2001:db8::7"),
]


@pytest.mark.parametrize("addr,form", FORMS)
def test_changes_for_each_address_form(milter, addr, form):
    hs = [(n, v.replace("{fmt}", form)) for n, v in HEADERS]
    at_mail, code, mods = run(milter, addr, f"[{addr}]", hs)
    assert at_mail in (None, "c")
    assert code == "a"
    # last first, so that removals do not shift the indices of later changes
    assert mods == [
        ("m", 1, "User-Agent", b""),
        ("m", 1, "X-Client-Trace", b""),
        ("m", 1, "X-Webmail", b" webmail"),
        ("m", 3, "Received", b""),
        ("m", 1, "X-Mailer", b""),
        ("m", 1, "Received", b""),
    ]


def test_hostname_named(milter):
    hs = [("Received", "from PC.Example.NET (helo) by y"), ("Received", "from pc.example.network")]
    _, code, mods = run(milter, "198.51.100.9", "pc.example.net", hs)
    assert code == "a"
    assert mods == [("m", 1, "Received", b"")]


def test_other_address_untouched(milter):
    hs = [("Received", "from x ([192.0.2.70]) by y"), ("Received", "from x ([2001:db8::71])")]
    _, code, mods = run(milter, "192.0.2.7", "[192.0.2.7]", hs)
    assert (code, mods) == ("a", [])


@pytest.mark.parametrize("auth", [None, ""])
def test_unauthenticated_accepted_untouched(milter, auth):
    hs = [(n, v.replace("{fmt}", "192.0.2.7")) for n, v in HEADERS]
    at_mail, code, mods = run(milter, "192.0.2.7", "[192.0.2.7]", hs, auth=auth)
    assert at_mail == "a"
    assert mods == []


CHECKS = [
    ('{ header = "X-Mailer";\n    match = "(unclosed"; action = "remove"; }', 3,
     'bad regular expression in match "(unclosed": '),
    ('{ header = "X-Mailer"; action = "scrub"; }', 2, 'unknown action "scrub"'),
    ('{ header = "X-Mailer"; action = "replace"; }', 2, 'action "replace" needs a non-empty text'),
    ('{ header = "X Mailer"; action = "remove"; }', 2, 'header "X Mailer" is not a valid header field name'),
    ('{ header = "X-Mailer:"; action = "remove"; }', 2, "is not a valid header field name"),
    ('{ header = "X-Mailer"; action = "remove"; when = "always"; }', 2, "unknown setting 'when'"),
]


@pytest.mark.parametrize("rule,line,why", CHECKS)
def test_check_names_file_line_and_problem(tmp_path, rule, line, why):
    conf = tmp_path / "mxkit.conf"
    conf.write_text(f'strip = {{\n  rules = ( {rule} );\n}};\n')
    r = subprocess.run([STRIP, "-t", "-c", str(conf)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert f"{conf}:{line}: " in r.stderr, r.stderr
    assert why in r.stderr, r.stderr


def test_check_ok_and_version(tmp_path):
    conf = tmp_path / "mxkit.conf"
    conf.write_text(f'strip = {{ socket = "inet:10043@127.0.0.1"; {EXTRA_RULES} }};\n')
    r = subprocess.run([STRIP, "-t", "-c", str(conf)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "configuration OK, 8 rule(s)" in r.stdout
    r = subprocess.run([STRIP, "-V"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("mxkit-strip ")


def test_valgrind_clean(tmp_path):
    """Under valgrind (plain build): stripped, untouched and unauthenticated
    messages, then SIGTERM; no memory errors and no definite leaks."""
    plain = os.environ.get("MXKIT_PLAIN_BUILD")
    binary = os.path.join(plain, "milters", "strip", "mxkit-strip") if plain else STRIP
    if b"libasan" in subprocess.run(["ldd", binary], capture_output=True).stdout:
        binary = STRIP  # an ASan build is checked by its sanitizer (Milter.stop)
        wrap = f"exec {binary} \"$@\"\n"
    else:
        wrap = ("exec valgrind --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite "
                f"--log-file={tmp_path}/vg.log {binary} \"$@\"\n")
    wrapper, sock = tmp_path / "vg.sh", str(tmp_path / "vg.sock")
    wrapper.write_text("#!/bin/sh\n" + wrap)
    wrapper.chmod(0o755)
    conf = tmp_path / "mxkit.conf"
    conf.write_text(f'strip = {{ socket = "unix:{sock}"; user = "root"; {EXTRA_RULES} }};\n')
    m = Milter(str(conf), sock, str(tmp_path / "strip.log"), binary=str(wrapper))
    try:
        hs = [(n, v.replace("{fmt}", "192.0.2.7")) for n, v in HEADERS]
        assert len(run(sock, "192.0.2.7", "[192.0.2.7]", hs)[2]) == 6
        assert run(sock, "192.0.2.7", "[192.0.2.7]", hs, auth=None)[0] == "a"
        assert run(sock, "2001:db8::7", "pc.example.net", [("Received", "x" * 60000)])[2] == []
    finally:
        m.stop()
    assert m.proc.returncode == 0, open(tmp_path / "vg.log").read() if (tmp_path / "vg.log").exists() else ""


@pytest.mark.parametrize("sig", [signal.SIGUSR1, signal.SIGHUP], ids=["SIGUSR1", "SIGHUP"])
def test_reload_on_signal(tmp_path, sig):
    """SIGHUP and SIGUSR1: new connections use the new rules; a connection
    already open keeps the old ones; a bad configuration is logged and
    changes nothing."""
    sock, conf, log = str(tmp_path / "r.sock"), tmp_path / "mxkit.conf", tmp_path / "r.log"
    conf.write_text(f'strip = {{ socket = "unix:{sock}"; user = "root"; }};\n')
    m = Milter(str(conf), sock, str(log), binary=STRIP)
    hs = [("X-Foo", "bar"), ("X-Mailer", "x")]
    try:
        assert run(sock, "192.0.2.7", "[192.0.2.7]", hs)[2] == [("m", 1, "X-Mailer", b"")]
        old = MilterClient("unix:" + sock)   # opened before the reload
        old.negotiate()
        conf.write_text(f'strip = {{ socket = "unix:{sock}"; user = "root"; default_rules = false;\n'
                        '  rules = ( { header = "X-Foo"; action = "remove"; } ); };\n')
        m.proc.send_signal(sig)
        wait_log(log, "configuration reloaded")
        assert run(sock, "192.0.2.7", "[192.0.2.7]", hs)[2] == [("m", 1, "X-Foo", b"")]
        old.connect("[192.0.2.7]", "192.0.2.7")
        old.mail("<a@example.org>", macros={"{auth_authen}": "a"})
        for name, value in hs:
            old.header(name, " " + value)
        old.eoh()
        assert old.eom() == ("a", [("m", 1, "X-Mailer", b"")])
        old.close()
        conf.write_text('strip = { rules = ( { header = "X-Foo"; action = "zap"; } ); };\n')
        m.proc.send_signal(sig)
        wait_log(log, "reload failed, keeping the old configuration")
        assert 'unknown action "zap"' in log.read_text()
        assert run(sock, "192.0.2.7", "[192.0.2.7]", hs)[2] == [("m", 1, "X-Foo", b"")]
    finally:
        m.stop()


def wait_log(path, text, timeout=10):
    deadline = time.monotonic() + timeout
    while text not in path.read_text(errors="replace"):
        assert time.monotonic() < deadline, path.read_text()
        time.sleep(0.05)
