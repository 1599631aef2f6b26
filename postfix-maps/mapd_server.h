/* mapd_server.h: the event loop of mxkit-mapd.
 *
 * One thread owns every socket, the request parser and the cache. Cache
 * hits are answered inline; misses go to the worker threads and the
 * connection reads nothing more until the answer is back, so requests on
 * one connection are answered in order. Timeouts, connection limits and
 * buffer caps are enforced here. */
#ifndef MAPD_SERVER_H
#define MAPD_SERVER_H

#include "mapd_cache.h"
#include "mapd_config.h"
#include "mapd_workers.h"
#include "mx_error.h"

struct mapd_server;

/* The settings the loop uses; they can change on SIGHUP. */
struct mapd_server_limits {
	unsigned cache_ttl, negative_ttl;
	unsigned idle_timeout, request_timeout;  /* seconds */
	unsigned max_connections;
	unsigned max_reply;
};

void mapd_server_limits_from(const struct mapd_config *conf, struct mapd_server_limits *out);

/* The server takes the listening fds, the workers and the cache. */
struct mapd_server *mapd_server_new(const int *listen_fds, unsigned nlisten, int signal_fd,
				    struct mapd_workers *workers, struct mapd_cache *cache,
				    const struct mapd_server_limits *limits, struct mx_err *err);

enum mapd_run_result {
	MAPD_RUN_RELOAD,  /* SIGHUP: reconfigure, then run again */
	MAPD_RUN_STOP,    /* SIGTERM/SIGINT: drain, then free */
	MAPD_RUN_ERROR,   /* the loop itself failed (logged) */
};

enum mapd_run_result mapd_server_run(struct mapd_server *s);

/* New limits and a new (empty) cache; the old cache is freed. */
void mapd_server_reconfigure(struct mapd_server *s, const struct mapd_server_limits *limits,
			     struct mapd_cache *cache);

/* Stop accepting (closes the listening fds), answer the lookups in
 * flight for at most `seconds`, then close every connection. */
void mapd_server_drain(struct mapd_server *s, unsigned seconds);

/* Free the server, its connections, the workers and the cache. */
void mapd_server_free(struct mapd_server *s);

#endif
