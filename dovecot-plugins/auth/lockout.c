/* lockout.c: failed logins counted in MariaDB, per account and per remote
 * address, so that every Dovecot host sharing the database enforces the
 * same lockout. The database clock (NOW(6)) times every row, so hosts with
 * skewed clocks still agree. An attempt refused because of a lockout is
 * not recorded: the lock ends when the window after the Nth failure has
 * passed, however often a guesser keeps knocking. */
#include "mxkit-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxkit-auth.h"

/* Old rows deleted per recorded failure (keeps the table small without a
 * separate cleaner, and bounds the work of one login). */
#define PURGE_BATCH "200"

static const char count_sql[] =
	"SELECT (SELECT COUNT(*) FROM auth_failures WHERE kind = 'account' AND subject = ? "
	"        AND failed_at > NOW(6) - INTERVAL ? SECOND), "
	"       (SELECT COUNT(*) FROM auth_failures WHERE kind = 'address' AND subject = ? "
	"        AND failed_at > NOW(6) - INTERVAL ? SECOND)";
static const char fail_account_sql[] =
	"INSERT INTO auth_failures (kind, subject) VALUES ('account', ?)";
static const char fail_address_sql[] =
	"INSERT INTO auth_failures (kind, subject) VALUES ('address', ?)";
static const char purge_sql[] =
	"DELETE FROM auth_failures WHERE failed_at < NOW(6) - INTERVAL ? SECOND "
	"LIMIT " PURGE_BATCH;
static const char reset_sql[] =
	"DELETE FROM auth_failures WHERE kind = 'account' AND subject = ?";

struct counts {
	unsigned long account, address;
};

static int counts_row(void *ctx, unsigned ncols, const char *const *v,
		      const unsigned long *len, struct mx_err *err)
{
	struct counts *c = ctx;

	(void)len;
	if (ncols != 2 || v[0] == NULL || v[1] == NULL)
		return mx_err_set(err, "lockout count query returned an unexpected row");
	c->account = strtoul(v[0], NULL, 10);
	c->address = strtoul(v[1], NULL, 10);
	return 0;
}

enum mx_result mxkit_lockout_check(struct mx_db_pool *pool,
				   const struct mxkit_auth_config *conf,
				   const char *account, const char *address,
				   const char **what_r, unsigned long *account_failures_r,
				   struct mx_err *err)
{
	char window[16];
	struct counts c = { 0, 0 };
	const char *params[4];
	enum mx_result r;

	*what_r = NULL;
	*account_failures_r = 0;
	if (conf->max_failures == 0 && conf->max_address_failures == 0)
		return MX_NOTFOUND;
	if ((unsigned)snprintf(window, sizeof(window), "%u", conf->window) >= sizeof(window))
		return mx_err_set(err, "lockout window does not fit"), MX_TEMP;
	params[0] = account != NULL ? account : "";
	params[1] = window;
	params[2] = address != NULL ? address : "";
	params[3] = window;
	r = mx_db_exec(pool, count_sql, params, 4, counts_row, &c, MX_DB_RETRY, NULL, err);
	if (r == MX_TEMP)
		return MX_TEMP;
	*account_failures_r = c.account;
	if (account != NULL && conf->max_failures > 0 && c.account >= conf->max_failures) {
		*what_r = "account";
		return MX_FOUND;
	}
	if (address != NULL && conf->max_address_failures > 0 &&
	    c.address >= conf->max_address_failures) {
		*what_r = "remote address";
		return MX_FOUND;
	}
	return MX_NOTFOUND;
}

int mxkit_lockout_fail(struct mx_db_pool *pool, const struct mxkit_auth_config *conf,
		       const char *account, const char *address, struct mx_err *err)
{
	char window[16];
	const char *params[1];

	if (conf->max_failures == 0 && conf->max_address_failures == 0)
		return 0;
	if (account != NULL && conf->max_failures > 0) {
		params[0] = account;
		if (mx_db_exec(pool, fail_account_sql, params, 1, NULL, NULL, 0, NULL, err) == MX_TEMP)
			return -1;
	}
	if (address != NULL && conf->max_address_failures > 0) {
		params[0] = address;
		if (mx_db_exec(pool, fail_address_sql, params, 1, NULL, NULL, 0, NULL, err) == MX_TEMP)
			return -1;
	}
	if ((unsigned)snprintf(window, sizeof(window), "%u", conf->window) >= sizeof(window))
		return mx_err_set(err, "lockout window does not fit");
	params[0] = window;
	if (mx_db_exec(pool, purge_sql, params, 1, NULL, NULL, MX_DB_RETRY, NULL, err) == MX_TEMP)
		return -1;
	return 0;
}

int mxkit_lockout_reset(struct mx_db_pool *pool, const char *account, struct mx_err *err)
{
	const char *params[1] = { account };

	if (mx_db_exec(pool, reset_sql, params, 1, NULL, NULL, MX_DB_RETRY, NULL, err) == MX_TEMP)
		return -1;
	return 0;
}
