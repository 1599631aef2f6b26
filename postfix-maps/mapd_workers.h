/* mapd_workers.h: the threads that run database lookups for the loop.
 *
 * The event loop submits jobs; a fixed number of threads take them in
 * order, run the map's lookup against the current database pool, and put
 * the finished job on a done list, waking the loop through an eventfd.
 * The database pool can be replaced (SIGHUP): jobs that already hold the
 * old one finish with it, and it is freed when the last one is done.
 * One more thread keeps the snapshot of our domains (mapd_domains.h)
 * fresh: it loads it at start, after each reconfiguration and every
 * domains_refresh seconds. Lookups that need no database (the SRS maps
 * while the snapshot is fresh) are answered in the loop's own thread. */
#ifndef MAPD_WORKERS_H
#define MAPD_WORKERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mapd_maps.h"
#include "mx_db.h"

struct mapd_job {
	struct mapd_job *next;
	void *owner;                 /* the loop's connection */
	const struct mapd_map *map;
	char key[MX_KEY_MAX + 1];       /* lowercased */
	char key_sent[MX_KEY_MAX + 1];  /* as sent */
	size_t key_len;
	struct mapd_answer answer;   /* filled by the worker */
};

struct mapd_workers;

/* The SRS context of the srs_* maps (srs NULL: none), handed to the
 * workers with the pool: its store of long senders uses that pool. */
struct mapd_workers_srs {
	struct mx_srs *srs;
	const char *domain;
	unsigned domains_ttl;   /* oldest snapshot of our domains used (0: none) */
	unsigned domains_refresh;  /* seconds between loads of it */
};

/* Start n threads using pool and srs->srs (the workers own both from
 * now on; on failure the caller still does). srs may be NULL. */
struct mapd_workers *mapd_workers_start(unsigned n, struct mx_db_pool *pool,
					struct mapd_workers_srs *srs,
					const char *delimiter, size_t max_reply,
					struct mx_err *err);
/* The fd that becomes readable when jobs are done. */
int mapd_workers_fd(const struct mapd_workers *w);
/* Queue a job (owned by the workers until it comes back from _done). */
void mapd_workers_submit(struct mapd_workers *w, struct mapd_job *job);
/* Take the list of finished jobs (linked by next), draining the fd. */
struct mapd_job *mapd_workers_done(struct mapd_workers *w);
/* Answer in the calling thread if the map can without the database
 * (true: ans is filled, its value to be freed by the caller); false: the
 * lookup must go to a worker. Call it from the thread that calls
 * mapd_workers_reconfigure (the event loop). */
bool mapd_workers_answer_inline(struct mapd_workers *w, const struct mapd_map *map,
				const char *key, size_t key_len, struct mapd_answer *ans);
/* Use a new pool, SRS context, delimiter and reply limit for jobs taken
 * from now on (the workers own pool and srs->srs, also on failure). */
void mapd_workers_reconfigure(struct mapd_workers *w, struct mx_db_pool *pool,
			      struct mapd_workers_srs *srs,
			      const char *delimiter, size_t max_reply);
/* Drop queued jobs, wait for running ones, free every job still held
 * (including finished ones not yet taken) and the pool. */
void mapd_workers_stop(struct mapd_workers *w);

#endif
