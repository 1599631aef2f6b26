"""Issue 2's oracle: Postfix behaves the same with mxkit-mapd as with mysql: tables.

Two private Postfix instances share one private MariaDB holding the fixture
(harness.fixtures, >= 1,000 addresses). Instance A uses mysql: tables with the
reference queries; instance B uses socketmap: tables served by a running
mxkit-mapd. Both have recipient_delimiter=+, reject_unlisted_recipient,
virtual_transport = LMTP to the mailbox sink, relayhost = the relay sink, and
the fixture's transport domain points at a third (backend) sink.

For every probe address each instance gets one transaction (one SMTP session
per instance): the RCPT replies must match (code and enhanced status code),
and after delivery the final recipients at the sinks (including bounces back
to the probe's sender) must match too.

smtpd_sender_login_maps goes through smtpd too: both instances do SMTP AUTH
against a private Dovecot (passwd-file with the fixture's active users) and
enforce reject_sender_login_mismatch. Every probe is tried as MAIL FROM
unauthenticated (rejected iff the address has an owner) and, for a sample of
logins, authenticated as each owner and as non-owners; replies must match.
The table-level comparison (the mysql: table with the partial keys Postfix
tries -- full address, address without extension, @domain -- against mapd
with the whole key) is kept too, since it compares the owner lists exactly.
"""
import random
import collections

import pytest

from harness import fixtures
from harness.postfix import Postfix
from harness.probes import outcomes, reply_class, send_probes, settle
from harness.mailenv import MailEnv


@pytest.fixture(scope="module")
def world():
    env = MailEnv("eq")
    try:
        env.start_db()
        env.start_sinks()
        fx = fixtures.build(backend_transport=env.backend.transport)
        fixtures.load(env.db, fx)
        # One mailbox refuses delivery at the store, so some probes bounce.
        refused = next(u for u, a in fx.users if a and u.endswith("@bravo.example") and "+" not in u)
        env.mbox.set_rcpt_reply(refused, 550, "5.2.1 Mailbox disabled (test)")
        env.start_mapd()
        env.logins = {u: f"pw-{i}" for i, (u, a) in enumerate(fx.users) if a}
        env.start_sasl(env.logins)
        env.pf_a = env.postfix("eqa", env.mysql_maps(), extra=env.sasl_settings())
        env.pf_b = env.postfix("eqb", env.socketmap_maps(), extra=env.sasl_settings())
        env.fx = fx
        yield env
    finally:
        env.cleanup()


def test_fixture_size(world):
    fx = world.fx
    assert len(fx.addresses()) >= 1000
    cats = {p.category.split("/")[0] for p in fx.probes}
    for needed in ("user", "user-disabled", "user+tag", "user-mixedcase", "alias-local",
                   "alias-remote", "alias-multi", "alias-chain", "alias-local+tag",
                   "unknown", "unknown+tag", "mailbox-forward"):
        assert needed in cats, needed
    where = {p.category.split("/")[1] for p in fx.probes if "/" in p.category}
    assert where == {"catchall-domain", "plain-domain", "disabled-domain", "backend-domain"}


def test_rcpt_replies_and_final_recipients_match(world):
    probes = world.fx.probes
    addrs = [p.address for p in probes]
    replies = {"a": send_probes(world.pf_a, "a", addrs), "b": send_probes(world.pf_b, "b", addrs)}
    settle([world.pf_a, world.pf_b], world.sinks, timeout=150)
    final = {i: outcomes(world.sinks, i) for i in ("a", "b")}
    queued = {i: _queued(pf) for i, pf in (("a", world.pf_a), ("b", world.pf_b))}

    mismatches = []
    summary = collections.defaultdict(collections.Counter)
    for idx, p in enumerate(probes):
        ra = reply_class(*replies["a"][idx])
        rb = reply_class(*replies["b"][idx])
        fa, fb = final["a"].get(idx, frozenset()), final["b"].get(idx, frozenset())
        qa, qb = queued["a"].get(idx, 0), queued["b"].get(idx, 0)
        cat = p.category
        summary[cat][_describe(ra, fa)] += 1
        if ra != rb or fa != fb or qa != qb:
            mismatches.append(f"{p.address} [{cat}]: A {replies['a'][idx]} -> {sorted(fa)} "
                              f"(deferred {qa}); B {replies['b'][idx]} -> {sorted(fb)} "
                              f"(deferred {qb})")
    print(f"\n{len(probes)} probes, {len(mismatches)} mismatches; outcomes per category:")
    for cat in sorted(summary):
        print(f"  {cat:45s} " + ", ".join(f"{k}: {v}" for k, v in sorted(summary[cat].items())))
    assert not mismatches, f"{len(mismatches)} differences:\n" + "\n".join(mismatches[:40])
    # The probes did reach every kind of outcome (the comparison is not vacuous).
    kinds = collections.Counter(_describe(reply_class(*replies["a"][i]),
                                          final["a"].get(i, frozenset()))
                                for i in range(len(probes)))
    for k in ("550 5.1.1", "554 5.7.1", "mbox", "relay", "backend", "bounce", "mbox+relay"):
        assert any(k in desc for desc in kinds), (k, kinds)
    assert not queued["a"] and not queued["b"], "mail left deferred"
    for pf in (world.pf_a, world.pf_b):
        assert not pf.log_lines(r"(fatal|panic):"), pf.log_lines(r"(fatal|panic):")[:5]


def _queued(pf):
    out = collections.Counter()
    for m in pf.queue():
        s = m["sender"]
        if s.startswith("p") and "-" in s:
            out[int(s[1:s.index("-")])] += len(m["recipients"])
    return out


def _describe(reply, final):
    code, enh = reply
    if code != 250:
        return f"{code} {enh}"
    kinds = sorted({"bounce" if s == "bounce" else s for s, _ in final}) or ["nothing"]
    return "+".join(kinds)


def test_sender_login_table_matches_mysql(world):
    """mapd's sender_login (whole key) == the mysql: table with Postfix's own fallbacks."""
    pf = world.pf_a
    keys = sorted({p.address.lower() for p in world.fx.probes})
    full = [k for k in keys]
    bare = sorted({_strip_ext(k) for k in keys} - set(full))
    catch = sorted({"@" + k.split("@", 1)[1] for k in keys})
    mysql = pf.postmap_query("mysql:" + world.map_cf["sender_login"], full + bare + catch)
    mapd = pf.postmap_query(world.socketmap("sender_login"), [p.address for p in world.fx.probes])
    differences = []
    found = 0
    for p in world.fx.probes:
        k = p.address.lower()
        expect = mysql.get(k) or mysql.get(_strip_ext(k)) or mysql.get("@" + k.split("@", 1)[1])
        got = mapd.get(p.address)
        found += expect is not None
        # Postfix checks membership of the login in the list: compare as sets
        # (the reference query has no ORDER BY; mapd sorts).
        if _owners(expect) != _owners(got):
            differences.append(f"{p.address} [{p.category}]: mysql {expect!r} mapd {got!r}")
    print(f"\nsender_login: {len(world.fx.probes)} probes, {found} with owners")
    assert found > 300
    assert not differences, "\n".join(differences[:40])


def _owners(value):
    return None if value is None else frozenset(value.split(","))


def _strip_ext(addr):
    local, _, dom = addr.rpartition("@")
    if "+" in local and not local.startswith("+"):
        local = local.split("+", 1)[0]
    return f"{local}@{dom}"


def _sender_checks(pf, pairs, valid_rcpt, logins):
    """For [(login or None, sender)]: MAIL FROM + RCPT in one session per login;
    returns {(login, sender): reply class of the RCPT (or MAIL) reply}."""
    out = {}
    by_login = collections.defaultdict(list)
    for login, sender in pairs:
        by_login[login].append(sender)
    for login, senders in by_login.items():
        s = pf.smtp()
        try:
            if login is not None:
                s.login(login, logins[login])
            for sender in senders:
                code, text = s.mail(sender)
                if code == 250:
                    code, text = s.rcpt(valid_rcpt)
                out[(login, sender)] = reply_class(code, text.decode("utf-8", "replace"))
                s.rset()
            s.quit()
        finally:
            s.close()
    return out


def test_sender_login_through_smtpd_matches(world):
    """reject_sender_login_mismatch gives the same answers with mysql: and mapd."""
    probes = [p.address for p in world.fx.probes]
    valid_rcpt = next(u for u in world.logins if u.endswith("@alpha.example"))
    owners = world.pf_a.postmap_query("mysql:" + world.map_cf["sender_login"],
                                      sorted({p.lower() for p in probes}))
    rng = random.Random(7)
    sample = rng.sample(sorted(world.logins), 60)
    pairs = [(None, p) for p in probes]
    for login in sample:
        owned = [p for p in probes if login in (_owners(owners.get(p.lower())) or ())]
        owned += [p for p in probes if p.lower().startswith(login.split("@")[0] + "+")]
        pairs += [(login, p) for p in dict.fromkeys(owned + rng.sample(probes, 5))]
    got = {i: _sender_checks(pf, pairs, valid_rcpt, world.logins)
           for i, pf in (("a", world.pf_a), ("b", world.pf_b))}
    diffs = [f"login {k[0]} MAIL FROM {k[1]}: A {got['a'][k]} B {got['b'][k]}"
             for k in got["a"] if got["a"][k] != got["b"][k]]
    kinds = collections.Counter((k[0] is not None, v) for k, v in got["a"].items())
    print(f"\nsender_login through smtpd: {len(pairs)} checks, {len(diffs)} differences; "
          f"(authenticated, reply): {dict(kinds)}")
    assert not diffs, "\n".join(diffs[:40])
    # Not vacuous: owned and unowned senders, with and without login, were all seen.
    assert kinds[(False, (553, "5.7.1"))] > 100 and kinds[(False, (250, "2.1.5"))] > 100
    assert kinds[(True, (250, "2.1.5"))] > 50 and kinds[(True, (553, "5.7.1"))] > 50
