/* dkim_from.h: the author domain of a message, from its From: field.
 *
 * DKIM signs with the key of the From: domain, so the field is parsed
 * just enough (RFC 5322 mailbox-list: display names, quoted strings,
 * comments, angle addresses, groups) to tell how many addresses it
 * holds and the domain of the single one. The value is untrusted. */
#ifndef DKIM_FROM_H
#define DKIM_FROM_H

#include <stddef.h>

#include "dkim_key.h"
#include "mx_error.h"

/* Put the lowercased domain of the one address in value[0..len) into
 * domain (DKIM_DOMAIN_MAX + 1 bytes). Fails, saying why, when there is
 * no address, more than one, or the domain is not a DNS name. */
int dkim_from_domain(const char *value, size_t len, char *domain, struct mx_err *err);

#endif
