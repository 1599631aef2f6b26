/* mx_log.h: logging for every mxkit daemon and tool.
 *
 * One line per event, to syslog (the default for daemons), stderr (`-f`)
 * or an append-only file (hosts without syslog). Safe to call from any
 * thread. Untrusted data (addresses, keys, header values from the wire)
 * must go through mx_log_safe() before it is formatted into a line. */
#ifndef MX_LOG_H
#define MX_LOG_H

#include <stddef.h>
#include <syslog.h>

#include "mx_error.h"

enum mx_log_target {
	MX_LOG_STDERR,
	MX_LOG_SYSLOG,
	MX_LOG_FILE,
};

/* Open the log. `path` is used only for MX_LOG_FILE. Returns 0 or -1. */
int mx_log_open(const char *ident, enum mx_log_target target,
		const char *path, struct mx_err *err);
/* Reopen a log file (after rotation, on SIGHUP). */
int mx_log_reopen(struct mx_err *err);
void mx_log_close(void);

/* Messages above this syslog priority are dropped (default LOG_INFO). */
void mx_log_set_level(int level);
int mx_log_level_parse(const char *name);

void mx_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define mx_log_err(...)   mx_log(LOG_ERR, __VA_ARGS__)
#define mx_log_warn(...)  mx_log(LOG_WARNING, __VA_ARGS__)
#define mx_log_info(...)  mx_log(LOG_INFO, __VA_ARGS__)
#define mx_log_debug(...) mx_log(LOG_DEBUG, __VA_ARGS__)

/* Copy `len` bytes of untrusted `src` into dst as printable ASCII:
 * control, non-ASCII and backslash bytes become \xHH; output longer
 * than dstsize-1 is cut and ends in "...". Returns dst. */
char *mx_log_safe(char *dst, size_t dstsize, const char *src, size_t len);

/* Size of a buffer that holds any sanitized value we log. */
#define MX_LOG_SAFE_MAX 256

#endif
