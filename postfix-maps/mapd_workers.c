/* mapd_workers.c: worker threads for database lookups, the thread that
 * keeps the snapshot of our domains fresh, and the loop's inline answers
 * (see mapd_workers.h). */
#include "mxkit-config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "mapd_workers.h"
#include "mx_daemon.h"
#include "mx_log.h"
#include "mx_srs_db.h"

/* A database pool shared by the jobs that run against it, with the SRS
 * context whose store of long senders uses it. */
struct pool_ref {
	struct mx_db_pool *pool;
	unsigned users;
	char delimiter[32];
	size_t max_reply;
	struct mx_srs *srs;
	struct mx_srs *loop_srs;   /* srs for the event loop's thread alone (or NULL) */
	struct mx_srs_store store;
	char srs_domain[MX_DOMAIN_MAX + 1];
	struct mapd_domains *domains;
	unsigned domains_refresh;  /* seconds; 0: no snapshot to keep fresh */
};

struct mapd_workers {
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct mapd_job *queue_head, *queue_tail;
	struct mapd_job *done;
	struct pool_ref *current;
	bool stopping;
	int efd;
	unsigned nthreads;
	pthread_t *threads;
	/* The refresher: loads the snapshot of our domains every
	 * domains_refresh seconds, and at once when kicked (start, SIGHUP). */
	pthread_cond_t refresh;    /* on CLOCK_MONOTONIC */
	bool refresh_now;
	bool has_refresher;
	pthread_t refresher;
};

static struct pool_ref *ref_new(struct mx_db_pool *pool, struct mapd_workers_srs *srs,
			       const char *delimiter, size_t max_reply)
{
	struct pool_ref *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->pool = pool;
	if (srs != NULL && srs->srs != NULL) {
		if ((r->domains = mapd_domains_new(srs->domains_ttl)) == NULL) {
			free(r);
			return NULL;
		}
		if (srs->domains_ttl > 0)
			r->domains_refresh = srs->domains_refresh;
		r->srs = srs->srs;
		mx_srs_db_store_init(&r->store, pool);
		mx_srs_set_store(r->srs, &r->store);
		{
			struct mx_err err;

			if (mx_srs_dup_one_thread(r->srs, &r->loop_srs, &err) < 0)
				mx_log_warn("%s: the event loop shares the workers' SRS context",
					    err.text);
		}
		(void)snprintf(r->srs_domain, sizeof(r->srs_domain), "%s", srs->domain);
	}
	(void)snprintf(r->delimiter, sizeof(r->delimiter), "%s", delimiter);
	r->max_reply = max_reply;
	return r;
}

static void ref_free(struct pool_ref *r)
{
	mx_srs_destroy(&r->loop_srs);
	mx_srs_destroy(&r->srs);
	mapd_domains_free(r->domains);
	mx_db_pool_free(r->pool);
	free(r);
}

/* Called with the lock held. */
static void ref_release(struct mapd_workers *w, struct pool_ref *r)
{
	if (--r->users == 0 && r != w->current)
		ref_free(r);
}

static void ctx_from_ref(const struct pool_ref *ref, struct mapd_lookup_ctx *ctx)
{
	ctx->db = ref->pool;
	ctx->delimiter = ref->delimiter;
	ctx->max_reply = ref->max_reply;
	ctx->srs = ref->srs;
	ctx->srs_domain = ref->srs_domain;
	ctx->domains = ref->domains;
}

static struct timespec deadline_after(unsigned seconds)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += seconds;
	return ts;
}

/* Load the snapshot of ref (lock not held); log only the changes from
 * working to failing and back, not every failed attempt. */
static void refresh_once(struct pool_ref *ref, bool *failing)
{
	struct mx_err err;

	if (mapd_domains_refresh(ref->domains, ref->pool, &err) == MX_TEMP) {
		if (!*failing)
			mx_log_warn("cannot load the list of our domains (srs_forward answers from the "
				    "database until it can): %s", err.text);
		*failing = true;
	} else if (*failing) {
		mx_log_info("list of our domains loaded again");
		*failing = false;
	}
}

static void *refresher_main(void *arg)
{
	struct mapd_workers *w = arg;
	struct timespec due = deadline_after(0);
	bool failing = false;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct pool_ref *ref;

		while (!w->stopping && !w->refresh_now &&
		       pthread_cond_timedwait(&w->refresh, &w->lock, &due) != ETIMEDOUT)
			;
		if (w->stopping)
			break;
		w->refresh_now = false;
		ref = w->current;
		if (ref->domains == NULL || ref->domains_refresh == 0) {
			due = deadline_after(3600);  /* nothing to keep fresh until kicked */
			continue;
		}
		due = deadline_after(ref->domains_refresh);
		ref->users++;
		pthread_mutex_unlock(&w->lock);
		refresh_once(ref, &failing);
		pthread_mutex_lock(&w->lock);
		ref_release(w, ref);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void *worker_main(void *arg)
{
	struct mapd_workers *w = arg;
	uint64_t one = 1;

	for (;;) {
		struct mapd_job *job;
		struct pool_ref *ref;
		struct mapd_lookup_ctx ctx;

		pthread_mutex_lock(&w->lock);
		while (w->queue_head == NULL && !w->stopping)
			pthread_cond_wait(&w->work, &w->lock);
		if (w->queue_head == NULL) {
			pthread_mutex_unlock(&w->lock);
			return NULL;
		}
		job = w->queue_head;
		w->queue_head = job->next;
		if (w->queue_head == NULL)
			w->queue_tail = NULL;
		ref = w->current;
		ref->users++;
		pthread_mutex_unlock(&w->lock);

		ctx_from_ref(ref, &ctx);
		job->map->lookup(job->map, &ctx, job->key, job->key_len, &job->answer);

		pthread_mutex_lock(&w->lock);
		ref_release(w, ref);
		job->next = w->done;
		w->done = job;
		pthread_mutex_unlock(&w->lock);
		if (write(w->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			mx_log_err("eventfd write: %s", strerror(errno));
	}
}

struct mapd_workers *mapd_workers_start(unsigned n, struct mx_db_pool *pool,
					struct mapd_workers_srs *srs,
					const char *delimiter, size_t max_reply,
					struct mx_err *err)
{
	struct mapd_workers *w = calloc(1, sizeof(*w));

	if (w == NULL || (w->threads = calloc(n, sizeof(*w->threads))) == NULL ||
	    (w->current = ref_new(pool, srs, delimiter, max_reply)) == NULL) {
		if (w != NULL)
			free(w->threads);
		free(w);
		mx_err_set(err, "out of memory");
		return NULL;
	}
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0) {
		mx_err_set(err, "eventfd: %s", strerror(errno));
		free(w->current);
		free(w->threads);
		free(w);
		return NULL;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->work, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&w->refresh, &ca);
		pthread_condattr_destroy(&ca);
	}
	w->refresh_now = true;
	/* Signals go to the loop thread only. */
	mx_daemon_signals_block(true);
	for (; w->nthreads < n; w->nthreads++) {
		int e = pthread_create(&w->threads[w->nthreads], NULL, worker_main, w);
		if (e != 0) {
			mx_err_set(err, "pthread_create: %s", strerror(e));
			mx_daemon_signals_block(false);
			w->current->pool = NULL;  /* the caller still owns them on failure */
			w->current->srs = NULL;
			mapd_workers_stop(w);
			return NULL;
		}
	}
	{
		int e = pthread_create(&w->refresher, NULL, refresher_main, w);
		if (e != 0) {
			mx_err_set(err, "pthread_create: %s", strerror(e));
			mx_daemon_signals_block(false);
			w->current->pool = NULL;
			w->current->srs = NULL;
			mapd_workers_stop(w);
			return NULL;
		}
		w->has_refresher = true;
	}
	mx_daemon_signals_block(false);
	return w;
}

int mapd_workers_fd(const struct mapd_workers *w)
{
	return w->efd;
}

void mapd_workers_submit(struct mapd_workers *w, struct mapd_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&w->lock);
	if (w->queue_tail != NULL)
		w->queue_tail->next = job;
	else
		w->queue_head = job;
	w->queue_tail = job;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->lock);
}

struct mapd_job *mapd_workers_done(struct mapd_workers *w)
{
	struct mapd_job *list, *rev = NULL;
	uint64_t v;

	if (read(w->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		mx_log_err("eventfd read: %s", strerror(errno));
	pthread_mutex_lock(&w->lock);
	list = w->done;
	w->done = NULL;
	pthread_mutex_unlock(&w->lock);
	/* Oldest first. */
	while (list != NULL) {
		struct mapd_job *next = list->next;
		list->next = rev;
		rev = list;
		list = next;
	}
	return rev;
}

bool mapd_workers_answer_inline(struct mapd_workers *w, const struct mapd_map *map,
				const char *key, size_t key_len, struct mapd_answer *ans)
{
	struct mapd_lookup_ctx ctx;

	if (map->inline_lookup == NULL)
		return false;
	/* w->current is only replaced by _reconfigure, in this same thread,
	 * and is never freed while it is current. */
	ctx_from_ref(w->current, &ctx);
	if (w->current->loop_srs != NULL)
		ctx.srs = w->current->loop_srs;
	return map->inline_lookup(map, &ctx, key, key_len, ans);
}

void mapd_workers_reconfigure(struct mapd_workers *w, struct mx_db_pool *pool,
			      struct mapd_workers_srs *srs,
			      const char *delimiter, size_t max_reply)
{
	struct pool_ref *r = ref_new(pool, srs, delimiter, max_reply), *old;

	if (r == NULL) {
		mx_log_err("out of memory: keeping the old database settings");
		mx_db_pool_free(pool);
		if (srs != NULL)
			mx_srs_destroy(&srs->srs);
		return;
	}
	pthread_mutex_lock(&w->lock);
	old = w->current;
	w->current = r;
	if (old->users == 0)
		ref_free(old);
	w->refresh_now = true;  /* the new snapshot starts empty */
	pthread_cond_signal(&w->refresh);
	pthread_mutex_unlock(&w->lock);
}

void mapd_workers_stop(struct mapd_workers *w)
{
	struct mapd_job *j, *next;

	/* Queued jobs are dropped; running ones finish (bounded by the
	 * database timeouts). */
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	for (j = w->queue_head; j != NULL; j = next) {
		next = j->next;
		free(j);
	}
	w->queue_head = w->queue_tail = NULL;
	pthread_cond_broadcast(&w->work);
	pthread_cond_signal(&w->refresh);
	pthread_mutex_unlock(&w->lock);
	for (unsigned i = 0; i < w->nthreads; i++)
		(void)pthread_join(w->threads[i], NULL);
	if (w->has_refresher)
		(void)pthread_join(w->refresher, NULL);
	for (j = w->done; j != NULL; j = next) {
		next = j->next;
		free(j->answer.value);
		free(j);
	}
	ref_free(w->current);
	(void)close(w->efd);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->refresh);
	free(w->threads);
	free(w);
}
