"""The postfix role's mxkit_postconf module against the real postconf(1), on
a scratch configuration directory: it changes only what differs, a second
run changes nothing, and check mode writes nothing."""
import json
import os
import shutil
import subprocess

import pytest

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODULE = os.path.join(TOP, "ansible", "roles", "postfix", "library", "mxkit_postconf.py")

WANT = {
    "main": {"recipient_delimiter": "+", "smtpd_sasl_auth_enable": False,
             "mynetworks": ["127.0.0.0/8", "[::1]/128"],
             "virtual_alias_maps": "socketmap:unix:mxkit/mapd.sock:alias"},
    "master": {"submission/inet": "submission inet n - y - - smtpd"},
    "master_params": {"submission/inet": {"syslog_name": "postfix/submission",
                                          "smtpd_client_restrictions": "permit_sasl_authenticated,reject"}},
}


@pytest.fixture
def confdir(tmp_path):
    shutil.copy("/etc/postfix/master.cf.proto", tmp_path / "master.cf")
    (tmp_path / "main.cf").write_text("recipient_delimiter = -\n")
    return str(tmp_path)


def run_module(tmp_path, args, check=False):
    params = dict(args, _ansible_check_mode=check)
    argfile = os.path.join(tmp_path, "args.json")
    with open(argfile, "w") as f:
        json.dump({"ANSIBLE_MODULE_ARGS": params}, f)
    done = subprocess.run(["/usr/bin/python3", MODULE, argfile], capture_output=True, text=True, timeout=60)
    result = json.loads(done.stdout)
    assert not result.get("failed"), result
    return result


def postconf(confdir, *args):
    return subprocess.run(["postconf", "-c", confdir] + list(args), capture_output=True,
                          text=True, check=True, timeout=30).stdout.strip()


def test_sets_only_what_differs_then_nothing(confdir):
    first = run_module(confdir, dict(WANT, config_dir=confdir))
    assert first["changed"]
    assert "-e recipient_delimiter=+" in first["changes"]
    # already the default: nothing to write
    assert not any("smtpd_sasl_auth_enable" in c for c in first["changes"])
    assert postconf(confdir, "-h", "mynetworks") == "127.0.0.0/8, [::1]/128"
    assert postconf(confdir, "-h", "virtual_alias_maps") == "socketmap:unix:mxkit/mapd.sock:alias"
    assert postconf(confdir, "-Ph", "submission/inet/smtpd_client_restrictions") == "permit_sasl_authenticated,reject"
    assert postconf(confdir, "-M", "submission/inet").split()[:8] == WANT["master"]["submission/inet"].split()

    second = run_module(confdir, dict(WANT, config_dir=confdir))
    assert not second["changed"], second["changes"]


def test_check_mode_writes_nothing(confdir):
    before = open(os.path.join(confdir, "main.cf")).read()
    result = run_module(confdir, dict(WANT, config_dir=confdir), check=True)
    assert result["changed"]
    assert open(os.path.join(confdir, "main.cf")).read() == before
    assert postconf(confdir, "-M", "submission/inet") == ""


def test_bad_master_key_is_refused(confdir):
    params = {"config_dir": confdir, "master": {"submission": "submission inet n - y - - smtpd"}}
    argfile = os.path.join(confdir, "args.json")
    with open(argfile, "w") as f:
        json.dump({"ANSIBLE_MODULE_ARGS": params}, f)
    done = subprocess.run(["/usr/bin/python3", MODULE, argfile], capture_output=True, text=True, timeout=60)
    result = json.loads(done.stdout)
    assert result["failed"]
    assert "not service/type" in result["msg"]


def test_absent_removes_only_what_is_there(confdir):
    relay = {"mxkit-relay/unix": "mxkit-relay unix - - y - - smtp"}
    run_module(confdir, {"config_dir": confdir, "main": {"relayhost": "[127.0.0.1]:587"}, "master": relay})
    assert postconf(confdir, "-n", "relayhost") == "relayhost = [127.0.0.1]:587"
    # a wanted name is never removed, even when also listed as absent
    kept = run_module(confdir, {"config_dir": confdir, "master": relay,
                                "absent_master": ["mxkit-relay/unix"]})
    assert not kept["changed"], kept["changes"]
    gone = run_module(confdir, {"config_dir": confdir, "absent_main": ["relayhost", "default_transport"],
                                "absent_master": ["mxkit-relay/unix"]})
    assert sorted(gone["changes"]) == ["-MX mxkit-relay/unix", "-X relayhost"], gone["changes"]
    assert postconf(confdir, "-n", "relayhost") == ""
    assert postconf(confdir, "-M", "mxkit-relay/unix") == ""
    again = run_module(confdir, {"config_dir": confdir, "absent_main": ["relayhost"],
                                 "absent_master": ["mxkit-relay/unix"]})
    assert not again["changed"], again["changes"]
