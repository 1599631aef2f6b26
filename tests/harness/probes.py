"""Send probe messages through a private Postfix and collect what became of each.

Shared by the Postfix-level tests: one SMTP session sends one transaction per
probe (MAIL FROM carries the probe's tag, so every delivery and every bounce
at the sinks can be traced back to it), records the RCPT reply, and sends
DATA only when the recipient was accepted.
"""
import re
import smtplib
import time

PROBE_DOMAIN = "probe.test"
_QUEUE_ID = re.compile(r"\b[0-9A-F]{6,}\b")


def probe_tag(instance, index):
    return f"p{index:05d}-{instance}@{PROBE_DOMAIN}"


def send_probes(pf, instance, addresses, first_index=0):
    """One SMTP session, one transaction per address. Returns {index: (code, text)}."""
    replies = {}
    s = pf.smtp()
    try:
        for i, addr in enumerate(addresses, start=first_index):
            tag = probe_tag(instance, i)
            code, text = s.mail(tag)
            if code != 250:
                raise AssertionError(f"{pf.name}: MAIL FROM:<{tag}> refused: {code} {text!r}")
            code, text = s.rcpt(addr)
            replies[i] = (code, text.decode("utf-8", "replace"))
            if code == 250:
                msg = (f"From: <{tag}>\r\nTo: <{addr}>\r\nSubject: probe {i}\r\n"
                       f"X-Mxkit-Probe: {tag}\r\n\r\nprobe {i} for {addr}\r\n").encode()
                dcode, dtext = s.data(msg)
                if dcode != 250:
                    replies[i] = (dcode, "DATA: " + dtext.decode("utf-8", "replace"))
            else:
                s.rset()
        s.quit()
    except smtplib.SMTPServerDisconnected:
        raise AssertionError(f"{pf.name}: smtpd disconnected after {len(replies)} probes")
    finally:
        s.close()
    return replies


def outcomes(sinks, instance):
    """{index: frozenset of (sink name, recipient)} for every delivery of a probe of
    `instance`; bounces to a probe's sender are recorded as ('bounce', reason code)."""
    out = {}
    prefix, suffix = "p", f"-{instance}@{PROBE_DOMAIN}"
    for sink in sinks:
        for tx in sink.transactions():
            if tx.mail_from.startswith(prefix) and tx.mail_from.endswith(suffix):
                idx = int(tx.mail_from[1:-len(suffix)])
                out.setdefault(idx, set()).update((sink.name, r) for r in tx.recipients)
            elif tx.mail_from == "":
                for r in tx.recipients:
                    if r.startswith(prefix) and r.endswith(suffix):
                        idx = int(r[1:-len(suffix)])
                        out.setdefault(idx, set()).add(("bounce", _bounce_status(tx)))
    return {k: frozenset(v) for k, v in out.items()}


def _bounce_status(tx):
    body = tx.data.decode("utf-8", "replace")
    m = re.search(r"^Status: (\S+)", body, re.M)
    return m.group(1) if m else "?"


def reply_class(code, text):
    """A reply reduced to what must match between instances: the code and the
    enhanced status code (the text names queue ids and tables)."""
    m = re.match(r"(\d\.\d{1,3}\.\d{1,3})", text)
    return (code, m.group(1) if m else "")


def settle(pfs, sinks, timeout=90.0, quiet=1.5):
    """Wait until no queue has active/incoming mail and the sinks have been quiet."""
    deadline = time.monotonic() + timeout
    for pf in pfs:
        pf.wait_queue(lambda q: all(m["queue_name"] == "deferred" for m in q),
                      timeout=max(1.0, deadline - time.monotonic()))
    for s in sinks:
        s.wait_quiet(quiet=quiet, timeout=max(1.0, deadline - time.monotonic()))
    for pf in pfs:
        pf.wait_queue(lambda q: all(m["queue_name"] == "deferred" for m in q),
                      timeout=max(1.0, deadline - time.monotonic()))
