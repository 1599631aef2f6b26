/* strip_client.c: finding the submitting client in a header value (see strip_client.h). */
#include "mxkit-config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "strip_client.h"

static const unsigned char v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

void strip_client_init(struct strip_client *c)
{
	memset(c, 0, sizeof(*c));
}

/* Parse text[0..len) as an address into a 16-byte form where IPv4 and
 * IPv4-mapped IPv6 are both the mapped form. Returns 4, 6 or 0. */
static int parse_addr(const char *text, size_t len, unsigned char out[16])
{
	char buf[STRIP_ADDR_TEXT_MAX + 1];
	struct in_addr a4;

	if (len == 0 || len > STRIP_ADDR_TEXT_MAX)
		return 0;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		memcpy(out, v4_mapped_prefix, 12);
		memcpy(out + 12, &a4, 4);
		return 4;
	}
	if (inet_pton(AF_INET6, buf, out) == 1)
		return 6;
	return 0;
}

static void set_addr(struct strip_client *c, const unsigned char a[16])
{
	memcpy(c->addr, a, 16);
	c->v4 = memcmp(a, v4_mapped_prefix, 12) == 0;
	c->has_addr = true;
}

int strip_client_set_addr_text(struct strip_client *c, const char *text)
{
	unsigned char a[16];
	size_t len = strlen(text);

	if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
		text++;
		len -= 2;
	}
	if (len > 5 && strncasecmp(text, "IPv6:", 5) == 0) {
		text += 5;
		len -= 5;
	}
	if (parse_addr(text, len, a) == 0)
		return -1;
	set_addr(c, a);
	return 0;
}

void strip_client_set_sockaddr(struct strip_client *c, const struct sockaddr *sa)
{
	unsigned char a[16];

	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
		memcpy(a, v4_mapped_prefix, 12);
		memcpy(a + 12, &s4->sin_addr, 4);
		set_addr(c, a);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
		memcpy(a, &s6->sin6_addr, 16);
		set_addr(c, a);
	}
}

static bool host_char(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

bool strip_client_set_name(struct strip_client *c, const char *name)
{
	size_t len = strlen(name), i;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > STRIP_HOST_MAX || strcasecmp(name, "unknown") == 0)
		return false;
	for (i = 0; i < len; i++)
		if (!host_char((unsigned char)name[i]) && name[i] != '.')
			return false;  /* also "[192.0.2.1]", the connect event's "no name" */
	memcpy(c->name, name, len);
	c->name[len] = '\0';
	return true;
}

static bool addr_char(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
	       (ch >= 'A' && ch <= 'F') || ch == ':' || ch == '.';
}

static bool is_digit(unsigned char ch)
{
	return ch >= '0' && ch <= '9';
}

/* Is there an address equal to the client's that starts at s? Candidates
 * end where the address characters end, or before ":port", or before a
 * '.' that ends a sentence. A start inside a run of address characters
 * (after ':') is taken only for IPv4 ("::ffff:192.0.2.1", "x:192.0.2.1")
 * or after "IPv6:", so that a longer IPv6 address does not yield a
 * shorter one by accident. */
static bool addr_at(const struct strip_client *c, const char *v, size_t len, size_t s, bool inner)
{
	unsigned char a[16];
	size_t e, max = s + STRIP_ADDR_TEXT_MAX < len ? s + STRIP_ADDR_TEXT_MAX : len;
	int kind;

	for (e = s + 1; e <= max; e++) {
		bool end = e == len || !addr_char((unsigned char)v[e]);
		bool before_port = e < len && v[e] == ':';
		bool before_dot = e < len && v[e] == '.' && (e + 1 == len || !is_digit((unsigned char)v[e + 1]));

		if (!end && !before_port && !before_dot)
			continue;
		kind = parse_addr(v + s, e - s, a);
		if (kind == 0 || ((before_port || inner) && kind != 4))
			continue;
		if (memcmp(a, c->addr, 16) == 0)
			return true;
	}
	return false;
}

static bool ipv6_tag_before(const char *v, size_t s)
{
	return s >= 5 && strncasecmp(v + s - 5, "IPv6:", 5) == 0;
}

static bool addr_in(const struct strip_client *c, const char *v, size_t len)
{
	size_t s;

	for (s = 0; s < len; s++) {
		unsigned char ch = (unsigned char)v[s];
		bool fresh, inner;

		if (!addr_char(ch) || ch == '.')
			continue;
		fresh = s == 0 || !addr_char((unsigned char)v[s - 1]);
		inner = !fresh && v[s - 1] == ':';
		if (!fresh && !inner)
			continue;
		if (inner && ipv6_tag_before(v, s))
			inner = false;
		if (addr_at(c, v, len, s, inner))
			return true;
	}
	return false;
}

static bool name_in(const struct strip_client *c, const char *v, size_t len)
{
	size_t n = strlen(c->name), s;

	if (n == 0 || n > len)
		return false;
	for (s = 0; s + n <= len; s++) {
		size_t e = s + n;
		if (s > 0 && (host_char((unsigned char)v[s - 1]) || v[s - 1] == '.'))
			continue;
		if (strncasecmp(v + s, c->name, n) != 0)
			continue;
		if (e < len && host_char((unsigned char)v[e]))
			continue;
		if (e + 1 < len && v[e] == '.' && host_char((unsigned char)v[e + 1]))
			continue;
		return true;
	}
	return false;
}

bool strip_client_named(const struct strip_client *c, const char *value, size_t len)
{
	return (c->has_addr && addr_in(c, value, len)) || name_in(c, value, len);
}
