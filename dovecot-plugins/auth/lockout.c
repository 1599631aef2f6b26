/* lockout.c: failed logins counted in MariaDB, per account and per remote
 * address, so that every Dovecot host sharing the database enforces the
 * same lockout. The database clock (NOW(6)) times every row, so hosts with
 * skewed clocks still agree. An attempt refused because of a lockout is
 * not recorded: the lock ends when the window after the Nth failure has
 * passed, however often a guesser keeps knocking. The counts themselves
 * are read with the account (account.c), in the same query. */
#include "mxkit-config.h"

#include <stdio.h>
#include <string.h>

#include "mxkit-auth.h"

/* Old rows deleted per recorded failure (keeps the table small without a
 * separate cleaner, and bounds the work of one login). */
#define PURGE_BATCH "200"

static const char fail_account_sql[] =
	"INSERT INTO auth_failures (kind, subject) VALUES ('account', ?)";
static const char fail_address_sql[] =
	"INSERT INTO auth_failures (kind, subject) VALUES ('address', ?)";
static const char purge_sql[] =
	"DELETE FROM auth_failures WHERE failed_at < NOW(6) - INTERVAL ? SECOND "
	"LIMIT " PURGE_BATCH;
static const char reset_sql[] =
	"DELETE FROM auth_failures WHERE kind = 'account' AND subject = ?";

const char *mxkit_lockout_locked(const struct mxkit_auth_config *conf,
				 const struct mxkit_account *acct, bool have_remote)
{
	if (conf->max_failures > 0 && acct->account_failures >= conf->max_failures)
		return "account";
	if (have_remote && conf->max_address_failures > 0 &&
	    acct->address_failures >= conf->max_address_failures)
		return "remote address";
	return NULL;
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
