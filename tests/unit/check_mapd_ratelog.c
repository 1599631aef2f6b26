/* check_mapd_ratelog.c: unit tests of the rate limit of mxkit-mapd's
 * TEMP log lines (mapd_ratelog.h): first event in full, then one summary
 * with the count per period, and a quiet period ends the burst. */
#include "mxkit-config.h"

#include <check.h>

#include "mapd_ratelog.h"
#include "unit_run.h"

#define PERIOD 10000
#define STEPS_MAX 12

enum op { END, EVENT, TICK };

struct step {
	enum op op;
	int64_t at;        /* ms */
	bool want;         /* EVENT: logged in full; TICK: a summary */
	unsigned count;    /* TICK with want: the count in it */
};

static const struct {
	const char *name;
	struct step steps[STEPS_MAX];
} cases[] = {
	{ "one event is logged", {
		{ EVENT, 0, true, 0 }, { TICK, PERIOD, false, 0 }, { END, 0, false, 0 } } },
	{ "a burst: first in full, the rest counted", {
		{ EVENT, 0, true, 0 }, { EVENT, 1, false, 0 }, { EVENT, 2, false, 0 },
		{ TICK, PERIOD - 1, false, 0 }, { TICK, PERIOD, true, 2 },
		{ EVENT, PERIOD + 5, false, 0 }, { TICK, 2 * PERIOD, true, 1 },
		{ TICK, 3 * PERIOD, false, 0 }, { EVENT, 3 * PERIOD + 1, true, 0 },
		{ END, 0, false, 0 } } },
	{ "a summary every period while it lasts", {
		{ EVENT, 0, true, 0 }, { EVENT, 100, false, 0 }, { TICK, PERIOD, true, 1 },
		{ EVENT, PERIOD + 100, false, 0 }, { EVENT, PERIOD + 200, false, 0 },
		{ EVENT, PERIOD + 300, false, 0 }, { TICK, PERIOD + 9999, false, 0 },
		{ TICK, 2 * PERIOD + 1, true, 3 }, { END, 0, false, 0 } } },
	{ "ticks before any event say nothing", {
		{ TICK, 0, false, 0 }, { TICK, 5 * PERIOD, false, 0 }, { EVENT, 5 * PERIOD, true, 0 },
		{ END, 0, false, 0 } } },
	{ "after a quiet period the next event is logged in full", {
		{ EVENT, 0, true, 0 }, { TICK, PERIOD, false, 0 }, { EVENT, PERIOD + 1, true, 0 },
		{ EVENT, PERIOD + 2, false, 0 }, { TICK, 2 * PERIOD + 1, true, 1 },
		{ END, 0, false, 0 } } },
};

START_TEST(test_sequences)
{
	struct mapd_ratelog rl;

	mapd_ratelog_init(&rl, PERIOD);
	for (int i = 0; i < STEPS_MAX && cases[_i].steps[i].op != END; i++) {
		const struct step *st = &cases[_i].steps[i];
		unsigned count = 0;
		bool got;

		if (st->op == EVENT) {
			got = mapd_ratelog_event(&rl, st->at);
		} else {
			got = mapd_ratelog_tick(&rl, st->at, &count);
			if (got)
				ck_assert_msg(count == st->count, "%s: step %d: count %u, want %u",
					      cases[_i].name, i, count, st->count);
		}
		ck_assert_msg(got == st->want, "%s: step %d: %d, want %d", cases[_i].name, i,
			      got, st->want);
	}
}
END_TEST

static Suite *ratelog_suite(void)
{
	Suite *s = suite_create("mapd_ratelog");
	TCase *tc = tcase_create("ratelog");

	tcase_add_loop_test(tc, test_sequences, 0, UNIT_CASES(cases));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(ratelog_suite());
}
