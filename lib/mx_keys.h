/* mx_keys.h: the partial keys Postfix would try against a mysql: table,
 * and the extension it would propagate into the results.
 *
 * Postfix sends a socketmap only the whole key, so mapd itself does what
 * mail_addr_find() does for other tables: full address, then the address
 * without its extension (split like Postfix's split_addr()), then
 * "@domain". When the match came from the stripped key, virtual alias
 * results get the unmatched extension back, before their last '@' (what
 * propagate_unmatched_extensions does). Pure functions, no allocation. */
#ifndef MX_KEYS_H
#define MX_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MX_KEY_MAX 1024        /* longest key we accept */

/* Where the unmatched extension ("+Foo", delimiter included) sits in the
 * key a lookup matched without it; len 0 when there is none. Offsets,
 * not pointers, so that a cached answer applies the extension of the
 * key as the client sent it: lookups are case-insensitive, but Postfix
 * keeps the extension's case when it propagates it. */
struct mx_key_ext {
	uint16_t off, len;
};
#define MX_KEY_CANDIDATES_MAX 3

enum mx_key_kind {
	MX_KEY_EXACT,    /* the key itself */
	MX_KEY_ADDRESS,  /* key, key without extension, "@domain" */
	MX_KEY_DOMAIN,   /* the domain part of an address, or the bare domain */
};

struct mx_key_candidate {
	const char *key;   /* NUL-terminated, points into the key or the plan */
	size_t len;
	bool stripped;     /* this is the key without its extension */
};

struct mx_key_plan {
	unsigned n;
	struct mx_key_candidate cand[MX_KEY_CANDIDATES_MAX];
	const char *ext;   /* the extension with its delimiter ("+foo"), or NULL */
	size_t ext_len;
	char stripped[MX_KEY_MAX + 1];
};

/* Fill plan for key[0..len) (NUL-terminated at len, at most MX_KEY_MAX
 * bytes, already lowercased). delimiters may be "" (no extensions). */
void mx_keys_plan(enum mx_key_kind kind, const char *key, size_t len,
		    const char *delimiters, struct mx_key_plan *plan);

/* Insert ext before the last '@' of every element of the comma-separated
 * value (or append it where there is no '@'). Writes a NUL-terminated
 * string; returns its length, or -1 if it does not fit in size. */
long mx_keys_propagate(const char *value, size_t len, const char *ext, size_t ext_len,
			 char *out, size_t size);

#endif
