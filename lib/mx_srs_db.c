/* mx_srs_db.c: senders too long for SRS, kept in MariaDB (srs_senders).
 *
 * Times are stored as UTC DATETIMEs computed in SQL from Unix seconds,
 * so that the session time zone never matters. A store also purges a
 * bounded number of expired rows, so the table stays small without a
 * cron job. */
#include "mxkit-config.h"

#include <stdio.h>
#include <string.h>

#include "mx_srs_db.h"

#define PURGE_BATCH "100"  /* expired rows removed per store */

static const char sql_store[] =
	"INSERT INTO srs_senders (srs_key, sender, expires_at) "
	"VALUES (?, ?, '1970-01-01 00:00:00' + INTERVAL ? SECOND) "
	"ON DUPLICATE KEY UPDATE sender = VALUES(sender), "
	"expires_at = GREATEST(expires_at, VALUES(expires_at))";
static const char sql_purge[] =
	"DELETE FROM srs_senders WHERE expires_at < UTC_TIMESTAMP() LIMIT " PURGE_BATCH;
static const char sql_fetch[] =
	"SELECT sender FROM srs_senders WHERE srs_key = ? AND expires_at >= UTC_TIMESTAMP()";

struct fetch_ctx {
	char *buf;
	size_t size;
};

static int fetch_row(void *ctx, unsigned ncols, const char *const *values,
		     const unsigned long *lengths, struct mx_err *err)
{
	struct fetch_ctx *f = ctx;

	if (ncols != 1 || values[0] == NULL)
		return mx_err_set(err, "srs_senders: unexpected row");
	if (lengths[0] + 1 > f->size || memchr(values[0], '\0', lengths[0]) != NULL)
		return mx_err_set(err, "srs_senders: stored sender does not fit in %zu bytes", f->size);
	memcpy(f->buf, values[0], lengths[0]);
	f->buf[lengths[0]] = '\0';
	return 0;
}

static enum mx_result db_store(void *ctx, const char *key, const char *sender, time_t expiry,
			       struct mx_err *err)
{
	struct mx_db_pool *pool = ctx;
	char seconds[24];
	const char *params[3] = { key, sender, seconds };
	enum mx_result r;
	int n;

	n = snprintf(seconds, sizeof(seconds), "%lld", (long long)(expiry > 0 ? expiry : 0));
	if (n < 0 || (size_t)n >= sizeof(seconds)) {
		(void)mx_err_set(err, "srs_senders: expiry out of range");
		return MX_TEMP;
	}
	r = mx_db_exec(pool, sql_store, params, 3, NULL, NULL, MX_DB_RETRY, NULL, err);
	if (r == MX_TEMP)
		return MX_TEMP;
	/* Housekeeping; its failure does not undo the store above. */
	(void)mx_db_exec(pool, sql_purge, NULL, 0, NULL, NULL, MX_DB_RETRY, NULL, NULL);
	return MX_FOUND;
}

static enum mx_result db_fetch(void *ctx, const char *key, char *buf, size_t size,
			       struct mx_err *err)
{
	struct fetch_ctx f = { buf, size };
	const char *params[1] = { key };

	if (size == 0) {
		(void)mx_err_set(err, "srs_senders: no room for the sender");
		return MX_TEMP;
	}
	buf[0] = '\0';
	return mx_db_exec(ctx, sql_fetch, params, 1, fetch_row, &f, MX_DB_RETRY, NULL, err);
}

void mx_srs_db_store_init(struct mx_srs_store *store, struct mx_db_pool *pool)
{
	store->store = db_store;
	store->fetch = db_fetch;
	store->ctx = pool;
}
