/* dkim_buf.h: a growable byte buffer with a hard size limit.
 *
 * Used for per-message header data: it grows by doubling, is reused
 * across messages (reset keeps the memory), and refuses to grow past
 * its limit so that hostile input cannot make it unbounded. */
#ifndef DKIM_BUF_H
#define DKIM_BUF_H

#include <stddef.h>

#include "mx_error.h"

struct dkim_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t limit;
};

void dkim_buf_init(struct dkim_buf *b, size_t limit);
void dkim_buf_free(struct dkim_buf *b);
static inline void dkim_buf_reset(struct dkim_buf *b) { b->len = 0; }
/* Make room for n more bytes; returns 0 or -1 (limit or no memory). */
int dkim_buf_reserve(struct dkim_buf *b, size_t n, struct mx_err *err);
int dkim_buf_append(struct dkim_buf *b, const void *p, size_t n, struct mx_err *err);
int dkim_buf_append_str(struct dkim_buf *b, const char *s, struct mx_err *err);
/* NUL-terminate without counting the NUL in len. */
int dkim_buf_terminate(struct dkim_buf *b, struct mx_err *err);

#endif
