/* account.c: read one account (user row joined with its domain) for a
 * login. Plain mxkit code on lib/mx_db; values longer than their buffer
 * are refused as a database error rather than cut. */
#include "mxkit-config.h"

#include <stdio.h>
#include <string.h>

#include "mxkit-auth.h"

static const char account_sql[] =
	"SELECT u.id, u.address, u.password, u.active, d.active, u.app_passwords_only "
	"FROM users u JOIN domains d ON d.id = u.domain_id WHERE u.address = ?";

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

static int account_row(void *ctx, unsigned ncols, const char *const *v,
		       const unsigned long *len, struct mx_err *err)
{
	struct mxkit_account *a = ctx;

	if (ncols != 6)
		return mx_err_set(err, "account query returned %u columns, expected 6", ncols);
	if (copy_value(a->id, sizeof(a->id), v[0], len[0], "id", err) < 0 ||
	    copy_value(a->address, sizeof(a->address), v[1], len[1], "address", err) < 0 ||
	    copy_value(a->password, sizeof(a->password), v[2], len[2], "password", err) < 0)
		return -1;
	a->user_active = v[3] != NULL && strcmp(v[3], "0") != 0;
	a->domain_active = v[4] != NULL && strcmp(v[4], "0") != 0;
	a->app_passwords_only = v[5] != NULL && strcmp(v[5], "0") != 0;
	return 0;
}

enum mx_result mxkit_account_get(struct mx_db_pool *pool, const char *address,
				 struct mxkit_account *acct, struct mx_err *err)
{
	const char *params[1] = { address };

	memset(acct, 0, sizeof(*acct));
	return mx_db_exec(pool, account_sql, params, 1, account_row, acct,
			  MX_DB_RETRY, NULL, err);
}
