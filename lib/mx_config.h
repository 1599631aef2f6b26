/* mx_config.h: loading and checking the shared libconfig file.
 *
 * /etc/mxkit/mxkit.conf has one section per part (database, dkim, srs,
 * strip, mapd). Each part reads its section with these helpers, which
 * check types and ranges and reject unknown keys, so that `-t` finds
 * every mistake before start. Every message names file and line. */
#ifndef MX_CONFIG_H
#define MX_CONFIG_H

#include <libconfig.h>
#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>

#include "mx_error.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define MX_CONFIG_DEFAULT SYSCONFDIR "/mxkit/mxkit.conf"

/* Parse `path` into cfg (which the caller config_init()s and destroys). */
int mx_config_load(config_t *cfg, const char *path, struct mx_err *err);

/* The named top-level section, or NULL when absent. A present setting of
 * the wrong type is an error (returns -1 with *section_r = NULL). */
int mx_config_section(const config_t *cfg, const char *name,
		      const config_setting_t **section_r, struct mx_err *err);

/* Reject keys of `section` not in the NULL-terminated `allowed` list. */
int mx_config_check_keys(const config_setting_t *section,
			 const char *const *allowed, struct mx_err *err);

/* Typed getters. A missing key (or NULL section) yields the default. */
int mx_config_string(const config_setting_t *section, const char *name,
		     const char *def, const char **value_r, struct mx_err *err);
int mx_config_uint(const config_setting_t *section, const char *name,
		   unsigned def, unsigned min, unsigned max,
		   unsigned *value_r, struct mx_err *err);
int mx_config_bool(const config_setting_t *section, const char *name,
		   bool def, bool *value_r, struct mx_err *err);
/* A duration in seconds: an integer, or a string with suffix s/m/h/d. */
int mx_config_seconds(const config_setting_t *section, const char *name,
		      unsigned def, unsigned min, unsigned max,
		      unsigned *value_r, struct mx_err *err);

/* A secret given inline as `name` or read from the file `name_file`
 * (first line, trailing newline removed). The file must not be
 * readable by others. Exactly one of the two may be set; neither gives
 * an empty secret when `required` is false. */
int mx_config_secret(const config_setting_t *section, const char *name,
		     const char *name_file, bool required,
		     char *buf, size_t size, struct mx_err *err);

/* Read the first line of a secret file into buf, refusing files that are
 * world-readable or not regular. Used by mx_config_secret. */
int mx_secret_file_read(const char *path, char *buf, size_t size,
			struct mx_err *err);

/* A group name (`name`, optional) as a gid: *has_r false when unset;
 * an unknown group is an error naming the file and line. */
int mx_config_group(const config_setting_t *section, const char *name,
		    bool *has_r, gid_t *gid_r, struct mx_err *err);

/* "FILE:LINE" of a setting, for messages. */
const char *mx_config_where(const config_setting_t *s, char *buf, size_t size);

#endif
