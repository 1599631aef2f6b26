/* mx_milter.h: the start-up every mxkit milter shares, on mxkit's own
 * milter engine (mx_milter_engine.h).
 *
 * mx_milter_run() is the whole life of a milter daemon once its
 * configuration is loaded: open the log, go to the background, write the
 * pid file and open the milter socket while still root (a stale unix
 * socket is removed; a new one gets mode 0660 and the daemon's owner so
 * that the postfix group can reach it), drop privileges, hand the
 * configuration to the milter, start the signal thread (SIGHUP and SIGUSR1
 * reload, SIGTERM and SIGINT stop), tell the service manager we are
 * ready, serve, and clean up. Also: socket specification checks and a
 * configuration shared by connections across reloads. */
#ifndef MX_MILTER_H
#define MX_MILTER_H

#include <stdbool.h>
#include <sys/types.h>

#include "mx_daemon.h"
#include "mx_error.h"
#include "mx_milter_engine.h"

/* Is spec a socket specification we accept ("unix:/path", "local:/path",
 * "inet:PORT@HOST", "inet6:PORT@HOST")? Returns 0 or -1 with why. */
int mx_milter_check_socket(const char *spec, struct mx_err *err);

/* Longest "started ..." log line. */
#define MX_MILTER_STARTED_MAX 1536

struct mx_milter_app {
	const char *program;                    /* "mxkit-dkim" */
	const struct mx_milter_callbacks *cb;
	const struct mx_daemon_config *daemon;  /* copied at start */
	const char *socket;
	unsigned timeout;                       /* seconds, per connection */
	gid_t socket_gid;                       /* (gid_t)-1: the daemon's group */
	void (*reload)(void);                   /* SIGHUP, SIGUSR1 */
	/* After privileges are dropped (signals blocked, so threads it
	 * starts inherit the mask), before install (may be NULL). */
	int (*after_drop)(struct mx_err *err);
	/* Make the loaded configuration current: it belongs to the milter
	 * from then on, even when this fails. */
	int (*install)(struct mx_err *err);
	/* After serving: drop the configuration and anything else. */
	void (*shutdown)(void);
	char started[MX_MILTER_STARTED_MAX];    /* logged once serving (mx_milter_app_started) */
	bool installed;                         /* out: install was called */
};

/* Set the line logged once serving (printf format; cut to "started" if
 * it does not fit). */
void mx_milter_app_started(struct mx_milter_app *app, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Run the milter (see above). Returns the exit status (0 or 1); errors
 * are logged. When app->installed is false the caller still owns its
 * configuration. */
int mx_milter_run(const struct mx_daemon_args *args, struct mx_milter_app *app);

/* A configuration shared by connections across reloads: each connection
 * holds a reference for its life; mx_milter_shared_set() makes a new value
 * current and the old one is freed (with free_fn) when its last
 * connection lets go. Thread-safe. */
struct mx_milter_shared;
/* Make value current (NULL: none). Returns 0, or -1 when out of memory
 * (value is then not taken). */
int mx_milter_shared_set(void *value, void (*free_fn)(void *), struct mx_err *err);
/* The current value with a reference (NULL when none), and its handle. */
struct mx_milter_shared *mx_milter_shared_acquire(void **value_r);
void mx_milter_shared_release(struct mx_milter_shared *ref);

#endif
