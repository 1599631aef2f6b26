/* dkim_config.c: reading the `dkim` section and loading its keys (see dkim_config.h). */
#include "mxkit-config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libconfig.h>

#include "dkim_config.h"
#include "mx_config.h"
#include "mx_daemon.h"
#include "mx_db.h"
#include "mx_log.h"

static const char *const section_keys[] = {
	"socket", "canonicalization", "internal_networks", "sign_subdomains", "expire",
	"on_error", "timeout", "keys", "database_keys", "refresh_interval",
	"key_dir", "resolver",
	MX_DAEMON_CONFIG_KEYS, NULL,
};
static const char *const key_keys[] = { "domain", "selector", "key", "key_pem", NULL };

static int copy_str(char *dst, size_t size, const char *src, const char *what, struct mx_err *err)
{
	size_t n = strlen(src);

	if (n >= size)
		return mx_err_set(err, "%s longer than %zu bytes", what, size - 1);
	memcpy(dst, src, n + 1);
	return 0;
}

static int load_canon(const config_setting_t *sec, struct dkim_config *cfg, struct mx_err *err)
{
	const char *v;
	char buf[32], *slash, where[128];

	if (mx_config_string(sec, "canonicalization", "relaxed/relaxed", &v, err) < 0)
		return -1;
	if (strlen(v) >= sizeof(buf))
		goto bad;
	memcpy(buf, v, strlen(v) + 1);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash++ = '\0';
	if (dkim_canon_parse(buf, &cfg->hc) < 0 || dkim_canon_parse(slash ? slash : "simple", &cfg->bc) < 0)
		goto bad;
	return 0;
bad:
	return mx_err_set(err, "%s: canonicalization must be relaxed/relaxed, relaxed/simple, simple/relaxed or simple/simple",
			  mx_config_where(config_setting_get_member(sec, "canonicalization"), where, sizeof(where)));
}

static int load_nets(const config_setting_t *sec, struct dkim_config *cfg, struct mx_err *err)
{
	const config_setting_t *list = sec ? config_setting_get_member(sec, "internal_networks") : NULL;
	char where[128];
	int i, n;

	cfg->nets.n = 0;
	if (list == NULL) {
		if (dkim_nets_add(&cfg->nets, "127.0.0.0/8", err) < 0 ||
		    dkim_nets_add(&cfg->nets, "::1/128", err) < 0)
			return -1;
		return 0;
	}
	mx_config_where(list, where, sizeof(where));
	if (!config_setting_is_aggregate(list))
		return mx_err_set(err, "%s: internal_networks must be a list of strings", where);
	n = config_setting_length(list);
	for (i = 0; i < n; i++) {
		const char *s = config_setting_get_string_elem(list, i);
		if (s == NULL)
			return mx_err_set(err, "%s: internal_networks must be a list of strings", where);
		if (dkim_nets_add(&cfg->nets, s, err) < 0)
			return mx_err_prefix(err, "%s: internal_networks: ", where);
	}
	return 0;
}

int dkim_config_add_key(struct dkim_config *cfg, const char *where, const char *domain,
			const char *selector, const char *path, const char *pem,
			bool check_perms, struct mx_err *err)
{
	struct dkim_key *key;
	uid_t user = cfg->daemon.has_user ? cfg->daemon.uid : geteuid();

	if (cfg->nkeys >= DKIM_KEYS_MAX)
		return mx_err_set(err, "%s: more than %d keys", where, DKIM_KEYS_MAX);
	key = &cfg->keys[cfg->nkeys];
	if ((path == NULL) == (pem == NULL))
		return mx_err_set(err, "%s: a key needs exactly one of a key file and a PEM key", where);
	if (path != NULL ? dkim_key_load_file(key, domain, selector, path, check_perms, user, err) < 0
			 : dkim_key_from_pem(key, domain, selector, pem, strlen(pem), err) < 0)
		return mx_err_prefix(err, "%s: ", where);
	/* Domains are compared lowercase. */
	for (char *p = key->domain; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + ('a' - 'A'));
	if (key->weak)
		mx_log_warn("%s: %s._domainkey.%s: RSA key of %d bits; use %d bits or more",
			    where, key->selector, key->domain, key->bits, DKIM_RSA_WARN_BITS);
	cfg->nkeys++;
	return 0;
}

static int load_key(const config_setting_t *k, bool check_perms, struct dkim_config *cfg,
		    struct mx_err *err)
{
	const char *domain, *selector, *path, *pem;
	char where[128];

	mx_config_where(k, where, sizeof(where));
	if (!config_setting_is_group(k))
		return mx_err_set(err, "%s: each entry of keys must be a group { domain; selector; key; }", where);
	if (mx_config_check_keys(k, key_keys, err) < 0 ||
	    mx_config_string(k, "domain", NULL, &domain, err) < 0 ||
	    mx_config_string(k, "selector", NULL, &selector, err) < 0 ||
	    mx_config_string(k, "key", NULL, &path, err) < 0 ||
	    mx_config_string(k, "key_pem", NULL, &pem, err) < 0)
		return -1;
	if (domain == NULL || selector == NULL)
		return mx_err_set(err, "%s: a key needs domain and selector", where);
	if ((path == NULL) == (pem == NULL))
		return mx_err_set(err, "%s: a key needs exactly one of key (a file) and key_pem", where);
	return dkim_config_add_key(cfg, where, domain, selector, path, pem, check_perms, err);
}

static int load_keys(const config_setting_t *sec, bool check_perms, struct dkim_config *cfg,
		     struct mx_err *err)
{
	const config_setting_t *list = sec ? config_setting_get_member(sec, "keys") : NULL;
	char where[128];
	int i, n;

	if (list == NULL)
		return 0;
	mx_config_where(list, where, sizeof(where));
	if (!config_setting_is_aggregate(list))
		return mx_err_set(err, "%s: keys must be a list of groups", where);
	n = config_setting_length(list);
	if (n > DKIM_KEYS_MAX)
		return mx_err_set(err, "%s: more than %d keys", where, DKIM_KEYS_MAX);
	for (i = 0; i < n; i++) {
		if (load_key(config_setting_get_elem(list, (unsigned)i), check_perms, cfg, err) < 0)
			return -1;
	}
	return 0;
}

int dkim_config_load(const char *path, bool check_perms, struct dkim_config *cfg,
		     struct mx_err *err)
{
	config_t lc;
	const config_setting_t *sec;
	const char *s;
	char where[128];
	int rc = -1;

	memset(cfg, 0, sizeof(*cfg));
	config_init(&lc);
	if (mx_config_load(&lc, path, err) < 0 || mx_config_section(&lc, "dkim", &sec, err) < 0)
		goto out;
	if (sec == NULL) {
		mx_err_set(err, "%s: no dkim section", path);
		goto out;
	}
	if (mx_config_check_keys(sec, section_keys, err) < 0)
		goto out;
	if (mx_config_string(sec, "socket", "unix:/var/spool/postfix/mxkit/dkim.sock", &s, err) < 0 ||
	    copy_str(cfg->socket, sizeof(cfg->socket), s, "socket", err) < 0 ||
	    mx_daemon_config_parse(sec, &cfg->daemon, err) < 0 ||
	    load_canon(sec, cfg, err) < 0 ||
	    mx_config_bool(sec, "sign_subdomains", false, &cfg->sign_subdomains, err) < 0 ||
	    mx_config_seconds(sec, "expire", 0, 0, 366u * 86400u, &cfg->expire, err) < 0 ||
	    mx_config_uint(sec, "timeout", 30, 1, 3600, &cfg->timeout, err) < 0 ||
	    mx_config_bool(sec, "database_keys", false, &cfg->db_keys, err) < 0 ||
	    mx_config_string(sec, "key_dir", "/etc/mxkit/dkim", &s, err) < 0 ||
	    copy_str(cfg->key_dir, sizeof(cfg->key_dir), s, "key_dir", err) < 0 ||
	    mx_config_string(sec, "resolver", "", &s, err) < 0 ||
	    copy_str(cfg->resolver, sizeof(cfg->resolver), s, "resolver", err) < 0 ||
	    mx_config_seconds(sec, "refresh_interval", 300, 0, 86400, &cfg->refresh_interval, err) < 0 ||
	    (cfg->db_keys && mx_db_config_parse(&lc, &cfg->db, err) < 0) ||
	    mx_config_string(sec, "on_error", "tempfail", &s, err) < 0)
		goto out;
	if (strcmp(s, "tempfail") == 0) {
		cfg->on_error = DKIM_ON_ERROR_TEMPFAIL;
	} else if (strcmp(s, "accept") == 0) {
		cfg->on_error = DKIM_ON_ERROR_ACCEPT;
	} else {
		mx_err_set(err, "%s: on_error must be \"tempfail\" or \"accept\"",
			   mx_config_where(config_setting_get_member(sec, "on_error"), where, sizeof(where)));
		goto out;
	}
	if (load_nets(sec, cfg, err) < 0 || load_keys(sec, check_perms, cfg, err) < 0)
		goto out;
	rc = 0;
out:
	config_destroy(&lc);
	if (rc < 0)
		dkim_config_free(cfg);
	return rc;
}

void dkim_config_free(struct dkim_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nkeys; i++)
		dkim_key_free(&cfg->keys[i]);
	cfg->nkeys = 0;
}

size_t dkim_config_find_keys(const struct dkim_config *cfg, const char *domain,
			     const struct dkim_key **out, size_t max)
{
	const char *d = domain;
	size_t i, n;

	while (d != NULL && *d != '\0') {
		n = 0;
		for (i = 0; i < cfg->nkeys && n < max; i++)
			if (strcasecmp(cfg->keys[i].domain, d) == 0)
				out[n++] = &cfg->keys[i];
		if (n > 0 || !cfg->sign_subdomains)
			return n;
		d = strchr(d, '.');
		if (d != NULL)
			d++;
		/* Never climb to a top-level domain alone. */
		if (d != NULL && strchr(d, '.') == NULL)
			return 0;
	}
	return 0;
}
