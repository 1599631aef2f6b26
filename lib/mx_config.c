/* mx_config.c: libconfig loading with typed, range-checked getters.
 *
 * libconfig reports parse errors with file and line; these helpers keep
 * that habit for semantic errors (wrong type, out of range, unknown key). */
#include "mxkit-config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mx_config.h"

#define MX_CONFIG_GROUP_BUF 16384  /* getgrnam_r buffer: groups with many members */

const char *mx_config_where(const config_setting_t *s, char *buf, size_t size)
{
	const char *file = config_setting_source_file(s);
	(void)snprintf(buf, size, "%s:%u", file != NULL ? file : "(config)",
		       config_setting_source_line(s));
	return buf;
}

int mx_config_load(config_t *cfg, const char *path, struct mx_err *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return mx_err_set(err, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return mx_err_set(err, "%s: not a regular file", path);
	if (config_read_file(cfg, path) != CONFIG_TRUE) {
		const char *file = config_error_file(cfg);
		return mx_err_set(err, "%s:%d: %s", file != NULL ? file : path,
				  config_error_line(cfg), config_error_text(cfg));
	}
	return 0;
}

int mx_config_section(const config_t *cfg, const char *name,
		      const config_setting_t **section_r, struct mx_err *err)
{
	config_setting_t *s = config_lookup(cfg, name);
	char where[PATH_MAX + 16];

	*section_r = NULL;
	if (s == NULL)
		return 0;
	if (!config_setting_is_group(s))
		return mx_err_set(err, "%s: '%s' must be a group { ... }",
				  mx_config_where(s, where, sizeof(where)), name);
	*section_r = s;
	return 0;
}

int mx_config_check_keys(const config_setting_t *section,
			 const char *const *allowed, struct mx_err *err)
{
	char where[PATH_MAX + 16];

	if (section == NULL)
		return 0;
	for (int i = 0; i < config_setting_length(section); i++) {
		const config_setting_t *s = config_setting_get_elem(section, (unsigned)i);
		const char *name = config_setting_name(s);
		bool known = false;
		for (const char *const *a = allowed; *a != NULL && !known; a++)
			known = name != NULL && strcmp(name, *a) == 0;
		if (!known)
			return mx_err_set(err, "%s: unknown setting '%s' in section '%s'",
					  mx_config_where(s, where, sizeof(where)),
					  name != NULL ? name : "?",
					  config_setting_name(section) != NULL ?
					  config_setting_name(section) : "(top)");
	}
	return 0;
}

static const config_setting_t *member(const config_setting_t *section, const char *name)
{
	return section != NULL ? config_setting_get_member(section, name) : NULL;
}

int mx_config_string(const config_setting_t *section, const char *name,
		     const char *def, const char **value_r, struct mx_err *err)
{
	const config_setting_t *s = member(section, name);
	char where[PATH_MAX + 16];

	*value_r = def;
	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return mx_err_set(err, "%s: '%s' must be a string",
				  mx_config_where(s, where, sizeof(where)), name);
	*value_r = config_setting_get_string(s);
	return 0;
}

int mx_config_uint(const config_setting_t *section, const char *name,
		   unsigned def, unsigned min, unsigned max,
		   unsigned *value_r, struct mx_err *err)
{
	const config_setting_t *s = member(section, name);
	char where[PATH_MAX + 16];
	long long v;

	*value_r = def;
	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		return mx_err_set(err, "%s: '%s' must be an integer",
				  mx_config_where(s, where, sizeof(where)), name);
	v = config_setting_get_int64(s);
	if (v < (long long)min || v > (long long)max)
		return mx_err_set(err, "%s: '%s' is %lld, must be between %u and %u",
				  mx_config_where(s, where, sizeof(where)), name, v, min, max);
	*value_r = (unsigned)v;
	return 0;
}

int mx_config_bool(const config_setting_t *section, const char *name,
		   bool def, bool *value_r, struct mx_err *err)
{
	const config_setting_t *s = member(section, name);
	char where[PATH_MAX + 16];

	*value_r = def;
	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return mx_err_set(err, "%s: '%s' must be true or false",
				  mx_config_where(s, where, sizeof(where)), name);
	*value_r = config_setting_get_bool(s) != 0;
	return 0;
}

int mx_config_seconds(const config_setting_t *section, const char *name,
		      unsigned def, unsigned min, unsigned max,
		      unsigned *value_r, struct mx_err *err)
{
	const config_setting_t *s = member(section, name);
	char where[PATH_MAX + 16];
	unsigned long long v, mult = 1;
	const char *str;
	char *end;

	*value_r = def;
	if (s == NULL)
		return 0;
	if (config_setting_type(s) == CONFIG_TYPE_INT ||
	    config_setting_type(s) == CONFIG_TYPE_INT64) {
		long long iv = config_setting_get_int64(s);
		if (iv < 0)
			goto range;
		v = (unsigned long long)iv;
	} else if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		str = config_setting_get_string(s);
		errno = 0;
		if (*str < '0' || *str > '9')
			goto syntax;
		v = strtoull(str, &end, 10);
		if (errno != 0)
			goto range;
		switch (*end) {
		case '\0': case 's': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		default: goto syntax;
		}
		if (*end != '\0' && end[1] != '\0')
			goto syntax;
		if (v > ULLONG_MAX / mult)
			goto range;
		v *= mult;
	} else {
		goto syntax;
	}
	if (v < min || v > max)
		goto range;
	*value_r = (unsigned)v;
	return 0;
syntax:
	return mx_err_set(err, "%s: '%s' must be a duration (e.g. 30, \"90s\", \"5m\", \"2h\", \"21d\")",
			  mx_config_where(s, where, sizeof(where)), name);
range:
	return mx_err_set(err, "%s: '%s' must be between %u and %u seconds",
			  mx_config_where(s, where, sizeof(where)), name, min, max);
}

int mx_secret_file_read(const char *path, char *buf, size_t size, struct mx_err *err)
{
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return mx_err_set(err, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		(void)close(fd);
		return mx_err_set(err, "%s: %s", path, strerror(errno));
	}
	if (!S_ISREG(st.st_mode)) {
		(void)close(fd);
		return mx_err_set(err, "%s: not a regular file", path);
	}
	if ((st.st_mode & S_IROTH) != 0 || (st.st_mode & S_IWOTH) != 0) {
		(void)close(fd);
		return mx_err_set(err, "%s: secret file is accessible by others (mode %04o); chmod o-rwx it",
				  path, (unsigned)(st.st_mode & 07777));
	}
	n = read(fd, buf, size - 1);
	(void)close(fd);
	if (n < 0)
		return mx_err_set(err, "%s: %s", path, strerror(errno));
	buf[n] = '\0';
	if ((size_t)n == size - 1 && memchr(buf, '\n', (size_t)n) == NULL)
		return mx_err_set(err, "%s: secret longer than %zu bytes", path, size - 2);
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

int mx_config_secret(const config_setting_t *section, const char *name,
		     const char *name_file, bool required,
		     char *buf, size_t size, struct mx_err *err)
{
	const char *inline_value, *file;
	char where[PATH_MAX + 16];

	buf[0] = '\0';
	if (mx_config_string(section, name, NULL, &inline_value, err) < 0 ||
	    mx_config_string(section, name_file, NULL, &file, err) < 0)
		return -1;
	if (inline_value != NULL && file != NULL)
		return mx_err_set(err, "%s: set either '%s' or '%s', not both",
				  mx_config_where(section, where, sizeof(where)), name, name_file);
	if (inline_value != NULL) {
		if (strlen(inline_value) >= size)
			return mx_err_set(err, "%s: '%s' is too long",
					  mx_config_where(section, where, sizeof(where)), name);
		memcpy(buf, inline_value, strlen(inline_value) + 1);
		return 0;
	}
	if (file != NULL) {
		if (mx_secret_file_read(file, buf, size, err) < 0)
			return mx_err_prefix(err, "%s: '%s': ",
					     mx_config_where(config_setting_get_member(section, name_file),
							     where, sizeof(where)), name_file);
		return 0;
	}
	if (required)
		return mx_err_set(err, "%s: '%s' or '%s' is required",
				  section != NULL ? mx_config_where(section, where, sizeof(where)) : "config",
				  name, name_file);
	return 0;
}

int mx_config_group(const config_setting_t *section, const char *name,
		    bool *has_r, gid_t *gid_r, struct mx_err *err)
{
	char where[PATH_MAX + 16];
	char buf[MX_CONFIG_GROUP_BUF];
	struct group gr, *grp = NULL;
	const char *group;

	*has_r = false;
	if (mx_config_string(section, name, NULL, &group, err) < 0)
		return -1;
	if (group == NULL)
		return 0;
	if (getgrnam_r(group, &gr, buf, sizeof(buf), &grp) != 0 || grp == NULL)
		return mx_err_set(err, "%s: unknown group '%s' in '%s'",
				  mx_config_where(config_setting_get_member(section, name),
						  where, sizeof(where)), group, name);
	*has_r = true;
	*gid_r = gr.gr_gid;
	return 0;
}
