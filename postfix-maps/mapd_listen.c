/* mapd_listen.c: parse and bind the listening endpoints of mxkit-mapd. */
#include "mxkit-config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mapd_listen.h"
#include "mx_log.h"

#define LISTEN_BACKLOG 511

static int parse_port(const char *s, unsigned *port_r)
{
	unsigned long v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return -1;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v == 0 || v > 65535 || (s[0] == '0'))
		return -1;
	*port_r = (unsigned)v;
	return 0;
}

static int parse_inet(const char *spec, struct mapd_endpoint *ep, struct mx_err *err)
{
	char host[64];
	const char *colon, *h, *port_s;
	size_t hlen;
	unsigned port;

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (close == NULL || close[1] != ':')
			return mx_err_set(err, "'inet:%s': expected inet:[IPv6]:PORT", spec);
		h = spec + 1;
		hlen = (size_t)(close - h);
		port_s = close + 2;
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL)
			return mx_err_set(err, "'inet:%s': expected inet:ADDRESS:PORT", spec);
		h = spec;
		hlen = (size_t)(colon - spec);
		port_s = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return mx_err_set(err, "'inet:%s': bad address", spec);
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (parse_port(port_s, &port) < 0)
		return mx_err_set(err, "'inet:%s': port must be a number from 1 to 65535", spec);
	memset(&ep->addr, 0, sizeof(ep->addr));
	if (spec[0] != '[') {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ep->addr;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return mx_err_set(err, "'inet:%s': '%s' is not a numeric IPv4 address"
					  " (IPv6 goes in brackets)", spec, host);
		ep->addr_len = sizeof(*sin);
		ep->is_loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ep->addr;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return mx_err_set(err, "'inet:%s': '%s' is not a numeric IPv6 address", spec, host);
		ep->addr_len = sizeof(*sin6);
		ep->is_loopback = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr) != 0;
	}
	return 0;
}

int mapd_endpoint_parse(const char *text, struct mapd_endpoint *ep, struct mx_err *err)
{
	int n;

	memset(ep, 0, sizeof(*ep));
	n = snprintf(ep->text, sizeof(ep->text), "%s", text);
	if (n < 0 || (size_t)n >= sizeof(ep->text))
		return mx_err_set(err, "listen address '%.40s...' is too long", text);
	if (strncmp(text, "unix:", 5) == 0) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ep->addr;
		const char *path = text + 5;
		if (path[0] != '/')
			return mx_err_set(err, "'%s': the socket path must be absolute", text);
		if (strlen(path) >= sizeof(sun->sun_path))
			return mx_err_set(err, "'%s': the socket path is longer than %zu bytes",
					  text, sizeof(sun->sun_path) - 1);
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, path, strlen(path) + 1);
		memcpy(ep->path, path, strlen(path) + 1);
		ep->addr_len = sizeof(*sun);
		ep->is_unix = true;
		ep->is_loopback = true;
		return 0;
	}
	if (strncmp(text, "inet:", 5) == 0)
		return parse_inet(text + 5, ep, err);
	return mx_err_set(err, "'%s': expected unix:/path, inet:127.0.0.1:PORT or inet:[::1]:PORT", text);
}

static int unlink_stale(const char *path, struct mx_err *err)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : mx_err_set(err, "%s: %s", path, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return mx_err_set(err, "%s: exists and is not a socket; not replacing it", path);
	if (unlink(path) < 0)
		return mx_err_set(err, "%s: cannot remove old socket: %s", path, strerror(errno));
	return 0;
}

/* A directory anyone may write to (without the sticky bit) lets anyone
 * replace our socket with theirs: refuse it. */
static int check_socket_dir(const char *path, struct mx_err *err)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *slash = strrchr(path, '/');
	size_t len = slash != NULL && slash != path ? (size_t)(slash - path) : 1;
	struct stat st;

	memcpy(dir, path, len);
	dir[len] = '\0';
	if (stat(dir, &st) < 0)
		return mx_err_set(err, "socket directory %s: %s", dir, strerror(errno));
	if ((st.st_mode & S_IWOTH) != 0 && (st.st_mode & S_ISVTX) == 0)
		return mx_err_set(err, "socket directory %s is world-writable; refusing to use it", dir);
	return 0;
}

int mapd_endpoint_bind(const struct mapd_endpoint *ep, unsigned mode, bool set_group,
		       gid_t gid, struct mx_err *err)
{
	int fd, one = 1;
	mode_t old_mask;

	fd = socket(ep->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return mx_err_set(err, "%s: socket: %s", ep->text, strerror(errno));
	if (ep->is_unix) {
		if (check_socket_dir(ep->path, err) < 0 || unlink_stale(ep->path, err) < 0)
			goto fail;
		old_mask = umask(0777 & ~(mode_t)mode);
		if (bind(fd, (const struct sockaddr *)&ep->addr, ep->addr_len) < 0) {
			(void)umask(old_mask);
			mx_err_set(err, "%s: bind: %s", ep->text, strerror(errno));
			goto fail;
		}
		(void)umask(old_mask);
		if (set_group && chown(ep->path, (uid_t)-1, gid) < 0) {
			mx_err_set(err, "%s: chown: %s", ep->text, strerror(errno));
			goto fail;
		}
		if (chmod(ep->path, (mode_t)mode) < 0) {
			mx_err_set(err, "%s: chmod: %s", ep->text, strerror(errno));
			goto fail;
		}
	} else {
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ep->addr.ss_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, (const struct sockaddr *)&ep->addr, ep->addr_len) < 0) {
			mx_err_set(err, "%s: bind: %s", ep->text, strerror(errno));
			goto fail;
		}
	}
	if (listen(fd, LISTEN_BACKLOG) < 0) {
		mx_err_set(err, "%s: listen: %s", ep->text, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	(void)close(fd);
	return -1;
}

void mapd_endpoint_unlink(const struct mapd_endpoint *ep)
{
	if (ep->is_unix && unlink(ep->path) < 0 && errno != ENOENT)
		mx_log_info("cannot remove socket %s: %s", ep->path, strerror(errno));
}
