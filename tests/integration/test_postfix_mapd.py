"""Postfix with mxkit-mapd: delivery, refusal, and a database outage that loses no mail.

A private Postfix uses socketmap: tables served by mxkit-mapd (short cache
TTLs, so the outage is felt at once) over a private MariaDB whose data is
created with the mysql CLI procedures. Mailboxes are delivered over LMTP to
the `mbox` sink, remote destinations over SMTP to the `relay` sink.

Outage: mail accepted before the outage waits in the deferred queue; the
database stops while a client keeps sending; every answer Postfix gives is
2xx or 4xx (never 5xx), nothing bounces, the deferred mail stays deferred
even though the sinks accept again; after the restart one flush delivers
everything and every message is counted exactly once per recipient.
"""
import os
import re
import threading
import time

import pytest

from harness.mailenv import MailEnv
from harness.mariadb import SQL_DIR

CACHE_TTL = 1


@pytest.fixture(scope="module")
def world():
    env = MailEnv("pfmapd")
    try:
        db = env.start_db()
        db.apply_sql_file(os.path.join(SQL_DIR, "procedures.sql"))
        for stmt in ("CALL add_domain('example.org')",
                     "CALL add_domain('other.example')",
                     "CALL add_user('alice@example.org', 'pw-alice-1')",
                     "CALL add_user('bob@example.org', 'pw-bob-1')",
                     "CALL add_user('carol@other.example', 'pw-carol-1')",
                     "CALL add_alias('team@example.org', "
                     "'alice@example.org,carol@other.example,friend@remote.test')",
                     "CALL add_alias('info@example.org', 'team@example.org')"):
            db.mysql_cli("-e", stmt)
        env.start_sinks()
        env.start_mapd(cache_ttl=CACHE_TTL, negative_ttl=CACHE_TTL)
        env.pf = env.postfix("fn", env.socketmap_maps())
        yield env
    finally:
        env.cleanup()


@pytest.fixture(autouse=True)
def clean_sinks(world):
    for s in world.sinks:
        s.clear()
        s.set_default_rcpt_reply(250)
    yield


def _send(pf, sender, rcpts, subject="t"):
    """Send one message; returns ({rcpt: (code, text)}, data reply code or None)."""
    with pf.smtp() as s:
        s.mail(sender)
        replies = {r: s.rcpt(r) for r in rcpts}
        if not any(c == 250 for c, _ in replies.values()):
            return replies, None
        code, _ = s.data(f"From: <{sender}>\r\nSubject: {subject}\r\n\r\nhello\r\n".encode())
        return replies, code


def test_mail_to_user_reaches_its_mailbox(world):
    replies, data = _send(world.pf, "s1@sender.test", ["alice@example.org", "Bob+News@Example.ORG"])
    assert {r: c for r, (c, _) in replies.items()} == {"alice@example.org": 250,
                                                       "Bob+News@Example.ORG": 250}
    assert data == 250
    world.mbox.wait_for(lambda t: sum(len(x.recipients) for x in t) == 2, 20)
    world.pf.wait_queue_empty(20)
    # The alias map maps every mailbox to itself (lowercase) and re-appends the
    # extension as it was sent, as Postfix does with a mysql: table.
    assert sorted(world.mbox.delivered()) == [("s1@sender.test", "alice@example.org"),
                                              ("s1@sender.test", "bob+News@example.org")]
    assert world.relay.transactions() == [] and world.backend.transactions() == []


def test_alias_reaches_its_destinations(world):
    replies, data = _send(world.pf, "s2@sender.test", ["info@example.org"])
    assert replies["info@example.org"][0] == 250 and data == 250
    world.mbox.wait_for(lambda t: sum(len(x.recipients) for x in t) == 2, 20)
    world.relay.wait_for(lambda t: len(t) == 1, 20)
    world.pf.wait_queue_empty(20)
    assert sorted(r for _, r in world.mbox.delivered()) == ["alice@example.org",
                                                            "carol@other.example"]
    assert world.relay.delivered() == [("s2@sender.test", "friend@remote.test")]


@pytest.mark.parametrize("rcpt", ["nobody@example.org", "nobody+tag@example.org",
                                  "NoBody@Other.Example"])
def test_unknown_user_is_refused_at_rcpt(world, rcpt):
    replies, data = _send(world.pf, "s3@sender.test", [rcpt])
    code, text = replies[rcpt]
    assert code == 550 and text.startswith(b"5.1.1"), (code, text)
    assert data is None


class _Sender(threading.Thread):
    """Sends numbered messages on one SMTP session per batch until stopped;
    remembers which were accepted (250 after DATA) and every reply code seen."""

    def __init__(self, pf, rcpts, limit=2000):
        super().__init__(daemon=True)
        self.pf, self.rcpts, self.limit = pf, rcpts, limit
        self.stop = threading.Event()
        self.accepted = {}         # n -> accepted recipients
        self.pending = []          # message numbers not accepted yet (4xx)
        self.codes = []            # (phase, stage, code)
        self.phase = "before"
        self.error = None

    def run(self):
        try:
            n = 0
            while not self.stop.is_set() and n < self.limit:
                self.send(n)
                n += 1
                time.sleep(0.05)
        except Exception as e:  # reported by the test
            self.error = e

    def send(self, n):
        sender = f"m{n:04d}@probe.test"
        with self.pf.smtp() as s:
            code, _ = s.mail(sender)
            self.codes.append((self.phase, "mail", code))
            ok = []
            for r in self.rcpts:
                code, _ = s.rcpt(r)
                self.codes.append((self.phase, "rcpt", code))
                if code == 250:
                    ok.append(r)
            if ok:
                code, _ = s.data(f"From: <{sender}>\r\nSubject: m{n}\r\n\r\nm{n}\r\n".encode())
                self.codes.append((self.phase, "data", code))
        if ok and code == 250:
            self.accepted[n] = ok
        else:
            self.pending.append(n)


def test_database_outage_defers_and_loses_nothing(world):
    pf, db, mbox, relay = world.pf, world.db, world.mbox, world.relay
    final = ["alice@example.org", "carol@other.example", "friend@remote.test"]

    # 1. Mail accepted before the outage, not deliverable yet (the store says 4xx).
    mbox.set_default_rcpt_reply(451, "4.3.0 store busy (test)")
    relay.set_default_rcpt_reply(451, "4.3.0 relay busy (test)")
    early = []
    for n in range(5):
        replies, data = _send(pf, f"e{n}@probe.test", ["bob@example.org", "team@example.org"])
        assert data == 250, replies
        early.append(f"e{n}@probe.test")
    pf.wait_queue(lambda q: len(q) == 5 and all(m["queue_name"] == "deferred" for m in q), 30)
    mbox.set_default_rcpt_reply(250)
    relay.set_default_rcpt_reply(250)
    assert mbox.delivered() == [] and relay.delivered() == []

    # 2. The database goes away while a client keeps sending.
    # (no final recipient twice in one message: Postfix keeps such duplicates
    # apart when their original recipients differ)
    sender = _Sender(pf, ["info@example.org", "bob+x@example.org"])
    sender.start()
    _wait(lambda: len(sender.accepted) >= 5, 30, "sender did not get going")
    sender.phase = "outage"
    db.stop()
    time.sleep(CACHE_TTL + 1)             # mapd's cache has expired: the outage is felt
    before_pending = len(sender.pending)
    _wait(lambda: len(sender.pending) >= before_pending + 5, 60,
          "no message was refused during the outage")

    # 3. During the outage: the deferred mail stays deferred, nothing bounces.
    pf.flush()
    time.sleep(3)
    q = pf.queue()
    early_left = [m for m in q if m["sender"] in early]
    assert len(early_left) == 5 and all(m["queue_name"] == "deferred" for m in early_left), q
    reasons = {r["delay_reason"] for m in early_left for r in m["recipients"]}
    assert reasons and all(re.search(r"(resolver|lookup) failure", x) for x in reasons), reasons
    with pf.smtp() as s:            # a fresh session gets 4xx for known and unknown users
        s.mail("probe@sender.test")
        for r in ("bob@example.org", "nobody@example.org", "team@example.org"):
            code, text = s.rcpt(r)
            assert 400 <= code < 500, (r, code, text)

    # 4. The database comes back: the sender is accepted again, then stops.
    sender.phase = "after"
    db.start()
    accepted_at_restart = len(sender.accepted)
    _wait(lambda: len(sender.accepted) >= accepted_at_restart + 5, 60,
          "mail not accepted after the database came back")
    sender.stop.set()
    sender.join(30)
    assert sender.error is None, sender.error
    for n in list(sender.pending):            # the client retries what got 4xx
        sender.pending.remove(n)
        sender.send(n)
    assert not sender.pending

    # 5. One flush delivers all of it, exactly once per final recipient.
    pf.flush()
    pf.wait_queue_empty(60)
    for s in world.sinks:
        s.wait_quiet(1.0, 30)
    five = [c for c in sender.codes if 500 <= c[2] < 600]
    assert not five, f"5xx answers: {five[:10]}"
    outage_codes = {c for p, _, c in sender.codes if p == "outage"}
    assert any(400 <= c < 500 for c in outage_codes), outage_codes
    delivered = [(f, r) for s in world.sinks for f, r in s.delivered()]
    assert len(delivered) == len(set(delivered)), "a message was delivered twice"
    got = {}
    for f, r in delivered:
        got.setdefault(f, set()).add(r)
    for e in early:
        assert got.pop(e, None) == set(final) | {"bob@example.org"}, e
    for n, ok in sender.accepted.items():
        want = set()
        for r in ok:
            want |= {r} if r.startswith("bob") else set(final)
        assert got.pop(f"m{n:04d}@probe.test", None) == want, n
    assert got == {}, f"unexpected deliveries: {sorted(got)[:5]}"
    assert not [tx for tx in relay.transactions() if tx.mail_from == ""], "a bounce was sent"
    assert not pf.log_lines(r"status=bounced"), pf.log_lines(r"status=bounced")[:3]
    assert pf.log_lines(r"(4\.3\.0|Temporary lookup failure)"), "the outage left no trace"


def _wait(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(what)
        time.sleep(0.1)
