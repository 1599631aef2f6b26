/* mapd_listen.h: listening endpoints "unix:/path", "inet:127.0.0.1:PORT",
 * "inet:[::1]:PORT".
 *
 * Parsing is separate from binding so that `-t` checks the syntax and the
 * loopback rule without touching the file system or the network. */
#ifndef MAPD_LISTEN_H
#define MAPD_LISTEN_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "mx_error.h"


struct mapd_endpoint {
	char text[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];  /* as configured */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	bool is_unix;
	bool is_loopback;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];     /* unix only */
};

/* Parse one endpoint. Returns 0 or -1 with a reason (no file:line). */
int mapd_endpoint_parse(const char *text, struct mapd_endpoint *ep, struct mx_err *err);

/* Create, bind and listen. A unix socket replaces a stale one at its
 * path (only if it is a socket), gets `mode`, and the group `gid` when
 * set_group. Returns a non-blocking fd, or -1 with err. */
int mapd_endpoint_bind(const struct mapd_endpoint *ep, unsigned mode, bool set_group,
		       gid_t gid, struct mx_err *err);

/* Remove a unix socket at shutdown (best effort). */
void mapd_endpoint_unlink(const struct mapd_endpoint *ep);

#endif
