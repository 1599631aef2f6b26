/* dkim_main.c: mxkit-dkim, the DKIM signing milter: start-up and stop.
 *
 *   mxkit-dkim [-c FILE] [-f] [-t] [-V]
 *
 * Order of start-up: parse the command line and the whole configuration,
 * every key included (so -t finds every bad key, path or permission),
 * open the log, go to the background, write the pid file and open the
 * milter socket while still root, drop privileges, then serve. SIGTERM
 * and SIGINT stop it (libmilter's own signal thread handles them).
 *
 * SIGUSR1, and every dkim.refresh_interval seconds, reload the configuration
 * and keys, those of table dkim_keys included (dkim_reload.c): new
 * connections use the new keys, connections in progress finish with the old ones, and a
 * configuration that fails to load is logged and leaves the old one in
 * use. (SIGHUP cannot be used: libmilter's signal thread takes SIGHUP as
 * "stop".) Key files are read again as the daemon's user, so for reloads
 * they must be owned by that user. */
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

static int start(const struct mx_daemon_args *args, struct dkim_config *cfg,
		 struct mx_err *err)
{
	const struct mx_daemon_config *d = &cfg->daemon;

	if (mx_daemon_detach(args, err) < 0)
		return -1;
	if (d->pid_file[0] != '\0' && mx_daemon_pidfile_write(d->pid_file, d->uid, d->gid, err) < 0)
		return -1;
	if (mx_milter_open(dkim_milter_desc(), cfg->socket, (int)cfg->timeout,
			   d->has_user ? d->uid : (uid_t)-1, d->has_user ? d->gid : (gid_t)-1, err) < 0)
		return -1;
	if (mx_daemon_drop_privileges(d, err) < 0)
		return -1;
	if (mx_milter_reload_start(dkim_reload_now, err) < 0)
		return -1;
	/* The table's keys are read as the daemon's user, after the fork. */
	if (dkim_reload_db_keys(cfg, true, err) < 0)
		return -1;
	return dkim_reload_refresh_start(err);
}

int main(int argc, char **argv)
{
	struct mx_daemon_args args;
	struct dkim_config *cfg;
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
	if (mx_daemon_log_setup(PROGRAM, &args, &cfg->daemon, &err) < 0) {
		fprintf(stderr, PROGRAM ": %s\n", err.text);
		goto out;
	}
	dkim_reload_init(args.config_path, cfg->socket);
	if (start(&args, cfg, &err) < 0) {
		mx_log_err("cannot start: %s", err.text);
		if (!args.foreground)
			fprintf(stderr, PROGRAM ": cannot start: %s\n", err.text);
		goto out_pid;
	}
	if (cfg->nkeys == 0)
		mx_log_warn("%s: no DKIM keys configured: nothing will be signed", args.config_path);
	mx_log_info("started on %s with %zu key(s), canonicalization %s/%s", cfg->socket,
		    cfg->nkeys, dkim_canon_name(cfg->hc), dkim_canon_name(cfg->bc));
	/* From here on the milter owns cfg (a reload may free it). */
	memcpy(pid_file, cfg->daemon.pid_file, sizeof(pid_file));
	if (dkim_milter_set_config(cfg, &err) < 0) {
		mx_log_err("cannot start: %s", err.text);
		goto out_pid;
	}
	cfg = NULL;
	mx_daemon_ready();
	if (mx_milter_main(&err) < 0)
		mx_log_err("%s", err.text);
	else
		rc = 0;
	dkim_milter_clear_config();
	dkim_reload_shutdown();
	mx_log_info("stopped");
	mx_daemon_pidfile_remove(pid_file);
	mx_log_close();
	return rc;
out_pid:
	mx_daemon_pidfile_remove(cfg->daemon.pid_file);
	mx_log_close();
out:
	dkim_config_free(cfg);
	free(cfg);
	return rc;
}
