/* mx_log.c: line-oriented logging to syslog, stderr or a file.
 *
 * Each line is formatted into a local buffer and written with a single
 * write(2), so lines from different threads never interleave. The
 * target and level are set once at start (and on reopen, under a lock). */
#include "mxkit-config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "mx_log.h"

#define LINE_MAX_LEN 2048

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static enum mx_log_target log_target = MX_LOG_STDERR;
static int log_fd = STDERR_FILENO;
static int log_level = LOG_INFO;
static char log_ident[64] = "mxkit";
static char log_path[4096];

static const char *prio_name(int prio)
{
	switch (prio) {
	case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: return "fatal";
	case LOG_ERR: return "error";
	case LOG_WARNING: return "warning";
	case LOG_NOTICE: return "notice";
	case LOG_INFO: return "info";
	default: return "debug";
	}
}

int mx_log_level_parse(const char *name)
{
	static const struct { const char *name; int level; } levels[] = {
		{ "error", LOG_ERR }, { "warning", LOG_WARNING },
		{ "notice", LOG_NOTICE }, { "info", LOG_INFO }, { "debug", LOG_DEBUG },
	};
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcasecmp(name, levels[i].name) == 0)
			return levels[i].level;
	return -1;
}

static int open_file(const char *path, struct mx_err *err)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0)
		return mx_err_set(err, "cannot open log file %s: %s", path, strerror(errno));
	return fd;
}

int mx_log_open(const char *ident, enum mx_log_target target,
		const char *path, struct mx_err *err)
{
	int fd = STDERR_FILENO;

	if (target == MX_LOG_FILE) {
		if (path == NULL || strlen(path) >= sizeof(log_path))
			return mx_err_set(err, "log file path missing or too long");
		if ((fd = open_file(path, err)) < 0)
			return -1;
	}
	pthread_mutex_lock(&log_lock);
	(void)snprintf(log_ident, sizeof(log_ident), "%s", ident);
	if (log_target == MX_LOG_FILE && log_fd > STDERR_FILENO)
		(void)close(log_fd);
	log_target = target;
	log_fd = fd;
	if (target == MX_LOG_FILE)
		(void)snprintf(log_path, sizeof(log_path), "%s", path);
	if (target == MX_LOG_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	pthread_mutex_unlock(&log_lock);
	return 0;
}

int mx_log_reopen(struct mx_err *err)
{
	int fd, old;

	pthread_mutex_lock(&log_lock);
	if (log_target != MX_LOG_FILE) {
		pthread_mutex_unlock(&log_lock);
		return 0;
	}
	fd = open_file(log_path, err);
	if (fd < 0) {
		pthread_mutex_unlock(&log_lock);
		return -1;
	}
	old = log_fd;
	log_fd = fd;
	pthread_mutex_unlock(&log_lock);
	if (old > STDERR_FILENO)
		(void)close(old);
	return 0;
}

void mx_log_close(void)
{
	pthread_mutex_lock(&log_lock);
	if (log_target == MX_LOG_SYSLOG)
		closelog();
	else if (log_target == MX_LOG_FILE && log_fd > STDERR_FILENO)
		(void)close(log_fd);
	log_target = MX_LOG_STDERR;
	log_fd = STDERR_FILENO;
	pthread_mutex_unlock(&log_lock);
}

void mx_log_set_level(int level)
{
	pthread_mutex_lock(&log_lock);
	log_level = level;
	pthread_mutex_unlock(&log_lock);
}

void mx_log(int prio, const char *fmt, ...)
{
	char line[LINE_MAX_LEN];
	size_t n = 0;
	int r;
	va_list ap;

	pthread_mutex_lock(&log_lock);
	if (prio > log_level) {
		pthread_mutex_unlock(&log_lock);
		return;
	}
	if (log_target == MX_LOG_SYSLOG) {
		va_start(ap, fmt);
		r = vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
		(void)r;
		syslog(prio, "%s: %s", prio_name(prio), line);
		pthread_mutex_unlock(&log_lock);
		return;
	}
	if (log_target == MX_LOG_FILE) {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ", &tm);
	}
	r = snprintf(line + n, sizeof(line) - n, "%s[%ld]: %s: ",
		     log_ident, (long)getpid(), prio_name(prio));
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* A failed log write has nowhere to be reported; ignore it. */
	ssize_t w = write(log_fd, line, n);
	(void)w;
	pthread_mutex_unlock(&log_lock);
}

/* Bytes one source byte takes in mx_log_safe() output. */
static size_t safe_width(unsigned char c)
{
	return (c < 0x20 || c >= 0x7f || c == '\\') ? 4 : 1;
}

char *mx_log_safe(char *dst, size_t dstsize, const char *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	static const char ellipsis[] = "...";
	const size_t ell = sizeof(ellipsis) - 1;
	size_t o = 0, full = 0, room;

	if (dstsize == 0)
		return dst;
	/* Does the whole rendering fit? Stop counting once it cannot. */
	for (size_t i = 0; i < len && full < dstsize; i++)
		full += safe_width((unsigned char)src[i]);
	/* If not, keep whole units only and leave room for the ellipsis. */
	room = full < dstsize ? dstsize - 1 : (dstsize > ell + 1 ? dstsize - 1 - ell : 0);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];
		if (o + safe_width(c) > room)
			break;
		if (safe_width(c) == 4) {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		} else {
			dst[o++] = (char)c;
		}
	}
	if (full >= dstsize)
		for (size_t k = 0; k < ell && o + 1 < dstsize; k++)
			dst[o++] = '.';
	dst[o] = '\0';
	return dst;
}
