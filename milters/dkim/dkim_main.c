/* dkim_main.c: mxkit-dkim, the DKIM signing milter: start-up and stop.
 *
 *   mxkit-dkim [-c FILE] [-f] [-t] [-V]
 *
 * Order of start-up: parse the command line and the whole configuration,
 * every key included (so -t finds every bad key, path or permission),
 * then mx_milter_run(): open the log, go to the background, write the pid
 * file and open the milter socket while still root, drop privileges, read
 * the keys of table dkim_keys as the daemon's user, then serve on mxkit's
 * milter engine. SIGTERM and SIGINT stop it (open connections get a few
 * seconds to finish).
 *
 * SIGHUP and SIGUSR1, and every dkim.refresh_interval seconds, reload the
 * configuration and keys, those of table dkim_keys included
 * (dkim_reload.c): new connections use the new keys, connections in
 * progress finish with the old ones, and a configuration that fails to
 * load is logged and leaves the old one in use. Key files are read again
 * as the daemon's user, so for reloads they must be owned by that user. */
#include "mxkit-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_config.h"
#include "dkim_milter.h"
#include "dkim_reload.h"
#include "mx_daemon.h"
#include "mx_log.h"
#include "mx_milter.h"

#define PROGRAM "mxkit-dkim"

/* The configuration being started: set in main() before mx_milter_run()
 * and used by its hooks, all in the main thread before serving. */
static struct dkim_config *start_cfg;

static int after_drop(struct mx_err *err)
{
	/* The table's keys are read as the daemon's user, after the fork. */
	if (dkim_reload_db_keys(start_cfg, true, err) < 0)
		return -1;
	if (start_cfg->nkeys == 0)
		mx_log_warn("no DKIM keys configured: nothing will be signed");
	return dkim_reload_refresh_start(err);
}

static int install(struct mx_err *err)
{
	struct dkim_config *cfg = start_cfg;

	start_cfg = NULL;  /* from here on the milter owns it (a reload may free it) */
	return dkim_milter_set_config(cfg, err);
}

static void shutdown_milter(void)
{
	dkim_milter_clear_config();
	dkim_reload_shutdown();
}

int main(int argc, char **argv)
{
	struct mx_daemon_args args;
	struct dkim_config *cfg;
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
	if (dkim_config_load(args.config_path, true, cfg, &err) < 0 ||
	    mx_milter_check_socket(cfg->socket, &err) < 0) {
		fprintf(stderr, PROGRAM ": %s\n", err.text);
		free(cfg);
		return 1;
	}
	if (args.check_only) {
		if (dkim_reload_db_keys(cfg, true, &err) < 0) {
			fprintf(stderr, PROGRAM ": %s\n", err.text);
			goto out;
		}
		if (cfg->db_stale)
			fprintf(stderr, PROGRAM ": warning: database unreachable, table dkim_keys not checked\n");
		printf("%s: configuration OK, %zu key(s)\n", args.config_path, cfg->nkeys);
		dkim_reload_shutdown();
		rc = 0;
		goto out;
	}
	{
		struct mx_milter_app app = {
			.program = PROGRAM, .cb = dkim_milter_callbacks(), .daemon = &cfg->daemon,
			.socket = cfg->socket, .timeout = (unsigned)cfg->timeout,
			.socket_gid = (gid_t)-1, .reload = dkim_reload_now,
			.after_drop = after_drop, .install = install, .shutdown = shutdown_milter,
		};
		mx_milter_app_started(&app, "started on %s with %zu key(s) from the file, "
				      "canonicalization %s/%s", cfg->socket, cfg->nkeys,
				      dkim_canon_name(cfg->hc), dkim_canon_name(cfg->bc));
		dkim_reload_init(args.config_path, cfg->socket);
		start_cfg = cfg;
		rc = mx_milter_run(&args, &app);
		if (app.installed)
			return rc;
		dkim_reload_shutdown();
	}
out:
	dkim_config_free(cfg);
	free(cfg);
	return rc;
}
