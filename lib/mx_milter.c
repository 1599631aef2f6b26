/* mx_milter.c: shared libmilter startup for mxkit milters (see mx_milter.h). */
#include "mxkit-config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mx_daemon.h"
#include "mx_milter.h"

int mx_milter_check_socket(const char *spec, struct mx_err *err)
{
	const char *rest, *at;
	char *end;
	unsigned long port;

	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
		rest = strchr(spec, ':') + 1;
		if (rest[0] != '/')
			return mx_err_set(err, "socket '%s': a unix socket needs an absolute path", spec);
		if (strlen(rest) >= 108)
			return mx_err_set(err, "socket '%s': path longer than 107 bytes", spec);
		return 0;
	}
	if (strncmp(spec, "inet:", 5) == 0 || strncmp(spec, "inet6:", 6) == 0) {
		rest = strchr(spec, ':') + 1;
		port = strtoul(rest, &end, 10);
		at = end;
		if (end == rest || port == 0 || port > 65535 || (*at != '\0' && *at != '@'))
			return mx_err_set(err, "socket '%s': want inet:PORT@HOST with a port of 1 to 65535", spec);
		return 0;
	}
	return mx_err_set(err, "socket '%s': must start with unix:, local:, inet: or inet6:", spec);
}

/* Highest descriptor we look at for libmilter's listening socket. */
#define MX_MILTER_FD_SCAN 1024

/* libmilter writes each reply packet separately (at the end of a message:
 * one per inserted header, then the verdict). With Nagle's algorithm the
 * second small write waits for the ACK of the first, which the MTA delays
 * (about 40 ms), on every message. libmilter does not expose its sockets,
 * so find the TCP socket it listens on and set TCP_NODELAY there: Linux
 * copies it to every accepted connection. */
static int set_listener_nodelay(struct mx_err *err)
{
	int fd, on = 1, found = 0;

	for (fd = 0; fd < MX_MILTER_FD_SCAN; fd++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int listening = 0;
		socklen_t olen = sizeof(listening);

		if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
			continue;
		if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &olen) < 0 || !listening)
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) < 0)
			return mx_err_set(err, "TCP_NODELAY on the milter socket: %s", strerror(errno));
		found++;
	}
	if (found == 0)
		return mx_err_set(err, "cannot find libmilter's listening TCP socket");
	return 0;
}

int mx_milter_open(struct smfiDesc *desc, const char *spec, int timeout,
		   uid_t uid, gid_t gid, struct mx_err *err)
{
	const char *path = NULL;

	if (mx_milter_check_socket(spec, err) < 0)
		return -1;
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0)
		path = strchr(spec, ':') + 1;
	if (smfi_setconn((char *)spec) != MI_SUCCESS)
		return mx_err_set(err, "socket '%s': libmilter refused it", spec);
	if (smfi_settimeout(timeout) != MI_SUCCESS || smfi_setbacklog(MX_MILTER_BACKLOG) != MI_SUCCESS)
		return mx_err_set(err, "libmilter refused the timeout or backlog");
	if (smfi_register(*desc) != MI_SUCCESS)
		return mx_err_set(err, "smfi_register failed (libmilter version mismatch?)");
	if (smfi_opensocket(1) != MI_SUCCESS)
		return mx_err_set(err, "socket '%s': cannot open (in use, or directory missing?)", spec);
	if (path != NULL && chmod(path, 0660) < 0)
		return mx_err_set(err, "socket '%s': chmod: %s", spec, strerror(errno));
	if (path != NULL && (uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) < 0)
		return mx_err_set(err, "socket '%s': chown: %s", spec, strerror(errno));
	if (path == NULL && set_listener_nodelay(err) < 0)
		return mx_err_prefix(err, "socket '%s': ", spec);
	if (path == NULL)
		mx_milter_quickack_enable();
	return 0;
}

int mx_milter_main(struct mx_err *err)
{
	if (smfi_main() != MI_SUCCESS)
		return mx_err_set(err, "smfi_main failed");
	return 0;
}

void mx_milter_stop(void)
{
	(void)smfi_stop();
}

static void (*reload_fn)(void);  /* set once before the reload thread starts */

static void *reload_thread(void *arg)
{
	sigset_t set;
	int sig;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	for (;;)
		if (sigwait(&set, &sig) == 0 && sig == SIGUSR1)
			reload_fn();
	return NULL;
}

int mx_milter_reload_start(void (*reload)(void), struct mx_err *err)
{
	sigset_t set;
	pthread_t t;
	int e;

	/* Blocked before any thread exists, so every thread inherits it:
	 * SIGUSR1 goes to the reload thread's sigwait, the others to
	 * libmilter's signal thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if ((e = pthread_sigmask(SIG_BLOCK, &set, NULL)) != 0)
		return mx_err_set(err, "pthread_sigmask: %s", strerror(e));
	reload_fn = reload;
	if ((e = pthread_create(&t, NULL, reload_thread, NULL)) != 0)
		return mx_err_set(err, "cannot start the reload thread: %s", strerror(e));
	(void)pthread_detach(t);
	return 0;
}

struct mx_milter_shared {
	void *value;
	void (*free_fn)(void *);
	unsigned refs;  /* connections using it, +1 while it is the current one */
};

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mx_milter_shared *shared_current;  /* under shared_lock */

struct mx_milter_shared *mx_milter_shared_acquire(void **value_r)
{
	struct mx_milter_shared *r;

	pthread_mutex_lock(&shared_lock);
	r = shared_current;
	if (r != NULL)
		r->refs++;
	pthread_mutex_unlock(&shared_lock);
	*value_r = r != NULL ? r->value : NULL;
	return r;
}

void mx_milter_shared_release(struct mx_milter_shared *r)
{
	bool last;

	if (r == NULL)
		return;
	pthread_mutex_lock(&shared_lock);
	last = --r->refs == 0;
	pthread_mutex_unlock(&shared_lock);
	if (last) {
		r->free_fn(r->value);
		free(r);
	}
}

int mx_milter_shared_set(void *value, void (*free_fn)(void *), struct mx_err *err)
{
	struct mx_milter_shared *r = NULL, *old;

	if (value != NULL) {
		r = malloc(sizeof(*r));
		if (r == NULL)
			return mx_err_set(err, "out of memory");
		r->value = value;
		r->free_fn = free_fn;
		r->refs = 1;
	}
	pthread_mutex_lock(&shared_lock);
	old = shared_current;
	shared_current = r;
	pthread_mutex_unlock(&shared_lock);
	mx_milter_shared_release(old);
	return 0;
}

int mx_milter_serve(void (*reload)(void), struct mx_err *err)
{
	if (mx_milter_reload_start(reload, err) < 0)
		return -1;
	mx_daemon_ready();
	return mx_milter_main(err);
}
