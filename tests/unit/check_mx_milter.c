/* check_mx_milter.c: unit tests of the shared milter start-up: which
 * milter socket specifications are accepted, with a reason otherwise. */
#include "mxkit-config.h"

#include <check.h>
#include <string.h>

#include "check_dkim_run.h"
#include "mx_milter.h"

struct spec_case {
	const char *spec;
	int rc;
	const char *why;
};

static const struct spec_case spec_cases[] = {
	{ "unix:/var/spool/postfix/mxkit/dkim.sock", 0, NULL },
	{ "local:/run/x.sock", 0, NULL },
	{ "inet:10044@127.0.0.1", 0, NULL },
	{ "inet:10044", 0, NULL },
	{ "inet6:10044@[::1]", 0, NULL },
	{ "unix:relative.sock", -1, "absolute path" },
	{ "unix:/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	  -1, "longer than 107" },
	{ "inet:0@127.0.0.1", -1, "port of 1 to 65535" },
	{ "inet:65536@127.0.0.1", -1, "port of 1 to 65535" },
	{ "inet:@127.0.0.1", -1, "port of 1 to 65535" },
	{ "inet:10044x", -1, "port of 1 to 65535" },
	{ "tcp:10044", -1, "must start with" },
	{ "", -1, "must start with" },
};

START_TEST(test_socket_specs)
{
	const struct spec_case *c = &spec_cases[_i];
	struct mx_err err;

	ck_assert_msg(mx_milter_check_socket(c->spec, &err) == c->rc, "'%s'", c->spec);
	if (c->rc < 0)
		ck_assert_msg(strstr(err.text, c->why) != NULL, "'%s': %s", c->spec, err.text);
}
END_TEST

static void add_tests(TCase *tc)
{
	tcase_add_loop_test(tc, test_socket_specs, 0, N_CASES(spec_cases));
}

int main(void)
{
	return dkim_check_run("mx_milter", add_tests);
}
