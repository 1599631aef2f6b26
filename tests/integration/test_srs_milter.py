"""mxkit-srs over the milter protocol (tests/harness/milter.py), against a
private MariaDB: exactly which envelope changes it asks for, its replies
at RCPT, and a run under valgrind (no memory errors, no definite leaks).
The Postfix-level behaviour is in test_srs_postfix.py."""
import os
import signal
import subprocess

import pytest

from conftest import build_dir
from harness.mariadb import MariaDB
from harness.milter import MilterClient
from harness.ports import free_port
from test_dkim_milter import Milter
from test_srs_postfix import load_data, OURS, SRS_DOMAIN

SRS = os.path.join(build_dir(), "milters", "srs", "mxkit-srs")
TOOL = os.path.join(build_dir(), "milters", "srs", "mxkit-srs-tool")
SECRET = "milter-secret"
SENDER = "carol@sender.test"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("srsdb"))
    os.chmod(d, 0o755)
    m = MariaDB(d)
    m.start()
    m.create_mxkit_db()
    load_data(m)
    yield m
    m.stop()


def write_conf(d, db, port):
    conf = os.path.join(d, "srs.conf")
    with open(conf, "w") as f:
        f.write(db.write_client_config(conf))
        f.write(f'srs = {{ domain = "{SRS_DOMAIN}"; secrets = ["{SECRET}"];\n'
                f'  socket = "inet:{port}@127.0.0.1"; user = "root"; }};\n')  # pytest's tmp is 0700
    return conf


def srs_of(sender, tmp_path):
    secrets = tmp_path / "s"
    secrets.write_text(SECRET + "\n")
    os.chmod(secrets, 0o600)
    r = subprocess.run([TOOL, "-d", SRS_DOMAIN, "-s", str(secrets), "forward", sender],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def transaction(port, sender, rcpts):
    """({rcpt: code}, eom code, mods) for one message."""
    c = MilterClient(f"inet:{port}@127.0.0.1")
    try:
        c.negotiate()
        c.connect("client.test", "192.0.2.1")
        c.helo("client.test")
        c.mail(f"<{sender}>")
        codes = {r: c.rcpt(f"<{r}>") for r in rcpts}
        if not any(v in (None, "c") for v in codes.values()):
            return codes, None, []
        c.data()
        c.eoh()
        c.body(b"hi\r\n")
        code, mods = c.eom()
        return codes, code, mods
    finally:
        c.close()


def exercise(port, tmp_path):
    codes, code, mods = transaction(port, SENDER, [f"fwd@{OURS}"])
    assert code == "a" and [m[0] for m in mods] == ["e"], mods
    assert mods[0][2] == "<" + srs_of(SENDER, tmp_path) + ">"
    assert transaction(port, SENDER, [f"alice@{OURS}"])[1:] == ("a", [])
    assert transaction(port, f"alice@{OURS}", [f"fwd@{OURS}"])[1:] == ("a", [])
    assert transaction(port, "", [f"fwd@{OURS}"])[1:] == ("a", [])
    good = srs_of(SENDER, tmp_path)
    codes, code, mods = transaction(port, "", [good])
    assert code == "a" and mods == [("-", 0, f"<{good}>", b""), ("+", 0, f"<{SENDER}>", b"")], mods
    forged = good.replace("=" + good.split("=")[1] + "=", "=ZZZZ=", 1)
    codes, code, mods = transaction(port, "", [forged, f"alice@{OURS}"])
    assert codes[forged] == "y" and code == "a" and mods == [], (codes, mods)


def test_milter_protocol(db, tmp_path):
    port = free_port()
    conf = write_conf(str(tmp_path), db, port)
    m = Milter(conf, None, str(tmp_path / "milter.log"), binary=SRS, port=port)
    try:
        exercise(port, tmp_path)
    finally:
        m.stop()


def test_valgrind_clean(db, tmp_path):
    plain = os.environ.get("MXKIT_PLAIN_BUILD")
    binary = os.path.join(plain, "milters", "srs", "mxkit-srs") if plain else SRS
    asan = b"libasan" in subprocess.run(["ldd", binary], capture_output=True).stdout
    vglog = str(tmp_path / "valgrind.log")
    wrapper = str(tmp_path / "vg.sh")
    with open(wrapper, "w") as f:
        if asan:
            f.write(f"#!/bin/sh\nexec {binary} \"$@\"\n")
        else:
            f.write("#!/bin/sh\nexec valgrind --error-exitcode=9 --leak-check=full "
                    f"--errors-for-leak-kinds=definite --log-file={vglog} {binary} \"$@\"\n")
    os.chmod(wrapper, 0o755)
    port = free_port()
    conf = write_conf(str(tmp_path), db, port)
    m = Milter(conf, None, str(tmp_path / "milter.log"), binary=wrapper, port=port)
    try:
        exercise(port, tmp_path)
    finally:
        m.proc.send_signal(signal.SIGTERM)
        rc = m.proc.wait(timeout=60)
        m.log.close()
    assert rc == 0
    if not asan:
        with open(vglog) as f:
            text = f.read()
        assert "ERROR SUMMARY: 0 errors" in text, text
