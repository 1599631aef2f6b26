/* userdb.c: the "mxkit" userdb: home, mail location, uid/gid and quota
 * from the users table, and iteration over every active user (of an
 * active domain) for `doveadm user '*'`, `doveadm -A` and replication.
 *
 * A NULL column returns no field, so dovecot.conf's mail_home,
 * mail_location, mail_uid and mail_gid apply (with their %-variables).
 * Lookups answer for disabled users too (the passdb refuses their
 * logins); iteration lists only active ones. Runs in auth workers.
 * The same fields come with a successful passdb lookup (passdb.c), for a
 * prefetch userdb placed before this one. */
#include "auth-common.h"
#include "userdb.h"

#include <string.h>

#include "mxkit-auth.h"

struct module;

/* Most users one iteration lists (a named bound on its memory). */
#define ITERATE_MAX 10000000

/* The columns after the address: enum mxkit_userdb_column. */
static const char user_sql[] =
	"SELECT u.address, u.home, u.mail, u.uid, u.gid, u.quota_bytes "
	"FROM users u WHERE u.address = ?";
static const char iterate_sql[] =
	"SELECT u.address FROM users u JOIN domains d ON d.id = u.domain_id "
	"WHERE u.active = 1 AND d.active = 1 ORDER BY u.address";

/* Dovecot's userdb field names, in enum mxkit_userdb_column order (the
 * quota becomes a quota_rule). */
static const char *const user_fields[MXKIT_UDB_COUNT] = {
	"home", "mail", "uid", "gid", "quota_rule"
};

void mxkit_userdb_export(struct auth_request *request, const char *const *columns,
			 bool from_passdb)
{
	bool any = FALSE;

	for (unsigned i = 0; i < MXKIT_UDB_COUNT; i++) {
		const char *v = columns[i];

		if (v == NULL || v[0] == '\0' ||
		    (i == MXKIT_UDB_QUOTA && strcmp(v, "0") == 0))
			continue;
		if (i == MXKIT_UDB_QUOTA)
			v = t_strdup_printf("*:bytes=%s", v);
		if (from_passdb)
			auth_request_set_field(request, t_strconcat("userdb_", user_fields[i], NULL),
					       v, NULL);
		else
			auth_request_set_userdb_field(request, user_fields[i], v);
		any = TRUE;
	}
	if (from_passdb && !any) {
		/* No column set: still tell the prefetch userdb that this
		 * passdb answered for it (an empty reply, as Dovecot's sql
		 * passdb gives for all-NULL userdb_* columns; an auth worker
		 * sends that on to the master). */
		auth_request_set_null_field(request, "userdb_home");
		if (request->fields.userdb_reply == NULL)
			auth_request_init_userdb_reply(request, TRUE);
	}
}

static int user_row(void *ctx, unsigned ncols, const char *const *v,
		    const unsigned long *len, struct mx_err *err)
{
	(void)len;
	if (ncols != 1 + MXKIT_UDB_COUNT)
		return mx_err_set(err, "user query returned %u columns, expected %u", ncols,
				  1 + MXKIT_UDB_COUNT);
	mxkit_userdb_export(ctx, v + 1, FALSE);
	return 0;
}

static void mxkit_userdb_lookup(struct auth_request *request, userdb_callback_t *callback)
{
	enum userdb_result result = USERDB_RESULT_INTERNAL_FAILURE;
	struct mx_db_pool *pool;
	struct mx_err err;

	T_BEGIN {
		const char *params[1] = { t_str_lcase(request->fields.user) };

		if ((pool = mxkit_auth_pool(&err)) == NULL) {
			e_error(authdb_event(request), "mxkit: %s", err.text);
		} else {
			switch (mx_db_exec(pool, user_sql, params, 1, user_row, request,
					   MX_DB_RETRY, NULL, &err)) {
			case MX_FOUND:
				result = USERDB_RESULT_OK;
				break;
			case MX_NOTFOUND:
				auth_request_log_unknown_user(request, AUTH_SUBSYS_DB);
				result = USERDB_RESULT_USER_UNKNOWN;
				break;
			default:
				e_error(authdb_event(request), "mxkit: %s", err.text);
				break;
			}
		}
	} T_END;
	callback(result, request);
}

struct mxkit_iterate {
	struct userdb_iterate_context ctx;
	pool_t pool;
	ARRAY_TYPE(const_string) users;
	unsigned next;
};

static int iterate_row(void *ctx, unsigned ncols, const char *const *v,
		       const unsigned long *len, struct mx_err *err)
{
	struct mxkit_iterate *it = ctx;
	const char *user;

	(void)len;
	if (ncols != 1 || v[0] == NULL)
		return mx_err_set(err, "iterate query returned an unexpected row");
	if (array_count(&it->users) >= ITERATE_MAX)
		return mx_err_set(err, "more than %u users to iterate", ITERATE_MAX);
	user = p_strdup(it->pool, v[0]);
	array_push_back(&it->users, &user);
	return 0;
}

static struct userdb_iterate_context *
mxkit_iterate_init(struct auth_request *request, userdb_iter_callback_t *callback,
		   void *context)
{
	pool_t pool = pool_alloconly_create("mxkit userdb iterate", 4096);
	struct mxkit_iterate *it = p_new(pool, struct mxkit_iterate, 1);
	struct mx_db_pool *db;
	struct mx_err err;

	it->pool = pool;
	it->ctx.auth_request = request;
	it->ctx.callback = callback;
	it->ctx.context = context;
	p_array_init(&it->users, pool, 64);
	if ((db = mxkit_auth_pool(&err)) == NULL ||
	    mx_db_exec(db, iterate_sql, NULL, 0, iterate_row, it, MX_DB_RETRY, NULL,
		       &err) == MX_TEMP) {
		e_error(authdb_event(request), "mxkit: iterate: %s", err.text);
		it->ctx.failed = TRUE;
	}
	return &it->ctx;
}

static void mxkit_iterate_next(struct userdb_iterate_context *ctx)
{
	struct mxkit_iterate *it = (struct mxkit_iterate *)ctx;

	if (ctx->failed || it->next >= array_count(&it->users)) {
		ctx->callback(NULL, ctx->context);
		return;
	}
	ctx->callback(array_idx_elem(&it->users, it->next++), ctx->context);
}

static int mxkit_iterate_deinit(struct userdb_iterate_context *ctx)
{
	struct mxkit_iterate *it = (struct mxkit_iterate *)ctx;
	int ret = ctx->failed ? -1 : 0;
	pool_t pool = it->pool;

	pool_unref(&pool);
	return ret;
}

static struct userdb_module *mxkit_userdb_preinit(pool_t pool, const char *args)
{
	struct userdb_module *module = p_new(pool, struct userdb_module, 1);

	mxkit_auth_state_ref(mxkit_auth_args_path("userdb", args));
	module->blocking = TRUE;
	module->default_cache_key = NULL;
	return module;
}

static void mxkit_userdb_deinit(struct userdb_module *module ATTR_UNUSED)
{
	mxkit_auth_state_unref();
}

struct userdb_module_interface mxkit_userdb = {
	.name = "mxkit",
	.preinit = mxkit_userdb_preinit,
	.deinit = mxkit_userdb_deinit,
	.lookup = mxkit_userdb_lookup,
	.iterate_init = mxkit_iterate_init,
	.iterate_next = mxkit_iterate_next,
	.iterate_deinit = mxkit_iterate_deinit,
};
