"""Issue 7: the mxkit_training plugin with a real Dovecot (imaplib client), a
private MariaDB and a real rspamd + redis on loopback.

The steps build on each other (one mailbox, one rspamd), so they are one
ordered scenario in a module with shared fixtures."""
import datetime
import os
import pwd
import random
import signal
import time

import pytest

from conftest import build_dir
from harness.imapenv import TrainingImap
from harness.rspamd import Rspamd

USER = "alice@example.org"
WORDS = ("viagra cheap pharmacy discount offer winner lottery prize claim money bank transfer "
         "urgent account verify password click link unsubscribe free bonus casino crypto "
         "investment guaranteed returns limited time exclusive deal million dollars inheritance "
         "prince nigeria wire fees refund invoice shipment parcel delivery failed").split()


def spam_sample(n, tag):
    rnd = random.Random(f"{tag}-{n}")
    body = " ".join(rnd.choice(WORDS) for _ in range(120))
    return (f"From: promo{n}@spam.example\r\nTo: {USER}\r\nSubject: offer {tag} {n}\r\n"
            f"Message-ID: <{tag}-{n}-{rnd.getrandbits(64):x}@spam.example>\r\n"
            f"Date: Sun, 22 Nov 2026 06:00:00 +0000\r\n\r\n{body}\r\n").encode()


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="module")
def env(mariadb, tmp_path_factory):
    if not os.path.exists(os.path.join(build_dir(), "mxkit-train")):
        pytest.fail("mxkit-train not built")
    rs = Rspamd()
    try:
        rs.start(timeout=180)
        mariadb.sql("DELETE FROM training_events")
        imap = TrainingImap(build_dir(), mariadb, rspamd_port=rs.controller_port)
        imap.start()
        try:
            yield imap, rs
        finally:
            print(imap.dc.log()[-4000:])
            imap.cleanup()
    finally:
        rs.cleanup()


def fill(c, mailbox, samples):
    for s in samples:
        typ, _ = c.append(mailbox, None, None, s)
        assert typ == "OK"


def count(c, mailbox):
    typ, data = c.select(mailbox)
    assert typ == "OK"
    return int(data[0])


def by_state(events, **want):
    keys = {"class": 4, "source": 5, "dest": 6, "state": 7}
    return [e for e in events if all(e[keys[k]] == v for k, v in want.items())]


def test_scenario(env):
    imap, rs = env
    c = imap.login(USER)
    learned0 = rs.learned()

    # Appending to INBOX and COPYing within INBOX are not training events.
    fill(c, "INBOX", [spam_sample(i, "first") for i in range(20)])
    assert imap.events() == ()

    # 20 spam samples moved into Junk: 20 spam events, rspamd learned 20.
    assert count(c, "INBOX") == 20
    typ, _ = c.uid("MOVE", "1:*", "Junk")
    assert typ == "OK"
    wait_until(lambda: len(by_state(imap.events(), state="done")) == 20, 60, "20 done events")
    ev = imap.events()
    assert len(ev) == 20
    assert all(e[1] == USER and e[4] == "spam" and e[5] == "INBOX" and e[6] == "Junk" for e in ev)
    assert len({e[2] for e in ev}) == 20
    assert all(e[3].startswith("<first-") for e in ev)
    assert rs.learned() == learned0 + 20

    # One back to INBOX: trained as ham (a reclassification).
    assert count(c, "Junk") == 20
    typ, _ = c.uid("MOVE", "1", "INBOX")
    assert typ == "OK"
    wait_until(lambda: by_state(imap.events(), **{"class": "ham", "state": "done"}), 60, "ham event")
    ham = by_state(imap.events(), **{"class": "ham"})
    assert len(ham) == 1 and ham[0][5] == "Junk" and ham[0][6] == "INBOX"
    assert rs.learned() == learned0 + 21

    # The same message again: a message already trained as spam (the copy of
    # one in Junk) moved into Junk once more is recorded but not retrained.
    c.select("Junk")
    typ, _ = c.uid("COPY", "2", "Archive")      # copy out of Junk: no event
    assert typ == "OK"
    c.select("Archive")
    typ, _ = c.uid("MOVE", "1:*", "Junk")
    assert typ == "OK"
    wait_until(lambda: by_state(imap.events(), state="skipped"), 60, "skipped event")
    assert len(imap.events()) == 22
    skipped = by_state(imap.events(), state="skipped")
    assert len(skipped) == 1 and skipped[0][4] == "spam" and skipped[0][5] == "Archive"
    assert skipped[0][2] == by_state(imap.events(), state="done")[1][2]
    assert rs.learned() == learned0 + 21

    # To Trash: nothing.
    c.select("Junk")
    typ, _ = c.uid("MOVE", "3", "Trash")
    assert typ == "OK"
    time.sleep(1)
    assert len(imap.events()) == 22

    # rspamd stopped: a MOVE of 100 completes promptly and the events are pending.
    rs.stop_rspamd()
    c.select("INBOX")
    c.store("1:*", "+FLAGS", "\\Deleted")
    c.expunge()
    fill(c, "INBOX", [spam_sample(i, "outage") for i in range(100)])
    assert count(c, "INBOX") == 100
    t0 = time.monotonic()
    typ, _ = c.uid("MOVE", "1:*", "Junk")
    took = time.monotonic() - t0
    assert typ == "OK"
    assert took < 3.0, f"MOVE of 100 took {took:.2f}s"
    # (the plugin writes the events right after the command has answered)
    wait_until(lambda: len([e for e in imap.events() if e[3].startswith("<outage-")]) == 100,
               20, "100 recorded events")
    outage = [e for e in imap.events() if e[3].startswith("<outage-")]
    assert len(outage) == 100 and all(e[4] == "spam" and e[7] == "pending" for e in outage)
    # The trainer the plugin started has tried the first and given up this run.
    wait_until(lambda: [e for e in imap.events() if e[0] == outage[0][0] and e[8] >= 1], 30,
               "a failed attempt")
    outage = [e for e in imap.events() if e[3].startswith("<outage-")]
    assert all(e[7] == "pending" for e in outage)
    assert "connect" in outage[0][9]

    # rspamd back: the retry trains them all.
    rs.start_rspamd(timeout=180)
    r = imap.train_pending()
    assert r.returncode == 0, r.stderr
    outage = [e for e in imap.events() if e[3].startswith("<outage-")]
    assert all(e[7] == "done" for e in outage), [e for e in outage if e[7] != "done"][:3]
    assert rs.learned() == learned0 + 121
    c.logout()


def test_append_into_junk_is_spam(env):
    imap, rs = env
    c = imap.login(USER)
    before = len(imap.events())
    fill(c, "Junk", [spam_sample(1, "appended")])
    wait_until(lambda: len(imap.events()) == before + 1, 30, "append event")
    e = imap.events()[-1]
    assert e[4] == "spam" and e[5] == "" and e[6] == "Junk" and e[3].startswith("<appended-")
    wait_until(lambda: imap.events()[-1][7] == "done", 60, "append trained")
    c.logout()


def test_command_backend(mariadb, env):
    """backend = "command": the program gets the message on stdin and %u expanded,
    without a shell; exit 0 marks the event done, another status keeps it pending."""
    imap0, _ = env
    work = os.path.join(imap0.dc.dir, "cmd")
    os.makedirs(work, mode=0o777, exist_ok=True)
    os.chmod(work, 0o777)
    script = os.path.join(work, "learn")
    with open(script, "w") as f:
        f.write('#!/bin/sh\n[ -e "$(dirname "$0")/fail" ] && exit 3\n'
                'cat > "$(dirname "$0")/$1-$2.eml"\n')
    os.chmod(script, 0o755)
    extra = (f'backend = "command"; spam_command = ["{script}", "spam", "%u"];'
             f' ham_command = ["{script}", "ham", "%u"];')
    imap = TrainingImap(build_dir(), mariadb, users=("bob@example.org",), extra_training=extra)
    imap.start()
    try:
        c = imap.login("bob@example.org")
        open(os.path.join(work, "fail"), "w").close()
        fill(c, "Junk", [spam_sample(1, "cmd")])
        wait_until(lambda: [e for e in imap.events("bob@example.org") if e[8] >= 1], 30, "an attempt")
        e = imap.events("bob@example.org")[-1]
        assert e[7] == "pending" and "exit 3" in e[9]
        os.unlink(os.path.join(work, "fail"))
        r = imap.train_pending()
        assert r.returncode == 0, r.stderr
        e = imap.events("bob@example.org")[-1]
        assert e[7] == "done", e
        with open(os.path.join(work, "spam-bob@example.org.eml"), "rb") as f:
            assert f.read() == spam_sample(1, "cmd").replace(b"\r\n", b"\n")  # maildir keeps LF
        c.logout()
    finally:
        imap.cleanup()


def spool_records(imap):
    return [line for data in imap.spool_files().values() for line in data.split(b"\n") if line]


def test_mariadb_outage_spools(mariadb, env):
    """MariaDB stopped while the user moves 10 messages into Junk: the MOVE
    answers within 2 s and nothing is lost (the events go to the user's
    spool). MariaDB back: the next login replays the spool, all 10 events
    are recorded and trained once (rspamd's learned count +10). Replaying
    the same spool again (a crash between commit and removal) records the
    events again but trains none twice; a corrupted record is skipped with
    a log line naming file and line."""
    imap, rs = env
    c = imap.login(USER)
    if count(c, "INBOX") > 0:
        c.store("1:*", "+FLAGS", "\\Deleted")
        c.expunge()
    fill(c, "INBOX", [spam_sample(i, "dbdown") for i in range(10)])
    assert count(c, "INBOX") == 10
    learned0 = rs.learned()
    assert imap.spool_files() == {}
    mariadb.stop()
    try:
        moved_at = datetime.datetime.utcnow()
        t0 = time.monotonic()
        typ, _ = c.uid("MOVE", "1:*", "Junk")
        took = time.monotonic() - t0
        assert typ == "OK"
        print(f"MOVE of 10 with MariaDB down: {took:.3f}s")
        assert took < 2.0, f"MOVE of 10 with MariaDB down took {took:.2f}s"
        # The events were written after the answer; the next command is prompt too.
        t0 = time.monotonic()
        typ, _ = c.noop()
        assert typ == "OK" and time.monotonic() - t0 < 2.0
        wait_until(lambda: len(spool_records(imap)) == 10, 20, "10 spooled events")
        spooled = imap.spool_files()
        assert len(spooled) == 1
        name, data = next(iter(spooled.items()))
        assert name.endswith(".spool") and data.count(b"\n") == 10
        assert all(r.startswith(b"MXT1 ") and b" spam " in r for r in spool_records(imap))
        st = os.stat(os.path.join(imap.spool_dir, name))
        assert st.st_uid == pwd.getpwnam("nobody").pw_uid and st.st_mode & 0o777 == 0o600
        c.logout()
        time.sleep(1.5)  # so that the time of the move and of the replay differ
    finally:
        mariadb.start()

    def dbdown():
        return [e for e in imap.events() if e[3].startswith("<dbdown-")]

    # The next login sees the spool and starts the trainer, which replays it.
    c = imap.login(USER)
    wait_until(lambda: len(dbdown()) == 10 and all(e[7] == "done" for e in dbdown()), 60,
               "10 replayed events trained")
    ev = dbdown()
    assert all(e[1] == USER and e[4] == "spam" and e[5] == "INBOX" and e[6] == "Junk" for e in ev)
    assert len({e[2] for e in ev}) == 10
    assert rs.learned() == learned0 + 10
    assert imap.spool_files() == {}
    # created_at is the time of the move, kept through the spool.
    times = mariadb.sql("SELECT created_at, updated_at FROM training_events"
                        " WHERE message_id LIKE '<dbdown-%%'")
    assert len(times) == 10
    for created, updated in times:
        assert abs((created - moved_at).total_seconds()) < 1.5, (created, moved_at)
        assert updated - created > datetime.timedelta(seconds=1), (created, updated)
    r = imap.train_pending()
    assert r.returncode == 0, r.stderr
    assert len(dbdown()) == 10 and rs.learned() == learned0 + 10

    # The same records again, plus a corrupted one: recorded, skipped, not retrained.
    bad = data.split(b"\n")[0].replace(b" spam ", b" ham ") + b"\n"
    path = os.path.join(imap.spool_dir, name)
    with open(path, "wb") as f:
        f.write(data + bad + b"MXT1 truncated")
    r = imap.train_pending()
    assert r.returncode == 0, r.stderr
    assert f"{path}.replay:11: checksum mismatch" in r.stderr, r.stderr
    assert f"{path}.replay:12: truncated record" in r.stderr, r.stderr
    ev = dbdown()
    assert len(ev) == 20
    assert sorted(e[7] for e in ev) == ["done"] * 10 + ["skipped"] * 10
    assert rs.learned() == learned0 + 10
    assert imap.spool_files() == {}
    c.logout()


def test_mariadb_hung_spools(mariadb, env):
    """MariaDB hung (SIGSTOP: connections are accepted, never answered): a
    MOVE of 5 into Junk answers within 2 s, the plugin gives up on the
    database after its 2 s timeout and spools the events, so the next
    command waits a bounded time. MariaDB resumed: the next login replays
    the spool and rspamd learns the 5, once."""
    imap, rs = env
    c = imap.login(USER)
    if count(c, "INBOX") > 0:
        c.store("1:*", "+FLAGS", "\\Deleted")
        c.expunge()
    fill(c, "INBOX", [spam_sample(i, "dbhung") for i in range(5)])
    assert count(c, "INBOX") == 5
    learned0 = rs.learned()
    pid = mariadb.proc.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        typ, _ = c.uid("MOVE", "1:*", "Junk")
        took = time.monotonic() - t0
        assert typ == "OK"
        assert took < 2.0, f"MOVE of 5 with MariaDB hung took {took:.2f}s"
        t0 = time.monotonic()
        typ, _ = c.noop()
        waited = time.monotonic() - t0
        print(f"MOVE of 5 with MariaDB hung: {took:.3f}s, next command: {waited:.3f}s")
        assert typ == "OK" and waited < 6.0, f"the next command waited {waited:.2f}s"
        wait_until(lambda: len(spool_records(imap)) == 5, 20, "5 spooled events")
        c.logout()
    finally:
        os.kill(pid, signal.SIGCONT)

    def dbhung():
        return [e for e in imap.events() if e[3].startswith("<dbhung-")]

    c = imap.login(USER)
    wait_until(lambda: len(dbhung()) == 5 and all(e[7] == "done" for e in dbhung()), 60,
               "5 replayed events trained")
    assert rs.learned() == learned0 + 5
    assert imap.spool_files() == {}
    c.logout()
