/* mxkit-train.c: `mxkit-train [-c FILE] --pending` sends the pending
 * spam-training events that the mxkit_training Dovecot plugin recorded to
 * the configured backend (rspamd's controller or a command), then exits.
 * First it replays the events the plugin spooled while the database was
 * unavailable (training.spool_dir, see train-spool.h) into the database.
 * The plugin starts it after each recording IMAP command and at login when
 * the user's spool holds events; a timer runs it to retry what failed. `-t` checks the configuration only. Exit status:
 * 0 done (events may stay pending when the backend is down), 1 usage or
 * configuration error, 75 (EX_TEMPFAIL) database unavailable or spool not
 * replayed. */
#include "mxkit-config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "mx_config.h"
#include "mx_db.h"
#include "mx_log.h"
#include "train.h"

#define TRAIN_EX_TEMPFAIL 75

static void train_usage(FILE *f)
{
	fprintf(f, "usage: mxkit-train [-c FILE] [-v] --pending\n"
		   "       mxkit-train [-c FILE] -t\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pending", no_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = MX_CONFIG_DEFAULT;
	bool pending = false, check = false, verbose = false;
	struct train_config conf;
	struct mx_db_config dbconf;
	struct mx_db_pool *pool;
	struct train_stats stats;
	struct train_replay_stats replay;
	struct mx_err err;
	config_t cfg;
	bool replay_failed;
	int c, ret;

	while ((c = getopt_long(argc, argv, "c:tvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'p': pending = true; break;
		case 't': check = true; break;
		case 'v': verbose = true; break;
		case 'h': train_usage(stdout); return 0;
		default: train_usage(stderr); return 1;
		}
	}
	if (optind != argc || pending == check) {
		train_usage(stderr);
		return 1;
	}
	/* Started by the plugin with stdio on /dev/null: log to syslog then. */
	if (mx_log_open("mxkit-train", verbose || check ? MX_LOG_STDERR : MX_LOG_SYSLOG, NULL, &err) < 0) {
		fprintf(stderr, "mxkit-train: %s\n", err.text);
		return 1;
	}
	config_init(&cfg);
	if (mx_config_load(&cfg, path, &err) < 0 || mx_db_config_parse(&cfg, &dbconf, &err) < 0 ||
	    train_config_parse(&cfg, &conf, &err) < 0) {
		mx_log_err("%s", err.text);
		config_destroy(&cfg);
		return 1;
	}
	config_destroy(&cfg);
	mx_log_set_level(verbose ? LOG_DEBUG : conf.log_level);
	if (check)
		return 0;
	ret = train_spool_replay(&conf, &dbconf, &replay, &err);
	if (replay.files + replay.bad > 0)
		mx_log_info("spool: %u event(s) from %u file(s) recorded, %u bad record(s) skipped",
			    replay.replayed, replay.files, replay.bad);
	/* The events already in the database are trained even so. */
	replay_failed = ret < 0;
	if (replay_failed)
		mx_log_err("spool %s: %s (spooled events stay there)", conf.spool.dir, err.text);
	dbconf.pool_size = 1; /* GET_LOCK belongs to one connection */
	pool = mx_db_pool_new(&dbconf, &err);
	explicit_bzero(dbconf.password, sizeof(dbconf.password));
	if (pool == NULL) {
		mx_log_err("%s", err.text);
		return TRAIN_EX_TEMPFAIL;
	}
	ret = train_queue_run(pool, &conf, &stats, &err);
	explicit_bzero(conf.rspamd_password, sizeof(conf.rspamd_password));
	mx_db_pool_free(pool);
	if (ret < 0) {
		mx_log_err("database: %s (events stay pending)", err.text);
		return TRAIN_EX_TEMPFAIL;
	}
	if (stats.done + stats.skipped + stats.failed + stats.retry > 0)
		mx_log_info("trained %u, skipped %u (already trained), failed %u, still pending %u",
			    stats.done, stats.skipped, stats.failed, stats.retry);
	return replay_failed ? TRAIN_EX_TEMPFAIL : 0;
}
