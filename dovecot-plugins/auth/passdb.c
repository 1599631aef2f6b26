/* passdb.c: the "mxkit" passdb. One plaintext verification per request,
 * run in an auth worker (the module is flagged blocking):
 *
 *   account lookup with lockout counts -> locked? -> unknown user ->
 *   disabled user/domain refused ->
 *   main password (unless the user takes only app passwords for mail
 *   clients) -> app passwords -> record the failure, or reset the account
 *   counter (only when it has failures), mark the app password used,
 *   upgrade a weak hash and return the userdb fields (userdb_*, for a
 *   prefetch userdb). A plain success is one query: the account read.
 *
 * Every database failure answers PASSDB_RESULT_INTERNAL_FAILURE, which
 * Dovecot reports as a temporary failure (IMAP "NO [UNAVAILABLE]"). No
 * cache key: a cached answer would bypass the lockout. */
#include "auth-common.h"
#include "passdb.h"
#include "password-scheme.h"
#include "str-sanitize.h"

#include <string.h>

#include "mxkit-auth.h"

struct module;

/* Services a mail client logs in to: with app_passwords_only set, the
 * main password is refused for these and only app passwords work. */
static const char *const client_services[] = {
	"imap", "pop3", "smtp", "submission", "sieve", NULL
};

/* Scheme assumed for a stored hash without a {SCHEME} prefix. */
#define DEFAULT_SCHEME "CRYPT"

static const char app_sql[] =
	"SELECT id, name, hash FROM app_passwords WHERE user_id = ? AND revoked IS NULL "
	"ORDER BY id DESC LIMIT 64";
static const char app_used_sql[] =
	"UPDATE app_passwords SET last_used = NOW() WHERE id = ?";
static const char upgrade_user_sql[] =
	"UPDATE users SET password = ? WHERE id = ? AND password = ?";
static const char upgrade_app_sql[] =
	"UPDATE app_passwords SET hash = ? WHERE id = ? AND hash = ?";

struct app_password {
	const char *id, *name, *hash;
};

struct app_list {
	pool_t pool;
	ARRAY(struct app_password) items;
};

static int app_row(void *ctx, unsigned ncols, const char *const *v,
		   const unsigned long *len, struct mx_err *err)
{
	struct app_list *l = ctx;
	struct app_password *ap;

	if (ncols != 3 || v[0] == NULL || v[1] == NULL || v[2] == NULL)
		return mx_err_set(err, "app password query returned an unexpected row");
	if (len[2] >= MXKIT_HASH_MAX)
		return mx_err_set(err, "app_passwords.hash of id %s is too long", v[0]);
	if (array_count(&l->items) >= MXKIT_APP_PASSWORDS_MAX)
		return 0;
	ap = array_append_space(&l->items);
	ap->id = p_strdup(l->pool, v[0]);
	ap->name = p_strdup(l->pool, v[1]);
	ap->hash = p_strdup(l->pool, v[2]);
	return 0;
}

static bool is_client_service(const char *service)
{
	if (service == NULL)
		return FALSE;
	for (unsigned i = 0; client_services[i] != NULL; i++)
		if (strcasecmp(service, client_services[i]) == 0)
			return TRUE;
	return FALSE;
}

/* Loopback clients (a webmail or proxy on this host, local tools) are not
 * counted per address: one guesser there would lock every local user out.
 * Their accounts are still counted. (Postfix and trusted login proxies
 * hand over their own client's address, which is counted.) */
static bool is_loopback(const struct ip_addr *ip)
{
	if (IPADDR_IS_V4(ip))
		return (ntohl(ip->u.ip4.s_addr) >> 24) == 127;
	return net_ip_compare(ip, &net_ip6_loopback);
}

/* 1 when plain matches the stored {SCHEME}hash, 0 when not, -1 when the
 * stored value is unusable (logged). *scheme_r: its scheme. */
static int verify_stored(struct auth_request *request, const char *plain,
			 const char *stored, const char **scheme_r)
{
	const char *crypted = stored;
	const char *scheme = password_get_scheme(&crypted);

	if (scheme == NULL)
		scheme = DEFAULT_SCHEME;
	*scheme_r = scheme;
	return auth_request_password_verify_log(request, plain, crypted, scheme,
						AUTH_SUBSYS_DB, FALSE);
}

/* Replace a hash weaker than the configured scheme. Failures only log:
 * the login itself has succeeded. */
static void upgrade_hash(struct auth_request *request, struct mx_db_pool *pool,
			 const char *sql, const char *id, const char *plain,
			 const char *old_hash, const char *old_scheme)
{
	const struct mxkit_auth_config *conf = mxkit_auth_conf();
	struct password_generate_params params = { .user = request->fields.user, .rounds = 0 };
	const char *encoded, *params_v[3];
	struct mx_err err;

	if (!conf->hash_upgrade || !mxkit_hash_weaker(old_scheme, conf->scheme))
		return;
	if (!password_generate_encoded(plain, &params, conf->scheme, &encoded)) {
		e_error(authdb_event(request), "mxkit: cannot generate a %s hash", conf->scheme);
		return;
	}
	params_v[0] = t_strdup_printf("{%s}%s", conf->scheme, encoded);
	params_v[1] = id;
	params_v[2] = old_hash;
	if (mx_db_exec(pool, sql, params_v, 3, NULL, NULL, 0, NULL, &err) == MX_TEMP)
		e_warning(authdb_event(request), "mxkit: hash upgrade not stored: %s", err.text);
	else
		e_info(authdb_event(request), "mxkit: password hash upgraded from %s to %s",
		       old_scheme, conf->scheme);
}

/* Try the user's app passwords; returns the one that matched or NULL. */
static const struct app_password *
verify_app_passwords(struct auth_request *request, struct mx_db_pool *pool,
		     const struct mxkit_account *acct, const char *plain,
		     const char **scheme_r, bool *temp_r)
{
	struct app_list list;
	const struct app_password *ap;
	const char *params[1] = { acct->id };
	struct mx_err err;

	*temp_r = FALSE;
	list.pool = request->pool;
	p_array_init(&list.items, request->pool, 4);
	if (mx_db_exec(pool, app_sql, params, 1, app_row, &list, MX_DB_RETRY, NULL,
		       &err) == MX_TEMP) {
		e_error(authdb_event(request), "mxkit: %s", err.text);
		*temp_r = TRUE;
		return NULL;
	}
	array_foreach(&list.items, ap) {
		if (verify_stored(request, plain, ap->hash, scheme_r) > 0)
			return ap;
	}
	return NULL;
}

static void fail_attempt(struct auth_request *request, struct mx_db_pool *pool,
			 const char *account, const char *rip)
{
	struct mx_err err;

	if (mxkit_lockout_fail(pool, mxkit_auth_conf(), account, rip, &err) < 0)
		e_warning(authdb_event(request), "mxkit: failure not recorded: %s", err.text);
}

/* The account's userdb fields as userdb_* extra fields, for a prefetch
 * userdb (saves the login its userdb round trip to an auth worker). */
static void export_userdb(struct auth_request *request, const struct mxkit_account *acct)
{
	const char *columns[MXKIT_UDB_COUNT];

	for (unsigned i = 0; i < MXKIT_UDB_COUNT; i++)
		columns[i] = acct->userdb[i];
	mxkit_userdb_export(request, columns, TRUE);
}

static enum passdb_result
mxkit_verify(struct auth_request *request, const char *plain)
{
	const struct mxkit_auth_config *conf = mxkit_auth_conf();
	struct mxkit_account acct;
	struct mx_db_pool *pool;
	struct mx_err err;
	const struct app_password *ap = NULL;
	const char *user, *rip = NULL, *locked, *scheme = DEFAULT_SCHEME;
	bool main_allowed, temp;
	int ret = 0;
	enum mx_result r;

	if ((pool = mxkit_auth_pool(&err)) == NULL) {
		e_error(authdb_event(request), "mxkit: %s", err.text);
		return PASSDB_RESULT_INTERNAL_FAILURE;
	}
	user = t_str_lcase(request->fields.user);
	if (strlen(user) >= sizeof(acct.address)) {
		e_info(authdb_event(request), "mxkit: refused: login name longer than %zu bytes",
		       sizeof(acct.address) - 1);
		return PASSDB_RESULT_USER_UNKNOWN;
	}
	if (request->fields.remote_ip.family != 0 && !is_loopback(&request->fields.remote_ip))
		rip = net_ip2addr(&request->fields.remote_ip);

	r = mxkit_account_get(pool, conf, user, rip, &acct, &err);
	if (r == MX_TEMP) {
		e_error(authdb_event(request), "mxkit: %s", err.text);
		return PASSDB_RESULT_INTERNAL_FAILURE;
	}
	if ((locked = mxkit_lockout_locked(conf, &acct, rip != NULL)) != NULL) {
		e_info(authdb_event(request),
		       "mxkit: refused: %s locked out (%u failures within %us)", locked,
		       strcmp(locked, "account") == 0 ? conf->max_failures
						       : conf->max_address_failures,
		       conf->window);
		return PASSDB_RESULT_PASSWORD_MISMATCH;
	}
	if (!acct.exists) {
		fail_attempt(request, pool, NULL, rip);
		auth_request_log_unknown_user(request, AUTH_SUBSYS_DB);
		return PASSDB_RESULT_USER_UNKNOWN;
	}
	if (!acct.user_active || !acct.domain_active) {
		e_info(authdb_event(request), "mxkit: refused: %s is disabled",
		       !acct.user_active ? "the user" : "the user's domain");
		return PASSDB_RESULT_USER_DISABLED;
	}

	main_allowed = !acct.app_passwords_only || !is_client_service(request->fields.service);
	if (main_allowed)
		ret = verify_stored(request, plain, acct.password, &scheme);
	if (ret <= 0) {
		ap = verify_app_passwords(request, pool, &acct, plain, &scheme, &temp);
		if (temp)
			return PASSDB_RESULT_INTERNAL_FAILURE;
		if (ap == NULL) {
			fail_attempt(request, pool, acct.address, rip);
			if (!main_allowed)
				e_info(authdb_event(request), "mxkit: refused: only app passwords "
				       "are accepted for service %s", request->fields.service);
			auth_request_log_password_mismatch(request, AUTH_SUBSYS_DB);
			return PASSDB_RESULT_PASSWORD_MISMATCH;
		}
	}

	/* A success forgets the account's failures (no write when none). */
	if (acct.account_failures > 0 && mxkit_lockout_reset(pool, acct.address, &err) < 0)
		e_warning(authdb_event(request), "mxkit: failures not reset: %s", err.text);
	if (ap != NULL) {
		const char *params[1] = { ap->id };

		e_info(authdb_event(request), "mxkit: app password '%s' used",
		       str_sanitize(ap->name, 64));
		if (mx_db_exec(pool, app_used_sql, params, 1, NULL, NULL, 0, NULL, &err) == MX_TEMP)
			e_warning(authdb_event(request), "mxkit: last_used not recorded: %s",
				  err.text);
		upgrade_hash(request, pool, upgrade_app_sql, ap->id, plain, ap->hash, scheme);
	} else {
		upgrade_hash(request, pool, upgrade_user_sql, acct.id, plain, acct.password,
			     scheme);
	}
	export_userdb(request, &acct);
	return PASSDB_RESULT_OK;
}

static void mxkit_verify_plain(struct auth_request *request, const char *password,
			       verify_plain_callback_t *callback)
{
	enum passdb_result result;

	T_BEGIN {
		result = mxkit_verify(request, password);
	} T_END;
	callback(result, request);
}

static struct passdb_module *mxkit_passdb_preinit(pool_t pool, const char *args)
{
	struct passdb_module *module = p_new(pool, struct passdb_module, 1);

	mxkit_auth_state_ref(mxkit_auth_args_path("passdb", args));
	module->blocking = TRUE;
	module->default_cache_key = NULL;
	module->default_pass_scheme = DEFAULT_SCHEME;
	return module;
}

static void mxkit_passdb_deinit(struct passdb_module *module ATTR_UNUSED)
{
	mxkit_auth_state_unref();
}

struct passdb_module_interface mxkit_passdb = {
	.name = "mxkit",
	.preinit = mxkit_passdb_preinit,
	.deinit = mxkit_passdb_deinit,
	.verify_plain = mxkit_verify_plain,
};
