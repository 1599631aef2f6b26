/* dkim_sighdr.c: DKIM-Signature field text with folding (see dkim_sighdr.h). */
#include "mxkit-config.h"

#include <stdio.h>
#include <string.h>

#include "dkim_sighdr.h"

struct folder {
	struct dkim_buf *out;
	const char *eol;
	size_t width;
	size_t col;
};

static int fold(struct folder *f, struct mx_err *err)
{
	if (dkim_buf_append_str(f->out, f->eol, err) < 0 ||
	    dkim_buf_append(f->out, " ", 1, err) < 0)
		return -1;
	f->col = 1;
	return 0;
}

/* Put one token, preceded by glue (" " or "") unless a fold goes there. */
static int put(struct folder *f, const char *glue, const char *tok, size_t len,
	       bool newline, struct mx_err *err)
{
	size_t glen = strlen(glue);

	if (f->col > 1 && (newline || f->col + glen + len > f->width)) {
		if (fold(f, err) < 0)
			return -1;
	} else {
		if (dkim_buf_append(f->out, glue, glen, err) < 0)
			return -1;
		f->col += glen;
	}
	if (dkim_buf_append(f->out, tok, len, err) < 0)
		return -1;
	f->col += len;
	return 0;
}

static int put_tag(struct folder *f, bool first, const char *fmt_tag, const char *val,
		   struct mx_err *err)
{
	char tok[DKIM_WIDTH_MAX + 1];
	int n = snprintf(tok, sizeof(tok), "%s=%s;", fmt_tag, val);

	if (n < 0 || (size_t)n >= sizeof(tok))
		return mx_err_set(err, "DKIM-Signature: %s= value too long", fmt_tag);
	return put(f, first ? "" : " ", tok, (size_t)n, false, err);
}

int dkim_sighdr_begin(const struct dkim_sighdr *p, struct dkim_buf *out,
		      size_t *col_r, struct mx_err *err)
{
	struct folder f = { out, p->eol, p->width, sizeof(DKIM_SIG_FIELD ": ") - 1 };
	char canon[32], num[32], tok[DKIM_FIELD_NAME_MAX + 8];
	size_t i;
	int n;

	if (p->width < DKIM_WIDTH_MIN || p->width > DKIM_WIDTH_MAX)
		return mx_err_set(err, "fold width %zu out of range %d..%d", p->width,
				  DKIM_WIDTH_MIN, DKIM_WIDTH_MAX);
	if (p->h->n == 0)
		return mx_err_set(err, "no header field to sign");
	n = snprintf(canon, sizeof(canon), "%s/%s", dkim_canon_name(p->hc), dkim_canon_name(p->bc));
	if (n < 0 || (size_t)n >= sizeof(canon))
		return mx_err_set(err, "canonicalization name too long");
	if (put_tag(&f, true, "v", "1", err) < 0 ||
	    put_tag(&f, false, "a", dkim_alg_name(p->alg), err) < 0 ||
	    put_tag(&f, false, "c", canon, err) < 0 ||
	    put_tag(&f, false, "d", p->domain, err) < 0)
		return -1;
	if (p->identity != NULL && put_tag(&f, false, "i", p->identity, err) < 0)
		return -1;
	if (p->q_tag && put_tag(&f, false, "q", "dns/txt", err) < 0)
		return -1;
	if (put_tag(&f, false, "s", p->selector, err) < 0)
		return -1;
	n = snprintf(num, sizeof(num), "%lld", p->t);
	if (n < 0 || (size_t)n >= sizeof(num) || put_tag(&f, false, "t", num, err) < 0)
		return -1;
	if (p->x != 0) {
		n = snprintf(num, sizeof(num), "%lld", p->x);
		if (n < 0 || (size_t)n >= sizeof(num) || put_tag(&f, false, "x", num, err) < 0)
			return -1;
	}
	/* h=: a fold may go after any ':' (FWS around ':' is allowed). */
	for (i = 0; i < p->h->n; i++) {
		bool last = i + 1 == p->h->n;
		const char *pre = i == 0 ? "h=" : "";
		const char *post = last ? ";" : (p->h_spaced ? " :" : ":");

		n = snprintf(tok, sizeof(tok), "%s%s%s", pre, p->h->names[i], post);
		if (n < 0 || (size_t)n >= sizeof(tok))
			return mx_err_set(err, "header field name too long for h=");
		if (put(&f, i == 0 || p->h_spaced ? " " : "", tok, (size_t)n, false, err) < 0)
			return -1;
	}
	n = snprintf(tok, sizeof(tok), "bh=%s;", p->bh);
	if (n < 0 || (size_t)n >= sizeof(tok))
		return mx_err_set(err, "body hash too long");
	if (put(&f, " ", tok, (size_t)n, true, err) < 0 ||
	    put(&f, " ", "b=", 2, true, err) < 0)
		return -1;
	*col_r = f.col;
	return 0;
}

int dkim_sighdr_finish(const struct dkim_sighdr *p, const char *b64, size_t col,
		       struct dkim_buf *out, struct mx_err *err)
{
	struct folder f = { out, p->eol, p->width, col };
	size_t len = strlen(b64), room;

	while (len > 0) {
		if (f.col >= f.width && fold(&f, err) < 0)
			return -1;
		room = f.width - f.col;
		if (room > len)
			room = len;
		if (dkim_buf_append(out, b64, room, err) < 0)
			return -1;
		f.col += room;
		b64 += room;
		len -= room;
	}
	return 0;
}
