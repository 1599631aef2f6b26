/* mx_milter.c: the start-up shared by mxkit milters, socket checks and the
 * configuration shared across reloads (see mx_milter.h). */
#include "mxkit-config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>

#include "mx_daemon.h"
#include "mx_log.h"
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

void mx_milter_app_started(struct mx_milter_app *app, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(app->started, sizeof(app->started), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(app->started))
		snprintf(app->started, sizeof(app->started), "started");
}

static int start(const struct mx_daemon_args *args, struct mx_milter_app *app,
		 const struct mx_daemon_config *d, struct mx_milter_server **srv,
		 struct mx_err *err)
{
	struct mx_milter_listen_opts lo = {
		.spec = app->socket,
		.uid = d->has_user ? d->uid : (uid_t)-1,
		.gid = app->socket_gid != (gid_t)-1 ? app->socket_gid : d->has_user ? d->gid : (gid_t)-1,
		.timeout = app->timeout,
	};

	if (mx_daemon_detach(args, err) < 0)
		return -1;
	if (d->pid_file[0] != '\0' && mx_daemon_pidfile_write(d->pid_file, d->uid, d->gid, err) < 0)
		return -1;
	if ((*srv = mx_milter_listen(&lo, err)) == NULL)
		return -1;
	if (mx_daemon_drop_privileges(d, err) < 0)
		return -1;
	if (mx_milter_signals_block(err) < 0)
		return -1;
	if (app->after_drop != NULL && app->after_drop(err) < 0)
		return -1;
	app->installed = true;
	if (app->install(err) < 0)
		return -1;
	/* Only now: a reload must not be overwritten by the first install. */
	return mx_milter_signals_start(*srv, app->reload, err);
}

int mx_milter_run(const struct mx_daemon_args *args, struct mx_milter_app *app)
{
	struct mx_daemon_config d = *app->daemon;  /* the configuration may go on reload */
	struct mx_milter_server *srv = NULL;
	struct mx_err err;
	int rc = 1;

	app->installed = false;
	if (mx_daemon_log_setup(app->program, args, &d, &err) < 0) {
		fprintf(stderr, "%s: %s\n", app->program, err.text);
		return 1;
	}
	if (start(args, app, &d, &srv, &err) < 0) {
		mx_log_err("cannot start: %s", err.text);
		if (!args->foreground)
			fprintf(stderr, "%s: cannot start: %s\n", app->program, err.text);
		if (srv != NULL)
			mx_milter_server_close(srv);
		goto out;
	}
	mx_log_info("%s", app->started);
	mx_daemon_ready();
	if (mx_milter_serve_loop(srv, app->cb, &err) < 0)
		mx_log_err("%s", err.text);
	else
		rc = 0;
out:
	if (app->installed && app->shutdown != NULL)
		app->shutdown();
	if (rc == 0)
		mx_log_info("stopped");
	mx_daemon_pidfile_remove(d.pid_file);
	mx_log_close();
	return rc;
}
