/* dkim_sighdr.h: building the text of a DKIM-Signature header field.
 *
 * Tags in this order: v=1; a=; c=; d=; [i=;] [q=dns/txt;] s=; t=; [x=;]
 * h=; bh=; b= (never l=). Folded greedily at `width` columns (counting
 * the "DKIM-Signature: " prefix); bh= and b= each start a line, and the
 * b= value is cut to fill its lines. The text is built in two steps: up
 * to "b=" (what is signed, the b= value being empty), then the value. */
#ifndef DKIM_SIGHDR_H
#define DKIM_SIGHDR_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "dkim_buf.h"
#include "dkim_canon.h"
#include "dkim_headers.h"
#include "dkim_key.h"

#define DKIM_SIG_FIELD "DKIM-Signature"
#define DKIM_WIDTH_DEFAULT 78
#define DKIM_WIDTH_MIN 20
#define DKIM_WIDTH_MAX 998

struct dkim_sighdr {
	enum dkim_alg alg;
	enum dkim_canon hc, bc;
	const char *domain;
	const char *selector;
	const char *identity;       /* i=, or NULL */
	bool q_tag;                 /* write q=dns/txt */
	long long t;                /* signature time */
	long long x;                /* expiry, 0 for none */
	const struct dkim_hlist *h;
	bool h_spaced;              /* "from : to" (as RFC examples) or "from:to" */
	const char *bh;             /* base64 body hash */
	size_t width;
	const char *eol;            /* "\r\n", or "\n" for milters */
};

/* Append the field value (without "DKIM-Signature:" and without a
 * leading space) up to and including "b=". *col_r is the column the
 * last line ends at, for dkim_sighdr_finish(). */
int dkim_sighdr_begin(const struct dkim_sighdr *p, struct dkim_buf *out,
		      size_t *col_r, struct mx_err *err);
/* Append the b= value, folded. */
int dkim_sighdr_finish(const struct dkim_sighdr *p, const char *b64, size_t col,
		       struct dkim_buf *out, struct mx_err *err);

#endif
