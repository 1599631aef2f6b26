/* check_log.c: unit tests of mx_log_safe(), the sanitizer every piece of
 * untrusted data passes through before it is logged. */
#include "mxkit-config.h"

#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "mx_log.h"

#define CANARY 0x5a
#define HOSTILE_LEN 100
#define MAX_DSTSIZE 40

struct safe_case {
	const char *in;
	size_t len;        /* 0: strlen(in) */
	size_t dstsize;
	const char *want;
};

static const struct safe_case safe_cases[] = {
	{ "abc", 0, 10, "abc" },
	{ "user@example.org", 0, 64, "user@example.org" },
	{ "", 0, 10, "" },
	{ "a b~", 0, 10, "a b~" },
	{ "a\nb", 0, 10, "a\\x0ab" },
	{ "a\r\n", 0, 10, "a\\x0d\\x0a" },
	{ "\t", 0, 10, "\\x09" },
	{ "\x1b[31m", 0, 20, "\\x1b[31m" },
	{ "\0", 1, 10, "\\x00" },
	{ "a\0b", 3, 10, "a\\x00b" },
	{ "\x7f", 0, 10, "\\x7f" },
	{ "\x80\xff", 0, 10, "\\x80\\xff" },
	{ "j\xc3\xb6rg", 0, 20, "j\\xc3\\xb6rg" },
	{ "a\\b", 0, 10, "a\\x5cb" },
	{ "\\x41", 0, 10, "\\x5cx41" },
	/* Exactly fits: no truncation. */
	{ "abcdefg", 0, 8, "abcdefg" },
	{ "\n", 0, 5, "\\x0a" },
	{ "a", 0, 2, "a" },
	{ "abc", 0, 4, "abc" },
	/* One byte too many: cut, with "..." and room for the NUL. */
	{ "abcdefgh", 0, 8, "abcd..." },
	{ "abcdefghijklmnop", 0, 8, "abcd..." },
	{ "\n\n", 0, 8, "\\x0a..." },
	{ "a\n\n", 0, 8, "a..." },        /* never half an escape */
	{ "ab\n\n", 0, 9, "ab..." },
	{ "abcd", 0, 4, "..." },
	{ "abcd", 0, 3, ".." },
	{ "abcd", 0, 2, "." },
	{ "abcd", 0, 1, "" },
	{ "\n", 0, 4, "..." },
	/* Only the first len bytes are read. */
	{ "abcdef", 3, 10, "abc" },
};

START_TEST(test_safe_table)
{
	const struct safe_case *c = &safe_cases[_i];
	size_t len = c->len != 0 ? c->len : strlen(c->in);
	char buf[128];
	char *r;

	memset(buf, CANARY, sizeof(buf));
	r = mx_log_safe(buf, c->dstsize, c->in, len);
	ck_assert_ptr_eq(r, buf);
	ck_assert_msg(strcmp(buf, c->want) == 0, "case %d: got '%s' want '%s'", _i, buf, c->want);
	for (size_t i = c->dstsize; i < sizeof(buf); i++)
		ck_assert_int_eq((unsigned char)buf[i], CANARY);
}
END_TEST

START_TEST(test_safe_zero_size)
{
	char buf[4];

	memset(buf, CANARY, sizeof(buf));
	ck_assert_ptr_eq(mx_log_safe(buf, 0, "abc", 3), buf);
	for (size_t i = 0; i < sizeof(buf); i++)
		ck_assert_int_eq((unsigned char)buf[i], CANARY);
}
END_TEST

/* Expected full (untruncated) rendering of one byte. */
static size_t render(unsigned char c, char out[5])
{
	static const char hex[] = "0123456789abcdef";

	if (c < 0x20 || c >= 0x7f || c == '\\') {
		out[0] = '\\';
		out[1] = 'x';
		out[2] = hex[c >> 4];
		out[3] = hex[c & 15];
		out[4] = '\0';
		return 4;
	}
	out[0] = (char)c;
	out[1] = '\0';
	return 1;
}

/* Every dstsize from 0 to 40 against 100 bytes that mix every class:
 * the output stays inside dstsize, is printable ASCII, is a prefix of
 * whole escape units of the full rendering, and ends in "..." when cut. */
START_TEST(test_safe_every_size)
{
	char hostile[HOSTILE_LEN];
	char full[HOSTILE_LEN * 4 + 1];
	size_t full_len = 0;
	size_t unit_end[HOSTILE_LEN + 1];  /* rendering offsets at byte boundaries */
	char buf[MAX_DSTSIZE + 32];
	size_t dstsize = (size_t)_i;

	for (size_t i = 0; i < HOSTILE_LEN; i++) {
		static const unsigned char mix[] = { 0x00, '\n', 'A', '\\', 0xff, '\r', 0x80, '~', 0x7f, ' ', 0x1b };
		char r[5];
		hostile[i] = (char)mix[(i * 7) % sizeof(mix)];
		unit_end[i] = full_len;
		full_len += render((unsigned char)hostile[i], r);
		memcpy(full + unit_end[i], r, strlen(r) + 1);
	}
	unit_end[HOSTILE_LEN] = full_len;

	memset(buf, CANARY, sizeof(buf));
	mx_log_safe(buf, dstsize, hostile, sizeof(hostile));
	for (size_t i = dstsize; i < sizeof(buf); i++)
		ck_assert_msg((unsigned char)buf[i] == CANARY, "dstsize %zu: byte %zu written", dstsize, i);
	if (dstsize == 0)
		return;

	size_t n = strnlen(buf, dstsize);
	ck_assert_msg(n < dstsize, "dstsize %zu: not terminated", dstsize);
	for (size_t i = 0; i < n; i++)
		ck_assert(buf[i] >= 0x20 && buf[i] < 0x7f);
	/* 100 hostile bytes never fit in 40: always cut. */
	size_t dots = dstsize - 1 < 3 ? dstsize - 1 : 3;
	ck_assert_uint_ge(n, dots);
	ck_assert(memcmp(buf + n - dots, "...", dots) == 0);
	size_t kept = n - dots;
	ck_assert(memcmp(buf, full, kept) == 0);
	bool whole = false;
	for (size_t i = 0; i <= HOSTILE_LEN && !whole; i++)
		whole = unit_end[i] == kept;
	ck_assert_msg(whole, "dstsize %zu: cut inside an escape", dstsize);
	/* As much as fits is kept: the next unit would not. */
	if (dstsize > 4) {
		size_t next = 0;
		for (size_t i = 0; i < HOSTILE_LEN; i++)
			if (unit_end[i] == kept)
				next = unit_end[i + 1];
		ck_assert_uint_gt(next + 3 + 1, dstsize);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_safe_table, 0, (int)(sizeof(safe_cases) / sizeof(safe_cases[0])));
	tcase_add_test(tc, test_safe_zero_size);
	tcase_add_loop_test(tc, test_safe_every_size, 0, MAX_DSTSIZE + 1);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
