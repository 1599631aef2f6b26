/* train-command.c: the command backend, e.g. sa-learn --spam -u %u.
 *
 * The program from spam_command/ham_command runs directly (no shell), with
 * %u in an argument replaced by the user and %% by %, the message on its
 * standard input, and the training timeout: it is killed when it takes
 * longer. Exit status 0 means learned; anything else is retried later. */
#include "mxkit-config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "train.h"

/* Expand %u and %% of `tmpl` into out. -1 when it does not fit. */
static int train_expand(const char *tmpl, const char *user, char *out, size_t size)
{
	size_t used = 0, n;
	const char *add;

	for (; *tmpl != '\0'; tmpl++) {
		char one[2] = { *tmpl, '\0' };
		add = one;
		if (tmpl[0] == '%' && tmpl[1] == 'u') {
			add = user;
			tmpl++;
		} else if (tmpl[0] == '%' && tmpl[1] == '%') {
			tmpl++;
		}
		n = strlen(add);
		if (used + n >= size)
			return -1;
		memcpy(out + used, add, n);
		used += n;
	}
	out[used] = '\0';
	return 0;
}

static int train_feed(int fd, pid_t pid, const struct train_request *req, unsigned timeout)
{
	time_t deadline = time(NULL) + timeout;
	size_t off = 0;

	while (off < req->message_len) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		time_t left = deadline - time(NULL);
		if (left <= 0 || poll(&p, 1, (int)left * 1000) == 0)
			return -1;
		ssize_t n = write(fd, req->message + off, req->message_len - off);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			break; /* the program stopped reading: its exit status tells */
		if (n > 0)
			off += (size_t)n;
	}
	(void)pid;
	return 0;
}

enum train_outcome train_command(const struct train_config *conf, const struct train_request *req,
				 char *result, size_t result_size)
{
	char expanded[TRAIN_ARGV_MAX][TRAIN_ARG_MAX];
	char *argv[TRAIN_ARGV_MAX + 1];
	char (*tmpl)[TRAIN_ARG_MAX] = req->spam ? (char (*)[TRAIN_ARG_MAX])conf->spam_argv :
		(char (*)[TRAIN_ARG_MAX])conf->ham_argv;
	unsigned argc = req->spam ? conf->spam_argc : conf->ham_argc, i, waited;
	int pipefd[2], status = 0;
	pid_t pid;

	for (i = 0; i < argc; i++) {
		if (train_expand(tmpl[i], req->user, expanded[i], sizeof(expanded[i])) < 0) {
			snprintf(result, result_size, "argument %u too long after expanding %%u", i);
			return TRAIN_REFUSED;
		}
		argv[i] = expanded[i];
	}
	argv[argc] = NULL;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		snprintf(result, result_size, "pipe: %s", strerror(errno));
		return TRAIN_RETRY;
	}
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		snprintf(result, result_size, "fork: %s", strerror(errno));
		return TRAIN_RETRY;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		(void)dup2(pipefd[0], 0);
		if (null >= 0) {
			(void)dup2(null, 1);
			(void)dup2(null, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[0]);
	(void)fcntl(pipefd[1], F_SETFL, O_NONBLOCK);
	bool fed = train_feed(pipefd[1], pid, req, conf->timeout) == 0;
	close(pipefd[1]);
	/* Wait for the exit, bounded by the timeout (in 10 ms steps). */
	for (waited = 0; fed && waited < conf->timeout * 100; waited++) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			break;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (!fed || waited >= conf->timeout * 100) {
		kill(pid, SIGKILL);
		(void)waitpid(pid, &status, 0);
		snprintf(result, result_size, "%s: killed after %us", argv[0], conf->timeout);
		return TRAIN_RETRY;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		snprintf(result, result_size, "%s: exit 0", argv[0]);
		return TRAIN_DONE;
	}
	if (WIFEXITED(status))
		snprintf(result, result_size, "%s: exit %d", argv[0], WEXITSTATUS(status));
	else
		snprintf(result, result_size, "%s: signal %d", argv[0],
			 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return TRAIN_RETRY;
}
