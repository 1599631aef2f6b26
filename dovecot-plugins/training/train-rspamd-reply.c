/* train-rspamd-reply.c: reads the HTTP reply of rspamd's controller to a
 * learnspam/learnham request. The reply is untrusted bytes (any length,
 * NULs included): only the status line "HTTP/1.x NNN" decides, and the
 * body (after the blank line) is quoted, made printable and shortened, in
 * the event's result. 200 learned and 208 already learned mean done;
 * other 4xx mean rspamd refuses this message; anything else (5xx, no
 * status) is retried later. */
#include "mxkit-config.h"

#include <stdio.h>
#include <string.h>

#include "mx_log.h"
#include "train.h"

#define RSPAMD_BODY_SHOWN 160

/* "HTTP/1.x NNN" followed by a space or the end of the line -> NNN, or -1. */
static int train_rspamd_status(const char *reply, size_t len)
{
	static const char prefix[] = "HTTP/1.";
	size_t n = sizeof(prefix) - 1;
	int code = 0, i;

	if (len < n + 5 || memcmp(reply, prefix, n) != 0 || reply[n] < '0' || reply[n] > '9' ||
	    reply[n + 1] != ' ')
		return -1;
	for (i = 0; i < 3; i++) {
		char c = reply[n + 2 + (size_t)i];
		if (n + 2 + (size_t)i >= len || c < '0' || c > '9')
			return -1;
		code = code * 10 + (c - '0');
	}
	if (n + 5 < len && reply[n + 5] != ' ' && reply[n + 5] != '\r')
		return -1;
	return code >= 100 && code <= 599 ? code : -1;
}

enum train_outcome train_rspamd_reply(const char *reply, size_t len, char *result,
				      size_t result_size)
{
	char safe[RSPAMD_BODY_SHOWN];
	const char *body = memmem(reply, len, "\r\n\r\n", 4);
	size_t body_len = 0;
	int code = train_rspamd_status(reply, len);

	if (body != NULL) {
		body += 4;
		body_len = len - (size_t)(body - reply);
	}
	mx_log_safe(safe, sizeof(safe), body != NULL ? body : "", body_len);
	if (code < 0) {
		snprintf(result, result_size, "rspamd: not an HTTP reply: %s", safe);
		return TRAIN_RETRY;
	}
	snprintf(result, result_size, "rspamd %d %s", code, safe);
	if (code == 200 || code == 208)
		return TRAIN_DONE;
	if (code >= 400 && code < 500)
		return TRAIN_REFUSED;
	return TRAIN_RETRY;
}
