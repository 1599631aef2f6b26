/* check_mapd_request.c: unit tests of the socketmap request parser. */
#include "mxkit-config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mapd_request.h"
#include "mx_netstring.h"
#include "unit_run.h"

struct request_case {
	const char *in;
	size_t len;                       /* 0: strlen(in) */
	enum mapd_request_status want;
	const char *map;                  /* on OK */
	const char *key;                  /* on OK: lowercased */
	size_t consumed;                  /* on OK and PERM */
	const char *reason;               /* substring of the error on PERM/CLOSE */
};

static const struct request_case cases[] = {
	/* good */
	{ "19:alias a@example.org,", 0, MAPD_REQ_OK, "alias", "a@example.org", 23, NULL },
	{ "18:domain EXAMPLE.Org,", 0, MAPD_REQ_OK, "domain", "example.org", 22, NULL },
	{ "15:mailbox A+B@c.d,", 0, MAPD_REQ_OK, "mailbox", "a+b@c.d", 19, NULL },
	{ "14:sender_login x,", 0, MAPD_REQ_OK, "sender_login", "x", 18, NULL },
	{ "15:transport x@y.z,", 0, MAPD_REQ_OK, "transport", "x@y.z", 19, NULL },
	{ "8:domain a,8:domain b,", 0, MAPD_REQ_OK, "domain", "a", 11, NULL },
	{ "11:domain  a b,", 0, MAPD_REQ_OK, "domain", " a b", 15, NULL },
	{ "10:domain \xc3\x89x,", 0, MAPD_REQ_OK, "domain", "\xc3\x89x", 14, NULL },
	/* incomplete */
	{ "", 0, MAPD_REQ_PARTIAL, NULL, NULL, 0, NULL },
	{ "2", 0, MAPD_REQ_PARTIAL, NULL, NULL, 0, NULL },
	{ "20:", 0, MAPD_REQ_PARTIAL, NULL, NULL, 0, NULL },
	{ "19:alias a@example.org", 0, MAPD_REQ_PARTIAL, NULL, NULL, 0, NULL },
	{ "4096:", 0, MAPD_REQ_PARTIAL, NULL, NULL, 0, NULL },
	/* well-framed but invalid: PERM */
	{ "5:alias,", 0, MAPD_REQ_PERM, NULL, NULL, 8, "no space" },
	{ "6:alias ,", 0, MAPD_REQ_PERM, NULL, NULL, 9, "empty key" },
	{ "7:nomap x,", 0, MAPD_REQ_PERM, NULL, NULL, 10, "unknown map 'nomap'" },
	{ "7:ALIAS x,", 0, MAPD_REQ_PERM, NULL, NULL, 10, "unknown map" },
	{ "3: xy,", 0, MAPD_REQ_PERM, NULL, NULL, 6, "unknown map ''" },
	{ "0:,", 0, MAPD_REQ_PERM, NULL, NULL, 3, "no space" },
	{ "9:alias a\0b,", 12, MAPD_REQ_PERM, NULL, NULL, 12, "NUL, CR or LF" },
	{ "9:alias a\rb,", 0, MAPD_REQ_PERM, NULL, NULL, 12, "NUL, CR or LF" },
	{ "9:alias a\nb,", 0, MAPD_REQ_PERM, NULL, NULL, 12, "NUL, CR or LF" },
	{ "8:al\0as ab,", 11, MAPD_REQ_PERM, NULL, NULL, 11, "unknown map 'al\\x00as'" },
	/* broken framing: close */
	{ "x:alias a,", 0, MAPD_REQ_CLOSE, NULL, NULL, 0, "non-digit" },
	{ " 7:alias a,", 0, MAPD_REQ_CLOSE, NULL, NULL, 0, "non-digit" },
	{ "07:alias a,", 0, MAPD_REQ_CLOSE, NULL, NULL, 0, "leading zero" },
	{ ":alias a,", 0, MAPD_REQ_CLOSE, NULL, NULL, 0, "empty length" },
	{ "7:alias a;", 0, MAPD_REQ_CLOSE, NULL, NULL, 0, "missing ','" },
	{ "7:alias ab", 0, MAPD_REQ_CLOSE, NULL, NULL, 0, "missing ','" },
	{ "4097:", 0, MAPD_REQ_CLOSE, NULL, NULL, 0, "exceeds the limit" },
	{ "99999999999:", 0, MAPD_REQ_CLOSE, NULL, NULL, 0, NULL },
	{ "-1:a,", 0, MAPD_REQ_CLOSE, NULL, NULL, 0, "non-digit" },
};

START_TEST(test_request_table)
{
	const struct request_case *c = &cases[_i];
	size_t len = c->len != 0 ? c->len : strlen(c->in), consumed = 99;
	struct mapd_request req;
	struct mx_err err = { "" };
	enum mapd_request_status s;

	s = mapd_request_parse(c->in, len, &req, &consumed, &err);
	ck_assert_msg(s == c->want, "case %d: got %d want %d (%s)", _i, s, c->want, err.text);
	if (s == MAPD_REQ_OK) {
		ck_assert_str_eq(req.map->name, c->map);
		ck_assert_str_eq(req.key, c->key);
		ck_assert_uint_eq(req.key_len, strlen(c->key));
	}
	if (s == MAPD_REQ_OK || s == MAPD_REQ_PERM)
		ck_assert_uint_eq(consumed, c->consumed);
	if (c->reason != NULL)
		ck_assert_msg(strstr(err.text, c->reason) != NULL, "case %d: error '%s' lacks '%s'",
			      _i, err.text, c->reason);
}
END_TEST

/* Keys up to MX_KEY_MAX bytes pass; one more byte is PERM, not CLOSE. */
START_TEST(test_key_length_limit)
{
	static char buf[MAPD_REQUEST_BUF];
	static char payload[MAPD_REQUEST_MAX + 1];
	struct mapd_request req;
	struct mx_err err;
	size_t consumed;
	long n;

	for (size_t klen = MX_KEY_MAX; klen <= MX_KEY_MAX + 1; klen++) {
		memcpy(payload, "domain ", 7);
		memset(payload + 7, 'K', klen);
		n = mx_netstring_encode(payload, 7 + klen, buf, sizeof(buf));
		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(mapd_request_parse(buf, (size_t)n, &req, &consumed, &err),
				 klen == MX_KEY_MAX ? MAPD_REQ_OK : MAPD_REQ_PERM);
		ck_assert_uint_eq(consumed, (size_t)n);
		if (klen == MX_KEY_MAX)
			ck_assert(req.key[0] == 'k' && req.key[klen - 1] == 'k' && req.key[klen] == '\0');
	}
	/* The largest netstring we frame is still answered (PERM). */
	memcpy(payload, "domain ", 7);
	memset(payload + 7, 'k', MAPD_REQUEST_MAX - 7);
	n = mx_netstring_encode(payload, MAPD_REQUEST_MAX, buf, sizeof(buf));
	ck_assert_int_eq(mapd_request_parse(buf, (size_t)n, &req, &consumed, &err), MAPD_REQ_PERM);
	ck_assert_uint_le((size_t)n, MAPD_REQUEST_BUF);
}
END_TEST

/* Feeding a valid request one byte at a time is PARTIAL until the last. */
START_TEST(test_bytewise)
{
	static const char in[] = "19:alias a@example.org,";
	struct mapd_request req;
	struct mx_err err;
	size_t consumed;

	for (size_t i = 0; i < sizeof(in) - 1; i++)
		ck_assert_int_eq(mapd_request_parse(in, i, &req, &consumed, &err), MAPD_REQ_PARTIAL);
	ck_assert_int_eq(mapd_request_parse(in, sizeof(in) - 1, &req, &consumed, &err), MAPD_REQ_OK);
}
END_TEST

static Suite *request_suite(void)
{
	Suite *s = suite_create("mapd_request");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_request_table, 0, UNIT_CASES(cases));
	tcase_add_test(tc, test_key_length_limit);
	tcase_add_test(tc, test_bytewise);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(request_suite());
}
