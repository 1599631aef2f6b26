/* train.h: mxkit-train, which sends pending training events to the spam
 * filter: configuration, the two backends and the queue runner. */
#ifndef TRAIN_H
#define TRAIN_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "mx_db.h"
#include "mx_error.h"

#define TRAIN_ARGV_MAX 32
#define TRAIN_ARG_MAX 256
#define TRAIN_RESULT_MAX 256

enum train_backend { TRAIN_RSPAMD, TRAIN_COMMAND };

struct train_config {
	enum train_backend backend;
	char rspamd_host[256];
	unsigned rspamd_port;
	char rspamd_password[256];
	unsigned timeout;         /* seconds per backend request */
	unsigned max_attempts;    /* then the event is failed */
	unsigned batch;           /* events fetched per query */
	unsigned lock_wait;       /* seconds to wait for a running trainer */
	char spam_argv[TRAIN_ARGV_MAX][TRAIN_ARG_MAX];
	unsigned spam_argc;
	char ham_argv[TRAIN_ARGV_MAX][TRAIN_ARG_MAX];
	unsigned ham_argc;
	int log_level;
};

/* Read the `training` section (missing: rspamd on 127.0.0.1:11334). */
int train_config_parse(const config_t *cfg, struct train_config *out, struct mx_err *err);

/* What became of one training request. */
enum train_outcome {
	TRAIN_DONE,      /* learned (or the backend already knew it) */
	TRAIN_REFUSED,   /* the backend refused this message: do not retry */
	TRAIN_RETRY,     /* the backend failed: try again later */
	TRAIN_DOWN,      /* the backend is unreachable: stop this run */
};

struct train_request {
	const char *user;
	bool spam;
	const char *message;
	size_t message_len;
};

/* result: what the backend said, for the event's `result` column. */
enum train_outcome train_rspamd(const struct train_config *conf, const struct train_request *req,
				char *result, size_t result_size);
enum train_outcome train_command(const struct train_config *conf, const struct train_request *req,
				 char *result, size_t result_size);

/* Train every pending event once (in id order). Returns 0, or -1 when the
 * database failed (err set). *trained_r etc. count the outcomes. */
struct train_stats {
	unsigned done, skipped, failed, retry;
};
int train_queue_run(struct mx_db_pool *pool, const struct train_config *conf,
		    struct train_stats *stats, struct mx_err *err);

#endif
