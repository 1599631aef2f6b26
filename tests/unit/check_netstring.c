/* check_netstring.c: unit tests of the netstring decoder and encoder. */
#include "mxkit-config.h"

#include <check.h>
#include <string.h>

#include "mx_netstring.h"

struct decode_case {
	const char *in;
	size_t max;
	enum mx_netstring_status want;
	const char *payload;  /* on OK */
	size_t consumed;      /* on OK */
};

static const struct decode_case decode_cases[] = {
	{ "0:,", 100, MX_NS_OK, "", 3 },
	{ "5:hello,", 100, MX_NS_OK, "hello", 8 },
	{ "5:hello,6:extra!,", 100, MX_NS_OK, "hello", 8 },
	{ "11:alias a@b.c,", 100, MX_NS_OK, "alias a@b.c", 15 },
	{ "12:alias a@b.c,", 100, MX_NS_PARTIAL, NULL, 0 },
	{ "", 100, MX_NS_PARTIAL, NULL, 0 },
	{ "5", 100, MX_NS_PARTIAL, NULL, 0 },
	{ "5:", 100, MX_NS_PARTIAL, NULL, 0 },
	{ "5:hell", 100, MX_NS_PARTIAL, NULL, 0 },
	{ "5:hello", 100, MX_NS_PARTIAL, NULL, 0 },
	{ "5:hello;", 100, MX_NS_ERROR, NULL, 0 },
	{ ":hello,", 100, MX_NS_ERROR, NULL, 0 },
	{ "x:hello,", 100, MX_NS_ERROR, NULL, 0 },
	{ "-1:a,", 100, MX_NS_ERROR, NULL, 0 },
	{ " 5:hello,", 100, MX_NS_ERROR, NULL, 0 },
	{ "05:hello,", 100, MX_NS_ERROR, NULL, 0 },
	{ "00:,", 100, MX_NS_ERROR, NULL, 0 },
	{ "101:", 100, MX_NS_ERROR, NULL, 0 },
	{ "100", 100, MX_NS_PARTIAL, NULL, 0 },
	{ "1000", 100, MX_NS_ERROR, NULL, 0 },
	{ "99999999999:", (size_t)-1, MX_NS_ERROR, NULL, 0 },
	{ "18446744073709551617:", (size_t)-1, MX_NS_ERROR, NULL, 0 },
};

START_TEST(test_decode_table)
{
	const struct decode_case *c = &decode_cases[_i];
	const char *payload = NULL;
	size_t plen = 0, consumed = 0;
	struct mx_err err;
	enum mx_netstring_status s;

	s = mx_netstring_decode(c->in, strlen(c->in), c->max, &payload, &plen, &consumed, &err);
	ck_assert_msg(s == c->want, "input '%s': got %d want %d", c->in, s, c->want);
	if (s == MX_NS_OK) {
		ck_assert_uint_eq(plen, strlen(c->payload));
		ck_assert(memcmp(payload, c->payload, plen) == 0);
		ck_assert_uint_eq(consumed, c->consumed);
	}
	if (s == MX_NS_ERROR)
		ck_assert(strncmp(err.text, "netstring: ", 11) == 0);
}
END_TEST

START_TEST(test_embedded_nul_and_binary)
{
	static const char in[] = "3:a\0b,";
	const char *payload;
	size_t plen, consumed;
	struct mx_err err;

	ck_assert_int_eq(mx_netstring_decode(in, sizeof(in) - 1, 10, &payload, &plen, &consumed, &err), MX_NS_OK);
	ck_assert_uint_eq(plen, 3);
	ck_assert_int_eq(payload[1], '\0');
}
END_TEST

START_TEST(test_encode_roundtrip)
{
	char out[64];
	const char *payload;
	size_t plen, consumed;
	struct mx_err err;
	long n;

	n = mx_netstring_encode("OK bob@example.org", 18, out, sizeof(out));
	ck_assert_int_eq(n, 22);
	ck_assert(memcmp(out, "18:OK bob@example.org,", 22) == 0);
	ck_assert_uint_eq(mx_netstring_encoded_len(18), 22);
	ck_assert_int_eq(mx_netstring_decode(out, (size_t)n, 100, &payload, &plen, &consumed, &err), MX_NS_OK);
	ck_assert_uint_eq(plen, 18);
	ck_assert_uint_eq(consumed, 22);
	/* Exactly enough room, and one byte short. */
	ck_assert_int_eq(mx_netstring_encode("abc", 3, out, 6), 6);
	ck_assert_int_eq(mx_netstring_encode("abc", 3, out, 5), -1);
	ck_assert_uint_eq(mx_netstring_encoded_len(0), 3);
	ck_assert_uint_eq(mx_netstring_encoded_len(10), 14);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("netstring");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_decode_table, 0,
			    (int)(sizeof(decode_cases) / sizeof(decode_cases[0])));
	tcase_add_test(tc, test_embedded_nul_and_binary);
	tcase_add_test(tc, test_encode_roundtrip);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
