/* dkim_canon.h: RFC 6376 section 3.4 canonicalization ("simple" and
 * "relaxed") of header fields and of the message body.
 *
 * Header fields are canonicalized one at a time from the name and the
 * raw value (everything after the colon, folding included; line breaks
 * may be CRLF or bare LF, as milters receive them).
 *
 * The body canonicalizer is a stream: it is fed arbitrary chunks (a CRLF
 * may be split across two of them) and hands its output to a sink in
 * bounded pieces. Trailing empty lines are counted, not buffered, so the
 * memory it uses is fixed whatever the body size. */
#ifndef DKIM_CANON_H
#define DKIM_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dkim_buf.h"
#include "mx_error.h"

enum dkim_canon {
	DKIM_CANON_SIMPLE = 0,
	DKIM_CANON_RELAXED = 1,
};

/* "simple" / "relaxed". */
const char *dkim_canon_name(enum dkim_canon c);
/* Parse a canonicalization name; returns 0 or -1. */
int dkim_canon_parse(const char *name, enum dkim_canon *c_r);

/* Append the canonical form of one header field ("name:value" for
 * simple, the relaxed form otherwise) to out. When with_crlf is false
 * the final CRLF is left off (for the DKIM-Signature field itself).
 * Returns 0, or -1 when out would exceed its limit. */
int dkim_canon_header(enum dkim_canon c, const char *name, size_t nlen,
		      const char *value, size_t vlen, bool with_crlf,
		      struct dkim_buf *out, struct mx_err *err);

/* Receives canonical body bytes; returns 0 or -1 (with err set). */
typedef int dkim_sink_fn(void *arg, const unsigned char *p, size_t n,
			 struct mx_err *err);

/* Output is staged here before it goes to the sink. */
#define DKIM_CANON_STAGE 8192

struct dkim_body_canon {
	enum dkim_canon canon;
	dkim_sink_fn *sink;
	void *sink_arg;
	uint64_t crlf_pending;  /* line ends not yet emitted (trailing empty lines) */
	uint64_t out_total;     /* bytes handed out so far */
	bool have_cr;           /* last input byte was a CR */
	bool wsp_pending;       /* relaxed: white space seen, not yet emitted */
	bool line_started;      /* relaxed/simple: current line has content */
	size_t staged;
	unsigned char stage[DKIM_CANON_STAGE];
};

void dkim_body_canon_init(struct dkim_body_canon *bc, enum dkim_canon c,
			  dkim_sink_fn *sink, void *sink_arg);
/* Feed the next chunk of the body (any size, any split). */
int dkim_body_canon_update(struct dkim_body_canon *bc, const void *data,
			   size_t len, struct mx_err *err);
/* End of body: emits the final line end and flushes the stage. */
int dkim_body_canon_final(struct dkim_body_canon *bc, struct mx_err *err);

#endif
