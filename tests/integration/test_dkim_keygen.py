"""mxkit-dkim-keygen: key rotation against a private MariaDB and a DNS server on loopback.

`new` writes the key 0600 for the daemon's user, registers it inactive and
prints the TXT record in strings of at most 255 bytes; `activate` refuses
while the record is missing or holds another key and succeeds once the
printed record is published; mxkit-dkim then signs with it after its
refresh, and dkimpy verifies against the published record; `retire`
stops its use. Weak or tiny RSA keys and an unreachable resolver are
handled as documented.
"""
import os
import pwd
import re
import shutil
import stat
import subprocess
import tempfile

import pytest

from conftest import build_dir
from dkim_support import dns_records, make_keys
from harness.dns import DNSServer
from harness.mariadb import MariaDB
from harness.ports import free_port
from test_dkim_dbkeys import selectors, wait_signed_by
from test_dkim_milter import Milter, msg, run, verify

KEYGEN = os.path.join(build_dir(), "milters", "dkim", "mxkit-dkim-keygen")
DOMAIN = "rot.example"
FROM = b"Rot <r@rot.example>"


@pytest.fixture(scope="module")
def world():
    # The milter reads keys and the database as nobody: world-searchable dirs.
    d = tempfile.mkdtemp(prefix="mxkit-dkim-keygen-")
    os.chmod(d, 0o755)
    keys = os.path.join(d, "keys")
    os.mkdir(keys, 0o755)
    db = MariaDB(d)
    db.start()
    db.create_mxkit_db()
    dns = DNSServer().start()
    conf = os.path.join(d, "mxkit.conf")
    nobody = pwd.getpwnam("nobody")
    with open(conf, "w") as f:
        f.write(db.write_client_config(conf))
        f.write(f'dkim = {{ socket = "unix:{d}/dkim.sock"; user = "nobody"; database_keys = true;'
                f' refresh_interval = "1"; key_dir = "{keys}"; resolver = "127.0.0.1:{dns.port}"; }};\n')
    os.chown(conf + ".dbpw", nobody.pw_uid, nobody.pw_gid)  # read again on reloads
    yield {"dir": d, "db": db, "dns": dns, "conf": conf, "keys": keys, "nobody": nobody}
    dns.stop()
    db.stop()
    shutil.rmtree(d, ignore_errors=True)


def keygen(world, *args):
    return subprocess.run([KEYGEN, "-c", world["conf"], *args], capture_output=True, text=True,
                          timeout=60)


def printed_record(out):
    """(name, [strings]) from the `NAME IN TXT "..." "..."` line."""
    line = next(l for l in out.splitlines() if " IN TXT " in l)
    name = line.split(" ", 1)[0]
    return name, re.findall(r'"([^"]*)"', line)


def state(world, selector):
    rows = world["db"].sql("SELECT active, activated_at IS NOT NULL, retired_at IS NOT NULL"
                           " FROM dkim_keys WHERE domain = %s AND selector = %s", (DOMAIN, selector))
    return rows[0] if rows else None


def test_rotation(world):
    r = keygen(world, "new", DOMAIN, "--selector", "s1")
    assert r.returncode == 0, r.stderr
    name, strings = printed_record(r.stdout)
    assert name == f"s1._domainkey.{DOMAIN}."
    assert len(strings) == 2 and all(len(s) <= 255 for s in strings) and len(strings[0]) == 255
    assert "".join(strings).startswith("v=DKIM1; k=rsa; p=")
    path = os.path.join(world["keys"], f"{DOMAIN}.s1.pem")
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == world["nobody"].pw_uid
    assert state(world, "s1") == (0, 0, 0)
    # The same selector again is refused, and nothing is overwritten.
    r2 = keygen(world, "new", DOMAIN, "--selector", "s1")
    assert r2.returncode == 1 and "already exists" in r2.stderr

    # Not published yet: refused.
    r = keygen(world, "activate", DOMAIN, "s1")
    assert r.returncode == 1 and "NXDOMAIN" in r.stderr, r.stderr
    # Published with another key: refused.
    tmp = tempfile.mkdtemp(dir=world["dir"])
    rsa_other, _ = make_keys(tmp)
    wrong = dns_records(f"{DOMAIN}:s1:{rsa_other}")[f"s1._domainkey.{DOMAIN}."]
    world["dns"].set_txt(f"s1._domainkey.{DOMAIN}", [wrong[i:i + 255] for i in range(0, len(wrong), 255)])
    r = keygen(world, "activate", DOMAIN, "s1")
    assert r.returncode == 1 and "another public key" in r.stderr, r.stderr
    assert state(world, "s1") == (0, 0, 0)
    # The printed record, as printed: activated.
    world["dns"].set_txt(f"s1._domainkey.{DOMAIN}", strings)
    r = keygen(world, "activate", DOMAIN, "s1")
    assert r.returncode == 0 and "activated" in r.stdout, r.stderr
    assert state(world, "s1") == (1, 1, 0)
    dns = {name: "".join(strings)}

    sock = os.path.join(world["dir"], "dkim.sock")
    log = os.path.join(world["dir"], "milter.log")
    m = Milter(world["conf"], sock, log)
    env = {"milter": m, "dns": dns, "log": log}
    try:
        code, signed = run(env, msg(from_=FROM))
        assert selectors(signed) == ["s1"] and verify(env, signed, 1) == [True]
        # Rotation: a new Ed25519 key next to it, then the old one retired.
        r = keygen(world, "new", DOMAIN, "--algorithm", "ed25519", "--selector", "s2")
        assert r.returncode == 0, r.stderr
        name2, strings2 = printed_record(r.stdout)
        assert len(strings2) == 1 and strings2[0].startswith("v=DKIM1; k=ed25519; p=")
        code, signed = run(env, msg(from_=FROM))
        assert selectors(signed) == ["s1"]  # registered inactive: not used yet
        world["dns"].set_txt(f"s2._domainkey.{DOMAIN}", strings2)
        r = keygen(world, "activate", DOMAIN, "s2")
        assert r.returncode == 0, r.stderr
        dns[name2] = "".join(strings2)
        code, signed, got = wait_signed_by(env, ["s1", "s2"], from_=FROM)
        assert got == ["s1", "s2"] and verify(env, signed, 2) == [True, True]
        r = keygen(world, "retire", DOMAIN, "s1")
        assert r.returncode == 0 and "retired" in r.stdout, r.stderr
        assert state(world, "s1") == (0, 1, 1)
        code, signed, got = wait_signed_by(env, ["s2"], from_=FROM)
        assert got == ["s2"] and verify(env, signed, 1) == [True]
        r = keygen(world, "list")
        assert r.returncode == 0 and re.search(r"s1\s+rsa-sha256\s+inactive", r.stdout), r.stdout
        assert re.search(r"s2\s+ed25519-sha256\s+active", r.stdout), r.stdout
    finally:
        m.stop()


@pytest.mark.parametrize("bits,rc,text", [("512", 1, "must have 1024 to 8192 bits"),
                                          ("1024", 0, "warning: an RSA key of 1024 bits")])
def test_rsa_sizes(world, bits, rc, text):
    r = keygen(world, "new", "small.example", "--bits", bits, "--selector", f"b{bits}")
    assert r.returncode == rc and text in r.stderr, r.stderr


def test_unreachable_resolver_is_temporary(world):
    assert keygen(world, "new", "t.example", "--algorithm", "ed25519", "--selector", "t1").returncode == 0
    r = keygen(world, "activate", "t.example", "t1", "--resolver", f"127.0.0.1:{free_port()}")
    assert r.returncode == 75 and "not activated" in r.stderr, r.stderr
    rows = world["db"].sql("SELECT active FROM dkim_keys WHERE domain = 't.example'")
    assert rows == ((0,),)


def test_usage_and_unknown_key(world):
    assert keygen(world, "bogus").returncode == 2
    assert keygen(world, "new").returncode == 2
    r = keygen(world, "activate", DOMAIN, "nope")
    assert r.returncode == 1 and "no key nope._domainkey" in r.stderr
