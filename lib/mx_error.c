/* mx_error.c: fixed-size error messages and the result names. */
#include "mxkit-config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mx_error.h"
#include "mx_result.h"

int mx_err_set(struct mx_err *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	/* Truncation is acceptable for a diagnostic; it stays NUL-terminated. */
	(void)vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
	return -1;
}

int mx_err_prefix(struct mx_err *err, const char *fmt, ...)
{
	char prefix[MX_ERR_MAX];
	char old[MX_ERR_MAX];
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->text, sizeof(old));
	/* Concatenate by hand: the result is cut to fit, deliberately. */
	size_t plen = strnlen(prefix, sizeof(err->text) - 1);
	size_t olen = strnlen(old, sizeof(old) - 1);
	if (olen > sizeof(err->text) - 1 - plen)
		olen = sizeof(err->text) - 1 - plen;
	memcpy(err->text, prefix, plen);
	memcpy(err->text + plen, old, olen);
	err->text[plen + olen] = '\0';
	return -1;
}

const char *mx_result_name(enum mx_result r)
{
	switch (r) {
	case MX_FOUND: return "found";
	case MX_NOTFOUND: return "notfound";
	case MX_TEMP: return "temporary failure";
	case MX_PERM: return "permanent failure";
	}
	return "unknown";
}
