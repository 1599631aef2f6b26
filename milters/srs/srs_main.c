/* srs_main.c: mxkit-srs, the SRS milter: start-up and stop.
 *
 *   mxkit-srs [-c FILE] [-f] [-t] [-V]
 *
 * Order of start-up: parse the command line and the whole `srs` and
 * `database` sections (the SRS context keyed, so -t finds every
 * mistake), open the log, go to the background, write the pid file and
 * open the milter socket while still root, drop privileges, then serve on
 * mxkit's milter engine (mx_milter_run). SIGTERM and SIGINT stop it (open
 * connections get a few seconds to finish).
 *
 * SIGHUP and SIGUSR1 reload the configuration (secrets included, for
 * rotation): new connections use it, connections in progress finish with
 * the old one, and a configuration that fails to load is logged and
 * leaves the old one in use. */
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

/* The configuration being started: set in main() before mx_milter_run(),
 * taken by install() in the main thread before serving. */
static struct srs_config *start_cfg;

static int install(struct mx_err *err)
{
	/* From here on the runtime owns the configuration. */
	struct srs_runtime *rt = srs_runtime_new(start_cfg, err);

	free(start_cfg);
	start_cfg = NULL;
	if (rt == NULL)
		return -1;
	return srs_milter_set_runtime(rt, err);
}

static void shutdown_milter(void)
{
	(void)srs_milter_set_runtime(NULL, NULL);
}

int main(int argc, char **argv)
{
	struct mx_daemon_args args;
	struct srs_config *cfg;
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
	reload_path = args.config_path;
	memcpy(reload_socket, cfg->socket, sizeof(reload_socket));
	{
		struct mx_milter_app app = {
			.program = PROGRAM, .cb = srs_milter_callbacks(), .daemon = &cfg->daemon,
			.socket = cfg->socket, .timeout = (unsigned)cfg->timeout,
			.socket_gid = cfg->has_socket_group ? cfg->socket_gid : (gid_t)-1,
			.reload = reload, .install = install, .shutdown = shutdown_milter,
		};
		mx_milter_app_started(&app, "started on %s, SRS domain %s",
				      cfg->socket, cfg->domain);
		start_cfg = cfg;
		rc = mx_milter_run(&args, &app);
		if (app.installed)
			return rc;
	}
out:
	if (cfg != NULL) {
		srs_config_free(cfg);
		free(cfg);
	}
	return rc;
}
