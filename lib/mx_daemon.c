/* mx_daemon.c: shared daemon start-up (see mx_daemon.h).
 *
 * The few statics here (the ready and signal pipes) are set once during
 * single-threaded start-up and only read afterwards; the signal handler
 * touches nothing but a write(2) to the signal pipe. */
#include "mxkit-config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mx_config.h"
#include "mx_daemon.h"
#include "mx_log.h"

#define PW_BUF_SIZE 16384

static int ready_fd = -1;
static int sig_pipe[2] = { -1, -1 };

int mx_daemon_args_parse(int argc, char **argv, struct mx_daemon_args *out,
			 struct mx_err *err)
{
	int c;

	memset(out, 0, sizeof(*out));
	out->config_path = MX_CONFIG_DEFAULT;
	opterr = 0;
	optind = 1;
	while ((c = getopt(argc, argv, ":c:ftV")) != -1) {
		switch (c) {
		case 'c': out->config_path = optarg; break;
		case 'f': out->foreground = true; break;
		case 't': out->check_only = true; break;
		case 'V': out->version = true; break;
		case ':':
			return mx_err_set(err, "option -%c needs an argument\n"
					  "usage: %s [-f] [-t] [-V] [-c config]", optopt, argv[0]);
		default:
			return mx_err_set(err, "unknown option -%c\n"
					  "usage: %s [-f] [-t] [-V] [-c config]", optopt, argv[0]);
		}
	}
	if (optind != argc)
		return mx_err_set(err, "unexpected argument '%s'\n"
				  "usage: %s [-f] [-t] [-V] [-c config]", argv[optind], argv[0]);
	return 0;
}

void mx_daemon_print_version(const char *name)
{
	printf("%s %s\n", name, PACKAGE_VERSION);
}

static int copy_path(char *dst, size_t size, const char *value, const char *name,
		     const config_setting_t *section, struct mx_err *err)
{
	char where[PATH_MAX + 16];
	int n = snprintf(dst, size, "%s", value);

	if (n < 0 || (size_t)n >= size)
		return mx_err_set(err, "%s: '%s' is too long", mx_config_where(section, where, sizeof(where)), name);
	if (value[0] != '/')
		return mx_err_set(err, "%s: '%s' must be an absolute path",
				  mx_config_where(config_setting_get_member(section, name), where, sizeof(where)), name);
	return 0;
}

static int resolve_user(const config_setting_t *section, const char *user,
			const char *group, struct mx_daemon_config *out, struct mx_err *err)
{
	char where[PATH_MAX + 16];
	char buf[PW_BUF_SIZE];
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	int n;

	if (user != NULL) {
		n = snprintf(out->user, sizeof(out->user), "%s", user);
		if (n < 0 || (size_t)n >= sizeof(out->user) ||
		    getpwnam_r(user, &pw, buf, sizeof(buf), &pwp) != 0 || pwp == NULL)
			return mx_err_set(err, "%s: unknown user '%s'",
					  mx_config_where(config_setting_get_member(section, "user"),
							  where, sizeof(where)), user);
		out->has_user = true;
		out->uid = pw.pw_uid;
		out->gid = pw.pw_gid;
	} else {
		out->uid = getuid();
		out->gid = getgid();
	}
	if (group != NULL) {
		if (user == NULL)
			return mx_err_set(err, "%s: 'group' needs 'user'",
					  mx_config_where(section, where, sizeof(where)));
		if (getgrnam_r(group, &gr, buf, sizeof(buf), &grp) != 0 || grp == NULL)
			return mx_err_set(err, "%s: unknown group '%s'",
					  mx_config_where(config_setting_get_member(section, "group"),
							  where, sizeof(where)), group);
		out->gid = gr.gr_gid;
	}
	return 0;
}

int mx_daemon_config_parse(const config_setting_t *section,
			   struct mx_daemon_config *out, struct mx_err *err)
{
	const char *user, *group, *pid_file, *log_file, *level;
	char where[PATH_MAX + 16];

	memset(out, 0, sizeof(*out));
	out->log_level = LOG_INFO;
	if (mx_config_string(section, "user", NULL, &user, err) < 0 ||
	    mx_config_string(section, "group", NULL, &group, err) < 0 ||
	    mx_config_string(section, "pid_file", NULL, &pid_file, err) < 0 ||
	    mx_config_string(section, "log_file", NULL, &log_file, err) < 0 ||
	    mx_config_string(section, "log_level", "info", &level, err) < 0)
		return -1;
	if (pid_file != NULL && copy_path(out->pid_file, sizeof(out->pid_file), pid_file,
					  "pid_file", section, err) < 0)
		return -1;
	if (log_file != NULL && copy_path(out->log_file, sizeof(out->log_file), log_file,
					  "log_file", section, err) < 0)
		return -1;
	out->log_level = mx_log_level_parse(level);
	if (out->log_level < 0)
		return mx_err_set(err, "%s: 'log_level' must be one of error, warning, notice, info, debug",
				  mx_config_where(config_setting_get_member(section, "log_level"),
						  where, sizeof(where)));
	return resolve_user(section, user, group, out, err);
}

int mx_daemon_log_setup(const char *ident, const struct mx_daemon_args *args,
			const struct mx_daemon_config *conf, struct mx_err *err)
{
	enum mx_log_target target = MX_LOG_SYSLOG;

	if (args->foreground)
		target = MX_LOG_STDERR;
	else if (conf->log_file[0] != '\0')
		target = MX_LOG_FILE;
	if (mx_log_open(ident, target, conf->log_file, err) < 0)
		return -1;
	mx_log_set_level(conf->log_level);
	return 0;
}

static int stdio_to_null(struct mx_err *err)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return mx_err_set(err, "/dev/null: %s", strerror(errno));
	for (int i = 0; i <= 2; i++)
		if (dup2(fd, i) < 0)
			return mx_err_set(err, "dup2: %s", strerror(errno));
	if (fd > 2)
		(void)close(fd);
	return 0;
}

int mx_daemon_detach(const struct mx_daemon_args *args, struct mx_err *err)
{
	int p[2];
	pid_t pid;
	char c;
	ssize_t n;

	if (args->foreground)
		return 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return mx_err_set(err, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		return mx_err_set(err, "fork: %s", strerror(errno));
	if (pid > 0) {
		/* Parent: exit with the child's verdict. */
		(void)close(p[1]);
		do
			n = read(p[0], &c, 1);
		while (n < 0 && errno == EINTR);
		_exit(n == 1 ? 0 : 1);
	}
	(void)close(p[0]);
	if (setsid() < 0)
		return mx_err_set(err, "setsid: %s", strerror(errno));
	/* Second fork: never reacquire a controlling terminal. */
	pid = fork();
	if (pid < 0)
		return mx_err_set(err, "fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	if (chdir("/") < 0)
		return mx_err_set(err, "chdir /: %s", strerror(errno));
	ready_fd = p[1];
	return 0;
}

void mx_daemon_ready(void)
{
	struct mx_err err;

	if (ready_fd < 0)
		return;
	if (stdio_to_null(&err) < 0)
		mx_log_warn("%s", err.text);
	if (write(ready_fd, "", 1) != 1)
		mx_log_warn("cannot tell the parent process that start-up is done: %s", strerror(errno));
	(void)close(ready_fd);
	ready_fd = -1;
}

int mx_daemon_pidfile_write(const char *path, uid_t uid, gid_t gid, struct mx_err *err)
{
	char buf[32];
	int fd, n;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return mx_err_set(err, "pid file %s: %s", path, strerror(errno));
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(buf) || write(fd, buf, (size_t)n) != n) {
		(void)close(fd);
		return mx_err_set(err, "pid file %s: write failed", path);
	}
	if (geteuid() == 0 && fchown(fd, uid, gid) < 0) {
		(void)close(fd);
		return mx_err_set(err, "pid file %s: chown: %s", path, strerror(errno));
	}
	if (close(fd) < 0)
		return mx_err_set(err, "pid file %s: %s", path, strerror(errno));
	return 0;
}

void mx_daemon_pidfile_remove(const char *path)
{
	int fd;

	if (path == NULL || path[0] == '\0' || unlink(path) == 0 || errno == ENOENT)
		return;
	/* The directory is not ours after dropping root: empty it instead. */
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0)
		(void)close(fd);
	else
		mx_log_warn("cannot remove pid file %s: %s", path, strerror(errno));
}

int mx_daemon_drop_privileges(const struct mx_daemon_config *conf, struct mx_err *err)
{
	if (geteuid() != 0) {
		if (conf->has_user && conf->uid != geteuid())
			return mx_err_set(err, "cannot switch to user '%s': not started as root", conf->user);
		return 0;
	}
	if (!conf->has_user)
		return mx_err_set(err, "refusing to run as root: set 'user' (or user = \"root\" explicitly)");
	if (conf->uid == 0) {
		mx_log_warn("running as root because the configuration says user = \"%s\"", conf->user);
		return 0;
	}
	if (setgroups(1, &conf->gid) < 0)
		return mx_err_set(err, "setgroups: %s", strerror(errno));
	if (setgid(conf->gid) < 0)
		return mx_err_set(err, "setgid(%ld): %s", (long)conf->gid, strerror(errno));
	if (setuid(conf->uid) < 0)
		return mx_err_set(err, "setuid(%ld): %s", (long)conf->uid, strerror(errno));
	if (setuid(0) == 0 || seteuid(0) == 0 || getuid() != conf->uid || geteuid() != conf->uid ||
	    getgid() != conf->gid || getegid() != conf->gid)
		return mx_err_set(err, "privileges were not dropped to user '%s'", conf->user);
	return 0;
}

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;
	ssize_t n = write(sig_pipe[1], &c, 1);

	(void)n;  /* pipe full: a signal of that kind is already pending */
	errno = saved;
}

int mx_daemon_signals_init(struct mx_err *err)
{
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT };
	struct sigaction sa;

	if (sig_pipe[0] >= 0)
		return sig_pipe[0];
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return mx_err_set(err, "pipe: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return mx_err_set(err, "sigaction: %s", strerror(errno));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		return mx_err_set(err, "sigaction: %s", strerror(errno));
	return sig_pipe[0];
}

unsigned mx_daemon_signals_take(void)
{
	unsigned char buf[64];
	unsigned bits = 0;
	ssize_t n;

	while ((n = read(sig_pipe[0], buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == SIGHUP)
				bits |= MX_SIG_RELOAD;
			else if (buf[i] == SIGTERM || buf[i] == SIGINT)
				bits |= MX_SIG_STOP;
		}
	}
	return bits;
}

void mx_daemon_signals_block(bool block)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	(void)pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}
