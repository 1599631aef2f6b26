/* check_train_rspamd_reply.c: unit tests of the parser of rspamd's
 * controller replies (train-rspamd-reply.c): status decides the outcome,
 * the body is quoted safely, anything not HTTP is retried. */
#include "mxkit-config.h"

#include <check.h>
#include <string.h>

#include "train.h"
#include "unit_run.h"

struct reply_case {
	const char *reply;
	size_t len;            /* 0: strlen */
	enum train_outcome want;
	const char *result;    /* expected prefix of the result text */
};

static const struct reply_case reply_cases[] = {
	{ "HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{\"success\":true}", 0, TRAIN_DONE,
	  "rspamd 200 {\"success\":true}" },
	{ "HTTP/1.0 208 Already Reported\r\n\r\n{\"error\":\"already learned\"}", 0, TRAIN_DONE,
	  "rspamd 208 " },
	{ "HTTP/1.1 404 Not Found\r\n\r\nno", 0, TRAIN_REFUSED, "rspamd 404 no" },
	{ "HTTP/1.1 403 Forbidden\r\n\r\n", 0, TRAIN_REFUSED, "rspamd 403 " },
	{ "HTTP/1.1 500 Internal\r\n\r\n{}", 0, TRAIN_RETRY, "rspamd 500 {}" },
	{ "HTTP/1.1 200", 0, TRAIN_DONE, "rspamd 200 " },
	{ "HTTP/1.1 200OK\r\n\r\n", 0, TRAIN_RETRY, "rspamd: not an HTTP reply" },
	{ "HTTP/1.1 20", 0, TRAIN_RETRY, "rspamd: not an HTTP reply" },
	{ "HTTP/1.1 099 x\r\n\r\n", 0, TRAIN_RETRY, "rspamd: not an HTTP reply" },
	{ "HTTP/1.1 600 x\r\n\r\n", 0, TRAIN_RETRY, "rspamd: not an HTTP reply" },
	{ "HTTP/2 200 OK\r\n\r\n", 0, TRAIN_RETRY, "rspamd: not an HTTP reply" },
	{ "HTTP/1.x 200 OK\r\n\r\n", 0, TRAIN_RETRY, "rspamd: not an HTTP reply" },
	{ "", 0, TRAIN_RETRY, "rspamd: not an HTTP reply" },
	{ "garbage\r\n\r\nbody", 0, TRAIN_RETRY, "rspamd: not an HTTP reply: body" },
	{ "HTTP/1.1 200 OK\r\n\r\nA\0B\x01", 22, TRAIN_DONE, "rspamd 200 A" },
};

START_TEST(test_reply_table)
{
	const struct reply_case *c = &reply_cases[_i];
	char result[TRAIN_RESULT_MAX];
	size_t len = c->len != 0 ? c->len : strlen(c->reply);
	enum train_outcome got = train_rspamd_reply(c->reply, len, result, sizeof(result));

	ck_assert_msg(got == c->want, "case %d: outcome %d, want %d", _i, got, c->want);
	ck_assert_msg(strncmp(result, c->result, strlen(c->result)) == 0,
		      "case %d: result \"%s\", want prefix \"%s\"", _i, result, c->result);
	for (const char *p = result; *p != '\0'; p++)
		ck_assert_msg((unsigned char)*p >= 0x20 && *p != 0x7f, "case %d: control char", _i);
}
END_TEST

START_TEST(test_long_body_is_shortened)
{
	static char reply[8192];
	char result[TRAIN_RESULT_MAX];

	strcpy(reply, "HTTP/1.1 500 x\r\n\r\n");
	memset(reply + strlen(reply), 'a', sizeof(reply) - strlen(reply) - 1);
	ck_assert_int_eq(train_rspamd_reply(reply, strlen(reply), result, sizeof(result)), TRAIN_RETRY);
	ck_assert(strlen(result) < 200);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("train_rspamd_reply");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_reply_table, 0, UNIT_CASES(reply_cases));
	tcase_add_test(tc, test_long_body_is_shortened);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
