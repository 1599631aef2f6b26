/* mx_db_config.c: parse the shared `database` section of mxkit.conf. */
#include "mxkit-config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "mx_config.h"
#include "mx_db.h"

static int copy_value(char *dst, size_t size, const char *value,
		      const config_setting_t *section, const char *name,
		      struct mx_err *err)
{
	char where[PATH_MAX + 16];

	if (strlen(value) >= size)
		return mx_err_set(err, "%s: database.%s is too long (at most %zu bytes)",
				  mx_config_where(section, where, sizeof(where)), name, size - 1);
	memcpy(dst, value, strlen(value) + 1);
	return 0;
}

int mx_db_config_parse(const config_t *cfg, struct mx_db_config *out, struct mx_err *err)
{
	static const char *const keys[] = {
		"socket", "host", "port", "name", "user", "password", "password_file",
		"connect_timeout", "timeout", "pool_size", "retry_interval", NULL,
	};
	const config_setting_t *s;
	const char *socket, *host, *name, *user;
	char where[PATH_MAX + 16];

	memset(out, 0, sizeof(*out));
	if (mx_config_section(cfg, "database", &s, err) < 0 ||
	    mx_config_check_keys(s, keys, err) < 0)
		return -1;
	if (mx_config_string(s, "socket", NULL, &socket, err) < 0 ||
	    mx_config_string(s, "host", NULL, &host, err) < 0 ||
	    mx_config_string(s, "name", "mxkit", &name, err) < 0 ||
	    mx_config_string(s, "user", "mxkit", &user, err) < 0 ||
	    mx_config_uint(s, "port", 3306, 1, 65535, &out->port, err) < 0 ||
	    mx_config_seconds(s, "connect_timeout", 3, 1, 60, &out->connect_timeout, err) < 0 ||
	    mx_config_seconds(s, "timeout", 5, 1, 300, &out->rw_timeout, err) < 0 ||
	    mx_config_uint(s, "pool_size", 4, 1, 256, &out->pool_size, err) < 0 ||
	    mx_config_seconds(s, "retry_interval", 1, 0, 60, &out->retry_interval, err) < 0)
		return -1;
	if (socket != NULL && host != NULL)
		return mx_err_set(err, "%s: set database.socket or database.host, not both",
				  mx_config_where(s, where, sizeof(where)));
	if (socket == NULL && host == NULL)
		socket = "/run/mysqld/mysqld.sock";
	if (copy_value(out->socket, sizeof(out->socket), socket != NULL ? socket : "", s, "socket", err) < 0 ||
	    copy_value(out->host, sizeof(out->host), host != NULL ? host : "", s, "host", err) < 0 ||
	    copy_value(out->name, sizeof(out->name), name, s, "name", err) < 0 ||
	    copy_value(out->user, sizeof(out->user), user, s, "user", err) < 0)
		return -1;
	return mx_config_secret(s, "password", "password_file", false,
				out->password, sizeof(out->password), err);
}
