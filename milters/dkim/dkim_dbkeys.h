/* dkim_dbkeys.h: the signing keys of table dkim_keys (sql/schema.sql).
 *
 * Rows with active = 1 are appended to a configuration's keys. A row
 * whose key cannot be used (missing or loose file, bad PEM, algorithm
 * column that does not match the key) is logged and kept as a broken
 * entry (pkey NULL) so that its domain's mail follows dkim.on_error
 * instead of leaving unsigned. */
#ifndef DKIM_DBKEYS_H
#define DKIM_DBKEYS_H

#include <stdbool.h>

#include "dkim_config.h"
#include "mx_db.h"
#include "mx_error.h"
#include "mx_result.h"

/* Append the active keys. MX_FOUND/MX_NOTFOUND (rows or none), or MX_TEMP
 * with err when the table could not be read: cfg's keys are then as
 * they were before the call. */
enum mx_result dkim_dbkeys_load(struct mx_db_pool *pool, struct dkim_config *cfg,
				bool check_perms, struct mx_err *err);

#endif
