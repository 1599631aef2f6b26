/* strip_main.c: mxkit-strip, the privacy milter: start-up and stop.
 *
 *   mxkit-strip [-c FILE] [-f] [-t] [-V]
 *
 * Order of start-up: parse the command line and the whole `strip`
 * section (every rule checked, every regular expression compiled, so -t
 * finds every mistake), open the log, go to the background, write the pid
 * file and open the milter socket while still root, drop privileges, then
 * serve. SIGTERM and SIGINT stop it (libmilter's signal thread handles
 * them).
 *
 * SIGUSR1 reloads the configuration: new connections use the new rules,
 * connections in progress finish with the old ones, and a configuration
 * that fails to load is logged and leaves the old one in use. (SIGHUP
 * cannot be used: libmilter's signal thread takes SIGHUP as "stop".) */
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

static int start(const struct mx_daemon_args *args, const struct strip_config *cfg,
		 struct mx_err *err)
{
	const struct mx_daemon_config *d = &cfg->daemon;

	if (mx_daemon_detach(args, err) < 0)
		return -1;
	if (d->pid_file[0] != '\0' && mx_daemon_pidfile_write(d->pid_file, d->uid, d->gid, err) < 0)
		return -1;
	if (mx_milter_open(strip_milter_desc(), cfg->socket, (int)cfg->timeout,
			   d->has_user ? d->uid : (uid_t)-1, d->has_user ? d->gid : (gid_t)-1, err) < 0)
		return -1;
	return mx_daemon_drop_privileges(d, err);
}

int main(int argc, char **argv)
{
	struct mx_daemon_args args;
	struct strip_config *cfg;
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
	if (mx_daemon_log_setup(PROGRAM, &args, &cfg->daemon, &err) < 0) {
		fprintf(stderr, PROGRAM ": %s\n", err.text);
		goto out;
	}
	reload_path = args.config_path;
	memcpy(reload_socket, cfg->socket, sizeof(reload_socket));
	if (start(&args, cfg, &err) < 0) {
		mx_log_err("cannot start: %s", err.text);
		if (!args.foreground)
			fprintf(stderr, PROGRAM ": cannot start: %s\n", err.text);
		goto out_pid;
	}
	mx_log_info("started on %s with %zu rule(s)", cfg->socket, cfg->rules.n);
	memcpy(pid_file, cfg->daemon.pid_file, sizeof(pid_file));
	/* From here on the milter owns cfg (a reload may free it). */
	if (strip_milter_set_config(cfg, &err) < 0) {
		mx_log_err("cannot start: %s", err.text);
		goto out_pid;
	}
	/* Only now: a reload must not be overwritten by the first set. */
	if (mx_milter_serve(reload, &err) < 0)
		mx_log_err("%s", err.text);
	else
		rc = 0;
	(void)strip_milter_set_config(NULL, &err);
	mx_log_info("stopped");
	mx_daemon_pidfile_remove(pid_file);
	mx_log_close();
	return rc;
out_pid:
	mx_daemon_pidfile_remove(cfg->daemon.pid_file);
	mx_log_close();
out:
	strip_config_free(cfg);
	free(cfg);
	return rc;
}
