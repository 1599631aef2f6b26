/* check_auth.c: unit tests of the Dovecot auth module's plain-C parts:
 * the `auth` section of mxkit.conf, the hash-strength order behind the
 * upgrade, and the lockout decision on counted failures. */
#include "mxkit-config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../dovecot-plugins/auth/mxkit-auth.h"
#include "unit_run.h"

struct weaker_case {
	const char *stored, *target;
	bool want;
};

static const struct weaker_case weaker_cases[] = {
	{ "SHA512-CRYPT", "ARGON2ID", true },
	{ "sha512-crypt", "ARGON2ID", true },
	{ "PLAIN", "BLF-CRYPT", true },
	{ "SSHA256", "SHA512-CRYPT", true },
	{ "MD5-CRYPT", "ARGON2ID", true },
	{ "CRYPT", "BLF-CRYPT", true },
	{ "BLF-CRYPT", "ARGON2ID", true },
	{ "ARGON2I", "ARGON2ID", true },
	{ "ARGON2ID", "ARGON2ID", false },
	{ "ARGON2ID", "BLF-CRYPT", false },   /* never downgraded */
	{ "BLF-CRYPT", "BLF-CRYPT", false },
	{ "SHA256-CRYPT", "SHA512-CRYPT", false },
	{ "SSHA256", "SSHA512", false },       /* both unranked */
};

START_TEST(test_weaker)
{
	const struct weaker_case *c = &weaker_cases[_i];

	ck_assert_msg(mxkit_hash_weaker(c->stored, c->target) == c->want,
		      "%s -> %s: want %d", c->stored, c->target, c->want);
}
END_TEST

struct config_case {
	const char *text;
	int want;             /* 0 ok, -1 error */
	const char *scheme;   /* on ok */
	unsigned max_failures, window;
	const char *error;    /* substring, on error */
};

static const struct config_case config_cases[] = {
	{ "", 0, "ARGON2ID", 10, 900, NULL },
	{ "auth = { };", 0, "ARGON2ID", 10, 900, NULL },
	{ "auth = { scheme = \"blf-crypt\"; max_failures = 3; window = \"2m\"; };",
	  0, "BLF-CRYPT", 3, 120, NULL },
	{ "auth = { max_failures = 0; };", 0, "ARGON2ID", 0, 900, NULL },
	{ "auth = { scheme = \"MD5\"; };", -1, NULL, 0, 0, "'scheme' must be one of" },
	{ "auth = { window = 0; };", -1, NULL, 0, 0, "window" },
	{ "auth = { max_failure = 3; };", -1, NULL, 0, 0, "max_failure" },
	{ "auth = { hash_upgrade = 1; };", -1, NULL, 0, 0, "hash_upgrade" },
	{ "auth = 3;", -1, NULL, 0, 0, "auth" },
};

START_TEST(test_config)
{
	const struct config_case *c = &config_cases[_i];
	char path[] = "/tmp/check_auth_XXXXXX";
	struct mxkit_auth_config conf;
	struct mx_err err = { "" };
	int fd = mkstemp(path), r;

	ck_assert(fd >= 0);
	ck_assert(write(fd, c->text, strlen(c->text)) == (ssize_t)strlen(c->text));
	close(fd);
	r = mxkit_auth_config_load(path, &conf, &err);
	unlink(path);
	ck_assert_msg(r == c->want, "'%s': got %d (%s)", c->text, r, err.text);
	if (r == 0) {
		ck_assert_str_eq(conf.scheme, c->scheme);
		ck_assert_uint_eq(conf.max_failures, c->max_failures);
		ck_assert_uint_eq(conf.window, c->window);
		ck_assert(conf.hash_upgrade);
	} else {
		ck_assert_msg(strstr(err.text, c->error) != NULL, "'%s': error '%s'", c->text,
			      err.text);
	}
}
END_TEST

struct lock_case {
	unsigned long account, address;
	bool have_remote;
	const char *want;
};

static const struct lock_case lock_cases[] = {
	{ 0, 0, true, NULL },
	{ 2, 4, true, NULL },
	{ 3, 0, true, "account" },
	{ 9, 9, false, "account" },
	{ 0, 5, true, "remote address" },
	{ 0, 7, false, NULL },     /* no remote address: not counted */
};

START_TEST(test_locked)
{
	const struct lock_case *c = &lock_cases[_i];
	struct mxkit_auth_config conf = { .max_failures = 3, .max_address_failures = 5,
					  .window = 60 };
	struct mxkit_account acct = { .account_failures = c->account,
				      .address_failures = c->address };
	const char *got = mxkit_lockout_locked(&conf, &acct, c->have_remote);

	if (c->want == NULL)
		ck_assert_msg(got == NULL, "case %d: locked %s", _i, got);
	else
		ck_assert_msg(got != NULL && strcmp(got, c->want) == 0, "case %d", _i);
	conf.max_failures = conf.max_address_failures = 0;
	ck_assert(mxkit_lockout_locked(&conf, &acct, c->have_remote) == NULL);
}
END_TEST

static Suite *auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_weaker, 0, UNIT_CASES(weaker_cases));
	tcase_add_loop_test(tc, test_config, 0, UNIT_CASES(config_cases));
	tcase_add_loop_test(tc, test_locked, 0, UNIT_CASES(lock_cases));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(auth_suite());
}
