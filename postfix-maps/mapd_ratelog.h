/* mapd_ratelog.h: rate limit for a log line that can repeat per request.
 *
 * During a database outage every lookup answers TEMP; logging each one
 * would flood the log. The first event after a quiet period is logged in
 * full; later ones are only counted, and once per period a summary line
 * gives the count. A period with no event ends the burst: the next event
 * is logged in full again. Not thread-safe: one owner (the event loop). */
#ifndef MAPD_RATELOG_H
#define MAPD_RATELOG_H

#include <stdbool.h>
#include <stdint.h>

#define MAPD_TEMP_LOG_PERIOD_MS 10000  /* summary of TEMP answers at most this often */

struct mapd_ratelog {
	int64_t period_ms;
	bool active;          /* in a burst that started at start_ms */
	int64_t start_ms;     /* of the current summary period */
	unsigned counted;     /* events not logged in this period */
};

void mapd_ratelog_init(struct mapd_ratelog *rl, int64_t period_ms);

/* An event at now_ms: true if it is to be logged in full. Call
 * mapd_ratelog_tick first so a due summary comes before it. */
bool mapd_ratelog_event(struct mapd_ratelog *rl, int64_t now_ms);

/* At now_ms (often: every event and timer tick): true with *count_r set
 * when a summary of *count_r unlogged events is due. */
bool mapd_ratelog_tick(struct mapd_ratelog *rl, int64_t now_ms, unsigned *count_r);

#endif
