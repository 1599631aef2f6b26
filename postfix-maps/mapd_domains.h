/* mapd_domains.h: a snapshot of our active domains for the srs_forward map.
 *
 * srs_forward must know whether a sender's domain is one of ours; asking
 * MariaDB for every sender costs more than the rewrite itself. The
 * snapshot is the whole list (at most MAPD_DOMAINS_MAX names), loaded on
 * first use and again once it is older than its lifetime (`domains_ttl`
 * of the mapd section); a list that cannot be loaded is MX_TEMP, never a
 * guess, and a lifetime of 0 (or a longer list) asks the database each
 * time. Thread-safe: one lock, held while the list is (re)loaded. */
#ifndef MAPD_DOMAINS_H
#define MAPD_DOMAINS_H

#include <stddef.h>

#include "mx_db.h"
#include "mx_error.h"
#include "mx_result.h"

#define MAPD_DOMAINS_MAX 100000

struct mapd_domains;

struct mapd_domains *mapd_domains_new(unsigned ttl);
void mapd_domains_free(struct mapd_domains *d);

/* Is domain[0..len) (lowercase) one of our active domains? MX_FOUND,
 * MX_NOTFOUND, or MX_TEMP with err. */
enum mx_result mapd_domains_is_ours(struct mapd_domains *d, struct mx_db_pool *db,
				    const char *domain, size_t len, struct mx_err *err);

#endif
