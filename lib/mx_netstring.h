/* mx_netstring.h: netstrings ("<decimal length>:<bytes>,") as used by
 * Postfix's socketmap protocol.
 *
 * The decoder works on a caller's buffer that may hold a partial
 * netstring: it tells "need more bytes" from "garbage" and never
 * allocates. The length prefix is checked against a maximum before any
 * byte of the payload is awaited, so a hostile length cannot make us
 * wait for or buffer more than the limit. */
#ifndef MX_NETSTRING_H
#define MX_NETSTRING_H

#include <stddef.h>

#include "mx_error.h"

enum mx_netstring_status {
	MX_NS_OK = 0,      /* a whole netstring was decoded */
	MX_NS_PARTIAL = 1, /* valid so far, more input needed */
	MX_NS_ERROR = -1,  /* malformed or over the limit; err says why */
};

/* Decode one netstring from the start of buf[0..len). On MX_NS_OK,
 * *payload_r and *payload_len_r point into buf and *consumed_r is the
 * number of bytes the whole netstring took. Rejects: an empty length,
 * non-digits, a leading zero on a non-zero length, more than 10 digits,
 * a length above max_payload, and a missing ',' terminator. */
enum mx_netstring_status mx_netstring_decode(const char *buf, size_t len, size_t max_payload,
					     const char **payload_r, size_t *payload_len_r,
					     size_t *consumed_r, struct mx_err *err);

/* Encode payload into out as a netstring. Returns the encoded length, or
 * -1 if it does not fit in `size`. */
long mx_netstring_encode(const char *payload, size_t len, char *out, size_t size);

/* Bytes needed to encode a payload of len bytes. */
size_t mx_netstring_encoded_len(size_t len);

#endif
