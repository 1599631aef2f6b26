/* srs_config.h: what mxkit-srs reads from mxkit.conf.
 *
 *   srs = {
 *     domain = "srs.example.org"; secrets_file = "/etc/mxkit/srs.secrets";
 *     ... the SRS settings (lib/mx_srs_config.h) ...
 *     socket = "unix:/var/spool/postfix/mxkit/srs.sock";  # milter socket syntax
 *     timeout = 30;                  # MTA connection timeout, seconds
 *     recipient_delimiter = "+";     # as Postfix's, for alias lookups
 *     user = "mxkit"; group = "mxkit"; pid_file = ""; log_file = ""; log_level = "info";
 *     socket_group = "postfix";      # group of the unix socket (default: group)
 *   };
 *   database = { ... };              # aliases, domains, long senders
 *
 * The SRS context is keyed while loading (the secrets are wiped from
 * the settings at once), so -t finds every mistake, file:line. */
#ifndef SRS_CONFIG_H
#define SRS_CONFIG_H

#include "mx_daemon.h"
#include "mx_db.h"
#include "mx_error.h"
#include "mx_srs.h"

#define SRS_SOCKET_MAX 1024
#define SRS_DELIMITER_MAX 16

struct srs_config {
	char socket[SRS_SOCKET_MAX];
	unsigned timeout;
	char delimiter[SRS_DELIMITER_MAX + 1];
	char domain[MX_DOMAIN_MAX + 1];    /* the SRS domain */
	struct mx_daemon_config daemon;
	bool has_socket_group;             /* group of a unix socket, else the daemon's */
	gid_t socket_gid;
	struct mx_db_config db;
	struct mx_srs *srs;                /* owned */
};

/* Load and check path into cfg (free with srs_config_free()). */
int srs_config_load(const char *path, struct srs_config *cfg, struct mx_err *err);
/* Free the SRS context and wipe the database password. */
void srs_config_free(struct srs_config *cfg);

#endif
