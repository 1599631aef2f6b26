/* srs_main.c: mxkit-srs, the SRS milter: start-up and stop.
 *
 *   mxkit-srs [-c FILE] [-f] [-t] [-V]
 *
 * Order of start-up: parse the command line and the whole `srs` and
 * `database` sections (the SRS context keyed, so -t finds every
 * mistake), open the log, go to the background, write the pid file and
 * open the milter socket while still root, drop privileges, then serve.
 * SIGTERM and SIGINT stop it (libmilter's signal thread handles them).
 *
 * SIGUSR1 reloads the configuration (secrets included, for rotation):
 * new connections use it, connections in progress finish with the old
 * one, and a configuration that fails to load is logged and leaves the
 * old one in use. (SIGHUP cannot be used: libmilter's signal thread
 * takes SIGHUP as "stop".) */
#include "mxkit-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx_daemon.h"
#include "mx_log.h"
#include "mx_milter.h"
#include "srs_config.h"
#include "srs_milter.h"

#define PROGRAM "mxkit-srs"

static const char *reload_path;              /* set before the reload thread starts */
static char reload_socket[SRS_SOCKET_MAX];   /* likewise: the socket in use */

static void reload(void)
{
	struct srs_config *cfg = malloc(sizeof(*cfg));
	struct srs_runtime *rt;
	struct mx_err err;

	if (cfg == NULL) {
		mx_log_err("reload: out of memory; keeping the old configuration");
		return;
	}
	if (srs_config_load(reload_path, cfg, &err) < 0) {
		mx_log_err("reload failed, keeping the old configuration: %s", err.text);
		free(cfg);
		return;
	}
	if (strcmp(cfg->socket, reload_socket) != 0)
		mx_log_warn("reload: 'socket' changed; restart " PROGRAM " to apply it");
	rt = srs_runtime_new(cfg, &err);
	free(cfg);
	if (rt == NULL || srs_milter_set_runtime(rt, &err) < 0) {
		mx_log_err("reload failed, keeping the old configuration: %s", err.text);
		return;
	}
	mx_log_info("configuration reloaded from %s", reload_path);
}

static int start(const struct mx_daemon_args *args, const struct srs_config *cfg,
		 struct mx_err *err)
{
	const struct mx_daemon_config *d = &cfg->daemon;
	gid_t gid = cfg->has_socket_group ? cfg->socket_gid : d->has_user ? d->gid : (gid_t)-1;

	if (mx_daemon_detach(args, err) < 0)
		return -1;
	if (d->pid_file[0] != '\0' && mx_daemon_pidfile_write(d->pid_file, d->uid, d->gid, err) < 0)
		return -1;
	if (mx_milter_open(srs_milter_desc(), cfg->socket, (int)cfg->timeout,
			   d->has_user ? d->uid : (uid_t)-1, gid, err) < 0)
		return -1;
	return mx_daemon_drop_privileges(d, err);
}

int main(int argc, char **argv)
{
	struct mx_daemon_args args;
	struct srs_config *cfg;
	struct srs_runtime *rt;
	char pid_file[sizeof(cfg->daemon.pid_file)];
	struct mx_err err;
	int rc = 1;

	if (mx_daemon_args_parse(argc, argv, &args, &err) < 0) {
		fprintf(stderr, PROGRAM ": %s\n", err.text);
		return 1;
	}
	if (args.version) {
		mx_daemon_print_version(PROGRAM);
		return 0;
	}
	if ((cfg = malloc(sizeof(*cfg))) == NULL) {
		fprintf(stderr, PROGRAM ": out of memory\n");
		return 1;
	}
	if (srs_config_load(args.config_path, cfg, &err) < 0) {
		fprintf(stderr, PROGRAM ": %s\n", err.text);
		free(cfg);
		return 1;
	}
	if (mx_milter_check_socket(cfg->socket, &err) < 0) {
		fprintf(stderr, PROGRAM ": %s\n", err.text);
		goto out;
	}
	if (args.check_only) {
		printf("%s: configuration OK, SRS domain %s\n", args.config_path, cfg->domain);
		rc = 0;
		goto out;
	}
	if (mx_daemon_log_setup(PROGRAM, &args, &cfg->daemon, &err) < 0) {
		fprintf(stderr, PROGRAM ": %s\n", err.text);
		goto out;
	}
	reload_path = args.config_path;
	memcpy(reload_socket, cfg->socket, sizeof(reload_socket));
	memcpy(pid_file, cfg->daemon.pid_file, sizeof(pid_file));
	if (start(&args, cfg, &err) < 0) {
		mx_log_err("cannot start: %s", err.text);
		if (!args.foreground)
			fprintf(stderr, PROGRAM ": cannot start: %s\n", err.text);
		goto out_pid;
	}
	mx_log_info("started on %s, SRS domain %s", cfg->socket, cfg->domain);
	/* From here on the runtime owns the configuration. */
	rt = srs_runtime_new(cfg, &err);
	free(cfg);
	cfg = NULL;
	if (rt == NULL || srs_milter_set_runtime(rt, &err) < 0) {
		mx_log_err("cannot start: %s", err.text);
		goto out_pid;
	}
	/* Only now: a reload must not be overwritten by the first set. */
	if (mx_milter_serve(reload, &err) < 0)
		mx_log_err("%s", err.text);
	else
		rc = 0;
	(void)srs_milter_set_runtime(NULL, &err);
	mx_log_info("stopped");
out_pid:
	mx_daemon_pidfile_remove(pid_file);
	mx_log_close();
out:
	if (cfg != NULL) {
		srs_config_free(cfg);
		free(cfg);
	}
	return rc;
}
