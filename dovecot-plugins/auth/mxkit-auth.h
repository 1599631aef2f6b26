/* mxkit-auth.h: shared state of the Dovecot passdb/userdb driver "mxkit".
 *
 * The driver reads accounts, app passwords and the lockout counters from
 * the mxkit MariaDB database through lib/mx_db. Both the passdb and the
 * userdb are flagged `blocking`, so every lookup runs in an `auth -w`
 * worker process (one request at a time, single-threaded): the auth master
 * process never touches the database. A successful passdb lookup also
 * returns the userdb fields (as userdb_* extra fields), so that a
 * `userdb { driver = prefetch }` placed before the mxkit userdb answers a
 * login's userdb lookup without a second worker round trip; the mxkit
 * userdb serves the lookups without a login (LMTP, doveadm, iteration).
 * One state per process, created at
 * preinit (configuration, read while still root) and connected lazily on
 * the first lookup (only workers ever connect). */
#ifndef MXKIT_AUTH_H
#define MXKIT_AUTH_H

#include <stdbool.h>

#include "mx_db.h"
#include "mx_error.h"
#include "mx_result.h"

/* Longest password scheme name kept from the configuration. */
#define MXKIT_SCHEME_MAX 32
/* Most app passwords checked per login (the newest win). */
#define MXKIT_APP_PASSWORDS_MAX 64
/* Longest stored hash accepted from the database. */
#define MXKIT_HASH_MAX 1024
/* Longest userdb value (home, mail: VARCHAR(255) of up to 4-byte chars). */
#define MXKIT_USERDB_VALUE_MAX 1024

/* The userdb columns of the users table, in this order in every query. */
enum mxkit_userdb_column {
	MXKIT_UDB_HOME, MXKIT_UDB_MAIL, MXKIT_UDB_UID, MXKIT_UDB_GID, MXKIT_UDB_QUOTA,
	MXKIT_UDB_COUNT
};

struct mxkit_auth_config {
	struct mx_db_config db;
	unsigned max_failures;         /* per account within window; 0: off */
	unsigned max_address_failures; /* per remote address; 0: off */
	unsigned window;               /* seconds */
	char scheme[MXKIT_SCHEME_MAX]; /* target scheme of the hash upgrade */
	bool hash_upgrade;
};

/* Parse the `auth` and `database` sections of `path` into conf. */
int mxkit_auth_config_load(const char *path, struct mxkit_auth_config *conf,
			   struct mx_err *err);

/* The process-wide state: configuration loaded once (first preinit), the
 * pool created on first use. `path` NULL means the default file. Exits
 * through i_fatal on a configuration error, so that the auth service does
 * not start with a broken configuration. */
void mxkit_auth_state_ref(const char *path);
void mxkit_auth_state_unref(void);
const struct mxkit_auth_config *mxkit_auth_conf(void);
/* The pool, or NULL with err set when it cannot be created. */
struct mx_db_pool *mxkit_auth_pool(struct mx_err *err);

/* Parse the module args ("mxkit_config=PATH" or empty): the path, or NULL
 * for the default. Fatal on an unknown argument. */
const char *mxkit_auth_args_path(const char *driver, const char *args);

/* An account as read for a login, with the failures counted for the
 * lockout inside the configured window. */
struct mxkit_account {
	bool exists;
	char id[24];
	char address[321];
	char password[MXKIT_HASH_MAX];
	bool user_active;
	bool domain_active;
	bool app_passwords_only;
	unsigned long account_failures;
	unsigned long address_failures;
	/* userdb columns; "" for NULL */
	char userdb[MXKIT_UDB_COUNT][MXKIT_USERDB_VALUE_MAX];
};

/* Look the account up by (lowercased) address and count its failures and
 * those of the remote address (NULL: not counted) in one query (a second
 * one counts the address for an unknown user): MX_FOUND (with
 * acct->exists false for an unknown user) or MX_TEMP with err set. */
enum mx_result mxkit_account_get(struct mx_db_pool *pool,
				 const struct mxkit_auth_config *conf,
				 const char *address, const char *remote,
				 struct mxkit_account *acct, struct mx_err *err);

/* Lockout (lockout.c): what is locked ("account", "remote address") given
 * the counts of mxkit_account_get, or NULL. */
const char *mxkit_lockout_locked(const struct mxkit_auth_config *conf,
				 const struct mxkit_account *acct, bool have_remote);
/* Record a failed attempt; account may be NULL (unknown user). */
int mxkit_lockout_fail(struct mx_db_pool *pool,
		       const struct mxkit_auth_config *conf,
		       const char *account, const char *address,
		       struct mx_err *err);
/* A success: forget the account's failures. */
int mxkit_lockout_reset(struct mx_db_pool *pool, const char *account,
			struct mx_err *err);

/* Hash strength (hash.c): true when a hash of stored_scheme should be
 * replaced by one of target_scheme. */
bool mxkit_hash_weaker(const char *stored_scheme, const char *target_scheme);

/* userdb fields (userdb.c) from the columns of enum mxkit_userdb_column
 * (NULL or "": no field, so dovecot.conf's defaults apply). from_passdb:
 * set them as the passdb's userdb_* extra fields for `userdb { driver =
 * prefetch }`, else as the userdb reply. */
struct auth_request;
void mxkit_userdb_export(struct auth_request *request, const char *const *columns,
			 bool from_passdb);

#endif
