/* mx_daemon.h: the start-up every mxkit daemon shares.
 *
 * Command line (-c FILE, -f, -t, -V), the settings every daemon section
 * has (user, group, pid_file, log_file, log_level), logging set-up,
 * daemonizing with a "ready" handshake so that the parent's exit code
 * tells whether start-up worked, the pid file, dropping root, and a
 * self-pipe that turns SIGHUP/SIGTERM/SIGINT into a readable fd for an
 * event loop. Nothing here knows about a particular daemon. */
#ifndef MX_DAEMON_H
#define MX_DAEMON_H

#include <libconfig.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "mx_error.h"

struct mx_daemon_args {
	const char *config_path;  /* -c, default MX_CONFIG_DEFAULT */
	bool foreground;          /* -f: no fork, log to stderr */
	bool check_only;          /* -t: validate the configuration and exit */
	bool version;             /* -V: print name and version and exit */
};

/* Parse argv. Returns 0, or -1 with a usage message in err. */
int mx_daemon_args_parse(int argc, char **argv, struct mx_daemon_args *out,
			 struct mx_err *err);

/* Print "NAME VERSION" to stdout. */
void mx_daemon_print_version(const char *name);

/* The keys mx_daemon_config_parse() reads: list them among the allowed
 * keys of the daemon's section. */
#define MX_DAEMON_CONFIG_KEYS "user", "group", "pid_file", "log_file", "log_level"

struct mx_daemon_config {
	bool has_user;            /* `user` was set */
	char user[64];
	uid_t uid;
	gid_t gid;                /* `group`, else the user's primary group */
	char pid_file[PATH_MAX];  /* "" when not set */
	char log_file[PATH_MAX];  /* "" for syslog */
	int log_level;            /* syslog priority */
};

/* Read the shared daemon settings of `section` (may be NULL) and resolve
 * user and group, so that -t finds an unknown user. */
int mx_daemon_config_parse(const config_setting_t *section,
			   struct mx_daemon_config *out, struct mx_err *err);

/* Open the log: stderr when foreground, else log_file or syslog. Also
 * sets the level. Safe to call again (SIGHUP). */
int mx_daemon_log_setup(const char *ident, const struct mx_daemon_args *args,
			const struct mx_daemon_config *conf, struct mx_err *err);

/* Unless foreground: fork into the background (new session, cwd "/",
 * stdio on /dev/null). The parent waits until the child calls
 * mx_daemon_ready() and exits 0, or exits 1 when the child dies first.
 * Returns 0 in the process that goes on. */
int mx_daemon_detach(const struct mx_daemon_args *args, struct mx_err *err);
void mx_daemon_ready(void);

/* Write our pid to path (created 0644, owned by uid/gid so that it can
 * still be emptied after privileges are dropped). */
int mx_daemon_pidfile_write(const char *path, uid_t uid, gid_t gid, struct mx_err *err);
/* Remove the pid file, or empty it when its directory is not writable. */
void mx_daemon_pidfile_remove(const char *path);

/* Become conf->user (setgroups, setgid, setuid) and check that root
 * cannot be regained. Running as root without a `user` is refused unless
 * the user is explicitly "root". Not root and no user: nothing to do. */
int mx_daemon_drop_privileges(const struct mx_daemon_config *conf, struct mx_err *err);

/* Signals for the event loop. */
enum mx_daemon_signal {
	MX_SIG_RELOAD = 1 << 0,   /* SIGHUP */
	MX_SIG_STOP = 1 << 1,     /* SIGTERM, SIGINT */
};

/* Install handlers for SIGHUP, SIGTERM and SIGINT (and ignore SIGPIPE).
 * Returns a non-blocking fd that becomes readable when one arrives. */
int mx_daemon_signals_init(struct mx_err *err);
/* Drain the fd; returns the mx_daemon_signal bits that arrived. */
unsigned mx_daemon_signals_take(void);
/* Block the daemon signals in the calling thread (for worker threads,
 * call before creating them and restore after). */
void mx_daemon_signals_block(bool block);

#endif
