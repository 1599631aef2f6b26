/* check_address.c: unit tests of RFC 5321 address parsing, formatting,
 * normalisation and Postfix-style extension splitting (lib/mx_address.c). */
#include "mxkit-config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "mx_address.h"

#define U MX_ADDR_UTF8
#define A MX_ADDR_ANGLE
#define NL MX_ADDR_NO_LIMITS

/* One parse case. `len` 0 means strlen(in). On success `local` is the
 * internal form; on failure `why` is a substring of the error text. */
struct parse_case {
	const char *in;
	size_t len;
	unsigned flags;
	int ok;
	const char *local;
	const char *domain;
	bool quoted;
	const char *why;
};

#define OK(in, fl, loc, dom, q) { in, 0, fl, 1, loc, dom, q, NULL }
#define BAD(in, fl, why) { in, 0, fl, 0, NULL, NULL, false, why }
#define BADN(in, fl, why) { in, sizeof(in) - 1, fl, 0, NULL, NULL, false, why }

static const struct parse_case parse_cases[] = {
	/* Plain Dot-strings and RFC 5321 examples. */
	OK("user@example.org", 0, "user", "example.org", false),
	OK("Postmaster@Example.ORG", 0, "Postmaster", "Example.ORG", false),
	OK("Smith@bar.com", 0, "Smith", "bar.com", false),
	OK("jones@xyz.com", 0, "jones", "xyz.com", false),
	OK("first.last@example.org", 0, "first.last", "example.org", false),
	OK("a@b", 0, "a", "b", false),
	OK("a@localhost", 0, "a", "localhost", false),
	OK("user+tag@example.org", 0, "user+tag", "example.org", false),
	OK("user=x@example.org", 0, "user=x", "example.org", false),
	OK("user%other@example.org", 0, "user%other", "example.org", false),
	OK("a/b@example.org", 0, "a/b", "example.org", false),
	OK("bang!path@example.org", 0, "bang!path", "example.org", false),
	OK("!#$%&'*+-/=?^_`{|}~@example.org", 0, "!#$%&'*+-/=?^_`{|}~", "example.org", false),
	OK("SRS0=abcd=ef=example.com=user@example.org", 0,
	   "SRS0=abcd=ef=example.com=user", "example.org", false),
	OK("x@123.example", 0, "x", "123.example", false),
	OK("x@1-2.3com", 0, "x", "1-2.3com", false),
	OK("x@xn--bcher-kva.example", 0, "x", "xn--bcher-kva.example", false),
	OK("x@a-b-c.d", 0, "x", "a-b-c.d", false),
	/* Dots in the wrong place. */
	BAD(".user@example.org", 0, "misplaced '.'"),
	BAD("user.@example.org", 0, "misplaced '.'"),
	BAD("us..er@example.org", 0, "misplaced '.'"),
	BAD(".@example.org", 0, "misplaced '.'"),
	/* Bytes outside atext. */
	BAD("us er@example.org", 0, "invalid byte 0x20"),
	BAD("us(er@example.org", 0, "invalid byte 0x28"),
	BAD("us,er@example.org", 0, "invalid byte 0x2c"),
	BAD("us\"er@example.org", 0, "invalid byte 0x22"),
	BAD("us\ter@example.org", 0, "invalid byte 0x09"),
	BAD("us\x7f" "er@example.org", 0, "invalid byte 0x7f"),
	BAD("us[er@example.org", 0, "invalid byte 0x5b"),
	/* Missing or extra parts. */
	BAD("", 0, "empty address"),
	BAD("@example.org", 0, "empty local part"),
	BAD("user", 0, "no '@'"),
	BAD("user@", 0, "empty domain"),
	BAD("user@@example.org", 0, "invalid byte 0x40"),
	BAD("a@b@example.org", 0, "invalid byte 0x40"),
	/* Domains. */
	BAD("user@example.org.", 0, "ends with '.'"),
	BAD("user@.example.org", 0, "empty label"),
	BAD("user@example..org", 0, "empty label"),
	BAD("user@.", 0, "empty label"),
	BAD("user@-example.org", 0, "'-'"),
	BAD("user@example-.org", 0, "'-'"),
	BAD("user@example.org-", 0, "'-'"),
	BAD("user@exa_mple.org", 0, "invalid byte 0x5f"),
	BAD("user@exa mple.org", 0, "invalid byte 0x20"),
	BAD("user@example.org>", 0, "invalid byte 0x3e"),
	/* Quoted local parts. */
	OK("\"john doe\"@example.org", 0, "john doe", "example.org", true),
	OK("\"john\"@example.org", 0, "john", "example.org", false),
	OK("\"john.doe\"@example.org", 0, "john.doe", "example.org", false),
	OK("\".john\"@example.org", 0, ".john", "example.org", true),
	OK("\"john.\"@example.org", 0, "john.", "example.org", true),
	OK("\"jo..hn\"@example.org", 0, "jo..hn", "example.org", true),
	OK("\"a\\\"b\"@example.org", 0, "a\"b", "example.org", true),
	OK("\"a\\\\b\"@example.org", 0, "a\\b", "example.org", true),
	OK("\"\\a\\b\"@example.org", 0, "ab", "example.org", false),
	OK("\"a@b\"@example.org", 0, "a@b", "example.org", true),
	OK("\"a,b(c)\"@example.org", 0, "a,b(c)", "example.org", true),
	OK("\" \"@example.org", 0, " ", "example.org", true),
	OK("\"Abc@def\"@example.com", 0, "Abc@def", "example.com", true),
	OK("\"Fred\\ Bloggs\"@example.com", 0, "Fred Bloggs", "example.com", true),
	BAD("\"\"@example.org", 0, "empty local part"),
	BAD("\"john@example.org", 0, "closing '\"'"),
	BAD("\"john\"x@example.org", 0, "after quoted local part"),
	BAD("\"john\"", 0, "no '@'"),
	BAD("\"a\tb\"@example.org", 0, "invalid byte 0x09"),
	BAD("\"a\\\tb\"@example.org", 0, "quoted pair"),
	BAD("\"a\\", 0, "quoted pair"),
	BAD("\"a\x7f\"@example.org", 0, "invalid byte 0x7f"),
	BAD("john.\"doe\"@example.org", 0, "invalid byte 0x22"),
	/* Address literals. */
	OK("user@[192.0.2.1]", 0, "user", "[192.0.2.1]", false),
	OK("user@[IPv6:2001:db8::1]", 0, "user", "[IPv6:2001:db8::1]", false),
	OK("user@[ipv6:2001:DB8::1]", 0, "user", "[ipv6:2001:DB8::1]", false),
	OK("user@[IPv6:::ffff:192.0.2.1]", 0, "user", "[IPv6:::ffff:192.0.2.1]", false),
	OK("user@[IPv6:1:2:3:4:5:6:7:8]", 0, "user", "[IPv6:1:2:3:4:5:6:7:8]", false),
	BAD("user@[192.0.2.256]", 0, "IPv4"),
	BAD("user@[192.0.2]", 0, "IPv4"),
	BAD("user@[192.0.2.1", 0, "closing ']'"),
	BAD("user@[]", 0, "empty address literal"),
	BAD("user@[IPv6:2001:db8::g]", 0, "IPv6"),
	BAD("user@[IPv6:1:2:3:4:5:6:7:8:9]", 0, "IPv6"),
	BAD("user@[IPv6:fe80::1%eth0]", 0, "IPv6"),
	BAD("user@[2001:db8::1]", 0, "general address literal"),
	BAD("user@[x-tag:stuff]", 0, "general address literal"),
	BAD("user@[192.0.2.1]x", 0, "closing ']'"),
	BAD("user@[IPv6:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0001]", 0, "max 64"),
	/* Control bytes, NUL, line breaks. */
	BADN("us\0er@example.org", 0, "NUL byte at offset 2"),
	BADN("user@example.org\0", 0, "NUL byte at offset 16"),
	BAD("user@example.org\r\n", 0, "line break at offset 16"),
	BAD("us\ner@example.org", 0, "line break at offset 2"),
	BAD("\"us\rer\"@example.org", 0, "line break"),
	/* Angle brackets. */
	OK("<user@example.org>", A, "user", "example.org", false),
	OK("user@example.org", A, "user", "example.org", false),
	OK("<\"a b\"@example.org>", A, "a b", "example.org", true),
	BAD("<user@example.org>", 0, "invalid byte 0x3c"),
	BAD("<user@example.org", A, "closing '>'"),
	BAD("<", A, "closing '>'"),
	BAD("<>", A, "empty address"),
	BAD("<<user@example.org>>", A, "invalid byte 0x3c"),
	BAD("user@example.org>", A, "invalid byte 0x3e"),
	BAD("<@a.example:user@example.org>", A, "empty local part"),
	/* UTF-8 (RFC 6531). */
	OK("j\xc3\xb6rg@example.org", U, "j\xc3\xb6rg", "example.org", false),
	OK("\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\x9b\xbd", U,
	   "\xe7\x94\xa8\xe6\x88\xb7", "\xe4\xbe\x8b\xe5\xad\x90.\xe5\x9b\xbd", false),
	OK("x@b\xc3\xbc" "cher.example", U, "x", "b\xc3\xbc" "cher.example", false),
	OK("\xf0\x9f\x98\x80@example.org", U, "\xf0\x9f\x98\x80", "example.org", false),
	OK("\xf4\x8f\xbf\xbf@example.org", U, "\xf4\x8f\xbf\xbf", "example.org", false),
	OK("\xed\x9f\xbf@example.org", U, "\xed\x9f\xbf", "example.org", false),
	OK("\"j\xc3\xb6 rg\"@example.org", U, "j\xc3\xb6 rg", "example.org", true),
	BAD("j\xc3\xb6rg@example.org", 0, "invalid byte 0xc3"),
	BAD("x@b\xc3\xbc" "cher.example", 0, "invalid byte 0xc3"),
	BAD("\"j\xc3\xb6rg\"@example.org", 0, "invalid byte 0xc3"),
	BAD("\xc0\xaf@example.org", U, "invalid UTF-8"),          /* overlong '/' */
	BAD("\xc1\xbf@example.org", U, "invalid UTF-8"),          /* overlong */
	BAD("\xe0\x80\xaf@example.org", U, "invalid UTF-8"),      /* overlong 3-byte */
	BAD("\xf0\x80\x80\xaf@example.org", U, "invalid UTF-8"),  /* overlong 4-byte */
	BAD("\xed\xa0\x80@example.org", U, "invalid UTF-8"),      /* surrogate D800 */
	BAD("\xed\xbf\xbf@example.org", U, "invalid UTF-8"),      /* surrogate DFFF */
	BAD("\xf4\x90\x80\x80@example.org", U, "invalid UTF-8"),  /* U+110000 */
	BAD("\xf5\x80\x80\x80@example.org", U, "invalid UTF-8"),
	BAD("\xff@example.org", U, "invalid UTF-8"),
	BAD("\x80@example.org", U, "invalid UTF-8"),              /* stray continuation */
	BAD("a\xc3@example.org", U, "invalid UTF-8"),             /* truncated */
	BAD("a\xe4\xbe@example.org", U, "invalid UTF-8"),         /* truncated */
	BAD("x@b\xc3(cher.example", U, "invalid UTF-8"),
	BAD("x@b\xed\xa0\x80.example", U, "invalid UTF-8"),
	BAD("\"a\xc3\"@example.org", U, "invalid UTF-8"),
	BAD("x@example.or\xc3", U, "invalid UTF-8"),
};

START_TEST(test_parse_table)
{
	const struct parse_case *c = &parse_cases[_i];
	size_t len = c->len != 0 ? c->len : strlen(c->in);
	struct mx_address a;
	struct mx_err err;
	int r;

	err.text[0] = '\0';
	r = mx_address_parse(c->in, len, c->flags, &a, &err);
	if (c->ok) {
		ck_assert_msg(r == 0, "case %d: expected success, got error '%s'", _i, err.text);
		ck_assert_uint_eq(a.local_len, strlen(c->local));
		ck_assert_msg(memcmp(a.local, c->local, a.local_len) == 0, "case %d: local part", _i);
		ck_assert_int_eq(a.local[a.local_len], '\0');
		ck_assert_str_eq(a.domain, c->domain);
		ck_assert_uint_eq(a.domain_len, strlen(c->domain));
		ck_assert_msg(a.quoted == c->quoted, "case %d: quoted=%d", _i, a.quoted);
	} else {
		ck_assert_msg(r == -1, "case %d: expected failure, parsed", _i);
		ck_assert_msg(strstr(err.text, c->why) != NULL,
			      "case %d: error '%s' lacks '%s'", _i, err.text, c->why);
	}
}
END_TEST

/* The input is taken by length: bytes after `len` are never read. */
START_TEST(test_parse_not_terminated)
{
	static const char in[] = "user@example.orgGARBAGE";
	struct mx_address a;
	struct mx_err err;

	ck_assert_int_eq(mx_address_parse(in, 16, 0, &a, &err), 0);
	ck_assert_str_eq(a.domain, "example.org");
	ck_assert_int_eq(mx_address_parse(in, 4, 0, &a, &err), -1);
	ck_assert_int_eq(mx_address_parse(NULL, 0, 0, &a, &err), -1);
}
END_TEST

/* Length limits: local part 64 octets (internal form), domain 255, label 63. */
struct limit_case {
	size_t local_len;     /* of the dot-string local part */
	size_t label_len;     /* every label of the domain */
	size_t labels;        /* count of labels */
	size_t last_len;      /* of the last label; 0: label_len */
	unsigned flags;
	int ok;
	const char *why;
};

static const struct limit_case limit_cases[] = {
	{ 64, 10, 2, 0, 0, 1, NULL },
	{ 65, 10, 2, 0, 0, 0, "local part is 65 octets (max 64)" },
	{ 65, 10, 2, 0, NL, 1, NULL },
	{ 128, 10, 2, 0, NL, 1, NULL },
	{ 129, 10, 2, 0, NL, 0, "longer than 128" },
	{ 300, 10, 2, 0, NL, 0, "longer than 128" },
	{ 5, 63, 2, 0, 0, 1, NULL },
	{ 5, 64, 2, 0, 0, 0, "64 octets (max 63)" },
	{ 5, 63, 2, 64, 0, 0, "64 octets (max 63)" },
	{ 5, 64, 1, 0, NL, 0, "64 octets (max 63)" },
	/* 4 * 63 + 3 dots = 255 */
	{ 5, 63, 4, 0, 0, 1, NULL },
	/* 4 * 62 + 4 dots + 3 = 255, + 4 = 256 */
	{ 5, 62, 5, 3, 0, 1, NULL },
	{ 5, 62, 5, 4, 0, 0, "domain is 256 octets (max 255)" },
	{ 5, 62, 5, 4, NL, 0, "domain is 256 octets (max 255)" },
	{ 5, 63, 5, 1, 0, 0, "domain is 257 octets (max 255)" },
};

/* Build "l...l@d...d.d...d" from a limit case into buf. */
static size_t build_limit(const struct limit_case *c, char *buf, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < c->local_len && o < size; i++)
		buf[o++] = (char)('a' + i % 26);
	buf[o++] = '@';
	for (size_t l = 0; l < c->labels; l++) {
		size_t n = (l + 1 == c->labels && c->last_len != 0) ? c->last_len : c->label_len;
		if (l > 0)
			buf[o++] = '.';
		for (size_t i = 0; i < n && o < size; i++)
			buf[o++] = 'x';
	}
	return o;
}

START_TEST(test_limits)
{
	const struct limit_case *c = &limit_cases[_i];
	char buf[1024];
	size_t len = build_limit(c, buf, 700);
	struct mx_address a;
	struct mx_err err;
	int r = mx_address_parse(buf, len, c->flags, &a, &err);

	if (c->ok) {
		ck_assert_msg(r == 0, "case %d: %s", _i, err.text);
		ck_assert_uint_eq(a.local_len, c->local_len);
	} else {
		ck_assert_int_eq(r, -1);
		ck_assert_msg(strstr(err.text, c->why) != NULL, "case %d: '%s'", _i, err.text);
	}
}
END_TEST

/* The 64-octet limit applies to the internal form: a quoted local part
 * of 64 octets that needs escapes is longer on the wire but fits. */
START_TEST(test_limit_internal_form)
{
	char buf[256];
	struct mx_address a;
	struct mx_err err;
	size_t o = 0;

	buf[o++] = '"';
	for (int i = 0; i < 64; i++) {
		buf[o++] = '\\';
		buf[o++] = '"';
	}
	buf[o++] = '"';
	memcpy(buf + o, "@example.org", 12);
	o += 12;
	ck_assert_int_eq(mx_address_parse(buf, o, 0, &a, &err), 0);
	ck_assert_uint_eq(a.local_len, 64);
	ck_assert(a.quoted);
	/* One more escaped quote is 65 internal octets. */
	memmove(buf + 3, buf + 1, o - 1);
	buf[1] = '\\';
	buf[2] = '"';
	ck_assert_int_eq(mx_address_parse(buf, o + 2, 0, &a, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "65 octets"));
	ck_assert_int_eq(mx_address_parse(buf, o + 2, NL, &a, &err), 0);
	ck_assert_uint_eq(a.local_len, 65);
}
END_TEST

/* mx_domain_valid on its own. */
struct domain_case {
	const char *in;
	unsigned flags;
	bool ok;
};

static const struct domain_case domain_cases[] = {
	{ "example.org", 0, true },
	{ "a", 0, true },
	{ "a-b.c", 0, true },
	{ "0.0", 0, true },
	{ "", 0, false },
	{ ".", 0, false },
	{ "example.org.", 0, false },
	{ "-a.b", 0, false },
	{ "a-.b", 0, false },
	{ "a..b", 0, false },
	{ "a_b.c", 0, false },
	{ "[192.0.2.1]", 0, false },
	{ "b\xc3\xbc" "cher.de", 0, false },
	{ "b\xc3\xbc" "cher.de", U, true },
	{ "b\xc0\x80" "cher.de", U, false },
};

START_TEST(test_domain_table)
{
	const struct domain_case *c = &domain_cases[_i];

	ck_assert_msg(mx_domain_valid(c->in, strlen(c->in), c->flags) == c->ok, "domain case %d", _i);
}
END_TEST

/* Format: external form, re-quoting when needed; parse(format(x)) == x. */
struct format_case {
	const char *in;
	unsigned flags;
	const char *out;
};

static const struct format_case format_cases[] = {
	{ "user@example.org", 0, "user@example.org" },
	{ "\"user\"@example.org", 0, "user@example.org" },
	{ "\"john doe\"@example.org", 0, "\"john doe\"@example.org" },
	{ "\"a\\\"b\"@example.org", 0, "\"a\\\"b\"@example.org" },
	{ "\"a\\\\b\"@example.org", 0, "\"a\\\\b\"@example.org" },
	{ "\"\\x\\y\"@example.org", 0, "xy@example.org" },
	{ "\".a\"@example.org", 0, "\".a\"@example.org" },
	{ "\"a@b\"@example.org", 0, "\"a@b\"@example.org" },
	{ "<Mixed.Case@Example.Org>", A, "Mixed.Case@Example.Org" },
	{ "user@[IPv6:2001:db8::1]", 0, "user@[IPv6:2001:db8::1]" },
	{ "\"j\xc3\xb6 rg\"@b\xc3\xbc" "cher.de", U, "\"j\xc3\xb6 rg\"@b\xc3\xbc" "cher.de" },
};

START_TEST(test_format_roundtrip)
{
	const struct format_case *c = &format_cases[_i];
	struct mx_address a, b;
	struct mx_err err;
	char buf[MX_ADDRESS_MAX + 1];
	int n;

	ck_assert_int_eq(mx_address_parse(c->in, strlen(c->in), c->flags, &a, &err), 0);
	n = mx_address_format(&a, buf, sizeof(buf));
	ck_assert_int_eq(n, (int)strlen(c->out));
	ck_assert_str_eq(buf, c->out);
	ck_assert_int_eq(mx_address_parse(buf, (size_t)n, c->flags & ~(unsigned)A, &b, &err), 0);
	ck_assert_uint_eq(a.local_len, b.local_len);
	ck_assert(memcmp(a.local, b.local, a.local_len) == 0);
	ck_assert_str_eq(a.domain, b.domain);
	ck_assert(a.quoted == b.quoted);
	/* Exactly enough room, and one byte short. */
	ck_assert_int_eq(mx_address_format(&a, buf, (size_t)n + 1), n);
	ck_assert_int_eq(mx_address_format(&a, buf, (size_t)n), -1);
	ck_assert_int_eq(mx_address_format(&a, buf, 1), -1);
	ck_assert_int_eq(mx_address_format(&a, buf, 0), -1);
}
END_TEST

/* Lowercase and normalize: ASCII letters only, literals and UTF-8 kept. */
struct norm_case {
	const char *in;
	unsigned flags;
	const char *out;  /* NULL: normalize fails */
};

static const struct norm_case norm_cases[] = {
	{ "User@Example.ORG", 0, "user@example.org" },
	{ "<Alice+Tag@EXAMPLE.org>", A, "alice+tag@example.org" },
	{ "\"John Doe\"@Example.org", 0, "\"john doe\"@example.org" },
	{ "\"JOHN\"@Example.org", 0, "john@example.org" },
	{ "X@[IPv6:2001:DB8::A]", 0, "x@[ipv6:2001:db8::a]" },
	{ "J\xc3\x96RG@B\xc3\x9c" "CHER.DE", U, "j\xc3\x96rg@b\xc3\x9c" "cher.de" },
	{ "user@example.org.", 0, NULL },
	{ "User@Example.ORG", A, "user@example.org" },
	{ "", 0, NULL },
};

START_TEST(test_normalize)
{
	const struct norm_case *c = &norm_cases[_i];
	char buf[MX_ADDRESS_MAX + 1];
	struct mx_err err;
	int n = mx_address_normalize(c->in, strlen(c->in), c->flags, buf, sizeof(buf), &err);

	if (c->out == NULL) {
		ck_assert_int_eq(n, -1);
		ck_assert(err.text[0] != '\0');
		return;
	}
	ck_assert_msg(n >= 0, "case %d: %s", _i, err.text);
	ck_assert_str_eq(buf, c->out);
	ck_assert_int_eq(n, (int)strlen(c->out));
	/* Idempotent. */
	ck_assert_int_eq(mx_address_normalize(buf, (size_t)n, c->flags & U, buf, sizeof(buf), &err), n);
	ck_assert_str_eq(buf, c->out);
}
END_TEST

START_TEST(test_normalize_small_buffer)
{
	char buf[8];
	struct mx_err err;

	ck_assert_int_eq(mx_address_normalize("a@b.c", 5, 0, buf, 6, &err), 5);
	ck_assert_int_eq(mx_address_normalize("a@b.cd", 6, 0, buf, 6, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "does not fit"));
}
END_TEST

START_TEST(test_lowercase)
{
	struct mx_address a;
	struct mx_err err;

	ck_assert_int_eq(mx_address_parse("\"A B\\\"C\"@X.Y", 12, 0, &a, &err), 0);
	mx_address_lowercase(&a);
	ck_assert_str_eq(a.local, "a b\"c");
	ck_assert_str_eq(a.domain, "x.y");
	ck_assert(a.quoted);
}
END_TEST

/* Extension splitting, mirroring Postfix split_addr(). `base` is the
 * expected base length; -1 means "not split" (returns len). */
struct ext_case {
	const char *local;
	const char *delims;
	long base;
};

static const struct ext_case ext_cases[] = {
	{ "user+tag", "+", 4 },
	{ "user+tag+more", "+", 4 },
	{ "user-tag", "+", -1 },
	{ "user-tag", "-", 4 },
	{ "user-tag+x", "+-", 4 },
	{ "user+tag-x", "+-", 4 },
	{ "user", "+", -1 },
	{ "+tag", "+", -1 },         /* empty base: not split */
	{ "a+", "+", 1 },            /* delimiter last: Postfix splits, empty extension */
	{ "a++", "+", 1 },
	{ "user+tag", "", -1 },
	{ "user+tag", NULL, -1 },
	{ "postmaster", "a", -1 },   /* reserved names, any case, any delimiter */
	{ "PostMaster", "s", -1 },
	{ "mailer-daemon", "-", -1 },
	{ "MAILER-DAEMON", "-", -1 },
	{ "double-bounce", "-", -1 },
	{ "Double-Bounce", "-", -1 },
	{ "postmaster+x", "+", 10 }, /* only the exact names are reserved */
	{ "mailer-daemon+x", "+", 13 },
	{ "owner-list", "-", -1 },   /* owner-* with '-' a delimiter */
	{ "OWNER-list", "+-", -1 },
	{ "owner-", "-", -1 },
	{ "owner-list+x", "+", 10 }, /* without '-' in the set owner-* is ordinary */
	{ "owner-list", "+", -1 },
	{ "owner", "-", -1 },
	{ "list-request", "-", -1 }, /* *-request, longer than 8 bytes */
	{ "list-REQUEST", "-", -1 },
	{ "x-request", "-", -1 },
	{ "-request", "-", -1 },     /* 8 bytes: not special, but base empty */
	{ "-request", "+-", -1 },
	{ "list-request+x", "+-", 4 }, /* does not end in -request: splits at first '-' */
	{ "list-request+x", "+", 12 },
	{ "list-request", "+", -1 },
	{ "a-request", "+", -1 },
	{ "a.b+c", ".", 1 },
	{ "ab", "b", 1 },
	{ "user=x", "+=", 4 },
};

START_TEST(test_extension_table)
{
	const struct ext_case *c = &ext_cases[_i];
	size_t len = strlen(c->local);
	size_t want = c->base < 0 ? len : (size_t)c->base;

	ck_assert_msg(mx_address_extension_at(c->local, len, c->delims) == want,
		      "case %d ('%s' with '%s'): got %zu want %zu", _i, c->local,
		      c->delims != NULL ? c->delims : "(null)",
		      mx_address_extension_at(c->local, len, c->delims), want);
}
END_TEST

/* Postfix sees a C string: an embedded NUL ends the local part, and bytes
 * beyond `len` are never looked at. */
START_TEST(test_extension_bounds)
{
	ck_assert_uint_eq(mx_address_extension_at("ab\0+c", 5, "+"), 5);
	ck_assert_uint_eq(mx_address_extension_at("a+b\0c", 5, "+"), 1);
	ck_assert_uint_eq(mx_address_extension_at("user+tag", 4, "+"), 4);
	ck_assert_uint_eq(mx_address_extension_at("postmaster+x", 10, "+"), 10);
	ck_assert_uint_eq(mx_address_extension_at("", 0, "+"), 0);
}
END_TEST

#define N(t) ((int)(sizeof(t) / sizeof((t)[0])))

int main(void)
{
	Suite *s = suite_create("address");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_parse_table, 0, N(parse_cases));
	tcase_add_test(tc, test_parse_not_terminated);
	tcase_add_loop_test(tc, test_limits, 0, N(limit_cases));
	tcase_add_test(tc, test_limit_internal_form);
	tcase_add_loop_test(tc, test_domain_table, 0, N(domain_cases));
	tcase_add_loop_test(tc, test_format_roundtrip, 0, N(format_cases));
	tcase_add_loop_test(tc, test_normalize, 0, N(norm_cases));
	tcase_add_test(tc, test_normalize_small_buffer);
	tcase_add_test(tc, test_lowercase);
	tcase_add_loop_test(tc, test_extension_table, 0, N(ext_cases));
	tcase_add_test(tc, test_extension_bounds);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
