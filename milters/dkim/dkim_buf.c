/* dkim_buf.c: growable byte buffer with a hard limit (see dkim_buf.h). */
#include "mxkit-config.h"

#include <stdlib.h>
#include <string.h>

#include "dkim_buf.h"

#define DKIM_BUF_MIN 256

void dkim_buf_init(struct dkim_buf *b, size_t limit)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->limit = limit;
}

void dkim_buf_free(struct dkim_buf *b)
{
	free(b->data);
	dkim_buf_init(b, b->limit);
}

int dkim_buf_reserve(struct dkim_buf *b, size_t n, struct mx_err *err)
{
	size_t need, cap;
	char *p;

	if (n > b->limit || b->len > b->limit - n)
		return mx_err_set(err, "data exceeds the limit of %zu bytes", b->limit);
	need = b->len + n;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : DKIM_BUF_MIN;
	while (cap < need)
		cap = cap > b->limit / 2 ? b->limit : cap * 2;
	/* One spare byte for dkim_buf_terminate(). */
	p = realloc(b->data, cap + 1);
	if (p == NULL)
		return mx_err_set(err, "out of memory (%zu bytes)", cap + 1);
	b->data = p;
	b->cap = cap;
	return 0;
}

int dkim_buf_append(struct dkim_buf *b, const void *p, size_t n, struct mx_err *err)
{
	if (n == 0)
		return 0;
	if (dkim_buf_reserve(b, n, err) < 0)
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int dkim_buf_append_str(struct dkim_buf *b, const char *s, struct mx_err *err)
{
	return dkim_buf_append(b, s, strlen(s), err);
}

int dkim_buf_terminate(struct dkim_buf *b, struct mx_err *err)
{
	if (b->data == NULL && dkim_buf_reserve(b, 1, err) < 0)
		return -1;
	b->data[b->len] = '\0';
	return 0;
}
