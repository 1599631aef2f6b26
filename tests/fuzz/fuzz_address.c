/* fuzz_address.c: libFuzzer target for RFC 5321 address parsing.
 *
 * Parses the input under every combination of flags. Whenever parsing
 * succeeds it checks the result's invariants, then formats it, parses
 * the external form again and requires the same internal form; it also
 * checks normalisation (idempotent) and the extension split bounds.
 * Any broken invariant aborts, which libFuzzer reports as a crash. */
#include "mxkit-config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mx_address.h"

#define FLAG_COMBINATIONS 8  /* every subset of UTF8, ANGLE, NO_LIMITS */
/* A local part may be quoted and fully escaped even with NO_LIMITS. */
#define FORMAT_BUF (2 * sizeof(((struct mx_address *)0)->local) + 2 + 1 + MX_DOMAIN_MAX + 1)

static void check(int cond)
{
	if (!cond)
		abort();
}

static void check_invariants(const struct mx_address *a, unsigned flags)
{
	check(a->local_len >= 1 && a->local_len < sizeof(a->local));
	check((flags & MX_ADDR_NO_LIMITS) || a->local_len <= MX_LOCAL_MAX);
	check(a->local[a->local_len] == '\0');
	check(memchr(a->local, '\0', a->local_len) == NULL);
	check(a->domain_len >= 1 && a->domain_len <= MX_DOMAIN_MAX);
	check(a->domain[a->domain_len] == '\0');
	check(strlen(a->domain) == a->domain_len);
	if (a->domain[0] != '[')
		check(mx_domain_valid(a->domain, a->domain_len, flags));
	else
		check(!mx_domain_valid(a->domain, a->domain_len, flags));
}

static void check_same(const struct mx_address *a, const struct mx_address *b)
{
	check(a->local_len == b->local_len && memcmp(a->local, b->local, a->local_len) == 0);
	check(a->domain_len == b->domain_len && memcmp(a->domain, b->domain, a->domain_len) == 0);
	check(a->quoted == b->quoted);
}

static void roundtrip(const struct mx_address *a, unsigned flags)
{
	char buf[FORMAT_BUF], norm[FORMAT_BUF], again[FORMAT_BUF];
	struct mx_address b, low;
	struct mx_err err;
	int n, m;

	n = mx_address_format(a, buf, sizeof(buf));
	check(n > 0 && (size_t)n < sizeof(buf) && buf[n] == '\0');
	/* Too small by one: refused, never overflowed. */
	check(mx_address_format(a, buf, (size_t)n) == -1);
	n = mx_address_format(a, buf, sizeof(buf));
	check(mx_address_parse(buf, (size_t)n, flags & ~(unsigned)MX_ADDR_ANGLE, &b, &err) == 0);
	check_same(a, &b);

	/* Normalisation is lowercase + format, and idempotent. */
	low = *a;
	mx_address_lowercase(&low);
	m = mx_address_normalize(buf, (size_t)n, flags & ~(unsigned)MX_ADDR_ANGLE, norm, sizeof(norm), &err);
	check(m > 0);
	check(mx_address_format(&low, again, sizeof(again)) == m && memcmp(again, norm, (size_t)m) == 0);
	check(mx_address_normalize(norm, (size_t)m, flags & ~(unsigned)MX_ADDR_ANGLE,
				   again, sizeof(again), &err) == m);
	check(memcmp(again, norm, (size_t)m) == 0);
}

static void extensions(const struct mx_address *a)
{
	static const char *const sets[] = { "+", "-", "+-=", "", ".@\"" };

	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		size_t at = mx_address_extension_at(a->local, a->local_len, sets[i]);
		check(at <= a->local_len);
		if (at < a->local_len) {
			check(at > 0);
			check(strchr(sets[i], a->local[at]) != NULL);
			check(strcspn(a->local, sets[i]) == at);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (unsigned flags = 0; flags < FLAG_COMBINATIONS; flags++) {
		struct mx_address a;
		struct mx_err err;

		err.text[0] = '\0';
		if (mx_address_parse((const char *)data, size, flags, &a, &err) < 0) {
			check(err.text[0] != '\0' && memchr(err.text, '\0', sizeof(err.text)) != NULL);
			continue;
		}
		check_invariants(&a, flags);
		roundtrip(&a, flags);
		extensions(&a);
	}
	/* Also the domain checker on its own. */
	(void)mx_domain_valid((const char *)data, size, MX_ADDR_UTF8);
	(void)mx_domain_valid((const char *)data, size, 0);
	return 0;
}
