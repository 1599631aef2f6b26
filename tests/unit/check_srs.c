/* check_srs.c: unit tests of the SRS core (lib/mx_srs*).
 *
 * Expected addresses were produced independently of this code: by
 * Debian's postsrsd 1.10 (secret "tops3cr3t", domain srs.example.net)
 * and by a few lines of Python (hmac, hashlib, base64) for the cases
 * PostSRSd 1.10 cannot make (other hash lengths and alphabets, keys of
 * stored senders). The clock is fixed at T0, on day stamp "JL". */
#include "mxkit-config.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mx_config.h"
#include "mx_srs.h"
#include "mx_srs_config.h"
#include "unit_run.h"

#define DAY 86400
#define T0 ((time_t)1795348800)   /* 2026-11-22 12:00 UTC, stamp "JL" */
#define SECRET "tops3cr3t"
#define DOMAIN "srs.example.net"
#define LONG_SENDER "averyveryveryveryveryveryveryverylongsendername.with.dots@a-quite-long-domain.example.org"
#define LONG_KEY "F9J13Q4H0HDASOI3O3VR87CV9L3UPGUJ"

struct test_clock {
	time_t now;
};

static time_t clock_read(void *ctx)
{
	return ((const struct test_clock *)ctx)->now;
}

struct setup {
	const char *domain;
	const char *secrets[3];
	char separator;
	unsigned hash_length;
	enum mx_srs_alphabet alphabet;
};

static struct mx_srs *srs_new(const struct setup *s, struct test_clock *clock)
{
	static struct mx_srs_settings set;
	struct mx_srs *srs = NULL;
	struct mx_err err;

	mx_srs_settings_init(&set);
	strcpy(set.domain, s->domain != NULL ? s->domain : DOMAIN);
	if (s->separator != '\0')
		set.separator = s->separator;
	if (s->hash_length != 0)
		set.hash_length = s->hash_length;
	set.alphabet = s->alphabet;
	for (size_t i = 0; i < 3 && s->secrets[i] != NULL; i++)
		ck_assert_int_eq(mx_srs_settings_add_secret(&set, s->secrets[i], strlen(s->secrets[i]), &err), 0);
	if (set.secret_count == 0)
		ck_assert_int_eq(mx_srs_settings_add_secret(&set, SECRET, strlen(SECRET), &err), 0);
	ck_assert_msg(mx_srs_create(&set, &srs, &err) == 0, "create: %s", err.text);
	mx_srs_settings_wipe(&set);
	mx_srs_set_clock(srs, clock_read, clock);
	return srs;
}

static struct mx_srs *srs_default(struct test_clock *clock)
{
	static const struct setup s = { 0 };
	return srs_new(&s, clock);
}

static enum mx_result fwd(const struct mx_srs *srs, const char *in, char *out, size_t size,
			  struct mx_err *err)
{
	mx_err_clear(err);
	return mx_srs_forward(srs, in, strlen(in), out, size, err);
}

static enum mx_result rev(const struct mx_srs *srs, const char *in, char *out, size_t size,
			  struct mx_err *err)
{
	mx_err_clear(err);
	return mx_srs_reverse(srs, in, strlen(in), out, size, err);
}

/* ---- forward ------------------------------------------------------------ */

struct rewrite_case {
	const char *in;
	enum mx_result want;
	const char *out;   /* on MX_FOUND; else a substring of the reason */
};

/* The first POSTSRSD_ROWS rows are plain postsrsd outputs (test_threads). */
#define POSTSRSD_ROWS 9
static const struct rewrite_case forward_cases[] = {
	/* Same bytes as postsrsd 1.10 wrote. */
	{ "alice@example.org", MX_FOUND, "SRS0=+QrZ=JL=example.org=alice@" DOMAIN },
	{ "a+b@Example.ORG", MX_FOUND, "SRS0=IJoB=JL=Example.ORG=a+b@" DOMAIN },
	{ "x=y@sub.example.com", MX_FOUND, "SRS0=jFPE=JL=sub.example.com=x=y@" DOMAIN },
	{ "100%user@example.org", MX_FOUND, "SRS0=m+Vj=JL=example.org=100%user@" DOMAIN },
	{ "J.Doe@Mail.Example.CO.UK", MX_FOUND, "SRS0=OcqY=JL=Mail.Example.CO.UK=J.Doe@" DOMAIN },
	{ "o'brien{x}@example.org", MX_FOUND, "SRS0=i6kP=JL=example.org=o'brien{x}@" DOMAIN },
	{ "SRS0=abcd=AB=orig.com=bob@fwd.example", MX_FOUND,
	  "SRS1=x2Vm=fwd.example==abcd=AB=orig.com=bob@" DOMAIN },
	{ "srs0+abcd=AB=orig.com=bob@fwd.example", MX_FOUND,
	  "SRS1=yScs=fwd.example=+abcd=AB=orig.com=bob@" DOMAIN },
	{ "SRS1=abcd=orig.com==efgh=AB=x.com=bob@fwd2.example", MX_FOUND,
	  "SRS1=3qMY=orig.com==efgh=AB=x.com=bob@" DOMAIN },
	/* Same hash as postsrsd 1.10; mxkit quotes what needs quotes. */
	{ "\"john smith\"@example.org", MX_FOUND,
	  "\"SRS0=biFt=JL=example.org=\\\"john smith\\\"\"@" DOMAIN },
	{ "\"a@b\"@example.org", MX_FOUND, "\"SRS0=8iUP=JL=example.org=\\\"a@b\\\"\"@" DOMAIN },
	{ "bob@[192.0.2.7]", MX_FOUND, "\"SRS0=XLZx=JL=[192.0.2.7]=bob\"@" DOMAIN },
	{ "us\xc3\xa9r@b\xc3\xbc" "cher.example", MX_FOUND,
	  "SRS0=5JPy=JL=b\xc3\xbc" "cher.example=us\xc3\xa9r@" DOMAIN },
	/* A malformed SRS1 (PostSRSd refuses it) is wrapped as a plain sender. */
	{ "SRS1=abcd@fwd2.example", MX_FOUND, "SRS0=FJe2=JL=fwd2.example=SRS1=abcd@" DOMAIN },
	/* So is an SRS1 whose first hop is no domain (found by fuzz_srs). */
	{ "SRS1=ab-=ab-=m=bob@fwd2.example", MX_FOUND, "SRS0=CFig=JL=fwd2.example=SRS1=ab-=ab-=m=bob@" DOMAIN },
	/* Exactly 64 octets of local part still fit. */
	{ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx@example.org", MX_FOUND,
	  "SRS0=lW/q=JL=example.org=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx@" DOMAIN },
	/* Not rewritten. */
	{ "bob@" DOMAIN, MX_NOTFOUND, "in the SRS domain" },
	{ "bob@SRS.Example.NET", MX_NOTFOUND, "in the SRS domain" },
	{ "SRS0=+QrZ=JL=example.org=alice@other.example", MX_NOTFOUND, "already a valid SRS address" },
	/* Bad senders. */
	{ "", MX_PERM, "null sender" },
	{ "alice", MX_PERM, "sender: " },
	{ "alice@", MX_PERM, "sender: " },
	{ "@example.org", MX_PERM, "sender: " },
	{ "a b@example.org", MX_PERM, "sender: " },
	{ "a..b@example.org", MX_PERM, "sender: " },
	{ "alice@exa mple.org", MX_PERM, "sender: " },
	{ "\"unterminated@example.org", MX_PERM, "sender: " },
	{ "<alice@example.org>", MX_PERM, "sender: " },
	/* Looks like a keyed address: only the store can carry it. */
	{ LONG_KEY "@1", MX_PERM, "no database" },
	/* 65 octets of local part, and no store. */
	{ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx@example.org", MX_PERM, "no database" },
};

/* Run one table row in one direction and check result and reason. */
/* Each case on the shared context, then (twice: its HMAC contexts are
 * re-used) on a copy for one thread, which must answer the same. */
static void check_case(const struct rewrite_case *c, bool forward)
{
	struct test_clock clock = { T0 };
	struct mx_srs *shared = srs_default(&clock), *own = NULL, *srs;
	const char *dir = forward ? "forward" : "reverse";
	char out[MX_SRS_ADDRESS_SIZE];
	struct mx_err err;

	ck_assert_msg(mx_srs_dup_one_thread(shared, &own, &err) == 0, "%s", err.text);
	for (int pass = 0; pass < 3; pass++) {
		srs = pass == 0 ? shared : own;
		enum mx_result r = forward ? fwd(srs, c->in, out, sizeof(out), &err)
					   : rev(srs, c->in, out, sizeof(out), &err);

		ck_assert_msg(r == c->want, "%s '%s' (pass %d): got %d want %d (%s)", dir, c->in, pass,
			      r, c->want, err.text);
		if (r == MX_FOUND)
			ck_assert_str_eq(out, c->out);
		else
			ck_assert_msg(strstr(err.text, c->out) != NULL, "%s '%s': reason '%s' lacks '%s'",
				      dir, c->in, err.text, c->out);
	}
	mx_srs_destroy(&own);
	mx_srs_destroy(&shared);
}

START_TEST(test_forward_table)
{
	check_case(&forward_cases[_i], true);
}
END_TEST

START_TEST(test_forward_embedded_nul)
{
	static const char in[] = "ali\0ce@example.org";
	struct test_clock clock = { T0 };
	struct mx_srs *srs = srs_default(&clock);
	char out[MX_SRS_ADDRESS_SIZE];
	struct mx_err err;

	ck_assert_int_eq(mx_srs_forward(srs, in, sizeof(in) - 1, out, sizeof(out), &err), MX_PERM);
	ck_assert_int_eq(mx_srs_reverse(srs, "SRS0=+QrZ=JL=\0", 14, out, sizeof(out), &err), MX_PERM);
	mx_srs_destroy(&srs);
}
END_TEST

struct variant_case {
	struct setup setup;
	const char *in;
	const char *out;
};

static const struct variant_case variant_cases[] = {
	{ { .separator = '+' }, "alice@example.org", "SRS0++QrZ=JL=example.org=alice@" DOMAIN },
	{ { .separator = '-' }, "alice@example.org", "SRS0-+QrZ=JL=example.org=alice@" DOMAIN },
	{ { .separator = '-' }, "SRS0=abcd=AB=orig.com=bob@fwd.example",
	  "SRS1-x2Vm=fwd.example==abcd=AB=orig.com=bob@" DOMAIN },
	{ { .hash_length = 6 }, "alice@example.org", "SRS0=+QrZED=JL=example.org=alice@" DOMAIN },
	{ { .hash_length = 8 }, "alice@example.org", "SRS0=+QrZEDCR=JL=example.org=alice@" DOMAIN },
	{ { .hash_length = 8, .alphabet = MX_SRS_BASE64URL }, "alice@example.org",
	  "SRS0=-QrZEDCR=JL=example.org=alice@" DOMAIN },
	{ { .secrets = { "new-secret", SECRET } }, "alice@example.org",
	  "SRS0=8G/5=JL=example.org=alice@" DOMAIN },
	{ { .secrets = { "new-secret" }, .alphabet = MX_SRS_BASE64URL }, "alice@example.org",
	  "SRS0=8G_5=JL=example.org=alice@" DOMAIN },
	{ { .domain = "Fwd.Example" }, "alice@example.org", "SRS0=+QrZ=JL=example.org=alice@Fwd.Example" },
};

START_TEST(test_forward_variants)
{
	const struct variant_case *c = &variant_cases[_i];
	struct test_clock clock = { T0 };
	struct mx_srs *srs = srs_new(&c->setup, &clock);
	char out[MX_SRS_ADDRESS_SIZE];
	struct mx_err err;

	ck_assert_msg(fwd(srs, c->in, out, sizeof(out), &err) == MX_FOUND, "%s", err.text);
	ck_assert_str_eq(out, c->out);
	mx_srs_destroy(&srs);
}
END_TEST

START_TEST(test_forward_always_rewrite)
{
	static struct mx_srs_settings set;
	struct test_clock clock = { T0 };
	struct mx_srs *srs = NULL;
	char out[MX_SRS_ADDRESS_SIZE];
	struct mx_err err;

	mx_srs_settings_init(&set);
	strcpy(set.domain, DOMAIN);
	set.always_rewrite = true;
	ck_assert_int_eq(mx_srs_settings_add_secret(&set, SECRET, strlen(SECRET), &err), 0);
	ck_assert_int_eq(mx_srs_create(&set, &srs, &err), 0);
	mx_srs_set_clock(srs, clock_read, &clock);
	ck_assert_int_eq(fwd(srs, "bob@" DOMAIN, out, sizeof(out), &err), MX_FOUND);
	ck_assert(strncmp(out, "SRS0=", 5) == 0);
	ck_assert(strstr(out, "=JL=" DOMAIN "=bob@" DOMAIN) != NULL);
	/* Our own SRS address is still not wrapped again. */
	ck_assert_int_eq(fwd(srs, "SRS0=+QrZ=JL=example.org=alice@" DOMAIN, out, sizeof(out), &err),
			 MX_NOTFOUND);
	mx_srs_destroy(&srs);
}
END_TEST

/* ---- reverse ------------------------------------------------------------ */

static const struct rewrite_case reverse_cases[] = {
	{ "SRS0=+QrZ=JL=example.org=alice@" DOMAIN, MX_FOUND, "alice@example.org" },
	/* Case mangled by a mail system: the hash compares case-insensitively. */
	{ "srs0=+qrz=jl=example.org=alice@srs.example.net", MX_FOUND, "alice@example.org" },
	{ "SRS0=+QRZ=JL=EXAMPLE.ORG=ALICE@SRS.EXAMPLE.NET", MX_FOUND, "ALICE@EXAMPLE.ORG" },
	/* base64url hashes (PostSRSd >= 2.2.6) and every separator. */
	{ "SRS0=-QrZ=JL=example.org=alice@" DOMAIN, MX_FOUND, "alice@example.org" },
	{ "SRS0++QrZ=JL=example.org=alice@" DOMAIN, MX_FOUND, "alice@example.org" },
	{ "SRS0--QrZ=JL=example.org=alice@" DOMAIN, MX_FOUND, "alice@example.org" },
	/* Longer hashes are compared on hash_length characters, as PostSRSd does. */
	{ "SRS0=+QrZED=JL=example.org=alice@" DOMAIN, MX_FOUND, "alice@example.org" },
	/* The domain is the caller's business; a bare local part works too. */
	{ "SRS0=+QrZ=JL=example.org=alice@elsewhere.example", MX_FOUND, "alice@example.org" },
	{ "SRS0=+QrZ=JL=example.org=alice", MX_FOUND, "alice@example.org" },
	{ "SRS0=IJoB=JL=Example.ORG=a+b@" DOMAIN, MX_FOUND, "a+b@Example.ORG" },
	{ "SRS0=jFPE=JL=sub.example.com=x=y@" DOMAIN, MX_FOUND, "x=y@sub.example.com" },
	{ "SRS0=m+Vj=JL=example.org=100%user@" DOMAIN, MX_FOUND, "100%user@example.org" },
	{ "\"SRS0=biFt=JL=example.org=\\\"john smith\\\"\"@" DOMAIN, MX_FOUND,
	  "\"john smith\"@example.org" },
	/* postsrsd 1.10's own (unquoted) output for the same sender. */
	{ "SRS0=biFt=JL=example.org=\"john smith\"@" DOMAIN, MX_FOUND, "\"john smith\"@example.org" },
	{ "\"SRS0=XLZx=JL=[192.0.2.7]=bob\"@" DOMAIN, MX_FOUND, "bob@[192.0.2.7]" },
	/* SRS1: back to the first forwarder's SRS0 address. */
	{ "SRS1=x2Vm=fwd.example==abcd=AB=orig.com=bob@" DOMAIN, MX_FOUND,
	  "SRS0=abcd=AB=orig.com=bob@fwd.example" },
	{ "SRS1=yScs=fwd.example=+abcd=AB=orig.com=bob@" DOMAIN, MX_FOUND,
	  "SRS0+abcd=AB=orig.com=bob@fwd.example" },
	{ "SRS1=3qMY=orig.com==efgh=AB=x.com=bob@" DOMAIN, MX_FOUND, "SRS0=efgh=AB=x.com=bob@orig.com" },
	{ "srs1-X2VM=FWD.example==abcd=AB=orig.com=bob@" DOMAIN, MX_FOUND,
	  "SRS0=abcd=AB=orig.com=bob@FWD.example" },
	/* Not SRS addresses. */
	{ "alice@" DOMAIN, MX_NOTFOUND, "not an SRS address" },
	{ "", MX_NOTFOUND, "not an SRS address" },
	{ "@" DOMAIN, MX_NOTFOUND, "not an SRS address" },
	{ "SRS0@" DOMAIN, MX_NOTFOUND, "not an SRS address" },
	{ "SRS2=+QrZ=JL=example.org=alice@" DOMAIN, MX_NOTFOUND, "not an SRS address" },
	{ "SRS0x+QrZ=JL=example.org=alice@" DOMAIN, MX_NOTFOUND, "not an SRS address" },
	{ "SRSO=+QrZ=JL=example.org=alice@" DOMAIN, MX_NOTFOUND, "not an SRS address" },
	{ "\"alice\"@" DOMAIN, MX_NOTFOUND, "not an SRS address" },
	{ "\"SRS0=unterminated@" DOMAIN, MX_NOTFOUND, "not an SRS address" },
	/* Malformed SRS0, field by field. */
	{ "SRS0=@" DOMAIN, MX_PERM, "SRS0 address has no hash" },
	{ "SRS0==JL=example.org=alice@" DOMAIN, MX_PERM, "SRS0 address has an empty hash" },
	{ "SRS0=+QrZ@" DOMAIN, MX_PERM, "SRS0 address has no timestamp" },
	{ "SRS0=+QrZ==example.org=alice@" DOMAIN, MX_PERM, "SRS0 address has an empty timestamp" },
	{ "SRS0=+QrZ=JL@" DOMAIN, MX_PERM, "SRS0 address has no domain" },
	{ "SRS0=+QrZ=JL==alice@" DOMAIN, MX_PERM, "SRS0 address has an empty domain" },
	{ "SRS0=+QrZ=JL=example.org@" DOMAIN, MX_PERM, "SRS0 address has no local part" },
	{ "SRS0=+QrZ=JL=example.org=@" DOMAIN, MX_PERM, "SRS0 address has an empty local part" },
	{ "SRS0=+QrZ=J=example.org=alice@" DOMAIN, MX_PERM, "timestamp has 1 characters" },
	{ "SRS0=+QrZ=JLL=example.org=alice@" DOMAIN, MX_PERM, "timestamp has 3 characters" },
	{ "SRS0=+QrZ=J1=example.org=alice@" DOMAIN, MX_PERM, "byte 0x31 outside base32" },
	{ "SRS0=+Qr=JL=example.org=alice@" DOMAIN, MX_PERM, "fewer than 4" },
	{ "SRS0=+QrY=JL=example.org=alice@" DOMAIN, MX_PERM, "does not match" },
	{ "SRS0=+Q.Z=JL=example.org=alice@" DOMAIN, MX_PERM, "does not match" },
	{ "SRS0=/QrZ=JL=example.org=alice@" DOMAIN, MX_PERM, "does not match" },
	{ "SRS0=+QrZ=JL=example.org=alicf@" DOMAIN, MX_PERM, "does not match" },
	{ "SRS0=+QrZ=JL=example.com=alice@" DOMAIN, MX_PERM, "does not match" },
	{ "SRS0=+QrZ=JK=example.org=alice@" DOMAIN, MX_PERM, "does not match" },
	{ "SRS0=+QrZ=JL=example.org=al\x01ice@" DOMAIN, MX_PERM, "control byte 0x01" },
	{ "SRS0=rffo=JL=bad_host=alice@" DOMAIN, MX_PERM, "does not decode to a valid address" },
	/* Malformed SRS1, field by field. */
	{ "SRS1=@" DOMAIN, MX_PERM, "SRS1 address has no hash" },
	{ "SRS1==fwd.example==abcd=AB=orig.com=bob@" DOMAIN, MX_PERM, "SRS1 address has an empty hash" },
	{ "SRS1=x2Vm@" DOMAIN, MX_PERM, "SRS1 address has no first-hop domain" },
	{ "SRS1=x2Vm==abcd=AB=orig.com=bob@" DOMAIN, MX_PERM, "SRS1 address has an empty first-hop domain" },
	{ "SRS1=x2Vm=fwd.example@" DOMAIN, MX_PERM, "SRS1 address has no SRS0 part" },
	{ "SRS1=x2Vm=fwd.example=@" DOMAIN, MX_PERM, "SRS1 address has an empty SRS0 part" },
	{ "SRS1=x2Vn=fwd.example==abcd=AB=orig.com=bob@" DOMAIN, MX_PERM, "does not match" },
	{ "SRS1=x2Vm=fwd.example==abcd=AB=orig.com=bot@" DOMAIN, MX_PERM, "does not match" },
	{ "SRS1=OeLh=ab-==m=bob@" DOMAIN, MX_PERM, "SRS1 address does not decode to a valid address" },
};

START_TEST(test_reverse_table)
{
	check_case(&reverse_cases[_i], false);
}
END_TEST

/* ---- round trips, re-forwarding ---------------------------------------- */

static const char *const round_trip_senders[] = {
	"alice@example.org", "a+tag@example.org", "x=y=z@example.org", "100%user@example.org",
	"first.last@sub.domain.example.co.uk", "\"john smith\"@example.org",
	"\"a\\\\b\"@example.org", "\"with@at\"@example.org", "!#$&'*+-/=?^_`{|}~@example.org",
	"us\xc3\xa9r@b\xc3\xbc" "cher.example", "bob@[192.0.2.7]", "bob@[IPv6:2001:db8::1]",
	"UPPER@CASE.EXAMPLE", "SRS1=malformed@fwd.example", "srs@example.org",
};

START_TEST(test_round_trip)
{
	const char *sender = round_trip_senders[_i];
	static const struct setup setups[] = {
		{ 0 },
		{ .separator = '+', .hash_length = 6 },
		{ .separator = '-', .alphabet = MX_SRS_BASE64URL, .hash_length = 10 },
	};
	struct test_clock clock = { T0 };
	char srs_addr[MX_SRS_ADDRESS_SIZE], back[MX_SRS_ADDRESS_SIZE];
	struct mx_err err;

	for (size_t i = 0; i < sizeof(setups) / sizeof(setups[0]); i++) {
		struct mx_srs *srs = srs_new(&setups[i], &clock);
		clock.now = T0;
		ck_assert_msg(fwd(srs, sender, srs_addr, sizeof(srs_addr), &err) == MX_FOUND,
			      "forward '%s': %s", sender, err.text);
		/* A valid RFC 5321 address within 64 octets of local part. */
		struct mx_address a;
		ck_assert_msg(mx_address_parse(srs_addr, strlen(srs_addr), MX_ADDR_UTF8, &a, &err) == 0,
			      "'%s' -> '%s': %s", sender, srs_addr, err.text);
		/* Reversed the same day and 21 days later. */
		for (time_t later = 0; later <= 21; later += 21) {
			clock.now = T0 + later * DAY;
			ck_assert_msg(rev(srs, srs_addr, back, sizeof(back), &err) == MX_FOUND,
				      "reverse '%s': %s", srs_addr, err.text);
			ck_assert_str_eq(back, sender);
		}
		mx_srs_destroy(&srs);
	}
}
END_TEST

START_TEST(test_reforward_srs1)
{
	static const struct setup hop1 = { .domain = "fwd1.example", .secrets = { "secret-one" } };
	static const struct setup hop2 = { .domain = "fwd2.example", .secrets = { "secret-two" } };
	static const struct setup hop3 = { .domain = "fwd3.example", .secrets = { "secret-three" },
					   .separator = '+' };
	struct test_clock clock = { T0 };
	struct mx_srs *a = srs_new(&hop1, &clock), *b = srs_new(&hop2, &clock), *c = srs_new(&hop3, &clock);
	char s1[MX_SRS_ADDRESS_SIZE], s2[MX_SRS_ADDRESS_SIZE], s3[MX_SRS_ADDRESS_SIZE];
	char back[MX_SRS_ADDRESS_SIZE], orig[MX_SRS_ADDRESS_SIZE];
	struct mx_err err;

	ck_assert_int_eq(fwd(a, "alice@example.org", s1, sizeof(s1), &err), MX_FOUND);
	ck_assert(strncmp(s1, "SRS0=", 5) == 0);
	ck_assert(strstr(s1, "@fwd1.example") != NULL);
	/* The second hop makes SRS1 naming the first hop, not a double SRS0. */
	ck_assert_int_eq(fwd(b, s1, s2, sizeof(s2), &err), MX_FOUND);
	ck_assert(strncmp(s2, "SRS1=", 5) == 0);
	ck_assert(strstr(s2, "=fwd1.example==") != NULL);
	ck_assert(strstr(s2, "@fwd2.example") != NULL);
	/* The third hop keeps the first hop and signs again. */
	ck_assert_int_eq(fwd(c, s2, s3, sizeof(s3), &err), MX_FOUND);
	ck_assert(strncmp(s3, "SRS1+", 5) == 0);
	ck_assert(strstr(s3, "=fwd1.example==") != NULL);
	ck_assert(strstr(s3, "@fwd3.example") != NULL);
	/* Bounces go straight back to the first forwarder, who reverses. */
	ck_assert_int_eq(rev(c, s3, back, sizeof(back), &err), MX_FOUND);
	ck_assert_str_eq(back, s1);
	ck_assert_int_eq(rev(b, s2, back, sizeof(back), &err), MX_FOUND);
	ck_assert_str_eq(back, s1);
	ck_assert_int_eq(rev(a, back, orig, sizeof(orig), &err), MX_FOUND);
	ck_assert_str_eq(orig, "alice@example.org");
	/* Each hop verifies with its own secret only. */
	ck_assert_int_eq(rev(b, s3, back, sizeof(back), &err), MX_PERM);
	ck_assert_int_eq(rev(a, s2, back, sizeof(back), &err), MX_PERM);
	mx_srs_destroy(&a);
	mx_srs_destroy(&b);
	mx_srs_destroy(&c);
}
END_TEST

/* ---- time, secrets ----------------------------------------------------- */

struct age_case {
	long days;          /* clock offset from the day the address was made */
	enum mx_result want;
	const char *why;
};

static const struct age_case age_cases[] = {
	{ 0, MX_FOUND, "" },
	{ 1, MX_FOUND, "" },
	{ 21, MX_FOUND, "" },
	{ 22, MX_PERM, "expired: 22 days old" },
	{ 400, MX_PERM, "expired" },
	{ -1, MX_FOUND, "" },                         /* one day of clock skew */
	{ -2, MX_PERM, "2 days in the future" },
	{ -30, MX_PERM, "in the future" },
	{ 1024, MX_FOUND, "" },                       /* the 10-bit stamp wraps */
	{ 1024 + 22, MX_PERM, "expired" },
};

START_TEST(test_age)
{
	const struct age_case *c = &age_cases[_i];
	struct test_clock clock = { T0 + c->days * DAY };
	struct mx_srs *srs = srs_default(&clock);
	char out[MX_SRS_ADDRESS_SIZE];
	struct mx_err err;
	enum mx_result r = rev(srs, "SRS0=+QrZ=JL=example.org=alice@" DOMAIN, out, sizeof(out), &err);

	ck_assert_msg(r == c->want, "%ld days: got %d (%s)", c->days, r, err.text);
	if (r != MX_FOUND)
		ck_assert_msg(strstr(err.text, c->why) != NULL, "'%s' lacks '%s'", err.text, c->why);
	/* The first and last second of the stamp's day count as that day. */
	clock.now = T0 - 12 * 3600;
	ck_assert_int_eq(rev(srs, "SRS0=+QrZ=JL=example.org=alice@" DOMAIN, out, sizeof(out), &err), MX_FOUND);
	clock.now = T0 + 22 * DAY - 12 * 3600 - 1;
	ck_assert_int_eq(rev(srs, "SRS0=+QrZ=JL=example.org=alice@" DOMAIN, out, sizeof(out), &err), MX_FOUND);
	clock.now = T0 + 22 * DAY - 12 * 3600;
	ck_assert_int_eq(rev(srs, "SRS0=+QrZ=JL=example.org=alice@" DOMAIN, out, sizeof(out), &err), MX_PERM);
	mx_srs_destroy(&srs);
}
END_TEST

START_TEST(test_max_age_setting)
{
	static struct mx_srs_settings set;
	struct test_clock clock = { T0 + 3 * DAY };
	struct mx_srs *srs = NULL;
	char out[MX_SRS_ADDRESS_SIZE];
	struct mx_err err;

	mx_srs_settings_init(&set);
	strcpy(set.domain, DOMAIN);
	set.max_age = 2 * DAY;
	ck_assert_int_eq(mx_srs_settings_add_secret(&set, SECRET, strlen(SECRET), &err), 0);
	ck_assert_int_eq(mx_srs_create(&set, &srs, &err), 0);
	mx_srs_set_clock(srs, clock_read, &clock);
	ck_assert_int_eq(rev(srs, "SRS0=+QrZ=JL=example.org=alice@" DOMAIN, out, sizeof(out), &err), MX_PERM);
	ck_assert(strstr(err.text, "at most 2 accepted") != NULL);
	clock.now = T0 + 2 * DAY;
	ck_assert_int_eq(rev(srs, "SRS0=+QrZ=JL=example.org=alice@" DOMAIN, out, sizeof(out), &err), MX_FOUND);
	/* SRS1 carries no timestamp of ours: it never expires here. */
	clock.now = T0 + 500 * DAY;
	ck_assert_int_eq(rev(srs, "SRS1=x2Vm=fwd.example==abcd=AB=orig.com=bob@" DOMAIN, out, sizeof(out),
			     &err), MX_FOUND);
	mx_srs_destroy(&srs);
}
END_TEST

START_TEST(test_secret_rotation)
{
	static const struct setup old_only = { .secrets = { "old-secret" } };
	static const struct setup rotated = { .secrets = { "new-secret", "old-secret" } };
	static const struct setup new_only = { .secrets = { "new-secret" } };
	struct test_clock clock = { T0 };
	struct mx_srs *o = srs_new(&old_only, &clock), *r = srs_new(&rotated, &clock);
	struct mx_srs *n = srs_new(&new_only, &clock);
	char by_old[MX_SRS_ADDRESS_SIZE], by_rotated[MX_SRS_ADDRESS_SIZE], back[MX_SRS_ADDRESS_SIZE];
	struct mx_err err;

	ck_assert_int_eq(fwd(o, "alice@example.org", by_old, sizeof(by_old), &err), MX_FOUND);
	ck_assert_str_eq(by_old, "SRS0=nVe5=JL=example.org=alice@" DOMAIN);
	/* After rotation the new secret signs ... */
	ck_assert_int_eq(fwd(r, "alice@example.org", by_rotated, sizeof(by_rotated), &err), MX_FOUND);
	ck_assert_str_eq(by_rotated, "SRS0=8G/5=JL=example.org=alice@" DOMAIN);
	/* ... and both verify. */
	ck_assert_int_eq(rev(r, by_old, back, sizeof(back), &err), MX_FOUND);
	ck_assert_str_eq(back, "alice@example.org");
	ck_assert_int_eq(rev(r, by_rotated, back, sizeof(back), &err), MX_FOUND);
	ck_assert_int_eq(rev(r, "SRS0=8G_5=JL=example.org=alice@" DOMAIN, back, sizeof(back), &err), MX_FOUND);
	/* Once the old secret is dropped, its addresses are refused. */
	ck_assert_int_eq(rev(n, by_old, back, sizeof(back), &err), MX_PERM);
	ck_assert(strstr(err.text, "does not match") != NULL);
	ck_assert_int_eq(rev(o, by_rotated, back, sizeof(back), &err), MX_PERM);
	/* The same from a copy for one thread: both secrets verify, the first signs. */
	{
		struct mx_srs *own = NULL;

		ck_assert_int_eq(mx_srs_dup_one_thread(r, &own, &err), 0);
		for (int i = 0; i < 2; i++) {
			ck_assert_int_eq(rev(own, by_old, back, sizeof(back), &err), MX_FOUND);
			ck_assert_int_eq(rev(own, by_rotated, back, sizeof(back), &err), MX_FOUND);
			ck_assert_int_eq(fwd(own, "alice@example.org", back, sizeof(back), &err), MX_FOUND);
			ck_assert_str_eq(back, by_rotated);
		}
		mx_srs_destroy(&own);
	}
	mx_srs_destroy(&o);
	mx_srs_destroy(&r);
	mx_srs_destroy(&n);
}
END_TEST

/* ---- long senders through a store ---------------------------------------- */

#define MEM_SLOTS 4

struct mem_store {
	char key[MEM_SLOTS][MX_SRS_KEY_LEN + 1];
	char sender[MEM_SLOTS][MX_SRS_ADDRESS_SIZE];
	time_t expiry[MEM_SLOTS];
	size_t used;
	enum mx_result fail_with;  /* MX_FOUND: work */
	int stores, fetches;
};

static enum mx_result mem_store(void *ctx, const char *key, const char *sender, time_t expiry,
				struct mx_err *err)
{
	struct mem_store *m = ctx;

	m->stores++;
	if (m->fail_with != MX_FOUND) {
		(void)mx_err_set(err, "store: database away");
		return m->fail_with;
	}
	ck_assert_uint_lt(m->used, MEM_SLOTS);
	ck_assert_uint_lt(strlen(sender), MX_SRS_ADDRESS_SIZE);
	strcpy(m->key[m->used], key);
	strcpy(m->sender[m->used], sender);
	m->expiry[m->used++] = expiry;
	return MX_FOUND;
}

static enum mx_result mem_fetch(void *ctx, const char *key, char *buf, size_t size,
				struct mx_err *err)
{
	struct mem_store *m = ctx;

	m->fetches++;
	if (m->fail_with != MX_FOUND) {
		(void)mx_err_set(err, "fetch: database away");
		return m->fail_with;
	}
	for (size_t i = 0; i < m->used; i++) {
		if (strcmp(m->key[i], key) == 0) {
			if (strlen(m->sender[i]) >= size)
				return MX_PERM;
			strcpy(buf, m->sender[i]);
			return MX_FOUND;
		}
	}
	return MX_NOTFOUND;
}

START_TEST(test_long_sender_store)
{
	struct test_clock clock = { T0 };
	struct mx_srs *srs = srs_default(&clock);
	struct mem_store mem = { .fail_with = MX_FOUND };
	const struct mx_srs_store store = { mem_store, mem_fetch, &mem };
	char out[MX_SRS_ADDRESS_SIZE], back[MX_SRS_ADDRESS_SIZE];
	struct mx_err err;

	/* Without a store: refused, as it cannot be done right. */
	ck_assert_int_eq(fwd(srs, LONG_SENDER, out, sizeof(out), &err), MX_PERM);
	ck_assert_int_eq(rev(srs, "SRS0=owG2=JL=1=" LONG_KEY "@" DOMAIN, back, sizeof(back), &err), MX_TEMP);
	mx_srs_set_store(srs, &store);
	ck_assert_msg(fwd(srs, LONG_SENDER, out, sizeof(out), &err) == MX_FOUND, "%s", err.text);
	ck_assert_str_eq(out, "SRS0=owG2=JL=1=" LONG_KEY "@" DOMAIN);
	ck_assert_int_eq(mem.stores, 1);
	ck_assert_str_eq(mem.key[0], LONG_KEY);
	ck_assert_str_eq(mem.sender[0], LONG_SENDER);
	ck_assert(mem.expiry[0] >= T0 + 21 * DAY);
	ck_assert(mem.expiry[0] <= T0 + 23 * DAY);
	ck_assert_int_eq(rev(srs, out, back, sizeof(back), &err), MX_FOUND);
	ck_assert_str_eq(back, LONG_SENDER);
	/* A lowercased key is found too. */
	ck_assert_int_eq(rev(srs, "srs0=owg2=jl=1=f9j13q4h0hdasoi3o3vr87cv9l3upguj@srs.example.net",
			     back, sizeof(back), &err), MX_FOUND);
	ck_assert_str_eq(back, LONG_SENDER);
	/* A forged key never reaches the store; an unknown one is refused. */
	mem.fetches = 0;
	ck_assert_int_eq(rev(srs, "SRS0=owG3=JL=1=" LONG_KEY "@" DOMAIN, back, sizeof(back), &err), MX_PERM);
	ck_assert_int_eq(mem.fetches, 0);
	mem.used = 0;
	ck_assert_int_eq(rev(srs, out, back, sizeof(back), &err), MX_PERM);
	ck_assert(strstr(err.text, "unknown or expired") != NULL);
	/* A too-long SRS1 goes through the store as well. */
	ck_assert_int_eq(fwd(srs, "SRS0=abcd=AB=a-rather-long-original-domain.example.com=somebody.long@fwd.example",
			     out, sizeof(out), &err), MX_FOUND);
	ck_assert_str_eq(out, "SRS0=YR5X=JL=1=HJCMRIKPR0FFU4SCHUACLDIIG5CEOEFU@" DOMAIN);
	ck_assert_int_eq(rev(srs, out, back, sizeof(back), &err), MX_FOUND);
	ck_assert_str_eq(back, "SRS0=abcd=AB=a-rather-long-original-domain.example.com=somebody.long@fwd.example");
	/* A sender that looks like a keyed address is kept in the store too,
	 * so that it cannot reverse to another sender's stored address (found
	 * by fuzz_srs). */
	mem.used = 0;
	ck_assert_int_eq(fwd(srs, LONG_SENDER, out, sizeof(out), &err), MX_FOUND);
	ck_assert_int_eq(fwd(srs, LONG_KEY "@1", out, sizeof(out), &err), MX_FOUND);
	ck_assert_uint_eq(mem.used, 2);
	ck_assert_str_eq(mem.sender[1], LONG_KEY "@1");
	ck_assert_str_ne(out, "SRS0=owG2=JL=1=" LONG_KEY "@" DOMAIN);
	ck_assert_int_eq(rev(srs, out, back, sizeof(back), &err), MX_FOUND);
	ck_assert_str_eq(back, LONG_KEY "@1");
	/* Database away: temporary, never a wrong answer. */
	mem.fail_with = MX_TEMP;
	ck_assert_int_eq(fwd(srs, LONG_SENDER, out, sizeof(out), &err), MX_TEMP);
	ck_assert(strstr(err.text, "database away") != NULL);
	ck_assert_int_eq(rev(srs, "SRS0=owG2=JL=1=" LONG_KEY "@" DOMAIN, back, sizeof(back), &err), MX_TEMP);
	/* Short senders never touch the store. */
	mem.stores = 0;
	ck_assert_int_eq(fwd(srs, "alice@example.org", out, sizeof(out), &err), MX_FOUND);
	ck_assert_int_eq(mem.stores, 0);
	mx_srs_destroy(&srs);
}
END_TEST

/* ---- buffers ------------------------------------------------------------ */

START_TEST(test_output_sizes)
{
	static const char want[] = "\"SRS0=biFt=JL=example.org=\\\"john smith\\\"\"@" DOMAIN;
	struct test_clock clock = { T0 };
	struct mx_srs *srs = srs_default(&clock);
	char out[sizeof(want) + 8];
	struct mx_err err;

	for (size_t size = 0; size <= sizeof(want); size++) {
		memset(out, 'Z', sizeof(out));
		enum mx_result r = mx_srs_forward(srs, "\"john smith\"@example.org", 24, out, size, &err);
		ck_assert_int_eq(r, size == sizeof(want) ? MX_FOUND : MX_PERM);
		ck_assert_int_eq(out[size], 'Z');  /* nothing written past size */
		r = mx_srs_reverse(srs, want, sizeof(want) - 1, out, size, &err);
		ck_assert_int_eq(r, size >= sizeof("\"john smith\"@example.org") ? MX_FOUND : MX_PERM);
		ck_assert_int_eq(out[size], 'Z');
	}
	ck_assert_str_eq(out, "\"john smith\"@example.org");
	mx_srs_destroy(&srs);
}
END_TEST

/* ---- threads ------------------------------------------------------------ */

#define THREADS 4
#define THREAD_ROUNDS 2000

static void *thread_round_trips(void *arg)
{
	const struct mx_srs *srs = arg;
	char out[MX_SRS_ADDRESS_SIZE], back[MX_SRS_ADDRESS_SIZE];
	struct mx_err err;

	for (int i = 0; i < THREAD_ROUNDS; i++) {
		const struct rewrite_case *c = &forward_cases[(size_t)i % POSTSRSD_ROWS];
		if (fwd(srs, c->in, out, sizeof(out), &err) != MX_FOUND || strcmp(out, c->out) != 0 ||
		    rev(srs, out, back, sizeof(back), &err) != MX_FOUND)
			return (void *)"mismatch";
	}
	return NULL;
}

/* One context shared by several threads, as the milter and mapd do. */
START_TEST(test_threads)
{
	static const struct setup rotated = { .secrets = { SECRET, "old-secret", "older-secret" } };
	struct test_clock clock = { T0 };
	struct mx_srs *srs = srs_new(&rotated, &clock);
	pthread_t t[THREADS];

	for (size_t i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, thread_round_trips, srs), 0);
	for (size_t i = 0; i < THREADS; i++) {
		void *ret;
		ck_assert_int_eq(pthread_join(t[i], &ret), 0);
		ck_assert_ptr_null(ret);
	}
	mx_srs_destroy(&srs);
}
END_TEST

/* ---- settings and configuration ----------------------------------------- */

START_TEST(test_settings_check)
{
	static struct mx_srs_settings set;
	struct mx_srs *srs = NULL;
	struct mx_err err;

	mx_srs_settings_init(&set);
	ck_assert_int_eq(mx_srs_settings_check(&set, &err), -1);
	ck_assert(strstr(err.text, "no SRS domain") != NULL);
	strcpy(set.domain, "bad_domain");
	ck_assert_int_eq(mx_srs_settings_check(&set, &err), -1);
	strcpy(set.domain, DOMAIN);
	ck_assert_int_eq(mx_srs_settings_check(&set, &err), -1);
	ck_assert(strstr(err.text, "no SRS secret") != NULL);
	ck_assert_int_eq(mx_srs_settings_add_secret(&set, "", 0, &err), -1);
	ck_assert_int_eq(mx_srs_settings_add_secret(&set, "a\0b", 3, &err), -1);
	ck_assert_int_eq(mx_srs_settings_add_secret(&set, SECRET, strlen(SECRET), &err), 0);
	ck_assert_int_eq(mx_srs_settings_check(&set, &err), 0);
	set.separator = '/';
	ck_assert_int_eq(mx_srs_settings_check(&set, &err), -1);
	set.separator = '=';
	set.hash_length = 3;
	ck_assert_int_eq(mx_srs_settings_check(&set, &err), -1);
	set.hash_length = 21;
	ck_assert_int_eq(mx_srs_settings_check(&set, &err), -1);
	set.hash_length = 4;
	set.hash_min = 5;
	ck_assert_int_eq(mx_srs_settings_check(&set, &err), -1);
	set.hash_min = 4;
	set.max_age = 3600;
	ck_assert_int_eq(mx_srs_settings_check(&set, &err), -1);
	set.max_age = MX_SRS_MAX_AGE_DEFAULT;
	for (size_t i = 1; i < MX_SRS_SECRETS_MAX; i++)
		ck_assert_int_eq(mx_srs_settings_add_secret(&set, "x", 1, &err), 0);
	ck_assert_int_eq(mx_srs_settings_add_secret(&set, "x", 1, &err), -1);
	ck_assert_int_eq(mx_srs_create(&set, &srs, &err), 0);
	mx_srs_settings_wipe(&set);
	ck_assert_uint_eq(set.secret_count, 0);
	ck_assert_int_eq(set.secrets[0][0], '\0');
	mx_srs_destroy(&srs);
	ck_assert_ptr_null(srs);
	ck_assert_int_eq(mx_srs_create(&set, &srs, &err), -1);
	ck_assert_ptr_null(srs);
}
END_TEST

struct config_case {
	const char *text;     /* the srs section; @SECRETS@ is the secrets file */
	mode_t secrets_mode;
	const char *error;    /* NULL: valid */
};

static const struct config_case config_cases[] = {
	{ "srs = { domain = \"" DOMAIN "\"; secrets_file = \"@SECRETS@\"; };", 0600, NULL },
	{ "srs = { domain = \"" DOMAIN "\"; secrets = [ \"new\", \"old\" ]; separator = \"+\";\n"
	  "  hash_length = 6; hash_min = 5; max_age = \"30d\"; hash_alphabet = \"base64url\";\n"
	  "  always_rewrite = true; socket = \"inet:10042@127.0.0.1\"; };", 0600, NULL },
	{ "srs = { domain = \"" DOMAIN "\"; secrets_file = \"@SECRETS@\"; };", 0644, "accessible by others" },
	{ "srs = { domain = \"" DOMAIN "\"; };", 0600, ":1: set exactly one of 'secrets' and 'secrets_file'" },
	{ "srs = { domain = \"" DOMAIN "\"; secrets = [ \"a\" ];\n secrets_file = \"@SECRETS@\"; };", 0600,
	  "set exactly one" },
	{ "srs = { secrets = [ \"a\" ]; };", 0600, "'domain' is required" },
	{ "srs = { domain = \"" DOMAIN "\"; secrets = [ \"a\" ];\n  sepparator = \"+\"; };", 0600,
	  ":2: unknown setting 'sepparator'" },
	{ "srs = { domain = \"" DOMAIN "\"; secrets = [ \"a\" ];\n  separator = \"/\"; };", 0600,
	  ":2: 'separator' must be" },
	{ "srs = { domain = \"" DOMAIN "\"; secrets = [ \"a\" ];\n  hash_length = 30; };", 0600,
	  ":2: 'hash_length' is 30" },
	{ "srs = { domain = \"" DOMAIN "\"; secrets = [ \"a\" ]; hash_length = 6; hash_min = 8; };", 0600,
	  "minimum hash length" },
	{ "srs = { domain = \"" DOMAIN "\"; secrets = [ \"a\" ]; max_age = \"2h\"; };", 0600, "'max_age'" },
	{ "srs = { domain = \"" DOMAIN "\"; secrets = [ \"a\" ]; hash_alphabet = \"hex\"; };", 0600,
	  "'hash_alphabet'" },
	{ "srs = { domain = \"" DOMAIN "\"; secrets = ( \"a\", 5 ); };", 0600, "strings only" },
	{ "srs = { domain = \"" DOMAIN "\"; secrets = [ ]; };", 0600, "no SRS secret" },
	{ "srs = { domain = \"not a domain\"; secrets = [ \"a\" ]; };", 0600, "not a valid domain" },
};

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	ck_assert_int_ge(fputs(text, fp), 0);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

START_TEST(test_config_table)
{
	const struct config_case *c = &config_cases[_i];
	char dir[] = "/tmp/check_srs.XXXXXX";
	char conf[64], secrets[64], text[1024];
	static struct mx_srs_settings set;
	const config_setting_t *section;
	const char *mark;
	struct mx_err err;
	config_t cfg;
	int ret;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_lt(snprintf(conf, sizeof(conf), "%s/mxkit.conf", dir), (int)sizeof(conf));
	ck_assert_int_lt(snprintf(secrets, sizeof(secrets), "%s/srs.secrets", dir), (int)sizeof(secrets));
	write_file(secrets, "new-secret\n\r\n\nold-secret\r\n", c->secrets_mode);
	mark = strstr(c->text, "@SECRETS@");
	if (mark != NULL)
		ck_assert_int_lt(snprintf(text, sizeof(text), "%.*s%s%s", (int)(mark - c->text), c->text,
					  secrets, mark + 9), (int)sizeof(text));
	else
		ck_assert_int_lt(snprintf(text, sizeof(text), "%s", c->text), (int)sizeof(text));
	write_file(conf, text, 0600);
	config_init(&cfg);
	ck_assert_int_eq(mx_config_load(&cfg, conf, &err), 0);
	ck_assert_int_eq(mx_config_section(&cfg, "srs", &section, &err), 0);
	ret = mx_srs_config_read(section, &set, &err);
	if (c->error == NULL) {
		ck_assert_msg(ret == 0, "%s", err.text);
		ck_assert_str_eq(set.domain, DOMAIN);
		ck_assert_uint_eq(set.secret_count, 2);
		ck_assert_str_eq(set.secrets[0], mark != NULL ? "new-secret" : "new");
		ck_assert_str_eq(set.secrets[1], mark != NULL ? "old-secret" : "old");
	} else {
		ck_assert_int_eq(ret, -1);
		ck_assert_msg(strstr(err.text, c->error) != NULL, "'%s' lacks '%s'", err.text, c->error);
		ck_assert_uint_eq(set.secret_count, 0);
	}
	if (mark == NULL && c->error == NULL) {
		ck_assert_int_eq(set.separator, '+');
		ck_assert_uint_eq(set.hash_length, 6);
		ck_assert_uint_eq(set.hash_min, 5);
		ck_assert_uint_eq(set.max_age, 30 * DAY);
		ck_assert_int_eq(set.alphabet, MX_SRS_BASE64URL);
		ck_assert(set.always_rewrite);
	}
	mx_srs_settings_wipe(&set);
	config_destroy(&cfg);
	ck_assert_int_eq(unlink(conf), 0);
	ck_assert_int_eq(unlink(secrets), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_config_missing_section)
{
	static struct mx_srs_settings set;
	struct mx_err err;

	ck_assert_int_eq(mx_srs_config_read(NULL, &set, &err), -1);
	ck_assert(strstr(err.text, "no 'srs' section") != NULL);
	ck_assert_int_eq(mx_srs_secrets_file_read("/nonexistent/srs.secrets", &set, &err), -1);
	ck_assert(strstr(err.text, "/nonexistent/srs.secrets") != NULL);
}
END_TEST

#define ADD_LOOP(tc, fn, table) tcase_add_loop_test(tc, fn, 0, UNIT_CASES(table))

int main(void)
{
	Suite *s = suite_create("srs");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	ADD_LOOP(tc, test_forward_table, forward_cases);
	tcase_add_test(tc, test_forward_embedded_nul);
	ADD_LOOP(tc, test_forward_variants, variant_cases);
	tcase_add_test(tc, test_forward_always_rewrite);
	ADD_LOOP(tc, test_reverse_table, reverse_cases);
	ADD_LOOP(tc, test_round_trip, round_trip_senders);
	tcase_add_test(tc, test_reforward_srs1);
	ADD_LOOP(tc, test_age, age_cases);
	tcase_add_test(tc, test_max_age_setting);
	tcase_add_test(tc, test_secret_rotation);
	tcase_add_test(tc, test_long_sender_store);
	tcase_add_test(tc, test_output_sizes);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_settings_check);
	ADD_LOOP(tc, test_config_table, config_cases);
	tcase_add_test(tc, test_config_missing_section);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
