/* mapd_domains.h: a snapshot of our active domains for the srs_forward map.
 *
 * srs_forward must know whether a sender's domain is one of ours; asking
 * MariaDB for every sender costs more than the rewrite itself. The
 * snapshot is the whole list (at most MAPD_DOMAINS_MAX names), loaded in
 * a worker thread (periodically, see mapd_workers.h, and whenever a
 * lookup finds it missing or stale) and swapped in under a lock that is
 * only held to install or search it, never while the database is asked.
 * A snapshot older than its maximum age (`domains_ttl`) is never used:
 * the event loop then hands the lookup to a worker, which loads the list
 * again or answers MX_TEMP, never a guess. A maximum age of 0 (or a list
 * longer than MAPD_DOMAINS_MAX) asks the database for every sender. */
#ifndef MAPD_DOMAINS_H
#define MAPD_DOMAINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mx_db.h"
#include "mx_error.h"
#include "mx_result.h"

#define MAPD_DOMAINS_MAX 100000

struct mapd_domains;

/* max_age in seconds (0: no snapshot). NULL when out of memory. */
struct mapd_domains *mapd_domains_new(unsigned max_age);
void mapd_domains_free(struct mapd_domains *d);

/* Load the list from the database and install it. MX_FOUND, or MX_TEMP
 * with err (the old snapshot stays and keeps ageing). Any thread. */
enum mx_result mapd_domains_refresh(struct mapd_domains *d, struct mx_db_pool *db,
				    struct mx_err *err);

/* From the snapshot alone, without the database (the event loop): is
 * domain[0..len) (lowercase) one of ours? MX_FOUND or MX_NOTFOUND, or
 * MX_TEMP when the snapshot cannot say (none loaded, older than its
 * maximum age, too long a list, or no snapshot configured). */
enum mx_result mapd_domains_peek(struct mapd_domains *d, const char *domain, size_t len);

/* The worker's answer: from a fresh snapshot, else after loading it (or
 * with a query of its own). MX_FOUND, MX_NOTFOUND, or MX_TEMP with err. */
enum mx_result mapd_domains_is_ours(struct mapd_domains *d, struct mx_db_pool *db,
				    const char *domain, size_t len, struct mx_err *err);

/* The same on an explicit monotonic clock (milliseconds), for the unit
 * tests. _install takes names (n malloc()ed lowercase strings in a
 * malloc()ed array, sorted or not) whatever it returns; a list read
 * earlier than the one installed is dropped (returns false). */
bool mapd_domains_install(struct mapd_domains *d, char **names, size_t n, bool too_many,
			  int64_t read_at_ms);
enum mx_result mapd_domains_peek_at(struct mapd_domains *d, const char *domain, size_t len,
				    int64_t now_ms);

#endif
