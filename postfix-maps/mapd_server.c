/* mapd_server.c: epoll loop, connections, replies and timeouts of mxkit-mapd.
 *
 * Every connection has a fixed input buffer that holds one whole request
 * and an output buffer for one reply. A connection parses its next
 * request only when no lookup is in flight and its last reply is fully
 * written, so memory per connection is bounded and pipelined requests
 * are answered in order. Deadlines are checked a few times a second:
 * request_timeout from the first byte of a request until it is complete
 * (and for a reply the client does not read), idle_timeout between
 * requests. */
#include "mxkit-config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mapd_ratelog.h"
#include "mapd_request.h"
#include "mapd_server.h"
#include "mx_daemon.h"
#include "mx_log.h"
#include "mx_netstring.h"

#define EVENTS_MAX 128
#define ACCEPTS_PER_EVENT 64
#define TICK_MS 200
#define PEER_MAX 64
#define OUT_BATCH 16384          /* replies gathered before they are written */

enum handle_kind { H_LISTENER, H_SIGNAL, H_WORKERS, H_CONN };

struct handle {
	enum handle_kind kind;
	int fd;
};

struct conn {
	struct handle h;
	struct conn *prev, *next;
	uint32_t events;         /* current epoll interest */
	struct mapd_job *job;    /* lookup in flight */
	bool dead;               /* closed while a lookup was in flight */
	bool peer_eof;
	bool failed;             /* no memory for a reply: close */
	int64_t last_io_ms;
	int64_t req_start_ms;    /* first byte of the pending request, 0 if none */
	int64_t out_since_ms;    /* replies waiting, and none written since */
	char *out;               /* replies not yet written: [out_off, out_len) */
	size_t out_len, out_off, out_cap;
	size_t in_len;
	char peer[PEER_MAX];
	char in[MAPD_REQUEST_BUF];
};

struct mapd_server {
	int epfd;
	struct handle listeners[MAPD_LISTEN_MAX];
	unsigned nlisten;
	struct handle sig, wk;
	struct mapd_workers *workers;
	struct mapd_cache *cache;
	struct mapd_server_limits lim;
	struct conn *conns;
	struct conn *graveyard;  /* closed this round, freed after the event batch */
	unsigned nconns;
	unsigned inflight;
	bool draining;
	int reserve_fd;          /* spare fd to shed connections when out of fds */
	int64_t last_refuse_log_ms;
	int64_t last_deadline_check_ms;
	unsigned refused;
	struct mapd_ratelog temp_log;  /* TEMP answers: first logged, then counted */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mapd_server_limits_from(const struct mapd_config *conf, struct mapd_server_limits *out)
{
	out->cache_ttl = conf->cache_ttl;
	out->negative_ttl = conf->negative_ttl;
	out->idle_timeout = conf->idle_timeout;
	out->request_timeout = conf->request_timeout;
	out->max_connections = conf->max_connections;
	out->max_reply = conf->max_reply;
}

static int ep_add(int epfd, struct handle *h, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, h->fd, &ev);
}

struct mapd_server *mapd_server_new(const int *listen_fds, unsigned nlisten, int signal_fd,
				    struct mapd_workers *workers, struct mapd_cache *cache,
				    const struct mapd_server_limits *limits, struct mx_err *err)
{
	struct mapd_server *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		mx_err_set(err, "out of memory");
		return NULL;
	}
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0) {
		mx_err_set(err, "epoll_create1: %s", strerror(errno));
		free(s);
		return NULL;
	}
	s->workers = workers;
	s->cache = cache;
	s->lim = *limits;
	s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	mapd_ratelog_init(&s->temp_log, MAPD_TEMP_LOG_PERIOD_MS);
	s->sig = (struct handle){ H_SIGNAL, signal_fd };
	s->wk = (struct handle){ H_WORKERS, mapd_workers_fd(workers) };
	if (ep_add(s->epfd, &s->sig, EPOLLIN) < 0 || ep_add(s->epfd, &s->wk, EPOLLIN) < 0)
		goto fail;
	for (unsigned i = 0; i < nlisten && i < MAPD_LISTEN_MAX; i++) {
		s->listeners[i] = (struct handle){ H_LISTENER, listen_fds[i] };
		s->nlisten++;
		if (ep_add(s->epfd, &s->listeners[i], EPOLLIN) < 0)
			goto fail;
	}
	return s;
fail:
	mx_err_set(err, "epoll_ctl: %s", strerror(errno));
	(void)close(s->epfd);
	if (s->reserve_fd >= 0)
		(void)close(s->reserve_fd);
	free(s);
	return NULL;
}

/* -- connections ------------------------------------------------------ */

/* Unlink a closed connection; its memory lives until the end of the
 * event batch, which may still hold an event that points to it. */
static void conn_free(struct mapd_server *s, struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = NULL;
	c->next = s->graveyard;
	s->graveyard = c;
}

static void graveyard_empty(struct mapd_server *s)
{
	struct conn *c, *next;

	for (c = s->graveyard; c != NULL; c = next) {
		next = c->next;
		free(c->out);
		free(c);
	}
	s->graveyard = NULL;
}

static void conn_close(struct mapd_server *s, struct conn *c)
{
	if (c->h.fd >= 0) {
		(void)close(c->h.fd);  /* also leaves the epoll set */
		c->h.fd = -1;
		s->nconns--;
	}
	if (c->job != NULL)
		c->dead = true;    /* freed when the lookup comes back */
	else
		conn_free(s, c);
}

static void conn_set_events(struct mapd_server *s, struct conn *c)
{
	uint32_t want = 0;
	struct epoll_event ev;

	if (!c->peer_eof && c->in_len < sizeof(c->in))
		want |= EPOLLIN;
	if (c->out_off < c->out_len)
		want |= EPOLLOUT;
	if (want == c->events)
		return;
	ev.events = want;
	ev.data.ptr = &c->h;
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->h.fd, &ev) < 0)
		mx_log_err("epoll_ctl: %s", strerror(errno));
	c->events = want;
}

static void peer_name(int fd, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	unsigned port = 0;

	(void)snprintf(buf, size, "unix");
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		(void)inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		port = ntohs(sin->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		(void)inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		port = ntohs(sin6->sin6_port);
	} else {
		return;
	}
	(void)snprintf(buf, size, "%s:%u", host, port);
}

static void refuse(struct mapd_server *s, int fd)
{
	int64_t now = now_ms();

	(void)close(fd);
	s->refused++;
	if (now - s->last_refuse_log_ms >= 1000) {
		mx_log_warn("max_connections (%u) reached: refused %u connection(s)",
			    s->lim.max_connections, s->refused);
		s->refused = 0;
		s->last_refuse_log_ms = now;
	}
}

static void accept_clients(struct mapd_server *s, struct handle *l)
{
	for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				/* Shed one connection so the listener does not spin. */
				if (s->reserve_fd >= 0) {
					(void)close(s->reserve_fd);
					fd = accept(l->fd, NULL, NULL);
					if (fd >= 0)
						refuse(s, fd);
					s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
				}
				mx_log_err("accept: out of file descriptors");
			} else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
				mx_log_err("accept: %s", strerror(errno));
			}
			return;
		}
		if (s->draining || s->nconns >= s->lim.max_connections) {
			refuse(s, fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			mx_log_err("out of memory for a new connection");
			(void)close(fd);
			return;
		}
		c->h = (struct handle){ H_CONN, fd };
		c->last_io_ms = now_ms();
		c->events = EPOLLIN;
		peer_name(fd, c->peer, sizeof(c->peer));
		if (ep_add(s->epfd, &c->h, EPOLLIN) < 0) {
			mx_log_err("epoll_ctl: %s", strerror(errno));
			(void)close(fd);
			free(c);
			return;
		}
		c->next = s->conns;
		if (s->conns != NULL)
			s->conns->prev = c;
		s->conns = c;
		s->nconns++;
	}
}

/* -- replies ---------------------------------------------------------- */

/* Queue the reply "<status><value>" as one netstring, after the replies
 * not yet written (answers given in the loop are sent in batches). */
static void conn_reply(struct conn *c, const char *status, const char *value, size_t value_len)
{
	size_t slen = strlen(status), plen = slen + value_len;
	size_t need = mx_netstring_encoded_len(plen);
	char *p;
	int h;

	if (c->failed)
		return;
	if (c->out_off > 0 && c->out_len + need + 1 > c->out_cap) {
		/* Drop what is written: the buffer stays near OUT_BATCH. */
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + need + 1 > c->out_cap) {
		size_t cap = c->out_len + need + 1;

		if (c->out == NULL || cap < OUT_BATCH)
			cap = cap < OUT_BATCH ? OUT_BATCH : cap;
		p = realloc(c->out, cap);
		if (p == NULL) {
			mx_log_err("%s: out of memory for a reply; closing", c->peer);
			c->failed = true;
			return;
		}
		c->out = p;
		c->out_cap = cap;
	}
	if (c->out_len == c->out_off)
		c->out_since_ms = now_ms();
	p = c->out + c->out_len;
	h = snprintf(p, need + 1, "%zu:", plen);
	if (h < 0 || (size_t)h + plen + 1 != need) {
		c->failed = true;
		return;
	}
	memcpy(p + h, status, slen);
	if (value_len > 0)
		memcpy(p + (size_t)h + slen, value, value_len);
	p[need - 1] = ',';
	c->out_len += need;
}

/* Reply OK with value, re-appending the unmatched extension, in the case
 * the client sent it, to every address of the value. */
static void conn_reply_found(struct mapd_server *s, struct conn *c, const struct mapd_map *map,
			     const char *key_sent, size_t key_len, struct mx_key_ext ext,
			     const char *value, size_t value_len)
{
	char safe[MX_LOG_SAFE_MAX];
	size_t n = 1, cap;
	char *out;
	long olen;

	if (ext.len > 0 && (size_t)ext.off + ext.len <= key_len) {
		for (size_t k = 0; k < value_len; k++)
			n += value[k] == ',';
		cap = value_len + n * ext.len + 1;
		if (cap - 1 <= s->lim.max_reply) {
			if ((out = malloc(cap)) == NULL) {
				conn_reply(c, "TEMP out of memory", NULL, 0);
				return;
			}
			olen = mx_keys_propagate(value, value_len, key_sent + ext.off, ext.len, out, cap);
			if (olen >= 0)
				conn_reply(c, "OK ", out, (size_t)olen);
			else
				conn_reply(c, "TEMP cannot append the address extension", NULL, 0);
			free(out);
			return;
		}
		value_len = cap - 1;  /* too long with the extension: report below */
	}
	if (value_len > s->lim.max_reply) {
		mx_log_warn("%s %s: result of %zu bytes exceeds max_reply (%u): answering TEMP",
			    map->name, mx_log_safe(safe, sizeof(safe), key_sent, key_len),
			    value_len, s->lim.max_reply);
		conn_reply(c, "TEMP result longer than max_reply", NULL, 0);
		return;
	}
	conn_reply(c, "OK ", value, value_len);
}

/* A summary of the TEMP answers not logged one by one, when one is due. */
static void temp_log_tick(struct mapd_server *s, int64_t now)
{
	unsigned n;

	if (mapd_ratelog_tick(&s->temp_log, now, &n))
		mx_log_warn("%u more TEMP answer(s) in the last %d s (not logged one by one)", n,
			    MAPD_TEMP_LOG_PERIOD_MS / 1000);
}

static void conn_reply_answer(struct mapd_server *s, struct conn *c, const struct mapd_map *map,
			      const char *key, const char *key_sent, size_t key_len,
			      enum mx_result r, const char *value, size_t value_len,
			      struct mx_key_ext ext, const char *reason)
{
	char safe[MX_LOG_SAFE_MAX], why[MAPD_REASON_MAX];

	switch (r) {
	case MX_FOUND:
		conn_reply_found(s, c, map, key_sent, key_len, ext, value, value_len);
		return;
	case MX_NOTFOUND:
		conn_reply(c, "NOTFOUND ", NULL, 0);
		return;
	case MX_TEMP:
	case MX_PERM:
		mx_log_safe(why, sizeof(why), reason, strlen(reason));
		if (r == MX_TEMP) {
			int64_t now = now_ms();

			temp_log_tick(s, now);
			if (!mapd_ratelog_event(&s->temp_log, now)) {
				conn_reply(c, "TEMP ", why, strlen(why));
				return;
			}
		}
		mx_log_warn("%s %s: %s", map->name, mx_log_safe(safe, sizeof(safe), key, key_len), why);
		conn_reply(c, r == MX_TEMP ? "TEMP " : "PERM ", why, strlen(why));
		return;
	}
}

/* Write what we can; false if the connection was closed. */
static bool conn_flush(struct mapd_server *s, struct conn *c)
{
	if (c->failed) {
		conn_close(s, c);
		return false;
	}
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->h.fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return true;
			mx_log_info("%s: write failed: %s", c->peer, strerror(errno));
			conn_close(s, c);
			return false;
		}
		c->out_off += (size_t)n;
		c->last_io_ms = now_ms();
		c->out_since_ms = c->last_io_ms;  /* the client reads: not stuck */
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = c->out_cap = 0;
	return true;
}

/* -- requests --------------------------------------------------------- */

static void conn_consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
	c->req_start_ms = c->in_len > 0 ? now_ms() : 0;
}

/* Keep a found or not-found answer for its ttl. */
static void cache_answer(struct mapd_server *s, const struct mapd_map *m, const char *key,
			 size_t key_len, const struct mapd_answer *a)
{
	unsigned ttl;

	if (a->result != MX_FOUND && a->result != MX_NOTFOUND)
		return;
	ttl = a->result == MX_FOUND ? s->lim.cache_ttl : s->lim.negative_ttl;
	if (a->value_len <= s->lim.max_reply &&
	    mapd_cache_put(s->cache, (unsigned)(m - mapd_maps), key, key_len, a->result,
			   a->value, a->value_len, a->ext, ttl) < 0)
		mx_log_warn("out of memory: answer not cached");
}

static void conn_lookup(struct mapd_server *s, struct conn *c, const struct mapd_request *req)
{
	unsigned map = (unsigned)(req->map - mapd_maps);
	enum mx_result r;
	const char *value;
	size_t value_len;
	struct mx_key_ext ext;
	struct mapd_answer a;
	struct mapd_job *job;

	if (mapd_cache_get(s->cache, map, req->key, req->key_len, &r, &value, &value_len, &ext)) {
		conn_reply_answer(s, c, req->map, req->key, req->key_sent, req->key_len,
				  r, value, value_len, ext, "");
		return;
	}
	if (mapd_workers_answer_inline(s->workers, req->map, req->key, req->key_len, &a)) {
		cache_answer(s, req->map, req->key, req->key_len, &a);
		conn_reply_answer(s, c, req->map, req->key, req->key_sent, req->key_len,
				  a.result, a.value, a.value_len, a.ext, a.reason);
		free(a.value);
		return;
	}
	job = calloc(1, sizeof(*job));
	if (job == NULL) {
		conn_reply(c, "TEMP out of memory", NULL, 0);
		return;
	}
	job->owner = c;
	job->map = req->map;
	memcpy(job->key, req->key, req->key_len + 1);
	memcpy(job->key_sent, req->key_sent, req->key_len + 1);
	job->key_len = req->key_len;
	c->job = job;
	s->inflight++;
	mapd_workers_submit(s->workers, job);
}

/* Parse and answer buffered requests while no lookup is in flight and
 * fewer than OUT_BATCH bytes of replies wait; write them; go on while
 * they could all be written. Returns false if the connection was closed. */
static bool conn_process(struct mapd_server *s, struct conn *c)
{
	struct mapd_request req;
	struct mx_err err;
	size_t consumed;

	for (;;) {
		bool partial = false;

		while (!partial && c->job == NULL && c->out_len - c->out_off < OUT_BATCH &&
		       !c->failed && !s->draining) {
			switch (mapd_request_parse(c->in, c->in_len, &req, &consumed, &err)) {
			case MAPD_REQ_PARTIAL:
				if (c->peer_eof && c->out == NULL) {
					if (c->in_len > 0)
						mx_log_warn("%s: connection closed in the middle of a request",
							    c->peer);
					conn_close(s, c);
					return false;
				}
				if (c->in_len > 0 && c->req_start_ms == 0)
					c->req_start_ms = now_ms();
				partial = true;
				break;
			case MAPD_REQ_CLOSE:
				mx_log_warn("%s: malformed request, closing: %s", c->peer, err.text);
				/* The replies before it, as far as they can go now. */
				if (c->out != NULL && !conn_flush(s, c))
					return false;
				conn_close(s, c);
				return false;
			case MAPD_REQ_PERM:
				mx_log_warn("%s: bad request: %s", c->peer, err.text);
				conn_consume(c, consumed);
				conn_reply(c, "PERM ", err.text, strlen(err.text));
				break;
			case MAPD_REQ_OK:
				conn_consume(c, consumed);
				conn_lookup(s, c, &req);
				break;
			}
		}
		if ((c->out != NULL || c->failed) && !conn_flush(s, c))
			return false;
		if (c->job != NULL || c->out != NULL || s->draining)
			return true;
		if (partial && !c->peer_eof)
			return true;
		/* All written: answer what the batch limit held back (or, the
		 * peer gone, close once its replies are out). */
	}
}

static void conn_readable(struct mapd_server *s, struct conn *c)
{
	while (c->in_len < sizeof(c->in)) {
		ssize_t n = recv(c->h.fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
		if (n > 0) {
			c->in_len += (size_t)n;
			c->last_io_ms = now_ms();
			continue;
		}
		if (n == 0) {
			c->peer_eof = true;
			break;
		}
		if (errno == EAGAIN || errno == EINTR)
			break;
		mx_log_info("%s: read failed: %s", c->peer, strerror(errno));
		conn_close(s, c);
		return;
	}
	if (!conn_process(s, c))
		return;
	if (c->peer_eof && c->job == NULL && c->out == NULL && c->in_len == 0) {
		conn_close(s, c);
		return;
	}
	conn_set_events(s, c);
}

static void conn_event(struct mapd_server *s, struct conn *c, uint32_t events)
{
	/* Hang-up or error: the peer can read no answer, so stop here (and
	 * do not let a level-triggered HUP spin while a lookup is out). */
	if ((events & (EPOLLHUP | EPOLLERR)) != 0) {
		conn_close(s, c);
		return;
	}
	if ((events & EPOLLOUT) != 0 && c->out != NULL) {
		if (!conn_flush(s, c))
			return;
		if (c->out == NULL && !conn_process(s, c))
			return;
	}
	if ((events & EPOLLIN) != 0) {
		conn_readable(s, c);
		return;
	}
	conn_set_events(s, c);
}

static void jobs_done(struct mapd_server *s)
{
	struct mapd_job *job = mapd_workers_done(s->workers), *next;

	for (; job != NULL; job = next) {
		struct conn *c = job->owner;
		struct mapd_answer *a = &job->answer;

		next = job->next;
		s->inflight--;
		cache_answer(s, job->map, job->key, job->key_len, a);
		c->job = NULL;
		if (c->dead) {
			conn_free(s, c);
		} else {
			conn_reply_answer(s, c, job->map, job->key, job->key_sent, job->key_len,
					  a->result, a->value, a->value_len, a->ext, a->reason);
			if (conn_flush(s, c) && (c->out != NULL || conn_process(s, c))) {
				if (c->peer_eof && c->job == NULL && c->out == NULL && c->in_len == 0)
					conn_close(s, c);
				else
					conn_set_events(s, c);
			}
		}
		free(a->value);
		free(job);
	}
}

static void check_deadlines(struct mapd_server *s)
{
	int64_t now = now_ms();
	int64_t req = (int64_t)s->lim.request_timeout * 1000;
	int64_t idle = (int64_t)s->lim.idle_timeout * 1000;
	struct conn *c, *next;

	temp_log_tick(s, now);
	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		if (c->dead || c->job != NULL)
			continue;
		if (c->out != NULL && now - c->out_since_ms >= req) {
			mx_log_warn("%s: reply not read within %us, closing", c->peer, s->lim.request_timeout);
			conn_close(s, c);
		} else if (c->out == NULL && c->in_len > 0 && c->req_start_ms != 0 &&
			   now - c->req_start_ms >= req) {
			mx_log_warn("%s: request not completed within %us, closing", c->peer,
				    s->lim.request_timeout);
			conn_close(s, c);
		} else if (c->out == NULL && c->in_len == 0 && now - c->last_io_ms >= idle) {
			mx_log_debug("%s: idle for %us, closing", c->peer, s->lim.idle_timeout);
			conn_close(s, c);
		}
	}
}

/* -- the loop --------------------------------------------------------- */

static int loop_once(struct mapd_server *s, unsigned *signals_r)
{
	struct epoll_event ev[EVENTS_MAX];
	int n = epoll_wait(s->epfd, ev, EVENTS_MAX, TICK_MS);

	if (n < 0) {
		if (errno == EINTR)
			return 0;
		mx_log_err("epoll_wait: %s", strerror(errno));
		return -1;
	}
	/* Finished lookups first: their connections may be among the events. */
	for (int i = 0; i < n; i++)
		if (((struct handle *)ev[i].data.ptr)->kind == H_WORKERS)
			jobs_done(s);
	for (int i = 0; i < n; i++) {
		struct handle *h = ev[i].data.ptr;
		switch (h->kind) {
		case H_LISTENER:
			accept_clients(s, h);
			break;
		case H_SIGNAL:
			*signals_r |= mx_daemon_signals_take();
			break;
		case H_WORKERS:
			break;
		case H_CONN:
			/* A connection closed earlier in this batch is gone from
			 * epoll but may still have an event here: skip it. */
			if (h->fd >= 0)
				conn_event(s, (struct conn *)h, ev[i].events);
			break;
		}
	}
	if (now_ms() - s->last_deadline_check_ms >= TICK_MS) {
		check_deadlines(s);
		s->last_deadline_check_ms = now_ms();
	}
	graveyard_empty(s);
	return 0;
}

enum mapd_run_result mapd_server_run(struct mapd_server *s)
{
	unsigned signals = 0;

	for (;;) {
		if (loop_once(s, &signals) < 0)
			return MAPD_RUN_ERROR;
		if (signals & MX_SIG_STOP)
			return MAPD_RUN_STOP;
		if (signals & MX_SIG_RELOAD)
			return MAPD_RUN_RELOAD;
	}
}

void mapd_server_reconfigure(struct mapd_server *s, const struct mapd_server_limits *limits,
			     struct mapd_cache *cache)
{
	mapd_cache_free(s->cache);
	s->cache = cache;
	s->lim = *limits;
}

static bool busy(const struct mapd_server *s)
{
	if (s->inflight > 0)
		return true;
	for (const struct conn *c = s->conns; c != NULL; c = c->next)
		if (c->out != NULL && !c->dead)
			return true;
	return false;
}

void mapd_server_drain(struct mapd_server *s, unsigned seconds)
{
	int64_t deadline = now_ms() + (int64_t)seconds * 1000;
	unsigned signals = 0;

	s->draining = true;
	for (unsigned i = 0; i < s->nlisten; i++) {
		(void)close(s->listeners[i].fd);
		s->listeners[i].fd = -1;
	}
	s->nlisten = 0;
	while (busy(s) && now_ms() < deadline)
		if (loop_once(s, &signals) < 0)
			break;
	if (busy(s))
		mx_log_warn("stopping with %u lookup(s) unanswered", s->inflight);
}

void mapd_server_free(struct mapd_server *s)
{
	struct conn *c, *next;

	if (s == NULL)
		return;
	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		if (c->h.fd >= 0)
			(void)close(c->h.fd);
		free(c->out);
		free(c);
	}
	graveyard_empty(s);
	/* Jobs still held by the workers are theirs to free. */
	mapd_workers_stop(s->workers);
	mapd_cache_free(s->cache);
	for (unsigned i = 0; i < s->nlisten; i++)
		(void)close(s->listeners[i].fd);
	if (s->reserve_fd >= 0)
		(void)close(s->reserve_fd);
	(void)close(s->epfd);
	free(s);
}
