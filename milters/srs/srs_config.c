/* srs_config.c: reading mxkit-srs's configuration (see srs_config.h). */
#include "mxkit-config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>
#include <openssl/crypto.h>

#include "mx_config.h"
#include "mx_srs_config.h"
#include "srs_config.h"

static int read_milter(const config_setting_t *sec, struct srs_config *cfg, struct mx_err *err)
{
	char where[PATH_MAX + 16];
	const char *s, *d;

	if (mx_config_string(sec, "socket", "unix:/var/spool/postfix/mxkit/srs.sock", &s, err) < 0 ||
	    mx_config_string(sec, "recipient_delimiter", "+", &d, err) < 0 ||
	    mx_config_uint(sec, "timeout", 30, 1, 3600, &cfg->timeout, err) < 0 ||
	    mx_config_group(sec, "socket_group", &cfg->has_socket_group, &cfg->socket_gid, err) < 0 ||
	    mx_daemon_config_parse(sec, &cfg->daemon, err) < 0)
		return -1;
	if (snprintf(cfg->socket, sizeof(cfg->socket), "%s", s) >= (int)sizeof(cfg->socket))
		return mx_err_set(err, "%s: 'socket' longer than %zu bytes",
				  mx_config_where(sec, where, sizeof(where)), sizeof(cfg->socket) - 1);
	if (strchr(d, '@') != NULL ||
	    snprintf(cfg->delimiter, sizeof(cfg->delimiter), "%s", d) >= (int)sizeof(cfg->delimiter))
		return mx_err_set(err, "%s: 'recipient_delimiter' must be at most %d characters, not '@'",
				  mx_config_where(sec, where, sizeof(where)), SRS_DELIMITER_MAX);
	return 0;
}

static int read_all(const config_t *lc, struct srs_config *cfg, struct mx_err *err)
{
	const config_setting_t *sec;
	struct mx_srs_settings *set;
	int r;

	if (mx_config_section(lc, "srs", &sec, err) < 0 || mx_db_config_parse(lc, &cfg->db, err) < 0)
		return -1;
	if ((set = malloc(sizeof(*set))) == NULL)
		return mx_err_set(err, "out of memory");
	r = mx_srs_config_read(sec, set, err);  /* also: a missing section is an error */
	if (r == 0)
		r = read_milter(sec, cfg, err);
	if (r == 0)
		r = mx_srs_create(set, &cfg->srs, err);
	if (r == 0)
		memcpy(cfg->domain, set->domain, sizeof(cfg->domain));
	mx_srs_settings_wipe(set);
	free(set);
	return r;
}

int srs_config_load(const char *path, struct srs_config *cfg, struct mx_err *err)
{
	config_t lc;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	config_init(&lc);
	r = mx_config_load(&lc, path, err);
	if (r == 0)
		r = read_all(&lc, cfg, err);
	config_destroy(&lc);
	if (r < 0)
		srs_config_free(cfg);
	return r;
}

void srs_config_free(struct srs_config *cfg)
{
	mx_srs_destroy(&cfg->srs);
	OPENSSL_cleanse(&cfg->db, sizeof(cfg->db));
}
