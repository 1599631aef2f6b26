/* mx_address.h: RFC 5321 mailbox parsing, normalisation and extensions.
 *
 * Addresses arrive from the wire (milter envelope, socketmap keys, SQL
 * procedures' callers) and are never trusted. mx_address_parse() accepts
 * exactly RFC 5321's Mailbox (Dot-string or Quoted-string local part,
 * domain name or address literal), optionally with RFC 6531 UTF-8, and
 * yields the local part in internal (unquoted) form. Nothing here
 * allocates. */
#ifndef MX_ADDRESS_H
#define MX_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "mx_error.h"

#define MX_LOCAL_MAX 64     /* octets of a local part, RFC 5321 4.5.3.1.1 */
#define MX_DOMAIN_MAX 255   /* octets of a domain, RFC 5321 4.5.3.1.2 */
/* Longest address in external form: a quoted local part may double. */
#define MX_ADDRESS_MAX (2 * MX_LOCAL_MAX + 2 + 1 + MX_DOMAIN_MAX)

enum mx_address_flags {
	MX_ADDR_UTF8 = 1 << 0,       /* accept RFC 6531 UTF-8 in local part and domain */
	MX_ADDR_ANGLE = 1 << 1,      /* accept and strip one pair of <angle brackets> */
	MX_ADDR_NO_LIMITS = 1 << 2,  /* do not enforce the 64/255 octet limits */
};

struct mx_address {
	char local[MX_LOCAL_MAX * 2 + 1];  /* internal form: quotes and backslashes removed */
	size_t local_len;
	char domain[MX_DOMAIN_MAX + 1];    /* as given (address literal keeps its brackets) */
	size_t domain_len;
	bool quoted;                       /* local part needs quoting in external form */
};

/* Parse `len` bytes of `in` (which need not be NUL-terminated). An
 * embedded NUL, a missing '@', an empty or over-long part, or any byte
 * outside the grammar fails with a reason in err. Returns 0 or -1. */
int mx_address_parse(const char *in, size_t len, unsigned flags,
		     struct mx_address *out, struct mx_err *err);

/* Lowercase ASCII letters of local part and domain in place. */
void mx_address_lowercase(struct mx_address *a);

/* Write the external form (local part quoted when needed, "@", domain)
 * into buf. Returns its length, or -1 if it does not fit. */
int mx_address_format(const struct mx_address *a, char *buf, size_t size);

/* Parse and lowercase in one step into external form: what we store and
 * what we look up. Returns length or -1 with err. */
int mx_address_normalize(const char *in, size_t len, unsigned flags,
			 char *buf, size_t size, struct mx_err *err);

/* Where Postfix would split an address extension off this local part
 * (internal form), following its split_addr(): the first byte of any
 * delimiter in `delimiters`, but never for "postmaster", "mailer-daemon"
 * or "double-bounce" (any case), never for "owner-*" or (local parts
 * longer than 8 bytes) "*-request" when '-' is a delimiter, and never
 * when the base would be empty. Like Postfix, a delimiter as the last
 * byte does split ("a+" gives base "a" and an empty extension). Returns
 * the base length, or `len` when the local part is not split. */
size_t mx_address_extension_at(const char *local, size_t len, const char *delimiters);

/* True if `domain` (len bytes) is a syntactically valid domain name
 * (LDH labels of 1..63 octets, total <= 255, optionally UTF-8 labels). */
bool mx_domain_valid(const char *domain, size_t len, unsigned flags);

#endif
