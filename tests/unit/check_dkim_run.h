/* check_dkim_run.h: what every DKIM unit test program shares: one suite
 * with one test case, run, and the exit status from its failures. */
#ifndef CHECK_DKIM_RUN_H
#define CHECK_DKIM_RUN_H

#include <check.h>

#define N_CASES(table) ((int)(sizeof(table) / sizeof((table)[0])))

/* Create the suite `name` with one test case (60 s timeout) that
 * add_tests() fills, run it, and return the exit status for main(). */
static inline int dkim_check_run(const char *name, void (*add_tests)(TCase *))
{
	Suite *s = suite_create(name);
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	add_tests(tc);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

#endif
