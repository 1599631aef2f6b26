/* mx_milter.h: the startup every mxkit milter shares.
 *
 * Checks a libmilter socket specification ("unix:/path", "local:/path",
 * "inet:PORT@HOST", "inet6:PORT@HOST"), registers the filter, opens the
 * socket (a stale unix socket is removed; a new one gets mode 0660 so
 * that the postfix group can reach it; a TCP one TCP_NODELAY, so that
 * replies are never held back by Nagle's algorithm, and every packet of the
 * MTA is acknowledged at once: see mx_milter_quickack.c), and runs smfi_main()
 * until libmilter is told to stop. */
#ifndef MX_MILTER_H
#define MX_MILTER_H

#include <sys/types.h>

#include <libmilter/mfapi.h>

#include "mx_error.h"

#define MX_MILTER_BACKLOG 128

/* Is spec a socket specification we accept? Returns 0 or -1 with why. */
int mx_milter_check_socket(const char *spec, struct mx_err *err);

/* Register desc and open spec (while still root: the socket may live
 * in a directory only root can write). A unix socket is given mode 0660
 * and, when uid/gid are not -1, that owner. timeout is libmilter's
 * read/write timeout in seconds. Returns 0 or -1 with err. */
int mx_milter_open(struct smfiDesc *desc, const char *spec, int timeout,
		   uid_t uid, gid_t gid, struct mx_err *err);

/* Over TCP, acknowledge every packet of the MTA at once (TCP_QUICKACK
 * re-armed after each read; see mx_milter_quickack.c). mx_milter_open()
 * calls it for TCP sockets. */
void mx_milter_quickack_enable(void);

/* Serve until libmilter is told to stop (SIGTERM/SIGINT, or
 * mx_milter_stop()). Returns 0 after a clean stop, -1 with err. */
int mx_milter_main(struct mx_err *err);

/* The end of every milter's start-up, once its configuration is set:
 * start the SIGUSR1 reload thread (mx_milter_reload_start), tell the
 * service manager we are ready, and serve (mx_milter_main). Returns 0
 * after a clean stop, -1 with err. */
int mx_milter_serve(void (*reload)(void), struct mx_err *err);

/* Ask smfi_main() to return (from a signal-safe context is fine). */
void mx_milter_stop(void);

/* Reload on SIGUSR1 (libmilter's signal thread takes SIGHUP as "stop").
 * Blocks SIGUSR1, SIGHUP, SIGTERM and SIGINT in the calling thread, so
 * call it before smfi_main() creates threads, and starts a thread that
 * calls reload() for each SIGUSR1. Returns 0 or -1 with err. */
int mx_milter_reload_start(void (*reload)(void), struct mx_err *err);

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
