/* mapd_workers.h: the threads that run database lookups for the loop.
 *
 * The event loop submits jobs; a fixed number of threads take them in
 * order, run the map's lookup against the current database pool, and put
 * the finished job on a done list, waking the loop through an eventfd.
 * The database pool can be replaced (SIGHUP): jobs that already hold the
 * old one finish with it, and it is freed when the last one is done. */
#ifndef MAPD_WORKERS_H
#define MAPD_WORKERS_H

#include <stddef.h>
#include <stdint.h>

#include "mapd_maps.h"
#include "mx_db.h"

struct mapd_job {
	struct mapd_job *next;
	void *owner;                 /* the loop's connection */
	const struct mapd_map *map;
	char key[MAPD_KEY_MAX + 1];
	size_t key_len;
	struct mapd_answer answer;   /* filled by the worker */
};

struct mapd_workers;

/* Start n threads using pool (the workers own it from now on). */
struct mapd_workers *mapd_workers_start(unsigned n, struct mx_db_pool *pool,
					const char *delimiter, size_t max_reply,
					struct mx_err *err);
/* The fd that becomes readable when jobs are done. */
int mapd_workers_fd(const struct mapd_workers *w);
/* Queue a job (owned by the workers until it comes back from _done). */
void mapd_workers_submit(struct mapd_workers *w, struct mapd_job *job);
/* Take the list of finished jobs (linked by next), draining the fd. */
struct mapd_job *mapd_workers_done(struct mapd_workers *w);
/* Use a new pool, delimiter and reply limit for jobs taken from now on. */
void mapd_workers_reconfigure(struct mapd_workers *w, struct mx_db_pool *pool,
			      const char *delimiter, size_t max_reply);
/* Drop queued jobs, wait for running ones, free every job still held
 * (including finished ones not yet taken) and the pool. */
void mapd_workers_stop(struct mapd_workers *w);

#endif
