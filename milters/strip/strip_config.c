/* strip_config.c: reading the `strip` section (see strip_config.h). */
#include "mxkit-config.h"

#include <string.h>

#include <libconfig.h>

#include "mx_config.h"
#include "strip_config.h"

static const char *const section_keys[] = {
	"socket", "timeout", "default_rules", "rules", MX_DAEMON_CONFIG_KEYS, NULL,
};

static int load_section(const config_t *lc, const char *name, struct strip_config *cfg,
			struct mx_err *err)
{
	const config_setting_t *sec, *list;
	const char *s;
	bool defaults;

	if (mx_config_section(lc, "strip", &sec, err) < 0 ||
	    mx_config_check_keys(sec, section_keys, err) < 0 ||
	    mx_config_string(sec, "socket", "unix:/var/spool/postfix/mxkit/strip.sock", &s, err) < 0)
		return -1;
	if (strlen(s) >= sizeof(cfg->socket))
		return mx_err_set(err, "%s: socket longer than %zu bytes", name, sizeof(cfg->socket) - 1);
	memcpy(cfg->socket, s, strlen(s) + 1);
	if (mx_daemon_config_parse(sec, &cfg->daemon, err) < 0 ||
	    mx_config_uint(sec, "timeout", 30, 1, 3600, &cfg->timeout, err) < 0 ||
	    mx_config_bool(sec, "default_rules", true, &defaults, err) < 0)
		return -1;
	if (defaults && strip_rules_add_defaults(&cfg->rules, err) < 0)
		return -1;
	list = sec != NULL ? config_setting_get_member(sec, "rules") : NULL;
	if (list != NULL && strip_rules_add_list(&cfg->rules, list, err) < 0)
		return -1;
	return 0;
}

static int load(config_t *lc, const char *name, struct strip_config *cfg, struct mx_err *err)
{
	int rc = load_section(lc, name, cfg, err);

	config_destroy(lc);
	if (rc < 0)
		strip_config_free(cfg);
	return rc;
}

int strip_config_load(const char *path, struct strip_config *cfg, struct mx_err *err)
{
	config_t lc;

	memset(cfg, 0, sizeof(*cfg));
	config_init(&lc);
	if (mx_config_load(&lc, path, err) < 0) {
		config_destroy(&lc);
		return -1;
	}
	return load(&lc, path, cfg, err);
}

int strip_config_load_string(const char *text, struct strip_config *cfg, struct mx_err *err)
{
	config_t lc;

	memset(cfg, 0, sizeof(*cfg));
	config_init(&lc);
	if (config_read_string(&lc, text) != CONFIG_TRUE) {
		mx_err_set(err, "(config):%d: %s", config_error_line(&lc), config_error_text(&lc));
		config_destroy(&lc);
		return -1;
	}
	return load(&lc, "(config)", cfg, err);
}

void strip_config_free(struct strip_config *cfg)
{
	strip_rules_free(&cfg->rules);
}
