/* dkim_msgparse.h: splitting a whole RFC 5322 message held in memory
 * into header fields and body, for the signing tool and the tests (the
 * milter gets fields one by one from the MTA instead). */
#ifndef DKIM_MSGPARSE_H
#define DKIM_MSGPARSE_H

#include <stddef.h>

#include "mx_error.h"

/* Called once per field: name (without colon) and raw value (after the
 * colon, interior line breaks kept, final line break removed). */
typedef int dkim_field_fn(void *arg, const char *name, size_t nlen,
			  const char *value, size_t vlen, struct mx_err *err);

/* Walk the header of msg[0..len); lines end in CRLF or LF. *body_off_r
 * is where the body starts (after the empty line; len when there is no
 * body). A line that is neither a field nor a continuation is an error. */
int dkim_parse_headers(const char *msg, size_t len, dkim_field_fn *cb, void *arg,
		       size_t *body_off_r, struct mx_err *err);

#endif
