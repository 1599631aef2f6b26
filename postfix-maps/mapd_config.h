/* mapd_config.h: the `mapd` section of mxkit.conf (plus `database`).
 *
 * Everything is parsed and checked here, so that `mxkit-mapd -t` finds
 * every mistake (with file:line) before the daemon starts, and SIGHUP can
 * build a complete new configuration before switching to it. */
#ifndef MAPD_CONFIG_H
#define MAPD_CONFIG_H

#include <libconfig.h>
#include <stdbool.h>
#include <sys/types.h>

#include "mapd_listen.h"
#include "mx_daemon.h"
#include "mx_db.h"
#include "mx_error.h"
#include "mx_srs.h"

#define MAPD_LISTEN_MAX 16       /* endpoints in `listen` */
#define MAPD_DELIMITER_MAX 16    /* bytes of recipient_delimiter */

struct mapd_config {
	struct mx_daemon_config daemon;
	struct mx_db_config db;
	struct mapd_endpoint listen[MAPD_LISTEN_MAX];
	unsigned nlisten;
	bool allow_remote;
	char delimiter[MAPD_DELIMITER_MAX + 1];
	unsigned cache_ttl;        /* seconds; 0: no positive caching */
	unsigned negative_ttl;     /* seconds; 0: no negative caching */
	unsigned cache_size;       /* entries */
	unsigned idle_timeout;     /* seconds */
	unsigned request_timeout;  /* seconds */
	unsigned max_connections;
	unsigned max_reply;        /* bytes of a reply's value */
	unsigned workers;          /* database threads */
	unsigned socket_mode;      /* permission bits of unix sockets */
	bool has_socket_group;
	gid_t socket_gid;
	/* The srs_forward and srs_reverse maps, from the `srs` section (NULL
	 * without one: the maps then answer PERM, a configuration error).
	 * Owned by the configuration until handed to the workers. */
	struct mx_srs *srs;
	char srs_domain[MX_DOMAIN_MAX + 1];
	unsigned domains_ttl;      /* seconds: oldest snapshot of our domains used (0: none) */
	unsigned domains_refresh;  /* seconds between loads of it (< domains_ttl) */
};

/* Load `path` and fill conf. Returns 0, or -1 with "file:line: why". */
int mapd_config_load(const char *path, struct mapd_config *conf, struct mx_err *err);

/* Free what conf owns (the SRS context, if still there). */
void mapd_config_free(struct mapd_config *conf);

/* The same from an already parsed libconfig tree (unit tests). */
int mapd_config_parse(const config_t *cfg, struct mapd_config *conf, struct mx_err *err);

#endif
