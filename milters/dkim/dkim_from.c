/* dkim_from.c: the single author domain of a From: field (see dkim_from.h). */
#include "mxkit-config.h"

#include <string.h>

#include "dkim_from.h"

#define FROM_NEST_MAX 32  /* comment nesting we follow */

/* Skip a quoted string starting at v[i] == '"'; returns the index after
 * it, or len when unterminated. */
static size_t skip_quoted(const char *v, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (v[i] == '\\' && i + 1 < len)
			i++;
		else if (v[i] == '"')
			return i + 1;
	}
	return len;
}

static size_t skip_comment(const char *v, size_t len, size_t i)
{
	int depth = 0;

	for (; i < len; i++) {
		if (v[i] == '\\' && i + 1 < len)
			i++;
		else if (v[i] == '(') {
			if (++depth > FROM_NEST_MAX)
				return len;
		} else if (v[i] == ')' && --depth == 0)
			return i + 1;
	}
	return len;
}

static int is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int take_domain(const char *d, size_t n, char *domain, struct mx_err *err)
{
	size_t i, label = 0, end, rest;

	while (n > 0 && is_fws(*d))
		d++, n--;
	/* The domain ends at white space or a comment; only more of those may follow. */
	for (end = 0; end < n && !is_fws(d[end]) && d[end] != '('; end++)
		;
	for (rest = end; rest < n;) {
		if (is_fws(d[rest]))
			rest++;
		else if (d[rest] == '(')
			rest = skip_comment(d, n, rest);
		else
			return mx_err_set(err, "From: domain has an invalid character");
	}
	n = end;
	if (n > 0 && d[n - 1] == '.')
		n--;  /* a root dot is not part of the name */
	if (n == 0)
		return mx_err_set(err, "From: address has an empty domain");
	if (n > DKIM_DOMAIN_MAX)
		return mx_err_set(err, "From: domain longer than %d bytes", DKIM_DOMAIN_MAX);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c == '.') {
			if (label == 0)
				return mx_err_set(err, "From: domain has an empty label");
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
			label++;
		} else if (c >= 'A' && c <= 'Z') {
			c = (unsigned char)(c + ('a' - 'A'));
			label++;
		} else {
			return mx_err_set(err, "From: domain has an invalid character");
		}
		domain[i] = (char)c;
	}
	domain[n] = '\0';
	return 0;
}

int dkim_from_domain(const char *v, size_t len, char *domain, struct mx_err *err)
{
	size_t i = 0, addrs = 0, start = 0, at = (size_t)-1, astart = 0, aend = 0;
	size_t last_at = (size_t)-1;
	int in_angle = 0, saw_angle = 0, nonblank = 0;

	if (memchr(v, '\0', len) != NULL)
		return mx_err_set(err, "From: contains a NUL byte");
	/* Walk the list; ',' and ';' (end of group) outside quotes, comments
	 * and angle brackets end a mailbox, ':' starts a group's list. */
	for (i = 0; i <= len; i++) {
		char c = i < len ? v[i] : ',';

		if (c == '"') {
			i = skip_quoted(v, len, i) - 1;
			nonblank = 1;
			continue;
		}
		if (c == '(') {
			i = skip_comment(v, len, i) - 1;
			continue;
		}
		if (c == '<' && !in_angle) {
			in_angle = 1;
			saw_angle = 1;
			astart = i + 1;
			last_at = (size_t)-1;
			continue;
		}
		if (c == '>' && in_angle) {
			in_angle = 0;
			aend = i;
			at = last_at;
			continue;
		}
		if (c == '@')
			last_at = i;
		if (in_angle) {
			if (i == len)
				return mx_err_set(err, "From: has an unclosed '<'");
			continue;
		}
		if (c == ':') {  /* group name ends: restart the mailbox */
			start = i + 1;
			nonblank = 0;
			last_at = (size_t)-1;
			continue;
		}
		if (c == ',' || c == ';') {
			if (nonblank || saw_angle) {
				if (++addrs > 1)
					return mx_err_set(err, "From: holds more than one address");
				if (!saw_angle) {
					at = last_at;
					astart = start;
					aend = i;
				}
				if (at == (size_t)-1 || at < astart || at >= aend)
					return mx_err_set(err, "From: address has no '@'");
				if (take_domain(v + at + 1, aend - at - 1, domain, err) < 0)
					return -1;
			}
			start = i + 1;
			nonblank = 0;
			saw_angle = 0;
			last_at = (size_t)-1;
			continue;
		}
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
			nonblank = 1;
	}
	if (addrs == 0)
		return mx_err_set(err, "From: holds no address");
	return 0;
}
