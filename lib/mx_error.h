/* mx_error.h: a fixed-size, caller-owned error message.
 *
 * Functions that can fail take a `struct mx_err *err` last and fill it
 * with a human-readable reason naming the file, line, address or value
 * at fault. No allocation, so it works on any failure path. */
#ifndef MX_ERROR_H
#define MX_ERROR_H

#include <stddef.h>

#define MX_ERR_MAX 512

struct mx_err {
	char text[MX_ERR_MAX];
};

/* Set the message (printf format); err may be NULL. Always returns -1 so
 * callers can write `return mx_err_set(err, ...)`. */
int mx_err_set(struct mx_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefix the existing message with more context ("file.conf: ..."). */
int mx_err_prefix(struct mx_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline void mx_err_clear(struct mx_err *err)
{
	if (err != NULL)
		err->text[0] = '\0';
}

#endif
