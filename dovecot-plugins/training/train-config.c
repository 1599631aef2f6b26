/* train-config.c: the `training` section of mxkit.conf for mxkit-train. */
#include "mxkit-config.h"

#include <stdio.h>
#include <string.h>

#include "mx_config.h"
#include "mx_log.h"
#include "train.h"

static const char *const train_keys[] = {
	"backend", "rspamd_host", "rspamd_port", "rspamd_password", "rspamd_password_file",
	"timeout", "max_attempts", "batch", "lock_wait", "spam_command", "ham_command",
	"log_level", "spool_dir", "spool_max_size", NULL
};

static int train_spool_section_parse(const config_setting_t *s, struct train_spool_config *out,
				     struct mx_err *err)
{
	const char *dir;

	if (mx_config_string(s, "spool_dir", TRAIN_SPOOL_DIR_DEFAULT, &dir, err) < 0 ||
	    mx_config_uint(s, "spool_max_size", TRAIN_SPOOL_MAX_DEFAULT, 64 * 1024, 4095U << 20,
			   &out->max_size, err) < 0)
		return -1;
	if (dir[0] != '/' || strlen(dir) >= sizeof(out->dir)) {
		char where[128];
		mx_config_where(config_setting_get_member(s, "spool_dir"), where, sizeof(where));
		return mx_err_set(err, "%s: training.spool_dir: \"%s\" is not an absolute path "
				  "shorter than %zu characters", where, dir, sizeof(out->dir));
	}
	memcpy(out->dir, dir, strlen(dir) + 1);
	return 0;
}

int train_spool_config_parse(const config_t *cfg, struct train_spool_config *out,
			     struct mx_err *err)
{
	const config_setting_t *s;

	memset(out, 0, sizeof(*out));
	if (mx_config_section(cfg, "training", &s, err) < 0)
		return -1;
	return train_spool_section_parse(s, out, err);
}

static int train_argv_parse(const config_setting_t *section, const char *name,
			    char argv[][TRAIN_ARG_MAX], unsigned *argc_r, struct mx_err *err)
{
	const config_setting_t *list;
	char where[128];
	int i, n;

	*argc_r = 0;
	list = section != NULL ? config_setting_get_member(section, name) : NULL;
	if (list == NULL)
		return 0;
	mx_config_where(list, where, sizeof(where));
	if (!config_setting_is_array(list) && !config_setting_is_list(list))
		return mx_err_set(err, "%s: training.%s must be a list of strings", where, name);
	n = config_setting_length(list);
	if (n < 1 || n >= TRAIN_ARGV_MAX)
		return mx_err_set(err, "%s: training.%s needs 1 to %d strings", where, name,
				  TRAIN_ARGV_MAX - 1);
	for (i = 0; i < n; i++) {
		const char *s = config_setting_get_string_elem(list, i);
		if (s == NULL)
			return mx_err_set(err, "%s: training.%s[%d] is not a string", where, name, i);
		if (strlen(s) >= TRAIN_ARG_MAX)
			return mx_err_set(err, "%s: training.%s[%d] is longer than %d characters",
					  where, name, i, TRAIN_ARG_MAX - 1);
		memcpy(argv[i], s, strlen(s) + 1);
	}
	if (argv[0][0] != '/')
		return mx_err_set(err, "%s: training.%s: the program must be an absolute path", where, name);
	*argc_r = (unsigned)n;
	return 0;
}

int train_config_parse(const config_t *cfg, struct train_config *out, struct mx_err *err)
{
	const config_setting_t *s;
	const char *backend, *host, *level;

	memset(out, 0, sizeof(*out));
	if (mx_config_section(cfg, "training", &s, err) < 0)
		return -1;
	if (s != NULL && mx_config_check_keys(s, train_keys, err) < 0)
		return -1;
	if (mx_config_string(s, "backend", "rspamd", &backend, err) < 0 ||
	    mx_config_string(s, "rspamd_host", "127.0.0.1", &host, err) < 0 ||
	    mx_config_uint(s, "rspamd_port", 11334, 1, 65535, &out->rspamd_port, err) < 0 ||
	    mx_config_secret(s, "rspamd_password", "rspamd_password_file", false,
			     out->rspamd_password, sizeof(out->rspamd_password), err) < 0 ||
	    mx_config_seconds(s, "timeout", 10, 1, 300, &out->timeout, err) < 0 ||
	    mx_config_uint(s, "max_attempts", 20, 1, 1000, &out->max_attempts, err) < 0 ||
	    mx_config_uint(s, "batch", 100, 1, 10000, &out->batch, err) < 0 ||
	    mx_config_seconds(s, "lock_wait", 60, 0, 3600, &out->lock_wait, err) < 0 ||
	    mx_config_string(s, "log_level", "info", &level, err) < 0 ||
	    train_argv_parse(s, "spam_command", out->spam_argv, &out->spam_argc, err) < 0 ||
	    train_argv_parse(s, "ham_command", out->ham_argv, &out->ham_argc, err) < 0 ||
	    train_spool_section_parse(s, &out->spool, err) < 0)
		return -1;
	if (strlen(host) >= sizeof(out->rspamd_host))
		return mx_err_set(err, "training.rspamd_host: longer than %zu characters",
				  sizeof(out->rspamd_host) - 1);
	memcpy(out->rspamd_host, host, strlen(host) + 1);
	out->log_level = mx_log_level_parse(level);
	if (out->log_level < 0)
		return mx_err_set(err, "training.log_level: unknown level \"%s\"", level);
	if (strcmp(backend, "rspamd") == 0) {
		out->backend = TRAIN_RSPAMD;
	} else if (strcmp(backend, "command") == 0) {
		out->backend = TRAIN_COMMAND;
		if (out->spam_argc == 0 || out->ham_argc == 0)
			return mx_err_set(err, "training: backend \"command\" needs spam_command and ham_command");
	} else {
		return mx_err_set(err, "training.backend: \"%s\" is neither \"rspamd\" nor \"command\"",
				  backend);
	}
	return 0;
}
