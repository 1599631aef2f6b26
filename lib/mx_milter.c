/* mx_milter.c: shared libmilter startup for mxkit milters (see mx_milter.h). */
#include "mxkit-config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
