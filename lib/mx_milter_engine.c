/* mx_milter_engine.c: the milter engine's listener, connection threads and
 * signal handling (see mx_milter_engine.h; one connection's I/O is in
 * mx_milter_conn.c, its protocol in mx_milter_session.c). */
#include "mxkit-config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mx_log.h"
#include "mx_milter.h"
#include "mx_milter_engine.h"

/* Stack of a connection thread: the milters keep their buffers on the
 * heap; OpenSSL's signing needs a few KiB. */
#define MX_MILTER_STACK (512 * 1024)
/* Seconds to wait for cut connections to go after the grace period. */
#define MX_MILTER_CUT_WAIT 3

struct mx_milter_server {
	int lfd;
	bool is_tcp;
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	unsigned timeout, max_conns;
	int stop_pipe[2];
	void (*reload)(void);
	const struct mx_milter_callbacks *cb;
	pthread_mutex_t lock;
	pthread_cond_t cond;       /* a connection ended */
	unsigned nconns;           /* under lock: slots RUNNING */
	struct conn_slot *slots;   /* under lock */
};

/* A connection thread's place: joined once done, so that nothing of it
 * (OpenSSL's per-thread state included) outlives a stop. */
struct conn_slot {
	enum { SLOT_FREE, SLOT_RUNNING, SLOT_DONE } state;
	int fd;
	pthread_t thread;
};

/* The server the signal thread acts on: cleared when it is freed, so
 * that a late signal touches nothing freed. */
static pthread_mutex_t signal_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mx_milter_server *signal_srv;   /* under signal_lock */

struct conn_arg {
	struct mx_milter_server *srv;
	int fd;
	unsigned slot;
};

static int listen_unix(struct mx_milter_server *srv, const char *path,
		       const struct mx_milter_listen_opts *o, struct mx_err *err)
{
	struct sockaddr_un sun;
	struct stat st;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return mx_err_set(err, "socket path too long");
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return mx_err_set(err, "%s exists and is not a socket", path);
		if (unlink(path) < 0)
			return mx_err_set(err, "cannot remove the stale socket %s: %s", path, strerror(errno));
	}
	srv->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (srv->lfd < 0)
		return mx_err_set(err, "socket: %s", strerror(errno));
	if (bind(srv->lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return mx_err_set(err, "bind %s: %s", path, strerror(errno));
	memcpy(srv->unix_path, path, strlen(path) + 1);
	if (chmod(path, 0660) < 0)
		return mx_err_set(err, "chmod %s: %s", path, strerror(errno));
	if ((o->uid != (uid_t)-1 || o->gid != (gid_t)-1) && chown(path, o->uid, o->gid) < 0)
		return mx_err_set(err, "chown %s: %s", path, strerror(errno));
	return 0;
}

static int listen_inet(struct mx_milter_server *srv, const char *spec, int family,
		       struct mx_err *err)
{
	char port[8], host[256];
	const char *rest = strchr(spec, ':') + 1, *at = strchr(rest, '@');
	struct addrinfo hints, *ai = NULL;
	size_t plen = at != NULL ? (size_t)(at - rest) : strlen(rest);
	int on = 1, e;

	if (plen == 0 || plen >= sizeof(port))
		return mx_err_set(err, "bad port");
	memcpy(port, rest, plen);
	port[plen] = '\0';
	host[0] = '\0';
	if (at != NULL) {
		const char *h = at + 1;
		size_t hlen = strlen(h);
		if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
			h++;
			hlen -= 2;
		}
		if (hlen >= sizeof(host))
			return mx_err_set(err, "host name too long");
		memcpy(host, h, hlen);
		host[hlen] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((e = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &ai)) != 0)
		return mx_err_set(err, "cannot resolve '%s': %s", host, gai_strerror(e));
	srv->lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (srv->lfd < 0) {
		freeaddrinfo(ai);
		return mx_err_set(err, "socket: %s", strerror(errno));
	}
	(void)setsockopt(srv->lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	/* Replies must never wait for an ACK (Nagle); accepted sockets
	 * inherit it, and each connection sets it again. */
	(void)setsockopt(srv->lfd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (bind(srv->lfd, ai->ai_addr, ai->ai_addrlen) < 0) {
		e = errno;
		freeaddrinfo(ai);
		return mx_err_set(err, "bind: %s", strerror(e));
	}
	freeaddrinfo(ai);
	srv->is_tcp = true;
	return 0;
}

static void server_free(struct mx_milter_server *srv)
{
	pthread_mutex_lock(&signal_lock);
	if (signal_srv == srv)
		signal_srv = NULL;
	pthread_mutex_unlock(&signal_lock);
	if (srv->lfd >= 0)
		close(srv->lfd);
	if (srv->unix_path[0] != '\0')
		(void)unlink(srv->unix_path);
	if (srv->stop_pipe[0] >= 0) {
		close(srv->stop_pipe[0]);
		close(srv->stop_pipe[1]);
	}
	pthread_mutex_destroy(&srv->lock);
	pthread_cond_destroy(&srv->cond);
	free(srv->slots);
	free(srv);
}

struct mx_milter_server *mx_milter_listen(const struct mx_milter_listen_opts *o,
					  struct mx_err *err)
{
	struct mx_milter_server *srv;
	const char *spec = o->spec;
	unsigned i;
	int rc;

	if (mx_milter_check_socket(spec, err) < 0)
		return NULL;
	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		mx_err_set(err, "out of memory");
		return NULL;
	}
	srv->lfd = srv->stop_pipe[0] = srv->stop_pipe[1] = -1;
	srv->timeout = o->timeout;
	srv->max_conns = o->max_conns != 0 ? o->max_conns : MX_MILTER_CONNS_MAX;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->cond, NULL);
	srv->slots = calloc(srv->max_conns, sizeof(*srv->slots));
	if (srv->slots == NULL || pipe2(srv->stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		mx_err_set(err, "out of memory or descriptors");
		server_free(srv);
		return NULL;
	}
	for (i = 0; i < srv->max_conns; i++)
		srv->slots[i].fd = -1;
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0)
		rc = listen_unix(srv, strchr(spec, ':') + 1, o, err);
	else
		rc = listen_inet(srv, spec, strncmp(spec, "inet6:", 6) == 0 ? AF_INET6 : AF_INET, err);
	if (rc == 0 && listen(srv->lfd, MX_MILTER_BACKLOG) < 0)
		rc = mx_err_set(err, "listen: %s", strerror(errno));
	if (rc < 0) {
		mx_err_prefix(err, "socket '%s': ", spec);
		server_free(srv);
		return NULL;
	}
	return srv;
}

void mx_milter_server_close(struct mx_milter_server *srv)
{
	server_free(srv);
}

void mx_milter_server_stop(struct mx_milter_server *srv)
{
	char c = 's';

	(void)!write(srv->stop_pipe[1], &c, 1);
}

/* The signals the engine handles itself. */
static void engine_sigset(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

static void *signal_thread(void *arg)
{
	sigset_t set;
	int sig;

	(void)arg;
	engine_sigset(&set);
	for (;;) {
		void (*reload)(void) = NULL;

		if (sigwait(&set, &sig) != 0)
			continue;
		pthread_mutex_lock(&signal_lock);
		if (signal_srv != NULL && (sig == SIGTERM || sig == SIGINT))
			mx_milter_server_stop(signal_srv);
		else if (signal_srv != NULL)
			reload = signal_srv->reload;
		pthread_mutex_unlock(&signal_lock);
		if (reload != NULL)
			reload();  /* outside the lock: a reload takes a while */
	}
	return NULL;
}

int mx_milter_signals_block(struct mx_err *err)
{
	sigset_t set;
	int e;

	engine_sigset(&set);
	if ((e = pthread_sigmask(SIG_BLOCK, &set, NULL)) != 0)
		return mx_err_set(err, "pthread_sigmask: %s", strerror(e));
	return 0;
}

int mx_milter_signals_start(struct mx_milter_server *srv, void (*reload)(void),
			    struct mx_err *err)
{
	pthread_t t;
	int e;

	if (mx_milter_signals_block(err) < 0)
		return -1;
	pthread_mutex_lock(&signal_lock);
	srv->reload = reload;
	signal_srv = srv;
	pthread_mutex_unlock(&signal_lock);
	if ((e = pthread_create(&t, NULL, signal_thread, NULL)) != 0)
		return mx_err_set(err, "cannot start the signal thread: %s", strerror(e));
	(void)pthread_detach(t);
	return 0;
}

static void *conn_thread(void *p)
{
	struct conn_arg a = *(struct conn_arg *)p;
	struct mx_milter_server *srv = a.srv;

	free(p);
	mx_milter_conn_run(a.fd, srv->is_tcp, srv->timeout, srv->cb);
	pthread_mutex_lock(&srv->lock);
	srv->slots[a.slot].fd = -1;
	srv->slots[a.slot].state = SLOT_DONE;
	srv->nconns--;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

/* Join the threads of the connections that ended; their slots are free
 * again. */
static void reap_done(struct mx_milter_server *srv)
{
	unsigned i;

	for (i = 0; i < srv->max_conns; i++) {
		pthread_t t;
		bool done;

		pthread_mutex_lock(&srv->lock);
		done = srv->slots[i].state == SLOT_DONE;
		t = srv->slots[i].thread;
		pthread_mutex_unlock(&srv->lock);
		if (!done)
			continue;
		(void)pthread_join(t, NULL);
		pthread_mutex_lock(&srv->lock);
		srv->slots[i].state = SLOT_FREE;
		pthread_mutex_unlock(&srv->lock);
	}
}

/* Start a thread for fd (the caller checked that fewer than max_conns
 * run; reaping frees the slots of those that ended). */
static void conn_start(struct mx_milter_server *srv, int fd, pthread_attr_t *attr)
{
	struct conn_arg *a = malloc(sizeof(*a));
	unsigned i;
	int e;

	if (a == NULL) {
		mx_log_err("%s: out of memory for a connection", srv->cb->name);
		close(fd);
		return;
	}
	reap_done(srv);
	pthread_mutex_lock(&srv->lock);
	for (i = 0; i < srv->max_conns && srv->slots[i].state != SLOT_FREE; i++)
		;
	if (i == srv->max_conns) {  /* cannot happen: wait_slot() checked */
		pthread_mutex_unlock(&srv->lock);
		free(a);
		close(fd);
		return;
	}
	srv->slots[i].fd = fd;
	srv->slots[i].state = SLOT_RUNNING;
	srv->nconns++;
	*a = (struct conn_arg){ srv, fd, i };
	/* Created under the lock, so that the slot has its thread id before
	 * the thread can mark it done. */
	if ((e = pthread_create(&srv->slots[i].thread, attr, conn_thread, a)) != 0) {
		srv->slots[i].fd = -1;
		srv->slots[i].state = SLOT_FREE;
		srv->nconns--;
	}
	pthread_mutex_unlock(&srv->lock);
	if (e != 0) {
		mx_log_err("%s: cannot start a connection thread: %s", srv->cb->name, strerror(e));
		free(a);
		close(fd);
	}
}

/* Wait until no connection is open or the deadline passes. */
static unsigned wait_conns(struct mx_milter_server *srv, unsigned seconds)
{
	struct timespec dl;
	unsigned n;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += seconds;
	pthread_mutex_lock(&srv->lock);
	while (srv->nconns > 0 && pthread_cond_timedwait(&srv->cond, &srv->lock, &dl) == 0)
		;
	n = srv->nconns;
	pthread_mutex_unlock(&srv->lock);
	return n;
}

/* At the connection cap: wait for a slot; false when told to stop. */
static bool wait_slot(struct mx_milter_server *srv)
{
	struct pollfd pfd = { .fd = srv->stop_pipe[0], .events = POLLIN };
	bool full;

	for (;;) {
		pthread_mutex_lock(&srv->lock);
		full = srv->nconns >= srv->max_conns;
		pthread_mutex_unlock(&srv->lock);
		if (!full)
			return true;
		if (poll(&pfd, 1, 100) > 0)
			return false;
	}
}

static void stop_conns(struct mx_milter_server *srv)
{
	unsigned i, left;

	if (wait_conns(srv, MX_MILTER_STOP_GRACE) == 0)
		return;
	pthread_mutex_lock(&srv->lock);
	left = srv->nconns;
	for (i = 0; i < srv->max_conns; i++)
		if (srv->slots[i].state == SLOT_RUNNING && srv->slots[i].fd >= 0)
			(void)shutdown(srv->slots[i].fd, SHUT_RDWR);
	pthread_mutex_unlock(&srv->lock);
	mx_log_warn("%s: %u connection(s) still open after %d s: cut", srv->cb->name, left,
		    MX_MILTER_STOP_GRACE);
	(void)wait_conns(srv, MX_MILTER_CUT_WAIT);
}

int mx_milter_serve_loop(struct mx_milter_server *srv, const struct mx_milter_callbacks *cb,
			 struct mx_err *err)
{
	struct pollfd pfd[2] = {
		{ .fd = srv->lfd, .events = POLLIN },
		{ .fd = srv->stop_pipe[0], .events = POLLIN },
	};
	pthread_attr_t attr;
	int rc = 0;

	srv->cb = cb;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, MX_MILTER_STACK);
	for (;;) {
		int fd, on = 1;

		if (!wait_slot(srv))
			break;
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			rc = mx_err_set(err, "poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents != 0)
			break;
		if ((pfd[0].revents & POLLIN) == 0)
			continue;
		fd = accept4(srv->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
				mx_log_err("%s: accept: %s", cb->name, strerror(errno));
				usleep(100000);  /* out of descriptors: do not spin */
			}
			continue;
		}
		if (srv->is_tcp)
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		conn_start(srv, fd, &attr);
	}
	pthread_attr_destroy(&attr);
	/* Stop accepting, let the open connections finish. */
	close(srv->lfd);
	srv->lfd = -1;
	if (srv->unix_path[0] != '\0')
		(void)unlink(srv->unix_path);
	srv->unix_path[0] = '\0';
	stop_conns(srv);
	reap_done(srv);
	pthread_mutex_lock(&srv->lock);
	if (srv->nconns == 0) {
		pthread_mutex_unlock(&srv->lock);
		server_free(srv);
	} else {
		pthread_mutex_unlock(&srv->lock);  /* threads still use srv: leave it */
	}
	return rc;
}
