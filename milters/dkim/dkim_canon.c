/* dkim_canon.c: RFC 6376 section 3.4 header and streaming body
 * canonicalization (see dkim_canon.h). */
#include "mxkit-config.h"

#include <string.h>

#include "dkim_canon.h"

const char *dkim_canon_name(enum dkim_canon c)
{
	return c == DKIM_CANON_RELAXED ? "relaxed" : "simple";
}

int dkim_canon_parse(const char *name, enum dkim_canon *c_r)
{
	if (strcmp(name, "relaxed") == 0)
		*c_r = DKIM_CANON_RELAXED;
	else if (strcmp(name, "simple") == 0)
		*c_r = DKIM_CANON_SIMPLE;
	else
		return -1;
	return 0;
}

static inline int is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* simple: the field exactly as it is, bare LF line breaks made CRLF. */
static int header_simple(const char *name, size_t nlen, const char *value, size_t vlen,
			 struct dkim_buf *out, struct mx_err *err)
{
	size_t i, start;

	/* Worst case every byte is a bare LF that becomes two bytes. */
	if (vlen > (size_t)-1 / 2 - nlen - 4)
		return mx_err_set(err, "header field too long");
	if (dkim_buf_reserve(out, nlen + 1 + 2 * vlen + 2, err) < 0)
		return -1;
	if (dkim_buf_append(out, name, nlen, err) < 0 || dkim_buf_append(out, ":", 1, err) < 0)
		return -1;
	start = 0;
	for (i = 0; i < vlen; i++) {
		if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r')) {
			if (dkim_buf_append(out, value + start, i - start, err) < 0 ||
			    dkim_buf_append(out, "\r\n", 2, err) < 0)
				return -1;
			start = i + 1;
		}
	}
	return dkim_buf_append(out, value + start, vlen - start, err);
}

/* relaxed: lowercase name, unfold, runs of WSP become one SP, WSP at
 * the ends of the value and around the colon removed. */
static int header_relaxed(const char *name, size_t nlen, const char *value, size_t vlen,
			  struct dkim_buf *out, struct mx_err *err)
{
	size_t i;
	char *w;
	int wsp = 0, any = 0;

	while (nlen > 0 && is_wsp((unsigned char)name[nlen - 1]))
		nlen--;
	if (dkim_buf_reserve(out, nlen + 1 + vlen + 2, err) < 0)
		return -1;
	w = out->data + out->len;
	for (i = 0; i < nlen; i++) {
		unsigned char c = (unsigned char)name[i];
		*w++ = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
	*w++ = ':';
	for (i = 0; i < vlen; i++) {
		unsigned char c = (unsigned char)value[i];
		if (c == '\n' || (c == '\r' && i + 1 < vlen && value[i + 1] == '\n'))
			continue;  /* unfold: line breaks vanish, the WSP after them stays */
		if (is_wsp(c)) {
			wsp = 1;
			continue;
		}
		if (wsp && any)
			*w++ = ' ';
		wsp = 0;
		any = 1;
		*w++ = (char)c;
	}
	out->len = (size_t)(w - out->data);
	return 0;
}

int dkim_canon_header(enum dkim_canon c, const char *name, size_t nlen,
		      const char *value, size_t vlen, bool with_crlf,
		      struct dkim_buf *out, struct mx_err *err)
{
	int rc;

	if (c == DKIM_CANON_RELAXED)
		rc = header_relaxed(name, nlen, value, vlen, out, err);
	else
		rc = header_simple(name, nlen, value, vlen, out, err);
	if (rc < 0)
		return -1;
	return with_crlf ? dkim_buf_append(out, "\r\n", 2, err) : 0;
}

/* ---- body ---------------------------------------------------------- */

void dkim_body_canon_init(struct dkim_body_canon *bc, enum dkim_canon c,
			  dkim_sink_fn *sink, void *sink_arg)
{
	bc->canon = c;
	bc->sink = sink;
	bc->sink_arg = sink_arg;
	bc->crlf_pending = 0;
	bc->out_total = 0;
	bc->have_cr = false;
	bc->wsp_pending = false;
	bc->line_started = false;
	bc->staged = 0;
}

static int stage_flush(struct dkim_body_canon *bc, struct mx_err *err)
{
	if (bc->staged == 0)
		return 0;
	if (bc->sink(bc->sink_arg, bc->stage, bc->staged, err) < 0)
		return -1;
	bc->out_total += bc->staged;
	bc->staged = 0;
	return 0;
}

static int stage_put(struct dkim_body_canon *bc, const unsigned char *p, size_t n,
		     struct mx_err *err)
{
	if (n > sizeof(bc->stage) - bc->staged) {
		if (stage_flush(bc, err) < 0)
			return -1;
		if (n >= sizeof(bc->stage)) {
			/* Large run: straight to the sink, no copy. */
			if (bc->sink(bc->sink_arg, p, n, err) < 0)
				return -1;
			bc->out_total += n;
			return 0;
		}
	}
	memcpy(bc->stage + bc->staged, p, n);
	bc->staged += n;
	return 0;
}

/* Before content on a line: emit the line ends held back so far (they
 * were not trailing after all) and, in relaxed mode, one SP for a run
 * of white space. */
static int content_begin(struct dkim_body_canon *bc, struct mx_err *err)
{
	static const unsigned char crlfs[] = "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";

	while (bc->crlf_pending > 0) {
		uint64_t n = bc->crlf_pending;
		if (n > (sizeof(crlfs) - 1) / 2)
			n = (sizeof(crlfs) - 1) / 2;
		if (stage_put(bc, crlfs, (size_t)n * 2, err) < 0)
			return -1;
		bc->crlf_pending -= n;
	}
	if (bc->wsp_pending) {
		bc->wsp_pending = false;
		if (stage_put(bc, (const unsigned char *)" ", 1, err) < 0)
			return -1;
	}
	bc->line_started = true;
	return 0;
}

static inline int is_plain(const struct dkim_body_canon *bc, unsigned char c)
{
	if (c == '\r')
		return 0;
	return bc->canon == DKIM_CANON_SIMPLE || !is_wsp(c);
}

int dkim_body_canon_update(struct dkim_body_canon *bc, const void *data,
			   size_t len, struct mx_err *err)
{
	const unsigned char *p = data;
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];

		if (bc->have_cr) {
			bc->have_cr = false;
			if (c == '\n') {
				/* End of line: trailing WSP dropped, line end held back. */
				bc->wsp_pending = false;
				bc->line_started = false;
				bc->crlf_pending++;
				i++;
				continue;
			}
			/* A bare CR is ordinary content. */
			if (content_begin(bc, err) < 0 ||
			    stage_put(bc, (const unsigned char *)"\r", 1, err) < 0)
				return -1;
		}
		if (c == '\r') {
			bc->have_cr = true;
			i++;
			continue;
		}
		if (!is_plain(bc, c)) {
			bc->wsp_pending = true;
			i++;
			continue;
		}
		/* A run of plain bytes goes out in one piece. */
		size_t j = i + 1;
		while (j < len && is_plain(bc, p[j]))
			j++;
		if (content_begin(bc, err) < 0 || stage_put(bc, p + i, j - i, err) < 0)
			return -1;
		i = j;
	}
	return 0;
}

int dkim_body_canon_final(struct dkim_body_canon *bc, struct mx_err *err)
{
	if (bc->have_cr) {
		bc->have_cr = false;
		if (content_begin(bc, err) < 0 ||
		    stage_put(bc, (const unsigned char *)"\r", 1, err) < 0)
			return -1;
	}
	/* White space at the very end is trailing white space of the last line. */
	bc->wsp_pending = false;
	bc->crlf_pending = 0;
	/* A non-empty body ends in exactly one CRLF (added when missing, the
	 * trailing empty lines dropped). An empty body is "" under relaxed
	 * and one CRLF under simple. */
	if (bc->out_total + bc->staged > 0 || bc->canon == DKIM_CANON_SIMPLE) {
		if (stage_put(bc, (const unsigned char *)"\r\n", 2, err) < 0)
			return -1;
	}
	return stage_flush(bc, err);
}
