/* mx_alias.h: where a recipient ends up after our virtual aliases.
 *
 * One level of lookup is what mxkit-mapd's `alias` map answers (the same
 * SQL, mx_alias_sql, and the same partial keys, mx_keys.h): the whole
 * address, the address without its extension (the extension is then
 * re-appended to the results), then the catch-all "@domain"; a mailbox
 * resolves to itself. mx_alias_resolve() follows that map the way
 * Postfix's virtual alias expansion does: results are looked up again
 * until they map to themselves or to nothing, with named bounds on the
 * depth and the number of addresses. Each final address is then local
 * (its domain is one of ours: the `domains` table, as mapd's `domain`
 * map, mx_alias_domain_sql) or remote (the mail leaves us for it).
 *
 * Every database failure is MX_TEMP: a caller must never guess. */
#ifndef MX_ALIAS_H
#define MX_ALIAS_H

#include <stdbool.h>
#include <stddef.h>

#include "mx_db.h"
#include "mx_error.h"
#include "mx_keys.h"
#include "mx_result.h"

#define MX_ALIAS_DEPTH_MAX 20          /* nested aliases followed */
#define MX_ALIAS_ADDRESSES_MAX 200     /* addresses looked at for one recipient */
#define MX_ALIAS_VALUE_MAX 16384       /* bytes of one lookup's joined result */

/* One level of alias lookup: SELECT destinations for the key (two '?',
 * both bound to it). Rows are single addresses, ordered. */
extern const char mx_alias_sql[];
/* Is the key one of our active domains (one '?'). */
extern const char mx_alias_domain_sql[];

struct mx_alias_outcome {
	unsigned local;                  /* final addresses in our domains */
	unsigned remote;                 /* final addresses elsewhere */
	char first_remote[MX_KEY_MAX + 1];  /* for the log */
};

/* Resolve addr (len bytes, any case, no angle brackets) with the
 * recipient delimiters `delimiters` ("" for none).
 *   MX_FOUND     out says how many final addresses are local and remote
 *   MX_PERM      the address is too long, or the aliases loop or expand
 *                past the bounds above (err says; Postfix will bounce it)
 *   MX_TEMP      the database failed (err says) */
enum mx_result mx_alias_resolve(struct mx_db_pool *db, const char *addr, size_t len,
				const char *delimiters, struct mx_alias_outcome *out,
				struct mx_err *err);

/* Is domain[0..len) one of our active domains? MX_FOUND, MX_NOTFOUND, or
 * MX_TEMP with err. */
enum mx_result mx_alias_domain_is_ours(struct mx_db_pool *db, const char *domain, size_t len,
				       struct mx_err *err);

#endif
