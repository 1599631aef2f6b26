/* train.h: mxkit-train, which sends pending training events to the spam
 * filter: configuration, the two backends, the rspamd reply parser, the
 * spool replay and the queue runner. */
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
#define TRAIN_SPOOL_DIR_MAX 1024
#define TRAIN_SPOOL_DIR_DEFAULT "/var/spool/mxkit/training"
#define TRAIN_SPOOL_MAX_DEFAULT (256U * 1024 * 1024)

/* Where the plugin spools events while the database is unavailable. */
struct train_spool_config {
	char dir[TRAIN_SPOOL_DIR_MAX];
	unsigned max_size;        /* bytes per user file */
};

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
	struct train_spool_config spool;
};

/* Read only the spool settings of the `training` section (the plugin uses
 * this: it must not need the backend's secrets). */
int train_spool_config_parse(const config_t *cfg, struct train_spool_config *out,
			     struct mx_err *err);

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
/* train-rspamd-reply.c: judge rspamd's reply (len bytes as received). */
enum train_outcome train_rspamd_reply(const char *reply, size_t len, char *result,
				      size_t result_size);
enum train_outcome train_command(const struct train_config *conf, const struct train_request *req,
				 char *result, size_t result_size);

/* Train every pending event once (in id order). Returns 0, or -1 when the
 * database failed (err set). *trained_r etc. count the outcomes. */
struct train_stats {
	unsigned done, skipped, failed, retry;
};
int train_queue_run(struct mx_db_pool *pool, const struct train_config *conf,
		    struct train_stats *stats, struct mx_err *err);

/* train-replay.c: insert the records of every spool file of spool.dir into
 * training_events (see train-spool.h). -1 with err set on a database or
 * file-system error (the files stay for the next run). */
struct train_replay_stats {
	unsigned files, replayed, bad;
};
int train_spool_replay(const struct train_config *conf, const struct mx_db_config *db,
		       struct train_replay_stats *stats, struct mx_err *err);

#endif
