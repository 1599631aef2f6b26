/* strip_client.h: who submitted the message, and does a header value name them?
 *
 * The client is its IP address (from the milter connect event or the
 * {client_addr} macro) and its verified hostname ({client_name}; Postfix
 * says "unknown", or "[address]" in the connect event, when there is none).
 * strip_client_named() looks for either in a header value: the address in
 * any textual form (dotted IPv4, IPv6 compressed or not, upper or lower
 * case, "IPv6:" prefixed, IPv4-mapped "::ffff:a.b.c.d" or "::ffff:XXXX:XXXX",
 * followed by ":port"), the hostname as a whole name, case-insensitively.
 * The value is untrusted: scanning is linear in its length times a small
 * constant (MX_STRIP_ADDR_TEXT_MAX) and never allocates. */
#ifndef STRIP_CLIENT_H
#define STRIP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define STRIP_HOST_MAX 253
/* Longest textual address we look for (INET6_ADDRSTRLEN - 1). */
#define STRIP_ADDR_TEXT_MAX 45

struct strip_client {
	bool has_addr;
	bool v4;                     /* addr[0..3] is IPv4 (also for IPv4-mapped IPv6) */
	unsigned char addr[16];
	char name[STRIP_HOST_MAX + 1];   /* "" when unknown */
};

void strip_client_init(struct strip_client *c);
/* Set the address from its text ("192.0.2.1", "2001:db8::1", "IPv6:...",
 * "[...]"). Returns 0, or -1 when it is not an address (client unchanged). */
int strip_client_set_addr_text(struct strip_client *c, const char *text);
/* Set the address from a socket address (AF_INET/AF_INET6); others are ignored. */
void strip_client_set_sockaddr(struct strip_client *c, const struct sockaddr *sa);
/* Set the hostname unless it is empty, "unknown", a bracketed address or
 * not a plausible host name. Returns true when it was taken. */
bool strip_client_set_name(struct strip_client *c, const char *name);

/* Does value[0..len) contain the client's address or hostname? */
bool strip_client_named(const struct strip_client *c, const char *value, size_t len);

#endif
