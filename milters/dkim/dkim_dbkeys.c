/* dkim_dbkeys.c: reading the active keys of table dkim_keys (see dkim_dbkeys.h). */
#include "mxkit-config.h"

#include <stdio.h>
#include <string.h>

#include "dkim_dbkeys.h"
#include "mx_log.h"

static const char dbkeys_sql[] =
	"SELECT domain, selector, algorithm, key_path, key_pem FROM dkim_keys"
	" WHERE active = 1 ORDER BY domain, algorithm, id";

struct dbkeys_ctx {
	struct dkim_config *cfg;
	bool check_perms;
};

/* Keep a key that failed to load as a broken entry of its domain. */
static int add_broken(struct dkim_config *cfg, const char *domain, const char *selector,
		      struct mx_err *err)
{
	struct dkim_key *key;

	if (cfg->nkeys >= DKIM_KEYS_MAX)
		return mx_err_set(err, "table dkim_keys: more than %d keys", DKIM_KEYS_MAX);
	key = &cfg->keys[cfg->nkeys];
	memset(key, 0, sizeof(*key));
	if (strlen(domain) > DKIM_DOMAIN_MAX || strlen(selector) > DKIM_SELECTOR_MAX)
		return 0;  /* the column types make this impossible; nothing to key it by */
	memcpy(key->domain, domain, strlen(domain) + 1);
	memcpy(key->selector, selector, strlen(selector) + 1);
	for (char *p = key->domain; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + ('a' - 'A'));
	cfg->nkeys++;
	return 0;
}

static int dbkeys_row(void *arg, unsigned ncols, const char *const *v,
		      const unsigned long *len, struct mx_err *err)
{
	struct dbkeys_ctx *ctx = arg;
	struct dkim_config *cfg = ctx->cfg;
	char dsafe[MX_LOG_SAFE_MAX], ssafe[MX_LOG_SAFE_MAX];
	struct mx_err kerr;

	if (ncols != 5 || v[0] == NULL || v[1] == NULL || v[2] == NULL)
		return mx_err_set(err, "table dkim_keys: unexpected result shape");
	mx_log_safe(dsafe, sizeof(dsafe), v[0], len[0]);
	mx_log_safe(ssafe, sizeof(ssafe), v[1], len[1]);
	if (dkim_config_add_key(cfg, "table dkim_keys", v[0], v[1], v[3], v[4], ctx->check_perms, &kerr) < 0) {
		if (cfg->nkeys >= DKIM_KEYS_MAX)
			return mx_err_set(err, "%s", kerr.text);
		mx_log_err("table dkim_keys: key %s._domainkey.%s not usable, mail of %s will follow on_error: %s",
			   ssafe, dsafe, dsafe, kerr.text);
		return add_broken(cfg, v[0], v[1], err);
	}
	if (strcmp(dkim_alg_name(cfg->keys[cfg->nkeys - 1].alg), v[2]) != 0) {
		mx_log_err("table dkim_keys: key %s._domainkey.%s: the table says %s but the key is for %s;"
			   " mail of %s will follow on_error", ssafe, dsafe, v[2],
			   dkim_alg_name(cfg->keys[cfg->nkeys - 1].alg), dsafe);
		dkim_key_free(&cfg->keys[--cfg->nkeys]);
		return add_broken(cfg, v[0], v[1], err);
	}
	return 0;
}

enum mx_result dkim_dbkeys_load(struct mx_db_pool *pool, struct dkim_config *cfg,
				bool check_perms, struct mx_err *err)
{
	struct dbkeys_ctx ctx = { .cfg = cfg, .check_perms = check_perms };
	size_t before = cfg->nkeys;
	enum mx_result r;

	r = mx_db_exec(pool, dbkeys_sql, NULL, 0, dbkeys_row, &ctx, MX_DB_RETRY, NULL, err);
	if (r == MX_TEMP) {
		while (cfg->nkeys > before)
			dkim_key_free(&cfg->keys[--cfg->nkeys]);
		return MX_TEMP;
	}
	return r;
}
