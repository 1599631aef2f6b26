/* mx_srs.c: SRS forward and reverse rewriting (see mx_srs.h for the
 * format); the context they run with is set up in mx_srs_context.c.
 *
 * Addresses are split with lib/mx_address; the SRS fields are parsed
 * from the internal form of the local part into spans of the caller's
 * or a stack buffer; nothing is allocated per address. */
#include "mxkit-config.h"

#include <string.h>

#include "mx_srs_private.h"

#define SRS_TAG_LEN 4            /* "SRS0", "SRS1" */
#define SRS_FIELD_SEP '='
#define SRS_INTERNAL_MAX (sizeof(((struct mx_address *)0)->local) - 1)
/* An SRS local part we build before knowing whether it fits: tag, hash,
 * stamp, separators, a domain and an external local part. */
#define SRS_BUILD_MAX (SRS_TAG_LEN + 1 + MX_SRS_HASH_LENGTH_MAX + 1 + SRS_STAMP_LEN + 1 + \
		       MX_DOMAIN_MAX + 1 + 2 * SRS_INTERNAL_MAX + 2)
/* Parse buffer for "local@x": an external local part and a dummy domain. */
#define SRS_PROBE_MAX (2 * SRS_INTERNAL_MAX + 2 + 2 + 1)

/* ---- address helpers -------------------------------------------------- */

/* Parse "local@x" where local is an external-form local part. */
static int probe_local(const char *local, size_t len, struct mx_address *a, struct mx_err *err)
{
	char probe[SRS_PROBE_MAX];

	if (len + 3 > sizeof(probe))
		return mx_err_set(err, "local part is longer than %zu octets", sizeof(probe) - 3);
	memcpy(probe, local, len);
	memcpy(probe + len, "@x", 2);
	return mx_address_parse(probe, len + 2, MX_ADDR_UTF8 | MX_ADDR_NO_LIMITS, a, err);
}

/* True for a plain ASCII dot-string (RFC 5321 atext and single inner
 * dots): the common case, which never needs quotes. */
static bool plain_dot_string(const char *s, size_t len)
{
	static const char atext_specials[] = "!#$%&'*+-/=?^_`{|}~";

	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			continue;
		if (c == '.' ? s[i - 1] == '.' : c == '\0' || strchr(atext_specials, c) == NULL)
			return false;
	}
	return true;
}

/* True if the internal-form local part must be quoted on the wire. */
static bool local_needs_quotes(const char *local, size_t len)
{
	struct mx_address a;

	if (plain_dot_string(local, len))
		return false;
	return probe_local(local, len, &a, NULL) < 0 || a.quoted || a.local_len != len;
}

/* Write local (internal form) "@" domain in external form into out.
 * *ext_local_r is the length of the local part as written. */
static enum mx_result address_write(const char *local, size_t llen, const char *domain,
				    size_t dlen, char *out, size_t size,
				    size_t *ext_local_r, struct mx_err *err)
{
	struct mx_address a;
	int n;

	if (llen > SRS_INTERNAL_MAX || dlen > MX_DOMAIN_MAX)
		return srs_fail(MX_PERM, err, "rewritten address is too long");
	memset(&a, 0, sizeof(a));
	memcpy(a.local, local, llen);
	a.local_len = llen;
	memcpy(a.domain, domain, dlen);
	a.domain_len = dlen;
	a.quoted = local_needs_quotes(local, llen);
	n = mx_address_format(&a, out, size);
	if (n < 0)
		return srs_fail(MX_PERM, err, "rewritten address does not fit in %zu bytes", size);
	if (ext_local_r != NULL)
		*ext_local_r = (size_t)n - 1 - dlen;
	return MX_FOUND;
}

/* A reverse result must be a valid address: never hand on garbage. */
static bool result_valid(const char *addr)
{
	struct mx_address a;

	return mx_address_parse(addr, strlen(addr), MX_ADDR_UTF8 | MX_ADDR_NO_LIMITS, &a, NULL) == 0;
}

static enum mx_result copy_out(const char *s, size_t len, char *out, size_t size,
			       struct mx_err *err)
{
	if (len + 1 > size)
		return srs_fail(MX_PERM, err, "rewritten address does not fit in %zu bytes", size);
	memcpy(out, s, len);
	out[len] = '\0';
	return MX_FOUND;
}

/* ---- SRS local parts --------------------------------------------------- */

struct srs_fields {
	char kind;               /* '0' or '1' */
	struct srs_span hash;
	struct srs_span stamp;   /* SRS0 only */
	unsigned day;            /* the stamp decoded */
	struct srs_span host;
	struct srs_span user;
};

/* "SRS0" or "SRS1" (any case) followed by one of the separators. */
static char srs_kind(const char *l, size_t n)
{
	/* c | 0x20 is 's' only for 'S' and 's', 'r' only for 'R' and 'r'. */
	if (n < SRS_TAG_LEN + 1 || (l[0] | 0x20) != 's' || (l[1] | 0x20) != 'r' || (l[2] | 0x20) != 's' ||
	    (l[3] != '0' && l[3] != '1') || l[4] == '\0' || strchr(SRS_SEPARATORS, l[4]) == NULL)
		return '\0';
	return l[3];
}

/* Split an internal SRS local part into its '='-separated fields (the
 * last takes the rest); -1 names the first field missing or empty. */
static int split_fields(const char *l, size_t n, const char *kind, const char *const *names,
			struct srs_span *const *fields, size_t count, struct mx_err *err)
{
	size_t pos = SRS_TAG_LEN + 1;

	for (size_t i = 0; i < count; i++) {
		const char *eq = i + 1 < count ? memchr(l + pos, SRS_FIELD_SEP, n - pos) : NULL;
		size_t stop = eq != NULL ? (size_t)(eq - l) : n;
		if (i + 1 < count && eq == NULL)
			return mx_err_set(err, "%s address has no %s", kind,
					  pos < n ? names[i + 1] : names[i]);
		if (stop == pos)
			return mx_err_set(err, "%s address has an empty %s", kind, names[i]);
		fields[i]->p = l + pos;
		fields[i]->len = stop - pos;
		pos = stop + 1;
	}
	return 0;
}

/* Split an internal SRS local part into its fields and check the
 * syntax of the timestamp; -1 names what is wrong. */
static int srs_split(const char *l, size_t n, struct srs_fields *f, struct mx_err *err)
{
	static const char *const names0[] = { "hash", "timestamp", "domain", "local part" };
	static const char *const names1[] = { "hash", "first-hop domain", "SRS0 part" };

	memset(f, 0, sizeof(*f));
	f->kind = srs_kind(l, n);
	if (f->kind == '0') {
		struct srs_span *const fields[] = { &f->hash, &f->stamp, &f->host, &f->user };
		if (split_fields(l, n, "SRS0", names0, fields, 4, err) < 0)
			return -1;
		return srs_stamp_decode(f->stamp, &f->day, err);
	}
	struct srs_span *const fields[] = { &f->hash, &f->host, &f->user };
	return split_fields(l, n, "SRS1", names1, fields, 3, err);
}

/* Check hash (and, for SRS0, the timestamp) of split fields. */
static enum mx_result srs_verify(const struct mx_srs *srs, const struct srs_fields *f,
				 struct mx_err *err)
{
	enum mx_result r;

	if (f->kind == '1') {
		const struct srs_span data[] = { f->host, f->user };
		return srs_hash_check(srs, f->hash, data, 2, err);
	}
	const struct srs_span data[] = { f->stamp, f->host, f->user };
	r = srs_hash_check(srs, f->hash, data, 3, err);
	if (r != MX_FOUND)
		return r;
	return srs_stamp_check(srs, f->day, srs->now(srs->now_ctx), err);
}

/* Append to a bounded build buffer. */
struct build {
	char buf[SRS_BUILD_MAX];
	size_t len;
};

static void build_add(struct build *b, const char *s, size_t n)
{
	if (n > sizeof(b->buf) - b->len)
		n = sizeof(b->buf) - b->len;  /* cannot happen: SRS_BUILD_MAX covers every field */
	memcpy(b->buf + b->len, s, n);
	b->len += n;
}

static void build_char(struct build *b, char c)
{
	build_add(b, &c, 1);
}

/* The first forwarder's SRS0 address an SRS1 reverses to; PERM when it
 * would not be a valid address. */
static enum mx_result srs1_target(const struct srs_fields *f, char *out, size_t size,
				  struct mx_err *err)
{
	char srs0[SRS_INTERNAL_MAX + 1];
	enum mx_result r;

	if (SRS_TAG_LEN + f->user.len > SRS_INTERNAL_MAX)
		return srs_fail(MX_PERM, err, "SRS1 address is too long");
	memcpy(srs0, "SRS0", SRS_TAG_LEN);
	memcpy(srs0 + SRS_TAG_LEN, f->user.p, f->user.len);
	r = address_write(srs0, SRS_TAG_LEN + f->user.len, f->host.p, f->host.len, out, size,
			  NULL, err);
	if (r == MX_FOUND && !result_valid(out))
		return srs_fail(MX_PERM, err, "SRS1 address does not decode to a valid address");
	return r;
}

/* ---- forward -------------------------------------------------------------- */

/* SRS0 with the day stamp of now, or SRS1 (stamp.len == 0), of host and
 * user, into b. */
static enum mx_result srs_compose(const struct mx_srs *srs, char kind, struct srs_span stamp,
				  struct srs_span host, struct srs_span user,
				  struct build *b, struct mx_err *err)
{
	char hash[MX_SRS_HASH_LENGTH_MAX + 1];
	enum mx_result r;

	if (kind == '0') {
		const struct srs_span data[] = { stamp, host, user };
		r = srs_hash_make(srs, data, 3, hash, err);
	} else {
		const struct srs_span data[] = { host, user };
		r = srs_hash_make(srs, data, 2, hash, err);
	}
	if (r != MX_FOUND)
		return r;
	b->len = 0;
	build_add(b, kind == '0' ? "SRS0" : "SRS1", SRS_TAG_LEN);
	build_char(b, srs->separator);
	build_add(b, hash, srs->hash_length);
	build_char(b, SRS_FIELD_SEP);
	if (kind == '0') {
		build_add(b, stamp.p, stamp.len);
		build_char(b, SRS_FIELD_SEP);
	}
	build_add(b, host.p, host.len);
	build_char(b, SRS_FIELD_SEP);
	build_add(b, user.p, user.len);
	return MX_FOUND;
}

/* True if host and user are those of a keyed address ("1" and a key). */
static bool is_key(struct srs_span host, struct srs_span user)
{
	if (host.len != 1 || host.p[0] != MX_SRS_KEY_HOST[0] || user.len != MX_SRS_KEY_LEN)
		return false;
	for (size_t i = 0; i < user.len; i++) {
		char c = user.p[i];
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'V') || (c >= 'a' && c <= 'v')))
			return false;
	}
	return true;
}

/* Keep a too-long sender in the store and write SRS0 of its key. */
static enum mx_result forward_keyed(const struct mx_srs *srs, const struct mx_srs_store *store,
				    const char *sender, struct srs_span stamp, char *out,
				    size_t size, struct mx_err *err)
{
	char key[MX_SRS_KEY_LEN + 1];
	struct build b;
	size_t ext_len;
	enum mx_result r;
	time_t now = srs->now(srs->now_ctx);

	if (store == NULL)
		return srs_fail(MX_PERM, err, "SRS address would exceed %d octets of local part and no "
				 "database is configured for long senders", MX_LOCAL_MAX);
	r = srs_key_make(sender, strlen(sender), key, err);
	if (r != MX_FOUND)
		return r;
	r = store->store(store->ctx, key, sender,
			      now + (time_t)srs->max_age_days * SRS_DAY + SRS_DAY, err);
	if (r != MX_FOUND)
		return MX_TEMP;  /* the store decides nothing permanent: try again later */
	r = srs_compose(srs, '0', stamp, (struct srs_span){ MX_SRS_KEY_HOST, 1 },
			(struct srs_span){ key, MX_SRS_KEY_LEN }, &b, err);
	if (r != MX_FOUND)
		return r;
	r = address_write(b.buf, b.len, srs->domain, srs->domain_len, out, size, &ext_len, err);
	if (r == MX_FOUND && ext_len > MX_LOCAL_MAX)
		return srs_fail(MX_PERM, err, "keyed SRS address exceeds %d octets of local part", MX_LOCAL_MAX);
	return r;
}

static enum mx_result forward(const struct mx_srs *srs, const struct mx_srs_store *store,
			      const char *sender, size_t len, char *out, size_t size,
			      struct mx_err *err)
{
	struct mx_address a, lower;
	char ext[MX_SRS_ADDRESS_SIZE], first_hop[MX_SRS_ADDRESS_SIZE];
	char stamp_buf[SRS_STAMP_LEN + 1];
	struct srs_span stamp = { stamp_buf, SRS_STAMP_LEN };
	struct srs_span host, user;
	struct srs_fields f;
	struct build b;
	size_t ext_local, srs_local;
	int n;
	enum mx_result r;
	char kind;

	if (size == 0)
		return srs_fail(MX_PERM, err, "no room for the rewritten address");
	if (len == 0)
		return srs_fail(MX_PERM, err, "the null sender is never rewritten");
	if (mx_address_parse(sender, len, MX_ADDR_UTF8 | MX_ADDR_NO_LIMITS, &a, err) < 0) {
		(void)mx_err_prefix(err, "sender: ");
		return MX_PERM;
	}
	lower = a;
	mx_address_lowercase(&lower);
	if (!srs->always_rewrite && lower.domain_len == srs->domain_len &&
	    memcmp(lower.domain, srs->domain_lower, srs->domain_len) == 0)
		return srs_fail(MX_NOTFOUND, err, "sender is in the SRS domain: not rewritten");
	kind = srs_kind(a.local, a.local_len);
	/* Like PostSRSd: an address we signed ourselves is not wrapped again. */
	if (kind != '\0' && srs_split(a.local, a.local_len, &f, NULL) == 0 &&
	    srs_verify(srs, &f, NULL) == MX_FOUND)
		return srs_fail(MX_NOTFOUND, err, "sender is already a valid SRS address of ours: not rewritten");
	n = mx_address_format(&a, ext, sizeof(ext));
	if (n < 0)
		return srs_fail(MX_PERM, err, "sender does not fit in %zu bytes", sizeof(ext));
	ext_local = (size_t)n - 1 - a.domain_len;
	srs_stamp_make(srs->now(srs->now_ctx), stamp_buf);

	if (kind == '1' && srs_split(a.local, a.local_len, &f, NULL) == 0 &&
	    srs1_target(&f, first_hop, sizeof(first_hop), NULL) == MX_FOUND) {
		/* Another forwarder's SRS1: keep its first hop, sign again.
		 * One that would not reverse to a valid address is wrapped
		 * as a plain sender instead. */
		host = f.host;
		user = f.user;
	} else if (kind == '0') {
		/* Another forwarder's SRS0: it becomes the first hop. */
		host = (struct srs_span){ a.domain, a.domain_len };
		user = (struct srs_span){ a.local + SRS_TAG_LEN, a.local_len - SRS_TAG_LEN };
		kind = '1';
	} else {
		/* A plain sender (or a malformed SRS1, which PostSRSd refuses). */
		host = (struct srs_span){ a.domain, a.domain_len };
		user = (struct srs_span){ ext, ext_local };
		kind = '0';
	}
	/* A sender that looks like a key ("KEY@1") must not reverse to what
	 * the store holds under KEY: it goes through the store itself. */
	if (kind == '0' && is_key(host, user))
		return forward_keyed(srs, store, ext, stamp, out, size, err);
	r = srs_compose(srs, kind, stamp, host, user, &b, err);
	if (r != MX_FOUND)
		return r;
	if (b.len <= SRS_INTERNAL_MAX) {
		r = address_write(b.buf, b.len, srs->domain, srs->domain_len, out, size,
				  &srs_local, err);
		if (r != MX_FOUND || srs_local <= MX_LOCAL_MAX)
			return r;
	}
	return forward_keyed(srs, store, ext, stamp, out, size, err);
}

/* ---- reverse -------------------------------------------------------------- */

/* The internal form of the local part of addr into local; returns its
 * length, 0 when addr cannot hold an SRS local part, or -1 (err). */
static long reverse_local(const char *addr, size_t len, char *local, size_t size,
			  struct mx_err *err)
{
	struct mx_address a;
	size_t at = len;

	while (at > 0 && addr[at - 1] != '@')
		at--;
	at = at > 0 ? at - 1 : len;  /* a bare local part is looked up too */
	if (at == 0)
		return 0;
	if (addr[0] == '"') {
		if (probe_local(addr, at, &a, NULL) < 0 || a.local_len + 1 > size)
			return 0;
		memcpy(local, a.local, a.local_len);
		return (long)a.local_len;
	}
	if (srs_kind(addr, at) == '\0')
		return 0;
	/* As PostSRSd, take an unquoted SRS local part as it is, even when
	 * it is no dot-string (its own outputs for quoted senders are not). */
	for (size_t i = 0; i < at; i++) {
		unsigned char c = (unsigned char)addr[i];
		if (c < 0x20 || c == 0x7f)
			return mx_err_set(err, "control byte 0x%02x at offset %zu of SRS address", c, i);
	}
	if (at + 1 > size)
		return mx_err_set(err, "SRS local part is longer than %zu octets", size - 1);
	memcpy(local, addr, at);
	return (long)at;
}

/* The original sender of a verified SRS0: "user@host" as it was signed
 * (user is an external-form local part), quoted if it was signed in
 * internal form by a peer. */
static enum mx_result reverse_srs0(const struct srs_fields *f, char *out, size_t size,
				   struct mx_err *err)
{
	char plain[MX_SRS_ADDRESS_SIZE];
	struct mx_address a;
	size_t n = f->user.len + 1 + f->host.len;

	if (n + 1 <= sizeof(plain)) {
		memcpy(plain, f->user.p, f->user.len);
		plain[f->user.len] = '@';
		memcpy(plain + f->user.len + 1, f->host.p, f->host.len);
		if (mx_address_parse(plain, n, MX_ADDR_UTF8 | MX_ADDR_NO_LIMITS, &a, NULL) == 0)
			return copy_out(plain, n, out, size, err);
	}
	if (address_write(f->user.p, f->user.len, f->host.p, f->host.len, out, size, NULL, NULL)
	    == MX_FOUND && result_valid(out))
		return MX_FOUND;
	return srs_fail(MX_PERM, err, "SRS0 address does not decode to a valid address");
}

static enum mx_result reverse_keyed(const struct mx_srs_store *store, struct srs_span user,
				    char *out, size_t size, struct mx_err *err)
{
	char key[MX_SRS_KEY_LEN + 1];
	enum mx_result r;

	if (store == NULL)
		return srs_fail(MX_TEMP, err, "keyed SRS address but no database is configured for long senders");
	for (size_t i = 0; i < MX_SRS_KEY_LEN; i++) {
		char c = user.p[i];
		key[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
	}
	key[MX_SRS_KEY_LEN] = '\0';
	r = store->fetch(store->ctx, key, out, size, err);
	if (r == MX_FOUND && memchr(out, '\0', size) == NULL)
		return srs_fail(MX_PERM, err, "stored sender does not fit in %zu bytes", size);
	if (r == MX_NOTFOUND)
		return srs_fail(MX_PERM, err, "SRS key unknown or expired in the database");
	if (r != MX_FOUND)
		return MX_TEMP;
	return MX_FOUND;
}

static enum mx_result reverse(const struct mx_srs *srs, const struct mx_srs_store *store,
			      const char *addr, size_t len, char *out, size_t size,
			      struct mx_err *err)
{
	char local[SRS_INTERNAL_MAX + 1];
	struct srs_fields f;
	enum mx_result r;
	long n;

	if (size == 0)
		return srs_fail(MX_PERM, err, "no room for the reversed address");
	if (memchr(addr, '\0', len) != NULL)
		return srs_fail(MX_PERM, err, "NUL byte in SRS address");
	n = reverse_local(addr, len, local, sizeof(local), err);
	if (n < 0)
		return MX_PERM;
	if (n == 0 || srs_kind(local, (size_t)n) == '\0')
		return srs_fail(MX_NOTFOUND, err, "not an SRS address");
	if (srs_split(local, (size_t)n, &f, err) < 0)
		return MX_PERM;
	r = srs_verify(srs, &f, err);
	if (r != MX_FOUND)
		return r;
	if (f.kind == '0')
		return is_key(f.host, f.user) ? reverse_keyed(store, f.user, out, size, err)
					      : reverse_srs0(&f, out, size, err);
	return srs1_target(&f, out, size, err);
}

/* ---- entry points ---------------------------------------------------------- */

enum mx_result mx_srs_forward_via(const struct mx_srs *srs, const struct mx_srs_store *store,
				  const char *sender, size_t len, char *out, size_t size,
				  struct mx_err *err)
{
	enum mx_result r = forward(srs, store, sender, len, out, size, err);

	if (r != MX_FOUND && size > 0)
		out[0] = '\0';  /* never a partial address */
	return r;
}

enum mx_result mx_srs_reverse_via(const struct mx_srs *srs, const struct mx_srs_store *store,
				  const char *addr, size_t len, char *out, size_t size,
				  struct mx_err *err)
{
	enum mx_result r = reverse(srs, store, addr, len, out, size, err);

	if (r != MX_FOUND && size > 0)
		out[0] = '\0';
	return r;
}

enum mx_result mx_srs_forward(const struct mx_srs *srs, const char *sender, size_t len,
			      char *out, size_t size, struct mx_err *err)
{
	return mx_srs_forward_via(srs, srs->store, sender, len, out, size, err);
}

enum mx_result mx_srs_reverse(const struct mx_srs *srs, const char *addr, size_t len,
			      char *out, size_t size, struct mx_err *err)
{
	return mx_srs_reverse_via(srs, srs->store, addr, len, out, size, err);
}
