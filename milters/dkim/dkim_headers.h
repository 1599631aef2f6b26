/* dkim_headers.h: the header fields of one message that a signature may
 * cover, the choice of the h= list, and the canonical header data.
 *
 * Only fields whose names may be signed are kept, in one arena that is
 * reused from message to message (no allocation per field). The h= list
 * is the configured names with the multiplicity found in the message,
 * then the oversigned names once more, so that a field of that name
 * added later in transit breaks the signature (RFC 6376 section 8.15). */
#ifndef DKIM_HEADERS_H
#define DKIM_HEADERS_H

#include <stdbool.h>
#include <stddef.h>

#include "dkim_buf.h"
#include "dkim_canon.h"
#include "mx_error.h"

#define DKIM_FIELDS_MAX 1024              /* signable fields kept per message */
#define DKIM_HEADER_BYTES_MAX (1024 * 1024) /* their total size */
#define DKIM_HLIST_MAX 64                  /* names in one h= tag */
#define DKIM_FIELD_NAME_MAX 128

struct dkim_field {
	size_t name_off, name_len;
	size_t value_off, value_len;
};

struct dkim_headers {
	struct dkim_buf arena;
	size_t count;
	struct dkim_field fields[DKIM_FIELDS_MAX];
};

/* A list of header field names, as written into h=. The names are not
 * owned (static strings, configuration, or dkim_headers fields). */
struct dkim_hlist {
	size_t n;
	const char *names[DKIM_HLIST_MAX];
};

/* The defaults of mxkit (issue 3). */
extern const char *const dkim_default_signed[];
extern const size_t dkim_default_signed_count;
extern const char *const dkim_default_oversigned[];
extern const size_t dkim_default_oversigned_count;

void dkim_headers_init(struct dkim_headers *hs);
void dkim_headers_reset(struct dkim_headers *hs);
void dkim_headers_free(struct dkim_headers *hs);

/* Keep one field (name without the colon, raw value after it). */
int dkim_headers_add(struct dkim_headers *hs, const char *name, size_t nlen,
		     const char *value, size_t vlen, struct mx_err *err);

/* Case-insensitive: is name[0..nlen) one of names[0..n)? */
bool dkim_name_in(const char *name, size_t nlen, const char *const *names, size_t n);

/* Number of kept fields called name. */
size_t dkim_headers_count(const struct dkim_headers *hs, const char *name);

/* The i-th (0 = bottom-most) field called name, or NULL. */
const struct dkim_field *dkim_headers_nth_from_bottom(const struct dkim_headers *hs,
						      const char *name, size_t i);

/* Build the h= list: every name of `sign` as often as it occurs, then
 * every name of `over` once more. */
int dkim_headers_select(const struct dkim_headers *hs,
			const char *const *sign, size_t nsign,
			const char *const *over, size_t nover,
			struct dkim_hlist *out, struct mx_err *err);

/* Append the canonical form of the fields named in h (in h order, each
 * name's instances taken from the bottom up; names with no instance
 * left contribute nothing). */
int dkim_headers_canon(const struct dkim_headers *hs, const struct dkim_hlist *h,
		       enum dkim_canon c, struct dkim_buf *out, struct mx_err *err);

#endif
