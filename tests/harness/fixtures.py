"""A deterministic mail-data fixture (>= 1,000 addresses) and the probes that exercise it.

    fx = build(backend_transport=backend_sink.transport)   # fixed seed: same data every run
    load(mariadb, fx)                                       # plain SQL matching sql/schema.sql
    for p in fx.probes: p.address, p.category

Contents: several active domains, one disabled domain, one domain whose mail
goes to its own `transport`; active and disabled users; aliases to local
users, to remote addresses (domains that are not ours: remote.test,
elsewhere.test), to several destinations, alias chains (alias -> alias ->
user), aliases to disabled users, inactive alias rows, mailboxes that also
forward, catch-alls `@domain` in some domains and not in others.

Probes: the address forms a sender might use for every kind of entry:
exact, mixed case, plus-addressed (user+tag, alias+tag, unknown+tag, an
empty extension, two delimiters), unknown users in catch-all and plain
domains, everything in the disabled domain. Remote destinations are only
ever delivered to the test's relay sink.

MYSQL_QUERIES / mysql_table_cf: the reference queries for Postfix mysql:
tables, re-exported from harness.mapd (one definition).
"""
import random

SEED = 20261122
REMOTE_DOMAINS = ("remote.test", "elsewhere.test")
ACTIVE_DOMAINS = ("alpha.example", "bravo.example", "charlie.example", "delta.example",
                  "echo.example")
CATCHALL_DOMAINS = {"alpha.example": "local", "charlie.example": "multi"}
DISABLED_DOMAIN = "off.example"
TRANSPORT_DOMAIN = "backend.example"
USERS_PER_DOMAIN = 120
DISABLED_DOMAIN_USERS = 20
TRANSPORT_DOMAIN_USERS = 40
# A placeholder Dovecot-scheme hash: the fixture never stores a clear password.
PASSWORD_HASH = "{SHA512-CRYPT}$6$mxkitfixture$" + "x" * 86

from .mapd import MAPS, MYSQL_QUERIES, mysql_table_cf  # noqa: F401  (one definition)

_SYLLABLES = ("an", "bo", "ca", "de", "el", "fi", "ga", "ha", "io", "ju", "ka", "li", "mo",
              "nu", "or", "pe", "qu", "ra", "si", "to", "ul", "ve", "wa", "xe", "yo", "za")
_SEPARATORS = ("", "", "", ".", "-", "_")


class Probe:
    __slots__ = ("address", "category")

    def __init__(self, address, category):
        self.address = address
        self.category = category

    def __repr__(self):
        return f"Probe({self.address!r}, {self.category!r})"


class Fixture:
    def __init__(self):
        self.domains = []      # [(name, active, transport or None)]
        self.users = []        # [(address, active)]
        self.aliases = []      # [(source, destination, active)]
        self.probes = []       # [Probe]

    def addresses(self):
        """Every distinct address the fixture defines (users and alias sources)."""
        return {u for u, _ in self.users} | {s for s, _, _ in self.aliases}


class _Names:
    """Unique, deterministic local parts."""

    def __init__(self, rng):
        self.rng = rng
        self.used = set()

    def local(self):
        for _ in range(1000):
            n = self.rng.randint(2, 4)
            parts = [self.rng.choice(_SYLLABLES) for _ in range(n)]
            sep = self.rng.choice(_SEPARATORS)
            name = parts[0] + sep + "".join(parts[1:])
            if self.rng.random() < 0.15:
                name += str(self.rng.randint(1, 99))
            if name not in self.used:
                self.used.add(name)
                return name
        raise RuntimeError("name space exhausted")


def _mixed_case(rng, address):
    out = "".join(c.upper() if c.isalpha() and rng.random() < 0.5 else c for c in address)
    return out if out != address else address[0].upper() + address[1:]


def _tag(rng):
    return rng.choice(("news", "shop", "x", "2026", "a.b", "folder-1"))


def build(seed=SEED, backend_transport="lmtp:inet:127.0.0.1:24"):
    """The fixture. backend_transport: the transport(5) value of TRANSPORT_DOMAIN."""
    rng = random.Random(seed)
    names = _Names(rng)
    fx = Fixture()
    add_probe = lambda a, c: fx.probes.append(Probe(a, c))  # noqa: E731

    for d in ACTIVE_DOMAINS:
        fx.domains.append((d, 1, None))
    fx.domains.append((DISABLED_DOMAIN, 0, None))
    fx.domains.append((TRANSPORT_DOMAIN, 1, backend_transport))

    users = {}      # domain -> [(address, active)]
    for d, _, _ in fx.domains:
        count = (DISABLED_DOMAIN_USERS if d == DISABLED_DOMAIN else
                 TRANSPORT_DOMAIN_USERS if d == TRANSPORT_DOMAIN else USERS_PER_DOMAIN)
        users[d] = []
        for i in range(count):
            local = names.local()
            if i < 2 and d in ACTIVE_DOMAINS:
                local = f"{local}+{rng.choice(('owner', 'list'))}"   # a stored '+' address
            active = 0 if rng.random() < 0.1 else 1
            users[d].append((f"{local}@{d}", active))
        fx.users += users[d]

    def active_user(d):
        return rng.choice([u for u, a in users[d] if a])

    def disabled_user(d):
        return rng.choice([u for u, a in users[d] if not a] or [u for u, _ in users[d]])

    def remote():
        return f"{names.local()}@{rng.choice(REMOTE_DOMAINS)}"

    alias_sources = {}   # source -> category
    for d in ACTIVE_DOMAINS + (DISABLED_DOMAIN, TRANSPORT_DOMAIN):
        small = d in (DISABLED_DOMAIN, TRANSPORT_DOMAIN)
        plan = [("alias-local", 4 if small else 30), ("alias-remote", 2 if small else 15),
                ("alias-multi", 2 if small else 10), ("alias-chain", 1 if small else 8),
                ("alias-cross-domain", 0 if small else 6), ("alias-to-disabled", 0 if small else 3),
                ("alias-inactive", 0 if small else 3), ("alias-to-tagged", 0 if small else 3),
                ("alias-to-backend", 0 if small else 3), ("mailbox-forward", 0 if small else 5)]
        for category, count in plan:
            for _ in range(count):
                src = f"{names.local()}@{d}"
                active = 1
                if category == "alias-local":
                    dests = [active_user(d)]
                elif category == "alias-remote":
                    dests = [remote()]
                elif category == "alias-multi":
                    dests = [active_user(d), remote()] + [
                        active_user(rng.choice(ACTIVE_DOMAINS)) for _ in range(rng.randint(0, 2))]
                elif category == "alias-chain":
                    mid = f"{names.local()}@{d}"
                    fx.aliases.append((mid, active_user(d), 1))
                    alias_sources[mid] = "alias-chain-middle"
                    dests = [mid]
                elif category == "alias-cross-domain":
                    dests = [active_user(rng.choice([x for x in ACTIVE_DOMAINS if x != d]))]
                elif category == "alias-to-disabled":
                    dests = [disabled_user(d)]
                elif category == "alias-inactive":
                    dests = [active_user(d)]
                    active = 0
                elif category == "alias-to-tagged":
                    u = active_user(d)
                    dests = [u.replace("@", f"+{_tag(rng)}@", 1)]
                elif category == "alias-to-backend":
                    dests = [active_user(TRANSPORT_DOMAIN)]
                else:   # mailbox-forward: an active mailbox that also forwards a copy
                    src = active_user(d)
                    if src in alias_sources:
                        continue
                    dests = [remote()]
                for dest in dict.fromkeys(dests):
                    fx.aliases.append((src, dest, active))
                alias_sources[src] = category

    for d, kind in list(CATCHALL_DOMAINS.items()) + [(DISABLED_DOMAIN, "local")]:
        dests = [active_user(d)] if kind == "local" else [active_user(d), remote()]
        for dest in dests:
            fx.aliases.append((f"@{d}", dest, 1))

    # -- probes -----------------------------------------------------------
    for src, category in alias_sources.items():
        add_probe(src, category)
        r = rng.random()
        if r < 0.35:
            add_probe(src.replace("@", f"+{_tag(rng)}@", 1), f"{category}+tag")
        elif r < 0.55:
            add_probe(_mixed_case(rng, src), f"{category}-mixedcase")
    for d, _, _ in fx.domains:
        where = ("disabled-domain" if d == DISABLED_DOMAIN else
                 "backend-domain" if d == TRANSPORT_DOMAIN else
                 "catchall-domain" if d in CATCHALL_DOMAINS else "plain-domain")
        for addr, active in users[d]:
            kind = "user" if active else "user-disabled"
            add_probe(addr, f"{kind}/{where}")
            r = rng.random()
            if r < 0.25:
                add_probe(_mixed_case(rng, addr), f"{kind}-mixedcase/{where}")
            elif r < 0.5:
                add_probe(addr.replace("@", f"+{_tag(rng)}@", 1), f"{kind}+tag/{where}")
            elif r < 0.55:
                add_probe(_mixed_case(rng, addr.replace("@", f"+{_tag(rng)}@", 1)),
                          f"{kind}+tag-mixedcase/{where}")
        for i in range(8):
            unknown = f"nobody{i}{names.local()}@{d}"
            add_probe(unknown, f"unknown/{where}")
            add_probe(unknown.replace("@", f"+{_tag(rng)}@", 1), f"unknown+tag/{where}")
        add_probe(f"NoBody{names.local()}@{d.upper()}", f"unknown-mixedcase/{where}")
        u = active_user(d) if d != DISABLED_DOMAIN else users[d][0][0]
        add_probe(u.replace("@", "+@", 1), f"user+empty-ext/{where}")
        add_probe(u.replace("@", "+a+b@", 1), f"user+two-delims/{where}")
        add_probe(f"+{_tag(rng)}@{d}", f"only-ext/{where}")
    for dom in REMOTE_DOMAINS:
        add_probe(f"someone@{dom}", "remote-domain")
    # de-duplicate probes (same address text) keeping the first category
    seen = set()
    fx.probes = [p for p in fx.probes if not (p.address in seen or seen.add(p.address))]
    return fx


def load(db, fx):
    """Insert the fixture with plain SQL (the layout of sql/schema.sql)."""
    conn = db.root(db.name)
    try:
        with conn.cursor() as cur:
            cur.execute("DELETE FROM aliases")
            cur.execute("DELETE FROM users")
            cur.execute("DELETE FROM domains")
            cur.executemany("INSERT INTO domains (name, active, transport) VALUES (%s, %s, %s)",
                            fx.domains)
            cur.execute("SELECT name, id FROM domains")
            ids = dict(cur.fetchall())
            cur.executemany(
                "INSERT INTO users (domain_id, address, password, active) VALUES (%s, %s, %s, %s)",
                [(ids[a.split("@", 1)[1]], a, PASSWORD_HASH, act) for a, act in fx.users])
            cur.executemany(
                "INSERT INTO aliases (domain_id, source, destination, active) "
                "VALUES (%s, %s, %s, %s)",
                [(ids[s.split("@", 1)[1]], s, dst, act) for s, dst, act in fx.aliases])
    finally:
        conn.close()
