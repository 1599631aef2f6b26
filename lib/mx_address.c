/* mx_address.c: RFC 5321 Mailbox parsing (with optional RFC 6531 UTF-8),
 * external-form formatting, lowercasing and Postfix-compatible address
 * extension splitting.
 *
 * The parser walks the grammar byte by byte over a caller's buffer of
 * explicit length, copies into the fixed arrays of struct mx_address,
 * and never allocates. Every rejection names the part and the offset at
 * fault; untrusted bytes are reported only as hex, never copied into a
 * message. */
#include "mxkit-config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "mx_address.h"

#define LABEL_MAX 63          /* octets of one domain label, RFC 1035 2.3.4 */
#define LITERAL_TEXT_MAX 64   /* longest address-literal body we hand to inet_pton */
#define IPV6_TAG "IPv6:"
#define IPV6_TAG_LEN 5

/* Byte classes of RFC 5321 / RFC 5322. */

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 5322 3.2.3 atext, ASCII part. */
static bool is_atext(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* RFC 5321 4.1.2 qtextSMTP: %d32-33 / %d35-91 / %d93-126. */
static bool is_qtext(unsigned char c)
{
	return c >= 32 && c <= 126 && c != '"' && c != '\\';
}

/* Length of the valid UTF-8 multi-byte sequence at p (n bytes left), or
 * 0 if there is none: rejects stray continuation bytes, overlong forms
 * (C0, C1, E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and code
 * points above U+10FFFF (F4 90.., F5..FF). */
static size_t utf8_seq_len(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		need = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		need = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (n < need || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return need;
}

static bool is_dot_string(const char *s, size_t len, unsigned flags)
{
	const unsigned char *p = (const unsigned char *)s;
	bool atom_start = true;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '.') {
			if (atom_start)
				return false;
			atom_start = true;
			continue;
		}
		if (p[i] >= 0x80 && (flags & MX_ADDR_UTF8)) {
			size_t n = utf8_seq_len(p + i, len - i);
			if (n == 0)
				return false;
			i += n - 1;
		} else if (!is_atext(p[i])) {
			return false;
		}
		atom_start = false;
	}
	return !atom_start;
}

/* Domain names: LDH labels (or UTF-8 labels with MX_ADDR_UTF8). */

static int label_check(const unsigned char *p, size_t len, size_t off,
		       unsigned flags, struct mx_err *err)
{
	if (len == 0)
		return mx_err_set(err, "empty label at offset %zu of domain", off);
	if (len > LABEL_MAX)
		return mx_err_set(err, "label at offset %zu of domain is %zu octets (max %d)",
				  off, len, LABEL_MAX);
	if (p[0] == '-' || p[len - 1] == '-')
		return mx_err_set(err, "label at offset %zu of domain begins or ends with '-'", off);
	for (size_t i = 0; i < len; i++) {
		if (p[i] >= 0x80 && (flags & MX_ADDR_UTF8)) {
			size_t n = utf8_seq_len(p + i, len - i);
			if (n == 0)
				return mx_err_set(err, "invalid UTF-8 at offset %zu of domain", off + i);
			i += n - 1;
		} else if (!is_alpha(p[i]) && !is_digit(p[i]) && p[i] != '-') {
			return mx_err_set(err, "invalid byte 0x%02x at offset %zu of domain",
					  p[i], off + i);
		}
	}
	return 0;
}

static int domain_name_check(const char *domain, size_t len, unsigned flags, struct mx_err *err)
{
	const unsigned char *p = (const unsigned char *)domain;
	size_t start = 0;

	if (len == 0)
		return mx_err_set(err, "empty domain");
	if (len > MX_DOMAIN_MAX)
		return mx_err_set(err, "domain is %zu octets (max %d)", len, MX_DOMAIN_MAX);
	for (size_t i = 0; i <= len; i++) {
		if (i < len && p[i] != '.')
			continue;
		if (i == len && start == len && len > 0)
			return mx_err_set(err, "domain ends with '.'");
		if (label_check(p + start, i - start, start, flags, err) < 0)
			return -1;
		start = i + 1;
	}
	return 0;
}

bool mx_domain_valid(const char *domain, size_t len, unsigned flags)
{
	return domain != NULL && domain_name_check(domain, len, flags, NULL) == 0;
}

static bool ascii_caseeq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

/* RFC 5321 4.1.3 address-literal "[...]" including its brackets. */
static int literal_check(const char *lit, size_t len, struct mx_err *err)
{
	char text[LITERAL_TEXT_MAX + 1];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *body = lit + 1;
	size_t blen;

	if (len < 2 || lit[len - 1] != ']')
		return mx_err_set(err, "address literal lacks its closing ']'");
	blen = len - 2;
	if (blen == 0)
		return mx_err_set(err, "empty address literal");
	if (blen > LITERAL_TEXT_MAX)
		return mx_err_set(err, "address literal is %zu octets (max %d)", blen, LITERAL_TEXT_MAX);
	if (blen > IPV6_TAG_LEN && ascii_caseeq(body, IPV6_TAG, IPV6_TAG_LEN)) {
		memcpy(text, body + IPV6_TAG_LEN, blen - IPV6_TAG_LEN);
		text[blen - IPV6_TAG_LEN] = '\0';
		if (inet_pton(AF_INET6, text, bin) != 1)
			return mx_err_set(err, "address literal is not a valid IPv6 address");
		return 0;
	}
	if (memchr(body, ':', blen) != NULL)
		return mx_err_set(err, "general address literals are not supported");
	memcpy(text, body, blen);
	text[blen] = '\0';
	if (inet_pton(AF_INET, text, bin) != 1)
		return mx_err_set(err, "address literal is not a valid IPv4 address");
	return 0;
}

/* Quoted-string local part starting at in[0] == '"'. Copies the internal
 * form into out->local and returns the number of input bytes used
 * (including both quotes), or -1. */
static long quoted_parse(const char *in, size_t len, size_t off, unsigned flags,
			 struct mx_address *out, struct mx_err *err)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0;

	for (size_t i = 1; i < len; i++) {
		size_t n = 1;

		if (p[i] == '"') {
			out->local_len = o;
			out->local[o] = '\0';
			return (long)(i + 1);
		}
		if (p[i] == '\\') {
			if (i + 1 >= len || p[i + 1] < 32 || p[i + 1] > 126)
				return mx_err_set(err, "invalid quoted pair at offset %zu of address", off + i);
			i++;
		} else if (p[i] >= 0x80 && (flags & MX_ADDR_UTF8)) {
			n = utf8_seq_len(p + i, len - i);
			if (n == 0)
				return mx_err_set(err, "invalid UTF-8 at offset %zu of address", off + i);
		} else if (!is_qtext(p[i])) {
			return mx_err_set(err, "invalid byte 0x%02x in quoted local part at offset %zu of address",
					  p[i], off + i);
		}
		if (o + n > sizeof(out->local) - 1)
			return mx_err_set(err, "local part is longer than %zu octets", sizeof(out->local) - 1);
		memcpy(out->local + o, p + i, n);
		o += n;
		i += n - 1;
	}
	return mx_err_set(err, "quoted local part lacks its closing '\"'");
}

/* Dot-string local part: everything up to the first '@'. Returns the
 * number of input bytes used, or -1. */
static long dot_parse(const char *in, size_t len, size_t off, unsigned flags,
		      struct mx_address *out, struct mx_err *err)
{
	const unsigned char *p = (const unsigned char *)in;
	const char *at = memchr(in, '@', len);
	size_t n = at != NULL ? (size_t)(at - in) : len;

	if (n == 0)
		return mx_err_set(err, "empty local part");
	if (n > sizeof(out->local) - 1)
		return mx_err_set(err, "local part is longer than %zu octets", sizeof(out->local) - 1);
	if (!is_dot_string(in, n, flags)) {
		/* Find the first offending byte for the message. */
		for (size_t i = 0; i < n; i++) {
			bool dot_bad = p[i] == '.' && (i == 0 || i + 1 == n || p[i + 1] == '.');
			if (dot_bad)
				return mx_err_set(err, "misplaced '.' at offset %zu of local part", off + i);
			if (p[i] >= 0x80 && (flags & MX_ADDR_UTF8)) {
				size_t k = utf8_seq_len(p + i, n - i);
				if (k == 0)
					return mx_err_set(err, "invalid UTF-8 at offset %zu of local part", off + i);
				i += k - 1;
			} else if (p[i] != '.' && !is_atext(p[i])) {
				return mx_err_set(err, "invalid byte 0x%02x at offset %zu of local part",
						  p[i], off + i);
			}
		}
		return mx_err_set(err, "invalid local part");
	}
	memcpy(out->local, in, n);
	out->local[n] = '\0';
	out->local_len = n;
	return (long)n;
}

int mx_address_parse(const char *in, size_t len, unsigned flags,
		     struct mx_address *out, struct mx_err *err)
{
	size_t off = 0, dlen;
	const char *dom;
	long used;

	memset(out, 0, sizeof(*out));
	if (in == NULL)
		return mx_err_set(err, "no address");
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\0')
			return mx_err_set(err, "NUL byte at offset %zu of address", i);
		if (in[i] == '\r' || in[i] == '\n')
			return mx_err_set(err, "line break at offset %zu of address", i);
	}
	if ((flags & MX_ADDR_ANGLE) && len > 0 && in[0] == '<') {
		if (len < 2 || in[len - 1] != '>')
			return mx_err_set(err, "address lacks its closing '>'");
		off = 1;
		len -= 1;
	}
	if (len - off == 0)
		return mx_err_set(err, "empty address");
	if (in[off] == '"')
		used = quoted_parse(in + off, len - off, off, flags, out, err);
	else
		used = dot_parse(in + off, len - off, off, flags, out, err);
	if (used < 0)
		return -1;
	off += (size_t)used;
	if (out->local_len == 0)
		return mx_err_set(err, "empty local part");
	if (!(flags & MX_ADDR_NO_LIMITS) && out->local_len > MX_LOCAL_MAX)
		return mx_err_set(err, "local part is %zu octets (max %d)", out->local_len, MX_LOCAL_MAX);
	if (off >= len)
		return mx_err_set(err, "address has no '@'");
	if (in[off] != '@')
		return mx_err_set(err, "unexpected byte 0x%02x after quoted local part at offset %zu",
				  (unsigned char)in[off], off);
	off++;
	dom = in + off;
	dlen = len - off;
	if (dlen == 0)
		return mx_err_set(err, "empty domain");
	if (dlen > MX_DOMAIN_MAX)
		return mx_err_set(err, "domain is %zu octets (max %d)", dlen, MX_DOMAIN_MAX);
	if (dom[0] == '[' ? literal_check(dom, dlen, err) < 0
			  : domain_name_check(dom, dlen, flags, err) < 0)
		return -1;
	memcpy(out->domain, dom, dlen);
	out->domain[dlen] = '\0';
	out->domain_len = dlen;
	out->quoted = !is_dot_string(out->local, out->local_len, flags);
	return 0;
}

void mx_address_lowercase(struct mx_address *a)
{
	for (size_t i = 0; i < a->local_len; i++)
		if (a->local[i] >= 'A' && a->local[i] <= 'Z')
			a->local[i] = (char)(a->local[i] - 'A' + 'a');
	for (size_t i = 0; i < a->domain_len; i++)
		if (a->domain[i] >= 'A' && a->domain[i] <= 'Z')
			a->domain[i] = (char)(a->domain[i] - 'A' + 'a');
}

int mx_address_format(const struct mx_address *a, char *buf, size_t size)
{
	size_t o = 0;

#define PUT(c) do { if (o + 1 >= size) return -1; buf[o++] = (c); } while (0)
	if (size == 0)
		return -1;
	if (a->quoted)
		PUT('"');
	for (size_t i = 0; i < a->local_len; i++) {
		if (a->quoted && (a->local[i] == '"' || a->local[i] == '\\'))
			PUT('\\');
		PUT(a->local[i]);
	}
	if (a->quoted)
		PUT('"');
	PUT('@');
	for (size_t i = 0; i < a->domain_len; i++)
		PUT(a->domain[i]);
#undef PUT
	buf[o] = '\0';
	return (int)o;
}

int mx_address_normalize(const char *in, size_t len, unsigned flags,
			 char *buf, size_t size, struct mx_err *err)
{
	struct mx_address a;
	int n;

	if (mx_address_parse(in, len, flags, &a, err) < 0)
		return -1;
	mx_address_lowercase(&a);
	n = mx_address_format(&a, buf, size);
	if (n < 0)
		return mx_err_set(err, "normalized address does not fit in %zu bytes", size);
	return n;
}

size_t mx_address_extension_at(const char *local, size_t len, const char *delimiters)
{
	static const char *const reserved[] = { "postmaster", "mailer-daemon", "double-bounce" };
	const char *nul = memchr(local, '\0', len);
	size_t n = nul != NULL ? (size_t)(nul - local) : len;  /* Postfix sees a C string */
	size_t pos;

	if (delimiters == NULL)
		return len;
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (n == strlen(reserved[i]) && ascii_caseeq(local, reserved[i], n))
			return len;
	if (strchr(delimiters, '-') != NULL) {
		if (n >= 6 && ascii_caseeq(local, "owner-", 6))
			return len;
		if (n > 8 && ascii_caseeq(local + n - 8, "-request", 8))
			return len;
	}
	for (pos = 0; pos < n && strchr(delimiters, local[pos]) == NULL; pos++)
		;
	if (pos == 0 || pos == n)
		return len;
	return pos;
}
