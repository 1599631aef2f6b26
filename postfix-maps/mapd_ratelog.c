/* mapd_ratelog.c: rate limit for repeated log lines (see mapd_ratelog.h). */
#include "mxkit-config.h"

#include "mapd_ratelog.h"

void mapd_ratelog_init(struct mapd_ratelog *rl, int64_t period_ms)
{
	rl->period_ms = period_ms;
	rl->active = false;
	rl->start_ms = 0;
	rl->counted = 0;
}

bool mapd_ratelog_event(struct mapd_ratelog *rl, int64_t now_ms)
{
	if (!rl->active) {
		rl->active = true;
		rl->start_ms = now_ms;
		rl->counted = 0;
		return true;
	}
	rl->counted++;
	return false;
}

bool mapd_ratelog_tick(struct mapd_ratelog *rl, int64_t now_ms, unsigned *count_r)
{
	if (!rl->active || now_ms - rl->start_ms < rl->period_ms)
		return false;
	if (rl->counted == 0) {
		rl->active = false;  /* a quiet period: the burst is over */
		return false;
	}
	*count_r = rl->counted;
	rl->counted = 0;
	rl->start_ms = now_ms;
	return true;
}
