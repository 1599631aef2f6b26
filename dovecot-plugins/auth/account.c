/* account.c: read one account (user row joined with its domain) for a
 * login, together with the lockout's failure counts and the userdb
 * columns (returned to a prefetch userdb), in one round trip (two for an
 * unknown user tried from a counted remote address).
 * Plain mxkit code on lib/mx_db; values longer than their buffer are
 * refused as a database error rather than cut. */
#include "mxkit-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxkit-auth.h"

/* One row for a known user, none for an unknown one. Columns: id, address,
 * password, the active flags, app_passwords_only, the account's and the
 * remote address's failures in the window, then MXKIT_UDB_COUNT userdb
 * columns (enum mxkit_userdb_column). Without a remote address to count
 * (none, or loopback) the second count is a constant 0 and costs nothing. */
#define ACCOUNT_COLUMNS \
	"SELECT u.id, u.address, u.password, u.active, d.active, u.app_passwords_only, " \
	" (SELECT COUNT(*) FROM auth_failures f WHERE f.kind = 'account' " \
	"   AND f.subject = u.address AND f.failed_at > NOW(6) - INTERVAL ? SECOND), "
#define ACCOUNT_FROM \
	" u.home, u.mail, u.uid, u.gid, u.quota_bytes " \
	"FROM users u JOIN domains d ON d.id = u.domain_id WHERE u.address = ?"
#define ADDRESS_COUNT \
	"(SELECT COUNT(*) FROM auth_failures f WHERE f.kind = 'address' " \
	"  AND f.subject = ? AND f.failed_at > NOW(6) - INTERVAL ? SECOND)"

static const char account_sql[] = ACCOUNT_COLUMNS " 0, " ACCOUNT_FROM;
static const char account_remote_sql[] = ACCOUNT_COLUMNS ADDRESS_COUNT ", " ACCOUNT_FROM;
/* An unknown user's attempt: only the remote address is counted. */
static const char address_sql[] = "SELECT " ADDRESS_COUNT;

static int copy_value(char *dst, size_t size, const char *v, unsigned long len,
		      const char *what, struct mx_err *err)
{
	if (v == NULL)
		return mx_err_set(err, "users.%s is NULL", what);
	if (len >= size)
		return mx_err_set(err, "users.%s is longer than %zu bytes", what, size - 1);
	memcpy(dst, v, len);
	dst[len] = '\0';
	return 0;
}

/* Names of the userdb columns, in enum mxkit_userdb_column order. */
static const char *const userdb_columns[MXKIT_UDB_COUNT] = {
	"home", "mail", "uid", "gid", "quota_bytes"
};

static int account_row(void *ctx, unsigned ncols, const char *const *v,
		       const unsigned long *len, struct mx_err *err)
{
	struct mxkit_account *a = ctx;

	if (ncols != 8 + MXKIT_UDB_COUNT || v[0] == NULL || v[6] == NULL || v[7] == NULL)
		return mx_err_set(err, "account query returned an unexpected row");
	a->account_failures = strtoul(v[6], NULL, 10);
	a->address_failures = strtoul(v[7], NULL, 10);
	a->exists = true;
	if (copy_value(a->id, sizeof(a->id), v[0], len[0], "id", err) < 0 ||
	    copy_value(a->address, sizeof(a->address), v[1], len[1], "address", err) < 0 ||
	    copy_value(a->password, sizeof(a->password), v[2], len[2], "password", err) < 0)
		return -1;
	a->user_active = v[3] != NULL && strcmp(v[3], "0") != 0;
	a->domain_active = v[4] != NULL && strcmp(v[4], "0") != 0;
	a->app_passwords_only = v[5] != NULL && strcmp(v[5], "0") != 0;
	for (unsigned i = 0; i < MXKIT_UDB_COUNT; i++) {
		if (v[8 + i] == NULL)
			a->userdb[i][0] = '\0';        /* NULL: no field */
		else if (copy_value(a->userdb[i], sizeof(a->userdb[i]), v[8 + i], len[8 + i],
				    userdb_columns[i], err) < 0)
			return -1;
	}
	return 0;
}

static int address_row(void *ctx, unsigned ncols, const char *const *v,
		       const unsigned long *len, struct mx_err *err)
{
	struct mxkit_account *a = ctx;

	(void)len;
	if (ncols != 1 || v[0] == NULL)
		return mx_err_set(err, "address failure count returned an unexpected row");
	a->address_failures = strtoul(v[0], NULL, 10);
	return 0;
}

enum mx_result mxkit_account_get(struct mx_db_pool *pool,
				 const struct mxkit_auth_config *conf,
				 const char *address, const char *remote,
				 struct mxkit_account *acct, struct mx_err *err)
{
	char window[16];
	const char *params[4];
	enum mx_result r;

	memset(acct, 0, sizeof(*acct));
	if ((unsigned)snprintf(window, sizeof(window), "%u", conf->window) >= sizeof(window)) {
		mx_err_set(err, "lockout window does not fit");
		return MX_TEMP;
	}
	params[0] = window;
	if (remote != NULL) {
		params[1] = remote;
		params[2] = window;
		params[3] = address;
		r = mx_db_exec(pool, account_remote_sql, params, 4, account_row, acct,
			       MX_DB_RETRY, NULL, err);
	} else {
		params[1] = address;
		r = mx_db_exec(pool, account_sql, params, 2, account_row, acct, MX_DB_RETRY,
			       NULL, err);
	}
	if (r != MX_NOTFOUND)
		return r;
	/* Unknown user: its failures count against the remote address. */
	if (remote == NULL)
		return MX_FOUND;
	params[0] = remote;
	params[1] = window;
	r = mx_db_exec(pool, address_sql, params, 2, address_row, acct, MX_DB_RETRY, NULL, err);
	if (r == MX_NOTFOUND) {
		mx_err_set(err, "address failure count returned no row");
		return MX_TEMP;
	}
	return r;
}
