/* dkim_reload.c: loading mxkit-dkim's keys at start, on SIGUSR1 and
 * periodically (see dkim_reload.h). */
#include "mxkit-config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dkim_dbkeys.h"
#include "dkim_milter.h"
#include "dkim_reload.h"
#include "mx_log.h"

static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;
/* All under reload_lock. */
static const char *reload_path;
static char reload_socket[DKIM_PATH_MAX];
static struct mx_db_pool *pool;
static bool db_loaded;          /* the configuration in use holds the table's keys */
static bool db_stale;           /* it wants them but could not read them */
static unsigned refresh_every;  /* its refresh_interval */
static unsigned since_reload;   /* seconds */
static size_t last_nkeys;

void dkim_reload_init(const char *path, const char *socket)
{
	pthread_mutex_lock(&reload_lock);
	reload_path = path;
	snprintf(reload_socket, sizeof(reload_socket), "%s", socket);
	pthread_mutex_unlock(&reload_lock);
}

/* Under reload_lock. Returns the table's result, MX_TEMP when unread. */
static enum mx_result db_keys_locked(struct dkim_config *cfg, bool check_perms)
{
	struct mx_err err;
	enum mx_result r;

	if (!cfg->db_keys)
		return MX_NOTFOUND;
	if (pool == NULL && (pool = mx_db_pool_new(&cfg->db, &err)) == NULL) {
		mx_log_err("database: %s", err.text);
		cfg->db_stale = true;
		return MX_TEMP;
	}
	r = dkim_dbkeys_load(pool, cfg, check_perms, &err);
	if (r == MX_TEMP) {
		cfg->db_stale = true;
		mx_log_warn("table dkim_keys not read (%s)", err.text);
	}
	return r;
}

int dkim_reload_db_keys(struct dkim_config *cfg, bool check_perms, struct mx_err *err)
{
	pthread_mutex_lock(&reload_lock);
	if (db_keys_locked(cfg, check_perms) == MX_TEMP && pool == NULL) {
		pthread_mutex_unlock(&reload_lock);
		return mx_err_set(err, "cannot set up the database connection pool");
	}
	db_loaded = cfg->db_keys && !cfg->db_stale;
	db_stale = cfg->db_stale;
	refresh_every = cfg->refresh_interval;
	last_nkeys = cfg->nkeys;
	since_reload = 0;
	if (cfg->db_stale)
		mx_log_warn("database unreachable: domains without a key in the file follow on_error"
			    " until table dkim_keys can be read (tried every %d s)", DKIM_DB_RETRY);
	pthread_mutex_unlock(&reload_lock);
	return 0;
}

static void reload_locked(bool periodic)
{
	struct dkim_config *cfg = malloc(sizeof(*cfg));
	struct mx_err err;
	size_t nkeys;

	since_reload = 0;
	if (cfg == NULL) {
		mx_log_err("reload: out of memory; keeping the old configuration");
		return;
	}
	if (dkim_config_load(reload_path, true, cfg, &err) < 0) {
		mx_log_err("reload failed, keeping the old configuration: %s", err.text);
		free(cfg);
		return;
	}
	if (!periodic && strcmp(cfg->socket, reload_socket) != 0)
		mx_log_warn("reload: 'socket' changed; restart mxkit-dkim to apply it");
	if (db_keys_locked(cfg, true) == MX_TEMP && db_loaded) {
		mx_log_warn("reload: database unreachable, keeping the configuration and keys in use");
		dkim_config_free(cfg);
		free(cfg);
		return;
	}
	nkeys = cfg->nkeys;
	db_loaded = cfg->db_keys && !cfg->db_stale;
	db_stale = cfg->db_stale;
	refresh_every = cfg->refresh_interval;
	if (dkim_milter_set_config(cfg, &err) < 0) {
		mx_log_err("reload failed, keeping the old configuration: %s", err.text);
		dkim_config_free(cfg);
		free(cfg);
		return;
	}
	if (!periodic || nkeys != last_nkeys)
		mx_log_info("configuration reloaded from %s: %zu key(s)", reload_path, nkeys);
	else
		mx_log_debug("configuration refreshed from %s: %zu key(s)", reload_path, nkeys);
	last_nkeys = nkeys;
}

void dkim_reload_now(void)
{
	pthread_mutex_lock(&reload_lock);
	reload_locked(false);
	pthread_mutex_unlock(&reload_lock);
}

/* Wakes every second; reloads when refresh_interval has passed, or every
 * DKIM_DB_RETRY seconds while the table could not be read. */
static void *refresh_thread(void *arg)
{
	(void)arg;
	for (;;) {
		unsigned every;

		sleep(1);
		pthread_mutex_lock(&reload_lock);
		since_reload++;
		every = refresh_every;
		if (db_stale && (every == 0 || every > DKIM_DB_RETRY))
			every = DKIM_DB_RETRY;
		if (every != 0 && since_reload >= every)
			reload_locked(true);
		pthread_mutex_unlock(&reload_lock);
	}
	return NULL;
}

int dkim_reload_refresh_start(struct mx_err *err)
{
	pthread_t t;
	int e;

	if ((e = pthread_create(&t, NULL, refresh_thread, NULL)) != 0)
		return mx_err_set(err, "cannot start the refresh thread: %s", strerror(e));
	(void)pthread_detach(t);
	return 0;
}

void dkim_reload_shutdown(void)
{
	pthread_mutex_lock(&reload_lock);
	mx_db_pool_free(pool);
	pool = NULL;
	pthread_mutex_unlock(&reload_lock);
}
