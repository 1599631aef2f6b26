/* mapd_main.c: mxkit-mapd, the Postfix socketmap server: start-up,
 * reload on SIGHUP, orderly stop on SIGTERM/SIGINT.
 *
 * Order of start-up: parse the command line and the whole configuration
 * (so -t sees every error), open the log, go to the background, write the
 * pid file and bind the sockets while still root, then drop privileges
 * and start the database workers and the event loop. */
#include "mxkit-config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mapd_cache.h"
#include "mapd_config.h"
#include "mapd_server.h"
#include "mapd_workers.h"
#include "mx_daemon.h"
#include "mx_log.h"

#define PROGRAM "mxkit-mapd"
#define DRAIN_SECONDS 5

struct mapd_state {
	struct mx_daemon_args args;
	struct mapd_config conf;          /* the configuration in use */
	struct mapd_endpoint bound[MAPD_LISTEN_MAX];  /* what we listen on (fixed until restart) */
	unsigned nbound;
	int fds[MAPD_LISTEN_MAX];
	char pid_file[PATH_MAX];          /* as written at start */
	struct mapd_workers *workers;     /* owned by the server */
	struct mapd_server *server;
};

static bool same_listen(const struct mapd_config *a, const struct mapd_endpoint *bound, unsigned n)
{
	if (a->nlisten != n)
		return false;
	for (unsigned i = 0; i < n; i++)
		if (strcmp(a->listen[i].text, bound[i].text) != 0)
			return false;
	return true;
}

static void reload(struct mapd_state *st)
{
	struct mapd_config *conf = malloc(sizeof(*conf));
	struct mapd_workers_srs srs;
	struct mapd_server_limits lim;
	struct mapd_cache *cache;
	struct mx_db_pool *pool;
	struct mx_err err;

	if (conf == NULL) {
		mx_log_err("reload: out of memory; keeping the old configuration");
		return;
	}
	if (mapd_config_load(st->args.config_path, conf, &err) < 0) {
		mx_log_err("reload failed, keeping the old configuration: %s", err.text);
		free(conf);
		return;
	}
	if ((cache = mapd_cache_new(conf->cache_size, NULL, &err)) == NULL ||
	    (pool = mx_db_pool_new(&conf->db, &err)) == NULL) {
		mx_log_err("reload failed, keeping the old configuration: %s", err.text);
		mapd_cache_free(cache);
		mapd_config_free(conf);
		free(conf);
		return;
	}
	if (mx_daemon_log_setup(PROGRAM, &st->args, &conf->daemon, &err) < 0)
		mx_log_err("reload: %s; logging as before", err.text);
	if (!same_listen(conf, st->bound, st->nbound))
		mx_log_warn("reload: 'listen' changed; restart " PROGRAM " to apply it");
	if (conf->workers != st->conf.workers)
		mx_log_warn("reload: 'workers' changed; restart " PROGRAM " to apply it");
	if (strcmp(conf->daemon.pid_file, st->pid_file) != 0)
		mx_log_warn("reload: 'pid_file' changed; restart " PROGRAM " to apply it");
	if (conf->daemon.uid != st->conf.daemon.uid || conf->daemon.gid != st->conf.daemon.gid ||
	    conf->socket_mode != st->conf.socket_mode ||
	    conf->socket_gid != st->conf.socket_gid)
		mx_log_warn("reload: user, group or socket settings changed; restart " PROGRAM " to apply them");
	srs.srs = conf->srs;
	srs.domain = conf->srs_domain;
	srs.domains_ttl = conf->domains_ttl;
	srs.domains_refresh = conf->domains_refresh;
	conf->srs = NULL;  /* the workers own it now */
	mapd_workers_reconfigure(st->workers, pool, &srs, conf->delimiter, conf->max_reply);
	mapd_server_limits_from(conf, &lim);
	mapd_server_reconfigure(st->server, &lim, cache);
	/* What only a restart changes stays as it is in st->conf, so that the
	 * next reload warns again. */
	conf->workers = st->conf.workers;
	conf->daemon.uid = st->conf.daemon.uid;
	conf->daemon.gid = st->conf.daemon.gid;
	conf->socket_mode = st->conf.socket_mode;
	conf->socket_gid = st->conf.socket_gid;
	st->conf = *conf;
	free(conf);
	mx_log_info("configuration reloaded from %s; cache flushed", st->args.config_path);
}

static int start(struct mapd_state *st, struct mx_err *err)
{
	struct mapd_config *conf = &st->conf;
	struct mapd_workers_srs srs;
	struct mapd_server_limits lim;
	struct mapd_cache *cache;
	struct mx_db_pool *pool;
	int sigfd;

	if (mx_daemon_detach(&st->args, err) < 0)
		return -1;
	if ((sigfd = mx_daemon_signals_init(err)) < 0)
		return -1;
	if (conf->daemon.pid_file[0] != '\0' &&
	    mx_daemon_pidfile_write(conf->daemon.pid_file, conf->daemon.uid, conf->daemon.gid, err) < 0)
		return -1;
	memcpy(st->pid_file, conf->daemon.pid_file, sizeof(st->pid_file));
	for (unsigned i = 0; i < conf->nlisten; i++) {
		st->fds[i] = mapd_endpoint_bind(&conf->listen[i], conf->socket_mode,
						conf->has_socket_group, conf->socket_gid, err);
		if (st->fds[i] < 0)
			return -1;
		st->bound[i] = conf->listen[i];
		st->nbound++;
	}
	if (mx_daemon_drop_privileges(&conf->daemon, err) < 0)
		return -1;
	if ((cache = mapd_cache_new(conf->cache_size, NULL, err)) == NULL)
		return -1;
	if ((pool = mx_db_pool_new(&conf->db, err)) == NULL) {
		mapd_cache_free(cache);
		return -1;
	}
	srs.srs = conf->srs;
	srs.domain = conf->srs_domain;
	srs.domains_ttl = conf->domains_ttl;
	srs.domains_refresh = conf->domains_refresh;
	st->workers = mapd_workers_start(conf->workers, pool, &srs, conf->delimiter, conf->max_reply, err);
	if (st->workers != NULL)
		conf->srs = NULL;  /* the workers own it now */
	if (st->workers == NULL) {
		mx_db_pool_free(pool);
		mapd_cache_free(cache);
		return -1;
	}
	mapd_server_limits_from(conf, &lim);
	st->server = mapd_server_new(st->fds, st->nbound, sigfd, st->workers, cache, &lim, err);
	if (st->server == NULL) {
		mapd_workers_stop(st->workers);
		mapd_cache_free(cache);
		return -1;
	}
	return 0;
}

static void cleanup(struct mapd_state *st)
{
	if (st->server != NULL)
		mapd_server_free(st->server);  /* closes what is still open */
	else
		for (unsigned i = 0; i < st->nbound; i++)
			(void)close(st->fds[i]);
	for (unsigned i = 0; i < st->nbound; i++)
		mapd_endpoint_unlink(&st->bound[i]);
	mx_daemon_pidfile_remove(st->pid_file);
	mapd_config_free(&st->conf);
}

int main(int argc, char **argv)
{
	static struct mapd_state st;
	enum mapd_run_result r;
	struct mx_err err;
	int status = 0;

	if (mx_daemon_args_parse(argc, argv, &st.args, &err) < 0) {
		fprintf(stderr, PROGRAM ": %s\n", err.text);
		return 1;
	}
	if (st.args.version) {
		mx_daemon_print_version(PROGRAM);
		return 0;
	}
	if (mapd_config_load(st.args.config_path, &st.conf, &err) < 0) {
		fprintf(stderr, PROGRAM ": %s\n", err.text);
		return 1;
	}
	if (st.args.check_only) {
		printf("%s: configuration OK%s\n", st.args.config_path,
		       st.conf.srs != NULL ? " (with the srs_forward and srs_reverse maps)" : "");
		mapd_config_free(&st.conf);
		return 0;
	}
	if (mx_daemon_log_setup(PROGRAM, &st.args, &st.conf.daemon, &err) < 0) {
		fprintf(stderr, PROGRAM ": %s\n", err.text);
		mapd_config_free(&st.conf);
		return 1;
	}
	if (start(&st, &err) < 0) {
		mx_log_err("cannot start: %s", err.text);
		if (!st.args.foreground)
			fprintf(stderr, PROGRAM ": cannot start: %s\n", err.text);
		cleanup(&st);
		mx_log_close();
		return 1;
	}
	mx_log_info("started: %u listener(s), %u worker(s), cache of %u entries",
		    st.nbound, st.conf.workers, st.conf.cache_size);
	mx_daemon_ready();
	for (;;) {
		r = mapd_server_run(st.server);
		if (r == MAPD_RUN_RELOAD) {
			reload(&st);
			continue;
		}
		if (r == MAPD_RUN_ERROR)
			status = 1;
		break;
	}
	mx_log_info("stopping");
	mapd_server_drain(st.server, DRAIN_SECONDS);
	cleanup(&st);
	mx_log_info("stopped");
	mx_log_close();
	return status;
}
