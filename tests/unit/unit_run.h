/* unit_run.h: the shared end of a Check suite's main(): run every test,
 * print the report, and turn the failure count into an exit status. */
#ifndef UNIT_RUN_H
#define UNIT_RUN_H

#include <check.h>

/* Number of cases in a static table. */
#define UNIT_CASES(t) ((int)(sizeof(t) / sizeof((t)[0])))

static inline int unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

#endif
