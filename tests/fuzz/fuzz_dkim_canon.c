/* fuzz_dkim_canon.c: libFuzzer target for DKIM header parsing, From:
 * domain extraction and header/body canonicalization. Besides "no crash", it checks that the
 * streaming body canonicalizer gives the same bytes for a chunked feed
 * (chunk sizes taken from the input) as for a one-piece feed, and that
 * relaxed output has no white space before a line end. */
#include "mxkit-config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_canon.h"
#include "dkim_from.h"
#include "dkim_msgparse.h"

#define FUZZ_OUT_MAX (4 * 1024 * 1024)

struct out {
	struct dkim_buf b;
};

static int sink(void *arg, const unsigned char *p, size_t n, struct mx_err *err)
{
	return dkim_buf_append(&((struct out *)arg)->b, p, n, err);
}

static int field(void *arg, const char *name, size_t nlen, const char *value, size_t vlen,
		 struct mx_err *err)
{
	struct dkim_buf *b = arg;
	char domain[DKIM_DOMAIN_MAX + 1];

	if (dkim_from_domain(value, vlen, domain, err) == 0 &&
	    (domain[0] == '\0' || strlen(domain) > DKIM_DOMAIN_MAX))
		abort();
	dkim_buf_reset(b);
	if (dkim_canon_header(DKIM_CANON_SIMPLE, name, nlen, value, vlen, true, b, err) < 0)
		return 0;
	dkim_buf_reset(b);
	if (dkim_canon_header(DKIM_CANON_RELAXED, name, nlen, value, vlen, true, b, err) < 0)
		return 0;
	/* Relaxed: exactly one CRLF, at the end. */
	if (b->len < 3 || memcmp(b->data + b->len - 2, "\r\n", 2) != 0 ||
	    memchr(b->data, '\n', b->len - 1) != NULL)
		abort();
	return 0;
}

static void body(enum dkim_canon c, const uint8_t *p, size_t n, uint8_t seed)
{
	static struct dkim_body_canon bc;
	struct out one, many;
	struct mx_err err;
	size_t off = 0, i;

	dkim_buf_init(&one.b, FUZZ_OUT_MAX);
	dkim_buf_init(&many.b, FUZZ_OUT_MAX);
	dkim_body_canon_init(&bc, c, sink, &one);
	if (dkim_body_canon_update(&bc, p, n, &err) < 0 || dkim_body_canon_final(&bc, &err) < 0)
		abort();
	dkim_body_canon_init(&bc, c, sink, &many);
	while (off < n) {
		size_t k = 1 + (size_t)((seed + off * 7) % 13);
		if (k > n - off)
			k = n - off;
		if (dkim_body_canon_update(&bc, p + off, k, &err) < 0)
			abort();
		off += k;
	}
	if (dkim_body_canon_final(&bc, &err) < 0)
		abort();
	if (one.b.len != many.b.len || (one.b.len && memcmp(one.b.data, many.b.data, one.b.len) != 0))
		abort();
	if (c == DKIM_CANON_RELAXED)
		for (i = 0; i + 2 < one.b.len; i++)
			if ((one.b.data[i] == ' ' || one.b.data[i] == '\t') &&
			    one.b.data[i + 1] == '\r' && one.b.data[i + 2] == '\n')
				abort();
	dkim_buf_free(&one.b);
	dkim_buf_free(&many.b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkim_buf hb;
	struct mx_err err;
	size_t body_off = 0;
	uint8_t seed;

	if (size < 1)
		return 0;
	seed = data[0];
	data++;
	size--;
	dkim_buf_init(&hb, 1 << 20);
	if (dkim_parse_headers((const char *)data, size, field, &hb, &body_off, &err) < 0)
		body_off = 0;  /* not a message: treat it all as body */
	dkim_buf_free(&hb);
	body(DKIM_CANON_SIMPLE, data + body_off, size - body_off, seed);
	body(DKIM_CANON_RELAXED, data + body_off, size - body_off, seed);
	return 0;
}
