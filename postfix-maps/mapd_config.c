/* mapd_config.c: parse and check the `mapd` and `database` sections. */
#include "mxkit-config.h"

#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapd_config.h"
#include "mx_config.h"
#include "mx_srs_config.h"

#define CACHE_SIZE_MAX 10000000u
#define CONNECTIONS_MAX 100000u
#define REPLY_MAX (16u * 1024 * 1024)
#define WORKERS_MAX 256u

static const char *const mapd_keys[] = {
	"listen", "allow_remote", "recipient_delimiter", "cache_ttl", "negative_ttl",
	"cache_size", "idle_timeout", "request_timeout", "max_connections", "max_reply",
	"workers", "socket_mode", "socket_group", "domains_ttl", "domains_refresh",
	MX_DAEMON_CONFIG_KEYS, NULL,
};

static int parse_listen(const config_setting_t *section, bool allow_remote,
			struct mapd_config *conf, struct mx_err *err)
{
	const config_setting_t *list = config_setting_get_member(section, "listen");
	char where[PATH_MAX + 16];
	int n;

	if (list == NULL)
		return mx_err_set(err, "%s: 'listen' is required in section 'mapd'",
				  mx_config_where(section, where, sizeof(where)));
	if (config_setting_type(list) == CONFIG_TYPE_STRING) {
		n = 1;
	} else if (config_setting_is_array(list) || config_setting_is_list(list)) {
		n = config_setting_length(list);
	} else {
		return mx_err_set(err, "%s: 'listen' must be a string or a list of strings",
				  mx_config_where(list, where, sizeof(where)));
	}
	if (n == 0 || n > MAPD_LISTEN_MAX)
		return mx_err_set(err, "%s: 'listen' needs 1 to %d addresses",
				  mx_config_where(list, where, sizeof(where)), MAPD_LISTEN_MAX);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_type(list) == CONFIG_TYPE_STRING ?
			list : config_setting_get_elem(list, (unsigned)i);
		struct mapd_endpoint *ep = &conf->listen[i];
		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return mx_err_set(err, "%s: 'listen' entries must be strings",
					  mx_config_where(list, where, sizeof(where)));
		if (mapd_endpoint_parse(config_setting_get_string(e), ep, err) < 0)
			return mx_err_prefix(err, "%s: listen: ", mx_config_where(list, where, sizeof(where)));
		if (!ep->is_loopback && !allow_remote)
			return mx_err_set(err, "%s: listen: '%s' is not a loopback address; "
					  "set allow_remote = true to accept remote clients",
					  mx_config_where(list, where, sizeof(where)), ep->text);
		for (int j = 0; j < i; j++)
			if (strcmp(conf->listen[j].text, ep->text) == 0)
				return mx_err_set(err, "%s: listen: '%s' is given twice",
						  mx_config_where(list, where, sizeof(where)), ep->text);
	}
	conf->nlisten = (unsigned)n;
	return 0;
}

static int parse_delimiter(const config_setting_t *section, struct mapd_config *conf,
			   struct mx_err *err)
{
	char where[PATH_MAX + 16];
	const char *d;
	int n;

	if (mx_config_string(section, "recipient_delimiter", "+", &d, err) < 0)
		return -1;
	for (const char *p = d; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '@')
			return mx_err_set(err, "%s: 'recipient_delimiter' may hold only printable ASCII"
					  " other than '@'",
					  mx_config_where(config_setting_get_member(section, "recipient_delimiter"),
							  where, sizeof(where)));
	n = snprintf(conf->delimiter, sizeof(conf->delimiter), "%s", d);
	if (n < 0 || (size_t)n >= sizeof(conf->delimiter))
		return mx_err_set(err, "%s: 'recipient_delimiter' is longer than %d bytes",
				  mx_config_where(config_setting_get_member(section, "recipient_delimiter"),
						  where, sizeof(where)), MAPD_DELIMITER_MAX);
	return 0;
}

static int parse_socket_access(const config_setting_t *section, struct mapd_config *conf,
			       struct mx_err *err)
{
	char where[PATH_MAX + 16];
	const char *mode;
	unsigned v = 0;

	if (mx_config_string(section, "socket_mode", "0660", &mode, err) < 0 ||
	    mx_config_group(section, "socket_group", &conf->has_socket_group, &conf->socket_gid, err) < 0)
		return -1;
	if (mode[0] == '\0' || strlen(mode) > 4)
		goto bad_mode;
	for (const char *p = mode; *p != '\0'; p++) {
		if (*p < '0' || *p > '7')
			goto bad_mode;
		v = v * 8 + (unsigned)(*p - '0');
	}
	if (v > 0777)
		goto bad_mode;
	conf->socket_mode = v;
	return 0;
bad_mode:
	return mx_err_set(err, "%s: 'socket_mode' must be an octal string such as \"0660\"",
			  mx_config_where(config_setting_get_member(section, "socket_mode"),
					  where, sizeof(where)));
}

/* The optional `srs` section: keyed at once, so that the secrets are
 * wiped from the settings before anything else happens. */
static int parse_srs(const config_t *cfg, struct mapd_config *conf, struct mx_err *err)
{
	const config_setting_t *s;
	struct mx_srs_settings *set;
	int r;

	if (mx_config_section(cfg, "srs", &s, err) < 0)
		return -1;
	if (s == NULL)
		return 0;
	if ((set = malloc(sizeof(*set))) == NULL)
		return mx_err_set(err, "out of memory");
	r = mx_srs_config_read(s, set, err);
	if (r == 0)
		r = mx_srs_create(set, &conf->srs, err);
	if (r == 0)
		memcpy(conf->srs_domain, set->domain, sizeof(conf->srs_domain));
	mx_srs_settings_wipe(set);
	free(set);
	return r;
}

int mapd_config_parse(const config_t *cfg, struct mapd_config *conf, struct mx_err *err)
{
	const config_setting_t *s;

	memset(conf, 0, sizeof(*conf));
	if (mx_db_config_parse(cfg, &conf->db, err) < 0 ||
	    mx_config_section(cfg, "mapd", &s, err) < 0)
		return -1;
	if (s == NULL)
		return mx_err_set(err, "section 'mapd' is missing");
	if (mx_config_check_keys(s, mapd_keys, err) < 0 ||
	    mx_config_bool(s, "allow_remote", false, &conf->allow_remote, err) < 0 ||
	    parse_listen(s, conf->allow_remote, conf, err) < 0 ||
	    parse_delimiter(s, conf, err) < 0 ||
	    mx_config_seconds(s, "cache_ttl", 60, 0, 86400, &conf->cache_ttl, err) < 0 ||
	    mx_config_seconds(s, "negative_ttl", 10, 0, 86400, &conf->negative_ttl, err) < 0 ||
	    mx_config_uint(s, "cache_size", 200000, 0, CACHE_SIZE_MAX, &conf->cache_size, err) < 0 ||
	    mx_config_seconds(s, "idle_timeout", 300, 1, 86400, &conf->idle_timeout, err) < 0 ||
	    mx_config_seconds(s, "request_timeout", 10, 1, 3600, &conf->request_timeout, err) < 0 ||
	    mx_config_uint(s, "max_connections", 1000, 1, CONNECTIONS_MAX, &conf->max_connections, err) < 0 ||
	    mx_config_uint(s, "max_reply", 100000, 64, REPLY_MAX, &conf->max_reply, err) < 0 ||
	    mx_config_uint(s, "workers", conf->db.pool_size, 1, WORKERS_MAX, &conf->workers, err) < 0 ||
	    mx_config_seconds(s, "domains_ttl", 60, 0, 86400, &conf->domains_ttl, err) < 0 ||
	    mx_config_seconds(s, "domains_refresh", 10, 1, 86400, &conf->domains_refresh, err) < 0 ||
	    parse_socket_access(s, conf, err) < 0 ||
	    mx_daemon_config_parse(s, &conf->daemon, err) < 0 ||
	    parse_srs(cfg, conf, err) < 0)
		return -1;
	/* A snapshot must be loaded again before it is too old to use. */
	if (conf->domains_ttl > 0 && conf->domains_refresh >= conf->domains_ttl)
		conf->domains_refresh = conf->domains_ttl > 1 ? conf->domains_ttl / 2 : 1;
	return 0;
}

void mapd_config_free(struct mapd_config *conf)
{
	mx_srs_destroy(&conf->srs);
}

int mapd_config_load(const char *path, struct mapd_config *conf, struct mx_err *err)
{
	config_t cfg;
	int r;

	config_init(&cfg);
	memset(conf, 0, sizeof(*conf));
	r = mx_config_load(&cfg, path, err);
	if (r == 0)
		r = mapd_config_parse(&cfg, conf, err);
	config_destroy(&cfg);
	return r;
}
