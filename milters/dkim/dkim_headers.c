/* dkim_headers.c: signable header fields of a message, h= selection and
 * canonical header data (see dkim_headers.h). */
#include "mxkit-config.h"

#include <string.h>
#include <strings.h>

#include "dkim_headers.h"

const char *const dkim_default_signed[] = {
	"From", "Reply-To", "Subject", "Date", "To", "Cc", "Message-ID",
	"In-Reply-To", "References", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", "List-Id", "List-Unsubscribe",
};
const size_t dkim_default_signed_count =
	sizeof(dkim_default_signed) / sizeof(dkim_default_signed[0]);

const char *const dkim_default_oversigned[] = {
	"From", "Subject", "Date", "To", "Cc", "Reply-To",
};
const size_t dkim_default_oversigned_count =
	sizeof(dkim_default_oversigned) / sizeof(dkim_default_oversigned[0]);

void dkim_headers_init(struct dkim_headers *hs)
{
	dkim_buf_init(&hs->arena, DKIM_HEADER_BYTES_MAX);
	hs->count = 0;
}

void dkim_headers_reset(struct dkim_headers *hs)
{
	dkim_buf_reset(&hs->arena);
	hs->count = 0;
}

void dkim_headers_free(struct dkim_headers *hs)
{
	dkim_buf_free(&hs->arena);
	hs->count = 0;
}

static size_t trim_name(const char *name, size_t nlen)
{
	while (nlen > 0 && (name[nlen - 1] == ' ' || name[nlen - 1] == '\t'))
		nlen--;
	return nlen;
}

int dkim_headers_add(struct dkim_headers *hs, const char *name, size_t nlen,
		     const char *value, size_t vlen, struct mx_err *err)
{
	struct dkim_field *f;

	if (hs->count >= DKIM_FIELDS_MAX)
		return mx_err_set(err, "more than %d signable header fields", DKIM_FIELDS_MAX);
	if (nlen == 0 || nlen > DKIM_FIELD_NAME_MAX)
		return mx_err_set(err, "header field name empty or longer than %d bytes",
				  DKIM_FIELD_NAME_MAX);
	f = &hs->fields[hs->count];
	f->name_off = hs->arena.len;
	f->name_len = nlen;
	if (dkim_buf_append(&hs->arena, name, nlen, err) < 0)
		return mx_err_prefix(err, "header fields: ");
	f->value_off = hs->arena.len;
	f->value_len = vlen;
	if (dkim_buf_append(&hs->arena, value, vlen, err) < 0)
		return mx_err_prefix(err, "header fields: ");
	hs->count++;
	return 0;
}

bool dkim_name_in(const char *name, size_t nlen, const char *const *names, size_t n)
{
	size_t i;

	nlen = trim_name(name, nlen);
	for (i = 0; i < n; i++) {
		if (strlen(names[i]) == nlen && strncasecmp(names[i], name, nlen) == 0)
			return true;
	}
	return false;
}

static bool field_is(const struct dkim_headers *hs, const struct dkim_field *f,
		     const char *name, size_t len)
{
	size_t flen = trim_name(hs->arena.data + f->name_off, f->name_len);

	return flen == len && strncasecmp(hs->arena.data + f->name_off, name, len) == 0;
}

size_t dkim_headers_count(const struct dkim_headers *hs, const char *name)
{
	size_t i, n = 0, len = strlen(name);

	for (i = 0; i < hs->count; i++)
		if (field_is(hs, &hs->fields[i], name, len))
			n++;
	return n;
}

const struct dkim_field *dkim_headers_nth_from_bottom(const struct dkim_headers *hs,
						      const char *name, size_t nth)
{
	size_t i, len = strlen(name);

	for (i = hs->count; i-- > 0;) {
		if (field_is(hs, &hs->fields[i], name, len) && nth-- == 0)
			return &hs->fields[i];
	}
	return NULL;
}

static int hlist_push(struct dkim_hlist *out, const char *name, struct mx_err *err)
{
	if (out->n >= DKIM_HLIST_MAX)
		return mx_err_set(err, "more than %d header fields to sign", DKIM_HLIST_MAX);
	out->names[out->n++] = name;
	return 0;
}

int dkim_headers_select(const struct dkim_headers *hs,
			const char *const *sign, size_t nsign,
			const char *const *over, size_t nover,
			struct dkim_hlist *out, struct mx_err *err)
{
	size_t i, k, n;

	out->n = 0;
	for (i = 0; i < nsign; i++) {
		n = dkim_headers_count(hs, sign[i]);
		for (k = 0; k < n; k++)
			if (hlist_push(out, sign[i], err) < 0)
				return -1;
	}
	for (i = 0; i < nover; i++)
		if (hlist_push(out, over[i], err) < 0)
			return -1;
	return 0;
}

int dkim_headers_canon(const struct dkim_headers *hs, const struct dkim_hlist *h,
		       enum dkim_canon c, struct dkim_buf *out, struct mx_err *err)
{
	size_t i, j, seen;
	const struct dkim_field *f;

	for (i = 0; i < h->n; i++) {
		/* This is the (seen+1)-th use of the name in h=. */
		seen = 0;
		for (j = 0; j < i; j++)
			if (strcasecmp(h->names[j], h->names[i]) == 0)
				seen++;
		f = dkim_headers_nth_from_bottom(hs, h->names[i], seen);
		if (f == NULL)
			continue;
		if (dkim_canon_header(c, hs->arena.data + f->name_off, f->name_len,
				      hs->arena.data + f->value_off, f->value_len, true,
				      out, err) < 0)
			return -1;
	}
	return 0;
}
