/* dkim_nets.h: the internal networks whose clients' mail is signed
 * (CIDR blocks "192.0.2.0/24", "2001:db8::/32"; a bare address is /32
 * or /128). */
#ifndef DKIM_NETS_H
#define DKIM_NETS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "mx_error.h"

#define DKIM_NETS_MAX 64

struct dkim_net {
	int family;                 /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
};

struct dkim_nets {
	size_t n;
	struct dkim_net nets[DKIM_NETS_MAX];
};

/* Add one CIDR block; returns 0 or -1 naming what is wrong. */
int dkim_nets_add(struct dkim_nets *nets, const char *cidr, struct mx_err *err);
/* Is the address in one of the blocks? (IPv4-mapped IPv6 counts as IPv4.) */
bool dkim_nets_match(const struct dkim_nets *nets, const struct sockaddr *sa);

#endif
