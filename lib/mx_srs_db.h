/* mx_srs_db.h: the MariaDB store of senders too long for SRS.
 *
 * Implements struct mx_srs_store on the srs_senders table (migration
 * 0002): rows keyed by the sender's SRS key, kept until their expiry.
 * Every database failure is MX_TEMP. Thread-safe (the pool is). */
#ifndef MX_SRS_DB_H
#define MX_SRS_DB_H

#include "mx_db.h"
#include "mx_srs.h"

/* Fill store with the callbacks working on pool (which must outlive it). */
void mx_srs_db_store_init(struct mx_srs_store *store, struct mx_db_pool *pool);

#endif
