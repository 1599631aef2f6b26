"""Helpers shared by the DKIM integration tests: keys, DNS records, dkimpy checks."""
import os
import subprocess

import dkim

from conftest import build_dir

SIGN = os.path.join(build_dir(), "milters", "dkim", "mxkit-dkim-sign")


def make_keys(d):
    """An RSA-2048 and an Ed25519 private key in d, mode 0600: (rsa, ed)."""
    rsa, ed = os.path.join(d, "rsa.pem"), os.path.join(d, "ed.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", rsa], check=True, capture_output=True)
    subprocess.run(["openssl", "genpkey", "-algorithm", "ED25519", "-out", ed],
                   check=True, capture_output=True)
    os.chmod(rsa, 0o600)
    os.chmod(ed, 0o600)
    return rsa, ed


def dns_records(*specs):
    """{"sel._domainkey.dom.": TXT} for DOMAIN:SELECTOR:KEYFILE specs, as our tool prints them."""
    dns = {}
    for spec in specs:
        out = subprocess.run([SIGN, "-k", spec, "-r"], check=True, capture_output=True).stdout
        for line in out.decode().splitlines():
            name, record = line.split(" ", 1)
            dns[name + "."] = record
    return dns


def verify(signed, dns, count):
    """dkimpy's verdict on each of the first `count` signatures: True,
    False, or "invalid: reason" when dkimpy raises."""
    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        return dns.get(name, "").encode()

    results = []
    for i in range(count):
        try:
            results.append(dkim.DKIM(signed).verify(idx=i, dnsfunc=dnsfunc))
        except dkim.ValidationError as e:  # e.g. "body hash mismatch"
            results.append(f"invalid: {e}")
    return results
