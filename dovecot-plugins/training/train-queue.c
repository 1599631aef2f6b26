/* train-queue.c: trains the pending events in training_events, in id order.
 *
 * A message is sent to the backend once per class: an event whose user
 * and message_key were last trained (state done) in the same class is
 * marked skipped, so moving a message in and out of Junk repeatedly does
 * not retrain it, while a reclassification (spam, then ham) is sent. Only
 * one trainer works at a time (a database lock, GET_LOCK); a run goes
 * through each pending event at most once and stops early when the
 * backend is unreachable, leaving the rest pending for the next run. */
#include "mxkit-config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx_log.h"
#include "train.h"

#define TRAIN_ID_MAX 24

static const char train_lock_sql[] = "SELECT GET_LOCK('mxkit-train', ?)";
static const char train_unlock_sql[] = "SELECT RELEASE_LOCK('mxkit-train')";
static const char train_ids_sql[] =
	"SELECT id FROM training_events WHERE state = 'pending' AND id > ? ORDER BY id LIMIT ?";
static const char train_event_sql[] =
	"SELECT username, message_key, class, attempts, message FROM training_events"
	" WHERE id = ? AND state = 'pending'";
static const char train_last_sql[] =
	"SELECT class FROM training_events WHERE username = ? AND message_key = ?"
	" AND id < ? AND state = 'done' ORDER BY id DESC LIMIT 1";
static const char train_finish_sql[] =
	"UPDATE training_events SET state = ?, result = ?, attempts = attempts + ?,"
	" message = IF(? = 'pending', message, NULL), updated_at = UTC_TIMESTAMP(3) WHERE id = ?";

struct train_ids {
	char (*ids)[TRAIN_ID_MAX];
	unsigned count, cap;
};

static int train_ids_row(void *ctx, unsigned ncols, const char *const *values,
			 const unsigned long *lengths, struct mx_err *err)
{
	struct train_ids *ids = ctx;

	if (ncols != 1 || values[0] == NULL || lengths[0] >= TRAIN_ID_MAX || ids->count >= ids->cap)
		return mx_err_set(err, "unexpected row from the pending-events query");
	memcpy(ids->ids[ids->count++], values[0], lengths[0] + 1);
	return 0;
}

struct train_event {
	char user[321];
	char key[65];
	char class[5];
	unsigned attempts;
	char *message;
	size_t message_len;
};

static int train_event_row(void *ctx, unsigned ncols, const char *const *values,
			   const unsigned long *lengths, struct mx_err *err)
{
	struct train_event *ev = ctx;

	if (ncols != 5 || values[0] == NULL || values[1] == NULL || values[2] == NULL ||
	    values[3] == NULL || lengths[0] >= sizeof(ev->user) || lengths[1] >= sizeof(ev->key) ||
	    lengths[2] >= sizeof(ev->class))
		return mx_err_set(err, "unexpected row from the event query");
	memcpy(ev->user, values[0], lengths[0] + 1);
	memcpy(ev->key, values[1], lengths[1] + 1);
	memcpy(ev->class, values[2], lengths[2] + 1);
	ev->attempts = (unsigned)strtoul(values[3], NULL, 10);
	if (values[4] != NULL) {
		ev->message = malloc(lengths[4] + 1);
		if (ev->message == NULL)
			return mx_err_set(err, "out of memory for a %lu-byte message", lengths[4]);
		memcpy(ev->message, values[4], lengths[4] + 1);
		ev->message_len = lengths[4];
	}
	return 0;
}

static int train_copy_value(void *ctx, unsigned ncols, const char *const *values,
			    const unsigned long *lengths, struct mx_err *err)
{
	char *out = ctx;

	if (ncols != 1 || lengths[0] >= 16)
		return mx_err_set(err, "unexpected row");
	memcpy(out, values[0] != NULL ? values[0] : "", values[0] != NULL ? lengths[0] + 1 : 1);
	return 0;
}

static int train_finish(struct mx_db_pool *pool, const char *id, const char *state,
			const char *result, bool attempted, struct mx_err *err)
{
	const char *params[] = { state, result, attempted ? "1" : "0", state, id };

	if (mx_db_exec(pool, train_finish_sql, params, 5, NULL, NULL, MX_DB_RETRY, NULL, err) == MX_TEMP)
		return -1;
	return 0;
}

/* Train one event. Returns 0, 1 when the backend is down, -1 on a DB error. */
static int train_one(struct mx_db_pool *pool, const struct train_config *conf, const char *id,
		     struct train_stats *stats, struct mx_err *err)
{
	struct train_event ev;
	struct train_request req;
	char last[16] = "", result[TRAIN_RESULT_MAX];
	enum mx_result r;
	enum train_outcome outcome;
	const char *state;
	int ret;

	memset(&ev, 0, sizeof(ev));
	r = mx_db_exec(pool, train_event_sql, (const char *[]){ id }, 1, train_event_row, &ev,
		       MX_DB_RETRY, NULL, err);
	if (r == MX_TEMP) {
		free(ev.message);
		return -1;
	}
	if (r == MX_NOTFOUND)
		return 0; /* someone else finished it */
	r = mx_db_exec(pool, train_last_sql, (const char *[]){ ev.user, ev.key, id }, 3,
		       train_copy_value, last, MX_DB_RETRY, NULL, err);
	if (r == MX_TEMP) {
		free(ev.message);
		return -1;
	}
	if (r == MX_FOUND && strcmp(last, ev.class) == 0) {
		snprintf(result, sizeof(result), "already trained as %s", ev.class);
		stats->skipped++;
		ret = train_finish(pool, id, "skipped", result, false, err);
		free(ev.message);
		return ret;
	}
	if (ev.message == NULL) {
		stats->failed++;
		ret = train_finish(pool, id, "failed", "message text missing", false, err);
		return ret;
	}
	req.user = ev.user;
	req.spam = strcmp(ev.class, "spam") == 0;
	req.message = ev.message;
	req.message_len = ev.message_len;
	outcome = conf->backend == TRAIN_RSPAMD ? train_rspamd(conf, &req, result, sizeof(result)) :
		train_command(conf, &req, result, sizeof(result));
	free(ev.message);
	switch (outcome) {
	case TRAIN_DONE:
		stats->done++;
		state = "done";
		break;
	case TRAIN_REFUSED:
		stats->failed++;
		state = "failed";
		break;
	default:
		if (ev.attempts + 1 >= conf->max_attempts) {
			stats->failed++;
			state = "failed";
		} else {
			stats->retry++;
			state = "pending";
		}
		break;
	}
	mx_log_debug("event %s (%s for %s): %s: %s", id, ev.class, ev.user, state, result);
	if (train_finish(pool, id, state, result, true, err) < 0)
		return -1;
	if (outcome == TRAIN_DOWN) {
		mx_log_warn("backend unreachable, events stay pending: %s", result);
		return 1;
	}
	return 0;
}

int train_queue_run(struct mx_db_pool *pool, const struct train_config *conf,
		    struct train_stats *stats, struct mx_err *err)
{
	char wait[16], batch[16], got[16] = "", last_id[TRAIN_ID_MAX] = "0";
	struct train_ids ids = { 0 };
	int ret = 0;
	unsigned i;

	memset(stats, 0, sizeof(*stats));
	snprintf(wait, sizeof(wait), "%u", conf->lock_wait);
	snprintf(batch, sizeof(batch), "%u", conf->batch);
	if (mx_db_exec(pool, train_lock_sql, (const char *[]){ wait }, 1, train_copy_value, got,
		       0, NULL, err) == MX_TEMP)
		return -1;
	if (strcmp(got, "1") != 0) {
		mx_log_info("another mxkit-train still runs after %us: leaving the events to it",
			    conf->lock_wait);
		return 0;
	}
	ids.cap = conf->batch;
	ids.ids = calloc(ids.cap, sizeof(*ids.ids));
	if (ids.ids == NULL) {
		(void)mx_db_exec(pool, train_unlock_sql, NULL, 0, NULL, NULL, 0, NULL, NULL);
		return mx_err_set(err, "out of memory");
	}
	for (;;) {
		ids.count = 0;
		if (mx_db_exec(pool, train_ids_sql, (const char *[]){ last_id, batch }, 2,
			       train_ids_row, &ids, MX_DB_RETRY, NULL, err) == MX_TEMP) {
			ret = -1;
			break;
		}
		if (ids.count == 0)
			break;
		for (i = 0; i < ids.count && ret == 0; i++) {
			ret = train_one(pool, conf, ids.ids[i], stats, err);
			memcpy(last_id, ids.ids[i], sizeof(last_id));
		}
		if (ret != 0)
			break;
	}
	free(ids.ids);
	(void)mx_db_exec(pool, train_unlock_sql, NULL, 0, NULL, NULL, 0, NULL, NULL);
	return ret < 0 ? -1 : 0;
}
