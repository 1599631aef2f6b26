/* strip_main.c: mxkit-strip, the privacy milter: start-up and stop.
 *
 *   mxkit-strip [-c FILE] [-f] [-t] [-V]
 *
 * Order of start-up: parse the command line and the whole `strip`
 * section (every rule checked, every regular expression compiled, so -t
 * finds every mistake), open the log, go to the background, write the pid
 * file and open the milter socket while still root, drop privileges, then
 * serve. SIGTERM and SIGINT stop it (libmilter's signal thread handles
 * them). A changed configuration takes effect on restart. */
#include "mxkit-config.h"

#include <stdio.h>
#include <stdlib.h>

#include "mx_daemon.h"
#include "mx_log.h"
#include "mx_milter.h"
#include "strip_config.h"
#include "strip_milter.h"

#define PROGRAM "mxkit-strip"

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
	if (start(&args, cfg, &err) < 0) {
		mx_log_err("cannot start: %s", err.text);
		if (!args.foreground)
			fprintf(stderr, PROGRAM ": cannot start: %s\n", err.text);
		goto out_pid;
	}
	strip_milter_set_config(cfg);
	mx_log_info("started on %s with %zu rule(s)", cfg->socket, cfg->rules.n);
	mx_daemon_ready();
	if (mx_milter_main(&err) < 0)
		mx_log_err("%s", err.text);
	else
		rc = 0;
	mx_log_info("stopped");
out_pid:
	mx_daemon_pidfile_remove(cfg->daemon.pid_file);
	mx_log_close();
out:
	strip_config_free(cfg);
	free(cfg);
	return rc;
}
