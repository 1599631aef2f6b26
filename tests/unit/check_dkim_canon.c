/* check_dkim_canon.c: unit tests of DKIM header and body canonicalization:
 * tables (RFC 6376 section 3.4.6 included) and streaming equivalence
 * under every chunking of the body. */
#include "mxkit-config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_dkim_run.h"
#include "dkim_canon.h"

struct collect {
	struct dkim_buf b;
	size_t calls;
};

static int collect_sink(void *arg, const unsigned char *p, size_t n, struct mx_err *err)
{
	struct collect *c = arg;

	c->calls++;
	return dkim_buf_append(&c->b, p, n, err);
}

/* Canonicalize in[0..len) fed in chunks of `chunk` bytes (0 = one piece). */
static void canon_body(enum dkim_canon m, const char *in, size_t len, size_t chunk,
		       struct collect *out)
{
	struct dkim_body_canon *bc = malloc(sizeof(*bc));
	struct mx_err err;
	size_t off = 0, n;

	ck_assert_ptr_nonnull(bc);
	dkim_buf_init(&out->b, 64 * 1024 * 1024);
	out->calls = 0;
	dkim_body_canon_init(bc, m, collect_sink, out);
	if (chunk == 0)
		chunk = len ? len : 1;
	while (off < len) {
		n = len - off < chunk ? len - off : chunk;
		ck_assert_int_eq(dkim_body_canon_update(bc, in + off, n, &err), 0);
		off += n;
	}
	ck_assert_int_eq(dkim_body_canon_final(bc, &err), 0);
	free(bc);
}

struct body_case {
	enum dkim_canon canon;
	const char *in;
	const char *want;
};

#define S DKIM_CANON_SIMPLE
#define R DKIM_CANON_RELAXED
static const struct body_case body_cases[] = {
	/* RFC 6376 section 3.4.6 example body. */
	{ S, " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n" },
	{ R, " C \r\nD \t E\r\n\r\n\r\n", " C\r\nD E\r\n" },
	/* Empty bodies and bodies of only blank lines. */
	{ S, "", "\r\n" },
	{ R, "", "" },
	{ S, "\r\n", "\r\n" },
	{ R, "\r\n", "" },
	{ S, "\r\n\r\n\r\n", "\r\n" },
	{ R, "\r\n\r\n  \r\n\t\r\n", "" },
	{ S, "  \r\n", "  \r\n" },
	/* No final CRLF. */
	{ S, "abc", "abc\r\n" },
	{ R, "abc", "abc\r\n" },
	{ R, "abc  \t", "abc\r\n" },
	{ S, "abc \t", "abc \t\r\n" },
	/* Blank lines inside are kept, only trailing ones go. */
	{ S, "a\r\n\r\nb\r\n\r\n", "a\r\n\r\nb\r\n" },
	{ R, "a\r\n \r\nb", "a\r\n\r\nb\r\n" },
	{ R, "a  \t b   \r\n", "a b\r\n" },
	{ R, "\t\tx\r\n", " x\r\n" },
	/* Bare CR and LF are ordinary bytes. */
	{ S, "a\rb\r\n", "a\rb\r\n" },
	{ S, "a\r", "a\r\r\n" },
	{ R, "a \r b\r\n", "a \r b\r\n" },
	{ S, "a\nb\n", "a\nb\n\r\n" },
	{ R, "\r\r\n", "\r\r\n" },
	/* 8-bit data passes unchanged. */
	{ R, "caf\xc3\xa9  \xff\r\n", "caf\xc3\xa9 \xff\r\n" },
};
#undef S
#undef R

START_TEST(test_body_table)
{
	const struct body_case *c = &body_cases[_i];
	struct collect out;

	canon_body(c->canon, c->in, strlen(c->in), 0, &out);
	ck_assert_msg(out.b.len == strlen(c->want) &&
		      (out.b.len == 0 || memcmp(out.b.data, c->want, out.b.len) == 0),
		      "case %d (%s): got %zu bytes '%.*s'", _i, dkim_canon_name(c->canon),
		      out.b.len, (int)out.b.len, out.b.data ? out.b.data : "");
	dkim_buf_free(&out.b);
}
END_TEST

/* Every chunk size, every two-piece split: the same output. */
START_TEST(test_body_streaming_chunk_sizes)
{
	const struct body_case *c = &body_cases[_i];
	size_t len = strlen(c->in), chunk;
	struct collect ref, out;

	canon_body(c->canon, c->in, len, 0, &ref);
	for (chunk = 1; chunk <= len + 1; chunk++) {
		canon_body(c->canon, c->in, len, chunk, &out);
		ck_assert_msg(out.b.len == ref.b.len &&
			      (ref.b.len == 0 || memcmp(out.b.data, ref.b.data, ref.b.len) == 0),
			      "case %d chunk %zu differs", _i, chunk);
		dkim_buf_free(&out.b);
	}
	dkim_buf_free(&ref.b);
}
END_TEST

/* A pseudo-random body of CR, LF, SP, HTAB and letters, cut at random
 * points, against the one-piece result. Fixed seed: reproducible. */
START_TEST(test_body_streaming_random)
{
	static const char alphabet[] = "\r\n \tab";
	uint32_t x = 2463534242u;
	char body[600];
	int round, m;

	for (round = 0; round < 300; round++) {
		size_t len = 0, i;
		x ^= x << 13; x ^= x >> 17; x ^= x << 5;
		len = x % sizeof(body);
		for (i = 0; i < len; i++) {
			x ^= x << 13; x ^= x >> 17; x ^= x << 5;
			body[i] = alphabet[x % (sizeof(alphabet) - 1)];
		}
		for (m = 0; m < 2; m++) {
			struct collect ref, out;
			struct dkim_body_canon *bc = malloc(sizeof(*bc));
			struct mx_err err;
			size_t off = 0;

			canon_body((enum dkim_canon)m, body, len, 0, &ref);
			dkim_buf_init(&out.b, 1 << 20);
			dkim_body_canon_init(bc, (enum dkim_canon)m, collect_sink, &out);
			while (off < len) {
				size_t n;
				x ^= x << 13; x ^= x >> 17; x ^= x << 5;
				n = 1 + x % 7;
				if (n > len - off)
					n = len - off;
				ck_assert_int_eq(dkim_body_canon_update(bc, body + off, n, &err), 0);
				off += n;
			}
			ck_assert_int_eq(dkim_body_canon_final(bc, &err), 0);
			ck_assert_msg(out.b.len == ref.b.len &&
				      (ref.b.len == 0 || memcmp(out.b.data, ref.b.data, ref.b.len) == 0),
				      "round %d canon %d differs", round, m);
			/* Relaxed output never has WSP before CRLF nor two WSP in a row. */
			if (m == DKIM_CANON_RELAXED) {
				for (i = 1; i < out.b.len; i++) {
					ck_assert(!(out.b.data[i] == ' ' && out.b.data[i - 1] == ' '));
					ck_assert(!(out.b.data[i] == '\r' && out.b.data[i - 1] == ' ' &&
						    i + 1 < out.b.len && out.b.data[i + 1] == '\n'));
				}
			}
			free(bc);
			dkim_buf_free(&ref.b);
			dkim_buf_free(&out.b);
		}
	}
}
END_TEST

/* A million blank lines are counted, not stored: output is exact and the
 * canonicalizer's size is fixed; they are emitted once content follows. */
START_TEST(test_body_many_blank_lines)
{
	enum { LINES = 1000000 };
	struct collect out;
	struct dkim_body_canon *bc = malloc(sizeof(*bc));
	struct mx_err err;
	int i;

	dkim_buf_init(&out.b, 8 * 1024 * 1024);
	out.calls = 0;
	dkim_body_canon_init(bc, DKIM_CANON_RELAXED, collect_sink, &out);
	ck_assert_int_eq(dkim_body_canon_update(bc, "x", 1, &err), 0);
	for (i = 0; i < LINES; i++)
		ck_assert_int_eq(dkim_body_canon_update(bc, " \r\n", 3, &err), 0);
	ck_assert_uint_eq(out.b.len + bc->staged, 1);  /* nothing but "x" emitted yet */
	ck_assert_int_eq(dkim_body_canon_update(bc, "y", 1, &err), 0);
	ck_assert_int_eq(dkim_body_canon_final(bc, &err), 0);
	ck_assert_uint_eq(out.b.len, 1 + 2 * (size_t)LINES + 1 + 2);
	ck_assert(memcmp(out.b.data + out.b.len - 3, "y\r\n", 3) == 0);
	/* Output went out in stage-sized pieces, not one call per line. */
	ck_assert_uint_le(out.calls, out.b.len / (DKIM_CANON_STAGE / 2) + 2);
	free(bc);
	dkim_buf_free(&out.b);
}
END_TEST

struct header_case {
	enum dkim_canon canon;
	const char *name;
	const char *value;
	const char *want;
};

#define S DKIM_CANON_SIMPLE
#define R DKIM_CANON_RELAXED
static const struct header_case header_cases[] = {
	/* RFC 6376 section 3.4.6 example header fields. */
	{ R, "A", " X", "a:X\r\n" },
	{ R, "B ", " Y\t\r\n\tZ  ", "b:Y Z\r\n" },
	{ S, "A", " X", "A: X\r\n" },
	{ S, "B ", " Y\t\r\n\tZ  ", "B : Y\t\r\n\tZ  \r\n" },
	/* Folds as milters deliver them (bare LF). */
	{ R, "Subject", " a\n\tb\n  c", "subject:a b c\r\n" },
	{ S, "Subject", " a\n\tb", "Subject: a\r\n\tb\r\n" },
	{ R, "MIME-Version", "1.0", "mime-version:1.0\r\n" },
	{ R, "X", "", "x:\r\n" },
	{ R, "X", " \t ", "x:\r\n" },
	{ S, "X", "", "X:\r\n" },
	/* 8-bit and UTF-8 values are kept as they are. */
	{ R, "Subject", " Gr\xc3\xbc\xc3\x9f  dich ", "subject:Gr\xc3\xbc\xc3\x9f dich\r\n" },
	{ R, "SUBJECT\t", "\t\xff  \xfe", "subject:\xff \xfe\r\n" },
};
#undef S
#undef R

START_TEST(test_header_table)
{
	const struct header_case *c = &header_cases[_i];
	struct dkim_buf out;
	struct mx_err err;

	dkim_buf_init(&out, 4096);
	ck_assert_int_eq(dkim_canon_header(c->canon, c->name, strlen(c->name), c->value,
					   strlen(c->value), true, &out, &err), 0);
	ck_assert_msg(out.len == strlen(c->want) && memcmp(out.data, c->want, out.len) == 0,
		      "case %d: got '%.*s'", _i, (int)out.len, out.data);
	/* Without the CRLF: the same less two bytes. */
	dkim_buf_reset(&out);
	ck_assert_int_eq(dkim_canon_header(c->canon, c->name, strlen(c->name), c->value,
					   strlen(c->value), false, &out, &err), 0);
	ck_assert_uint_eq(out.len, strlen(c->want) - 2);
	dkim_buf_free(&out);
}
END_TEST

START_TEST(test_header_limit)
{
	struct dkim_buf out;
	struct mx_err err;
	char big[300];

	memset(big, 'v', sizeof(big));
	dkim_buf_init(&out, 100);
	ck_assert_int_eq(dkim_canon_header(DKIM_CANON_RELAXED, "X", 1, big, sizeof(big), true,
					   &out, &err), -1);
	ck_assert(strstr(err.text, "limit") != NULL);
	ck_assert_int_eq(dkim_canon_header(DKIM_CANON_SIMPLE, "X", 1, big, sizeof(big), true,
					   &out, &err), -1);
	dkim_buf_free(&out);
}
END_TEST

START_TEST(test_canon_names)
{
	enum dkim_canon c;

	ck_assert_int_eq(dkim_canon_parse("relaxed", &c), 0);
	ck_assert_int_eq(c, DKIM_CANON_RELAXED);
	ck_assert_int_eq(dkim_canon_parse("simple", &c), 0);
	ck_assert_int_eq(c, DKIM_CANON_SIMPLE);
	ck_assert_int_eq(dkim_canon_parse("Relaxed", &c), -1);
	ck_assert_str_eq(dkim_canon_name(DKIM_CANON_RELAXED), "relaxed");
}
END_TEST

static void add_tests(TCase *tc)
{
	tcase_add_loop_test(tc, test_body_table, 0, N_CASES(body_cases));
	tcase_add_loop_test(tc, test_body_streaming_chunk_sizes, 0,
			    N_CASES(body_cases));
	tcase_add_test(tc, test_body_streaming_random);
	tcase_add_test(tc, test_body_many_blank_lines);
	tcase_add_loop_test(tc, test_header_table, 0,
			    N_CASES(header_cases));
	tcase_add_test(tc, test_header_limit);
	tcase_add_test(tc, test_canon_names);
}

int main(void)
{
	return dkim_check_run("dkim_canon", add_tests);
}
