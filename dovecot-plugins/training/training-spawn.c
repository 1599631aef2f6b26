/* training-spawn.c: starts `mxkit-train -c CONFIG --pending` detached from
 * the imap process after events were recorded, so that they are trained
 * at once without the IMAP command waiting. The intermediate child exits
 * at once (waited for here), so the trainer is never our zombie; the
 * trainer gets /dev/null as stdio and no other descriptors. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib.h"
#include "training-plugin.h"

static void training_exec_trainer(const struct training_settings *set)
{
	const char *argv[] = { set->trainer, "-c", set->config_path, "--pending", NULL };
	sigset_t none;
	int fd;

	if (setsid() < 0 || fork() != 0)
		_exit(0);
	fd = open("/dev/null", O_RDWR);
	if (fd < 0)
		_exit(1);
	(void)dup2(fd, 0);
	(void)dup2(fd, 1);
	(void)dup2(fd, 2);
	closefrom(3);
	(void)signal(SIGCHLD, SIG_DFL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	execv(set->trainer, (char *const *)argv);
	_exit(127);
}

int training_spawn_trainer(const struct training_settings *set, const char **error_r)
{
	pid_t pid;
	int status;

	if (access(set->trainer, X_OK) < 0) {
		*error_r = t_strdup_printf("cannot run %s: %s", set->trainer, strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		*error_r = t_strdup_printf("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		training_exec_trainer(set);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			*error_r = t_strdup_printf("waitpid: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}
