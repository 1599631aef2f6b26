/* mx_db.h: a small pool of MariaDB connections running prepared statements.
 *
 * Every query is a prepared statement whose parameters are bound, never
 * formatted into SQL. Connections are opened lazily, kept open, and
 * reopened after a connection error; a query that hit a connection error
 * is retried once on a fresh connection when the caller marks it safe to
 * repeat. Any database failure is MX_TEMP: our own outage must never turn
 * into a permanent answer. While the server is unreachable, connection
 * attempts are spaced out so that callers get TEMP at once instead of each
 * waiting out a connect timeout. Thread-safe. */
#ifndef MX_DB_H
#define MX_DB_H

#include <libconfig.h>
#include <stdbool.h>

#include "mx_error.h"
#include "mx_result.h"

struct mx_db_config {
	char socket[256];     /* unix socket path, or "" to use host/port */
	char host[256];
	unsigned port;
	char name[65];
	char user[81];
	char password[256];
	unsigned connect_timeout; /* seconds */
	unsigned rw_timeout;      /* seconds, read and write */
	unsigned pool_size;       /* connections */
	unsigned retry_interval;  /* seconds between reconnect attempts while down */
};

/* Read the `database` section. Missing section: defaults (local socket,
 * database and user "mxkit", no password). */
int mx_db_config_parse(const config_t *cfg, struct mx_db_config *out,
		       struct mx_err *err);

struct mx_db_pool;

struct mx_db_pool *mx_db_pool_new(const struct mx_db_config *conf, struct mx_err *err);
void mx_db_pool_free(struct mx_db_pool *pool);

/* Called for each result row. values[i] is NULL for SQL NULL; every value
 * is NUL-terminated with its length in lengths[i]. Return 0 to go on, -1 to
 * stop the query (it then ends in MX_TEMP with the callback's err). */
typedef int mx_db_row_fn(void *ctx, unsigned ncols, const char *const *values,
			 const unsigned long *lengths, struct mx_err *err);

/* Rows' first columns joined with ',' (Postfix's multi-row answer) into
 * a malloc()ed buffer that never grows past max bytes: pass
 * mx_db_join_row as the row callback and a zeroed struct with max set;
 * the caller frees buf. A longer result stops the query (MX_TEMP). */
struct mx_db_joined {
	char *buf;
	size_t len, cap, max;
	const char *limit_name;  /* the setting behind max, for the error (or NULL) */
};
int mx_db_join_row(void *ctx, unsigned ncols, const char *const *values,
		   const unsigned long *lengths, struct mx_err *err);

enum mx_db_flags {
	MX_DB_RETRY = 1,  /* safe to run again after a lost connection */
};

/* Run `sql` (a string with static lifetime: it also keys the statement
 * cache) with `nparams` string parameters (a NULL entry binds SQL NULL).
 * Returns MX_FOUND when the statement returned at least one row,
 * MX_NOTFOUND when it returned none (or returned no result set), or
 * MX_TEMP with err set. *affected_r, if given, receives the affected row
 * count of a data-changing statement. */
enum mx_result mx_db_exec(struct mx_db_pool *pool, const char *sql,
			  const char *const *params, unsigned nparams,
			  mx_db_row_fn *fn, void *ctx, unsigned flags,
			  unsigned long long *affected_r, struct mx_err *err);

/* True if the pool currently holds at least one healthy connection or a
 * connection attempt succeeds now. */
bool mx_db_ping(struct mx_db_pool *pool, struct mx_err *err);

/* Largest value a result column may hold (longer values fail the query). */
#define MX_DB_VALUE_MAX (1024 * 1024)

#endif
