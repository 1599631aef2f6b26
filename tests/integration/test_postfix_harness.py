"""The Postfix harness and the delivery sink work, alone and side by side.

Two private Postfix instances run at once, each relaying to its own SMTP sink
and delivering its virtual mailboxes to its own LMTP sink; per-recipient LMTP
answers and sink refusals reach Postfix as they would from a real server.
"""
import smtplib

import pytest

from harness.postfix import Postfix
from harness.sink import Sink


@pytest.fixture
def pair():
    sinks, pfs = [], []
    try:
        for name in ("h1", "h2"):
            relay = Sink("smtp", f"relay-{name}").start()
            mbox = Sink("lmtp", f"mbox-{name}").start()
            sinks += [relay, mbox]
            pf = Postfix(name, relayhost=relay.address, main={
                "virtual_mailbox_domains": "example.org",
                "virtual_mailbox_maps": "static:ok",
                "virtual_transport": mbox.transport})
            pfs.append(pf)
            pf.start()
        yield [(pfs[i], sinks[2 * i], sinks[2 * i + 1]) for i in range(2)]
    finally:
        for pf in pfs:
            pf.cleanup()
        for s in sinks:
            s.stop()


def test_two_instances_deliver_to_their_own_sinks(pair):
    msg = b"Subject: t\r\n\r\n.leading dot\r\nbody\r\n"
    for i, (pf, relay, mbox) in enumerate(pair):
        with pf.smtp() as s:
            assert s.sendmail(f"s{i}@sender.test", ["u@example.org", "r@remote.test"], msg) == {}
    for i, (pf, relay, mbox) in enumerate(pair):
        mbox.wait_for(lambda t: len(t) == 1, 20)
        relay.wait_for(lambda t: len(t) == 1, 20)
        pf.wait_queue_empty(20)
        assert mbox.delivered() == [(f"s{i}@sender.test", "u@example.org")]
        assert relay.delivered() == [(f"s{i}@sender.test", "r@remote.test")]
        tx = mbox.transactions()[0]
        assert tx.protocol == "lmtp" and tx.helo == pf.hostname
        assert tx.header("Subject") == "t"
        assert b"\r\n.leading dot\r\nbody\r\n" in tx.data
        assert f"by {pf.hostname}" in tx.header("Received")
        assert pf.problems() == []
    assert pair[0][0].smtp_port != pair[1][0].smtp_port
    assert pair[0][0].queue_dir != pair[1][0].queue_dir


def test_lmtp_per_recipient_answers_defer_and_flush(pair):
    pf, relay, mbox = pair[0]
    mbox.set_data_reply("full@example.org", 452, "4.2.2 Mailbox full")
    with pf.smtp() as s:
        s.sendmail("x@sender.test", ["ok@example.org", "full@example.org"], b"Subject: d\r\n\r\nx\r\n")
    mbox.wait_for(lambda t: len(t) == 1, 20)
    q = pf.wait_queue(lambda q: q and q[0]["queue_name"] == "deferred", 20)
    assert [r["address"] for r in q[0]["recipients"]] == ["full@example.org"]
    assert "Mailbox full" in q[0]["recipients"][0]["delay_reason"]
    assert mbox.delivered() == [("x@sender.test", "ok@example.org")]
    mbox.set_data_reply("full@example.org", None)
    pf.flush()
    pf.wait_queue_empty(20)
    assert sorted(r for _, r in mbox.delivered()) == ["full@example.org", "ok@example.org"]
    assert relay.transactions() == []           # no bounce went anywhere


def test_sink_refusal_at_rcpt_is_seen_by_postfix(pair):
    pf, relay, mbox = pair[1]
    relay.set_rcpt_reply("gone@remote.test", 550, "5.1.1 No such user")
    relay.set_rcpt_reply("later@remote.test", 451, "4.3.0 Try later")
    with pf.smtp() as s:
        s.sendmail("<>", ["gone@remote.test", "later@remote.test", "ok@remote.test"], b"\r\nx\r\n")
    relay.wait_for(lambda t: len(t) == 1, 20)
    assert relay.delivered() == [("", "ok@remote.test")]
    codes = {r: c for _, r, c in relay.rcpt_log()}
    assert codes == {"gone@remote.test": 550, "later@remote.test": 451, "ok@remote.test": 250}
    q = pf.wait_queue(lambda q: q and q[0]["queue_name"] == "deferred", 20)
    assert [r["address"] for r in q[0]["recipients"]] == ["later@remote.test"]
    assert pf.log_lines(r"to=<gone@remote.test>.*status=bounced")


def test_sink_speaks_smtp_directly():
    with Sink("smtp") as sink:
        sink.set_rcpt_reply("no@x.test", 550)
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as s:
            s.ehlo("me")
            assert "pipelining" in s.esmtp_features
            s.mail("a@x.test")
            assert s.rcpt("no@x.test")[0] == 550
            assert s.rcpt("yes@x.test")[0] == 250
            assert s.data(b"Subject: s\r\n\r\nhello\r\n")[0] == 250
            assert s.docmd("LHLO", "me")[0] == 500
        (tx,) = sink.transactions()
        assert tx.mail_from == "a@x.test" and tx.recipients == ["yes@x.test"]
        assert tx.data == b"Subject: s\r\n\r\nhello\r\n"
