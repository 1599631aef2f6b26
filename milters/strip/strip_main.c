/* strip_main.c: mxkit-strip, the privacy milter: start-up and stop.
 *
 *   mxkit-strip [-c FILE] [-f] [-t] [-V]
 *
 * Order of start-up: parse the command line and the whole `strip`
 * section (every rule checked, every regular expression compiled, so -t
 * finds every mistake), open the log, go to the background, write the pid
 * file and open the milter socket while still root, drop privileges, then
 * serve on mxkit's milter engine (mx_milter_run). SIGTERM and SIGINT stop
 * it (open connections get a few seconds to finish).
 *
 * SIGHUP and SIGUSR1 reload the configuration: new connections use the new
 * rules, connections in progress finish with the old ones, and a
 * configuration that fails to load is logged and leaves the old one in
 * use. */
#include "mxkit-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx_daemon.h"
#include "mx_log.h"
#include "mx_milter.h"
#include "strip_config.h"
#include "strip_milter.h"

#define PROGRAM "mxkit-strip"

static const char *reload_path;                 /* set before the reload thread starts */
static char reload_socket[STRIP_SOCKET_MAX];    /* likewise: the socket in use */

static void reload(void)
{
	struct strip_config *cfg = malloc(sizeof(*cfg));
	struct mx_err err;
	size_t n;

	if (cfg == NULL) {
		mx_log_err("reload: out of memory; keeping the old configuration");
		return;
	}
	if (strip_config_load(reload_path, cfg, &err) < 0) {
		mx_log_err("reload failed, keeping the old configuration: %s", err.text);
		free(cfg);
		return;
	}
	if (strcmp(cfg->socket, reload_socket) != 0)
		mx_log_warn("reload: 'socket' changed; restart " PROGRAM " to apply it");
	n = cfg->rules.n;
	if (strip_milter_set_config(cfg, &err) < 0) {
		mx_log_err("reload failed, keeping the old configuration: %s", err.text);
		strip_config_free(cfg);
		free(cfg);
		return;
	}
	mx_log_info("configuration reloaded from %s: %zu rule(s)", reload_path, n);
}

/* The configuration being started: set in main() before mx_milter_run(),
 * taken by install() in the main thread before serving. */
static struct strip_config *start_cfg;

static int install(struct mx_err *err)
{
	struct strip_config *cfg = start_cfg;

	start_cfg = NULL;
	if (strip_milter_set_config(cfg, err) < 0) {
		strip_config_free(cfg);
		free(cfg);
		return -1;
	}
	return 0;
}

static void shutdown_milter(void)
{
	(void)strip_milter_set_config(NULL, NULL);
}

int main(int argc, char **argv)
{
	struct mx_daemon_args args;
	struct strip_config *cfg;
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
	cfg = malloc(sizeof(*cfg));
	if (cfg == NULL) {
		fprintf(stderr, PROGRAM ": out of memory\n");
		return 1;
	}
	if (strip_config_load(args.config_path, cfg, &err) < 0 ||
	    mx_milter_check_socket(cfg->socket, &err) < 0) {
		fprintf(stderr, PROGRAM ": %s\n", err.text);
		free(cfg);
		return 1;
	}
	if (args.check_only) {
		printf("%s: configuration OK, %zu rule(s)\n", args.config_path, cfg->rules.n);
		rc = 0;
		goto out;
	}
	reload_path = args.config_path;
	memcpy(reload_socket, cfg->socket, sizeof(reload_socket));
	{
		struct mx_milter_app app = {
			.program = PROGRAM, .cb = strip_milter_callbacks(), .daemon = &cfg->daemon,
			.socket = cfg->socket, .timeout = (unsigned)cfg->timeout,
			.socket_gid = (gid_t)-1, .reload = reload, .install = install,
			.shutdown = shutdown_milter,
		};
		mx_milter_app_started(&app, "started on %s with %zu rule(s)",
				      cfg->socket, cfg->rules.n);
		start_cfg = cfg;
		rc = mx_milter_run(&args, &app);
		if (app.installed)
			return rc;
	}
out:
	strip_config_free(cfg);
	free(cfg);
	return rc;
}
