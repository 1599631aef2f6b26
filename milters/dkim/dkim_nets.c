/* dkim_nets.c: CIDR blocks and address matching (see dkim_nets.h). */
#include "mxkit-config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_nets.h"

int dkim_nets_add(struct dkim_nets *nets, const char *cidr, struct mx_err *err)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(cidr, '/');
	size_t hlen = slash ? (size_t)(slash - cidr) : strlen(cidr);
	struct dkim_net *n;
	unsigned max;
	char *end;
	unsigned long prefix;

	if (nets->n >= DKIM_NETS_MAX)
		return mx_err_set(err, "more than %d networks", DKIM_NETS_MAX);
	if (hlen == 0 || hlen >= sizeof(host))
		return mx_err_set(err, "'%.64s' is not an address/prefix", cidr);
	memcpy(host, cidr, hlen);
	host[hlen] = '\0';
	n = &nets->nets[nets->n];
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, host, n->addr) == 1) {
		n->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, n->addr) == 1) {
		n->family = AF_INET6;
		max = 128;
	} else {
		return mx_err_set(err, "'%.64s' is not an IPv4 or IPv6 address", host);
	}
	prefix = max;
	if (slash != NULL) {
		prefix = strtoul(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || prefix > max)
			return mx_err_set(err, "'%.64s': prefix length must be 0 to %u", cidr, max);
	}
	n->prefix = (unsigned)prefix;
	nets->n++;
	return 0;
}

static bool prefix_eq(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[bytes] ^ b[bytes]) & (0xff << (8 - rest)) & 0xff) == 0;
}

bool dkim_nets_match(const struct dkim_nets *nets, const struct sockaddr *sa)
{
	const unsigned char *a;
	int family;
	size_t i;

	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		family = AF_INET;
		a = (const unsigned char *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		family = AF_INET6;
		a = a6->s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			family = AF_INET;
			a += 12;
		}
	} else {
		return false;
	}
	for (i = 0; i < nets->n; i++)
		if (nets->nets[i].family == family && prefix_eq(a, nets->nets[i].addr, nets->nets[i].prefix))
			return true;
	return false;
}
