/* config.c: the `auth` section of mxkit.conf (lockout, hash upgrade) and
 * the shared `database` section, read with the lib/mx_config helpers so
 * that every mistake is reported with its file and line. No Dovecot
 * headers here: this file is plain mxkit code (and unit-testable). */
#include "mxkit-config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mx_config.h"
#include "mxkit-auth.h"

#define FAILURES_MAX 100000
#define WINDOW_MAX (7 * 86400)

static const char *const auth_keys[] = {
	"max_failures", "max_address_failures", "window", "scheme", "hash_upgrade", NULL
};

/* Schemes a hash can be upgraded to: Dovecot generates them all here. */
static const char *const target_schemes[] = {
	"ARGON2ID", "ARGON2I", "BLF-CRYPT", "SHA512-CRYPT", "SHA256-CRYPT", NULL
};

static int parse_scheme(const config_setting_t *s, struct mxkit_auth_config *conf,
			struct mx_err *err)
{
	const char *v;
	char where[128];

	if (mx_config_string(s, "scheme", "ARGON2ID", &v, err) < 0)
		return -1;
	for (size_t i = 0; target_schemes[i] != NULL; i++) {
		if (strcasecmp(v, target_schemes[i]) == 0) {
			snprintf(conf->scheme, sizeof(conf->scheme), "%s", target_schemes[i]);
			return 0;
		}
	}
	return mx_err_set(err, "%s: 'scheme' must be one of ARGON2ID, ARGON2I, BLF-CRYPT, "
			  "SHA512-CRYPT, SHA256-CRYPT (not \"%.40s\")",
			  mx_config_where(config_setting_get_member(s, "scheme"), where,
					  sizeof(where)), v);
}

static int auth_config_parse(const config_t *cfg, struct mxkit_auth_config *conf,
			     struct mx_err *err)
{
	const config_setting_t *s;

	memset(conf, 0, sizeof(*conf));
	if (mx_db_config_parse(cfg, &conf->db, err) < 0 ||
	    mx_config_section(cfg, "auth", &s, err) < 0)
		return -1;
	/* A missing section gives every default. */
	if ((s != NULL && mx_config_check_keys(s, auth_keys, err) < 0) ||
	    mx_config_uint(s, "max_failures", 10, 0, FAILURES_MAX, &conf->max_failures, err) < 0 ||
	    mx_config_uint(s, "max_address_failures", 10, 0, FAILURES_MAX,
			   &conf->max_address_failures, err) < 0 ||
	    mx_config_seconds(s, "window", 900, 1, WINDOW_MAX, &conf->window, err) < 0 ||
	    mx_config_bool(s, "hash_upgrade", true, &conf->hash_upgrade, err) < 0 ||
	    parse_scheme(s, conf, err) < 0)
		return -1;
	return 0;
}

int mxkit_auth_config_load(const char *path, struct mxkit_auth_config *conf,
			   struct mx_err *err)
{
	config_t cfg;
	int r;

	config_init(&cfg);
	r = mx_config_load(&cfg, path, err);
	if (r == 0)
		r = auth_config_parse(&cfg, conf, err);
	config_destroy(&cfg);
	return r;
}
