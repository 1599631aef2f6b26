/* dkim_msgparse.c: header/body split of an in-memory message (see dkim_msgparse.h). */
#include "mxkit-config.h"

#include <string.h>

#include "dkim_msgparse.h"

/* End of the line starting at i: index of its terminator, and its length. */
static size_t line_end(const char *msg, size_t len, size_t i, size_t *term_r)
{
	const char *lf = memchr(msg + i, '\n', len - i);
	size_t e;

	if (lf == NULL) {
		*term_r = 0;
		return len;
	}
	e = (size_t)(lf - msg);
	if (e > i && msg[e - 1] == '\r') {
		*term_r = 2;
		return e - 1;
	}
	*term_r = 1;
	return e;
}

int dkim_parse_headers(const char *msg, size_t len, dkim_field_fn *cb, void *arg,
		       size_t *body_off_r, struct mx_err *err)
{
	size_t i = 0, lineno = 0;

	while (i < len) {
		size_t term, e = line_end(msg, len, i, &term), start = i, colon, vend;

		lineno++;
		if (e == i) {  /* the empty line */
			*body_off_r = i + term;
			return 0;
		}
		if (msg[i] == ' ' || msg[i] == '\t')
			return mx_err_set(err, "header line %zu: continuation line without a field", lineno);
		{
			const char *c = memchr(msg + i, ':', e - i);
			if (c == NULL)
				return mx_err_set(err, "header line %zu: no colon in header field", lineno);
			colon = (size_t)(c - msg);
		}
		if (colon == start)
			return mx_err_set(err, "header line %zu: empty field name", lineno);
		/* Continuation lines belong to this field. */
		vend = e;
		i = e + term;
		while (i < len && (msg[i] == ' ' || msg[i] == '\t')) {
			e = line_end(msg, len, i, &term);
			lineno++;
			vend = e;
			i = e + term;
		}
		if (cb(arg, msg + start, colon - start, msg + colon + 1, vend - colon - 1, err) < 0)
			return -1;
	}
	*body_off_r = len;
	return 0;
}
