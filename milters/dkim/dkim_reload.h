/* dkim_reload.h: where mxkit-dkim's keys come from over its life.
 *
 * At start the configuration file's keys are joined by the active keys
 * of table dkim_keys (dkim.database_keys); on SIGUSR1 and every
 * dkim.refresh_interval seconds both are read again and the result
 * replaces the configuration for new connections. When the database is
 * unreachable the keys loaded before stay in use (file changes wait for
 * it too); when it was unreachable from the start, domains without a key
 * of their own in the file follow dkim.on_error and the table is tried
 * again every DKIM_DB_RETRY seconds. One reload runs at a time. */
#ifndef DKIM_RELOAD_H
#define DKIM_RELOAD_H

#include <stdbool.h>

#include "dkim_config.h"
#include "mx_error.h"

/* Seconds between tries of an unreachable database. */
#define DKIM_DB_RETRY 10

/* Remember the configuration file and the socket in use (for reloads). */
void dkim_reload_init(const char *path, const char *socket);

/* Add the table's keys to cfg, freshly loaded from the file, when it
 * asks for them (marks it db_stale when the database is unreachable).
 * Returns 0, or -1 with err when the database pool cannot be set up. */
int dkim_reload_db_keys(struct dkim_config *cfg, bool check_perms, struct mx_err *err);

/* Read the file and the table again and apply them (SIGUSR1). */
void dkim_reload_now(void);

/* Start the periodic refresh (call after mx_milter_reload_start(), so
 * that the thread inherits its signal mask). */
int dkim_reload_refresh_start(struct mx_err *err);

/* Release the database pool (at exit). */
void dkim_reload_shutdown(void);

#endif
