/* module.c: entry points of libauthdb_mxkit.so and the per-process state
 * shared by its passdb and userdb.
 *
 * Dovecot loads this module lazily when a passdb or userdb names the
 * driver "mxkit"; authdb_mxkit_init() registers both interfaces. The
 * state is process-wide without a lock: Dovecot's auth and auth-worker
 * processes are single-threaded, and only this file touches it. */
#include "auth-common.h"
#include "passdb.h"
#include "userdb.h"

#include <string.h>

#include "mx_config.h"
#include "mxkit-auth.h"

struct module;

extern struct passdb_module_interface mxkit_passdb;
extern struct userdb_module_interface mxkit_userdb;

const char *authdb_mxkit_version = DOVECOT_ABI_VERSION;
void authdb_mxkit_init(struct module *module);
void authdb_mxkit_deinit(void);

static struct {
	unsigned refs;
	char path[1024];
	struct mxkit_auth_config conf;
	struct mx_db_pool *pool;
} state;

const char *mxkit_auth_args_path(const char *driver, const char *args)
{
	const char *const *argv = t_strsplit_spaces(args, " ");
	const char *path = NULL;

	for (; *argv != NULL; argv++) {
		if (str_begins(*argv, "mxkit_config="))
			path = *argv + strlen("mxkit_config=");
		else
			i_fatal("%s mxkit: unknown argument '%s' (expected mxkit_config=PATH)",
				driver, *argv);
	}
	if (path != NULL && path[0] != '/')
		i_fatal("%s mxkit: mxkit_config must be an absolute path, not '%s'", driver, path);
	return path;
}

void mxkit_auth_state_ref(const char *path)
{
	struct mx_err err;

	if (path == NULL)
		path = MX_CONFIG_DEFAULT;
	if (state.refs++ > 0) {
		if (strcmp(state.path, path) != 0)
			i_fatal("mxkit: passdb and userdb name different configuration files "
				"(%s and %s)", state.path, path);
		return;
	}
	if (i_strocpy(state.path, path, sizeof(state.path)) < 0)
		i_fatal("mxkit: configuration path too long: %s", path);
	if (mxkit_auth_config_load(path, &state.conf, &err) < 0)
		i_fatal("mxkit: %s", err.text);
}

void mxkit_auth_state_unref(void)
{
	i_assert(state.refs > 0);
	if (--state.refs > 0)
		return;
	if (state.pool != NULL) {
		mx_db_pool_free(state.pool);
		state.pool = NULL;
	}
	memset(&state.conf.db.password, 0, sizeof(state.conf.db.password));
}

const struct mxkit_auth_config *mxkit_auth_conf(void)
{
	return &state.conf;
}

struct mx_db_pool *mxkit_auth_pool(struct mx_err *err)
{
	if (state.pool == NULL)
		state.pool = mx_db_pool_new(&state.conf.db, err);
	return state.pool;
}

void authdb_mxkit_init(struct module *module ATTR_UNUSED)
{
	passdb_register_module(&mxkit_passdb);
	userdb_register_module(&mxkit_userdb);
}

void authdb_mxkit_deinit(void)
{
	passdb_unregister_module(&mxkit_passdb);
	userdb_unregister_module(&mxkit_userdb);
}
