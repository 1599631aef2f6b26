/* dkim_dnscheck.h: is a DKIM key's record published in DNS, and does it match?
 *
 * Looks up the TXT record at SELECTOR._domainkey.DOMAIN through a
 * resolver (libldns): "HOST" or "HOST:PORT" (IPv4, or [IPv6]:PORT), or
 * the system's /etc/resolv.conf when empty. The record matches when its
 * k= (default rsa) and p= (whitespace ignored) equal those of the key's
 * own record and v=, when present, is DKIM1. Used by mxkit-dkim-keygen
 * before it activates a key. */
#ifndef DKIM_DNSCHECK_H
#define DKIM_DNSCHECK_H

#include <stddef.h>

#include "dkim_key.h"
#include "mx_error.h"
#include "mx_result.h"

/* Longest TXT record we read (all its strings together). */
#define DKIM_DNS_TXT_MAX 4096

/* MX_FOUND: published and matching. MX_NOTFOUND: no TXT record there.
 * MX_PERM: a record that does not match (err says how). MX_TEMP: the
 * lookup failed (err says why). */
enum mx_result dkim_dnscheck(const struct dkim_key *key, const char *resolver,
			     struct mx_err *err);

/* The same comparison on a record text already fetched (unit tests). */
enum mx_result dkim_dnscheck_record(const char *expected, const char *published,
				    size_t published_len, struct mx_err *err);

#endif
