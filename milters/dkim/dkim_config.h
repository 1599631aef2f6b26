/* dkim_config.h: the `dkim` section of mxkit.conf and the keys it names.
 *
 *   dkim = {
 *     socket = "unix:/var/spool/postfix/mxkit/dkim.sock";  # milter socket syntax
 *     canonicalization = "relaxed/relaxed";   # or simple/simple, relaxed/simple, ...
 *     internal_networks = [ "127.0.0.0/8", "::1/128" ];
 *     sign_subdomains = false;                # a parent domain's key signs subdomains
 *     expire = "0";                           # x= after this many seconds; 0: no x=
 *     on_error = "tempfail";                  # or "accept": key or signing failure
 *     timeout = 30;                           # MTA connection timeout, seconds
 *     user = "mxkit"; group = "postfix";      # mx_daemon settings: privileges
 *     pid_file = ""; log_file = ""; log_level = "info";
 *     database_keys = false;                  # also the active keys of table dkim_keys
 *     refresh_interval = "300";               # re-read config and table every N s; 0: never
 *     key_dir = "/etc/mxkit/dkim";            # mxkit-dkim-keygen: where new keys go
 *     resolver = "";                          # mxkit-dkim-keygen: HOST[:PORT]; "": resolv.conf
 *     keys = ( { domain = "example.org"; selector = "2026r";
 *                key = "/etc/mxkit/dkim/example.org.2026r.pem"; } );  # or key_pem = "..."
 *   };
 *
 * Every key is parsed when the configuration is loaded; -t does the same
 * and so finds every bad key, path or permission before start. */
#ifndef DKIM_CONFIG_H
#define DKIM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "dkim_canon.h"
#include "dkim_key.h"
#include "dkim_nets.h"
#include "mx_daemon.h"
#include "mx_db.h"
#include "mx_error.h"

#define DKIM_KEYS_MAX 256
#define DKIM_SIGS_PER_MSG 4   /* keys used on one message (e.g. RSA + Ed25519) */
#define DKIM_PATH_MAX 1024

enum dkim_on_error {
	DKIM_ON_ERROR_TEMPFAIL = 0,
	DKIM_ON_ERROR_ACCEPT = 1,
};

struct dkim_config {
	char socket[DKIM_PATH_MAX];
	struct mx_daemon_config daemon;   /* user, group, pid_file, log_file, log_level */
	enum dkim_canon hc, bc;
	bool sign_subdomains;
	unsigned expire;
	unsigned timeout;
	enum dkim_on_error on_error;
	struct dkim_nets nets;
	bool db_keys;               /* database_keys: also sign with table dkim_keys */
	unsigned refresh_interval;  /* seconds; 0: only at start and on SIGUSR1 */
	struct mx_db_config db;     /* the database section, when db_keys */
	bool db_stale;              /* db_keys, but the table could not be read yet */
	char key_dir[DKIM_PATH_MAX];   /* mxkit-dkim-keygen only */
	char resolver[256];            /* likewise */
	size_t nkeys;
	struct dkim_key keys[DKIM_KEYS_MAX];
};

/* Load and check path; cfg is heap-sized (keys inline), caller frees
 * with dkim_config_free(). check_perms refuses loose key files. */
int dkim_config_load(const char *path, bool check_perms, struct dkim_config *cfg,
		     struct mx_err *err);
void dkim_config_free(struct dkim_config *cfg);

/* Load one key (a file at path, or PEM text: exactly one) into the next
 * slot of cfg; where names its origin in messages. */
int dkim_config_add_key(struct dkim_config *cfg, const char *where, const char *domain,
			const char *selector, const char *path, const char *pem,
			bool check_perms, struct mx_err *err);

/* Keys for the author domain: its own, or (sign_subdomains) those of the
 * closest parent that has any. Returns how many were put in out. */
size_t dkim_config_find_keys(const struct dkim_config *cfg, const char *domain,
			     const struct dkim_key **out, size_t max);

#endif
