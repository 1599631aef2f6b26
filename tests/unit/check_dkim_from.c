/* check_dkim_from.c: unit tests of the From: domain extraction, the
 * internal-network matcher and the key lookup by author domain. */
#include "mxkit-config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <string.h>

#include "check_dkim_run.h"
#include "dkim_config.h"
#include "dkim_from.h"
#include "dkim_nets.h"

struct from_case {
	const char *value;
	const char *domain;  /* NULL: must fail */
	const char *why;     /* part of the error when failing */
};

static const struct from_case from_cases[] = {
	{ " alice@example.org", "example.org", NULL },
	{ " Alice <alice@Example.ORG>", "example.org", NULL },
	{ " \"Smith, Alice\" <alice@example.org>", "example.org", NULL },
	{ " \"a@evil.example\" <alice@example.org>", "example.org", NULL },
	{ " (comment, with @evil.example) alice@example.org", "example.org", NULL },
	{ " alice@example.org (Alice, the boss)", "example.org", NULL },
	{ " Alice\n\t<alice@example.org>", "example.org", NULL },
	{ " <@route.example:alice@example.org>", "example.org", NULL },
	{ " alice@example.org.", "example.org", NULL },
	{ " team: alice@example.org;", "example.org", NULL },
	{ " J\xc3\xbcrgen <j@example.org>", "example.org", NULL },
	{ " a@example.org, b@example.org", NULL, "more than one" },
	{ " A <a@example.org>, B <b@example.net>", NULL, "more than one" },
	{ " undisclosed-recipients:;", NULL, "no address" },
	{ "", NULL, "no address" },
	{ " nobody", NULL, "no '@'" },
	{ " <alice@example.org", NULL, "unclosed" },
	{ " alice@", NULL, "empty domain" },
	{ " alice@exa mple.org", NULL, "invalid character" },
	{ " alice@[192.0.2.1]", NULL, "invalid character" },
	{ " alice@example..org", NULL, "empty label" },
};

START_TEST(test_from_table)
{
	const struct from_case *c = &from_cases[_i];
	char domain[DKIM_DOMAIN_MAX + 1];
	struct mx_err err;
	int rc = dkim_from_domain(c->value, strlen(c->value), domain, &err);

	if (c->domain != NULL) {
		ck_assert_msg(rc == 0, "case %d: %s", _i, err.text);
		ck_assert_str_eq(domain, c->domain);
	} else {
		ck_assert_msg(rc == -1, "case %d accepted", _i);
		ck_assert_msg(strstr(err.text, c->why) != NULL, "case %d: %s", _i, err.text);
	}
}
END_TEST

START_TEST(test_from_nul_and_long)
{
	char domain[DKIM_DOMAIN_MAX + 1], v[600];
	struct mx_err err;

	ck_assert_int_eq(dkim_from_domain("a@b\0c.org", 9, domain, &err), -1);
	memcpy(v, " a@", 3);
	memset(v + 3, 'x', 300);
	ck_assert_int_eq(dkim_from_domain(v, 303, domain, &err), -1);
	ck_assert(strstr(err.text, "longer") != NULL);
	/* Deeply nested comments are not followed forever. */
	memset(v, '(', sizeof(v));
	ck_assert_int_eq(dkim_from_domain(v, sizeof(v), domain, &err), -1);
}
END_TEST

static struct sockaddr_storage addr(const char *s)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(s, ':') != NULL) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
		a6->sin6_family = AF_INET6;
		ck_assert_int_eq(inet_pton(AF_INET6, s, &a6->sin6_addr), 1);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
		a4->sin_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, s, &a4->sin_addr), 1);
	}
	return ss;
}

struct net_case {
	const char *addr;
	bool in;
};

static const struct net_case net_cases[] = {
	{ "10.1.2.3", true }, { "11.0.0.1", false }, { "192.0.2.129", true },
	{ "192.0.2.127", false }, { "203.0.113.7", true }, { "203.0.113.8", false },
	{ "2001:db8:1::25", true }, { "2001:db8:2::25", false }, { "::ffff:10.9.9.9", true },
	{ "::1", false },
};

START_TEST(test_nets)
{
	static struct dkim_nets nets;
	struct mx_err err;
	struct sockaddr_storage ss = addr(net_cases[_i].addr);

	nets.n = 0;
	ck_assert_int_eq(dkim_nets_add(&nets, "10.0.0.0/8", &err), 0);
	ck_assert_int_eq(dkim_nets_add(&nets, "192.0.2.128/25", &err), 0);
	ck_assert_int_eq(dkim_nets_add(&nets, "203.0.113.7", &err), 0);
	ck_assert_int_eq(dkim_nets_add(&nets, "2001:db8:1::/48", &err), 0);
	ck_assert_msg(dkim_nets_match(&nets, (struct sockaddr *)&ss) == net_cases[_i].in,
		      "%s", net_cases[_i].addr);
}
END_TEST

START_TEST(test_nets_bad)
{
	static struct dkim_nets nets;
	static const char *const bad[] = { "", "10.0.0.0/33", "10.0.0.0/", "::/129", "host.example",
					   "10.0.0.0/8x", "1.2.3.4.5" };
	struct mx_err err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(dkim_nets_add(&nets, bad[i], &err) == -1, "'%s' accepted", bad[i]);
	ck_assert(!dkim_nets_match(&nets, NULL));
}
END_TEST

/* Keys by author domain; parents only with sign_subdomains, never a TLD. */
START_TEST(test_find_keys)
{
	static struct dkim_config cfg;
	const struct dkim_key *out[4];

	memset(&cfg, 0, sizeof(cfg));
	cfg.nkeys = 3;
	strcpy(cfg.keys[0].domain, "example.org");
	strcpy(cfg.keys[1].domain, "example.org");
	strcpy(cfg.keys[2].domain, "org");
	ck_assert_uint_eq(dkim_config_find_keys(&cfg, "example.org", out, 4), 2);
	ck_assert_uint_eq(dkim_config_find_keys(&cfg, "EXAMPLE.org", out, 4), 2);
	ck_assert_uint_eq(dkim_config_find_keys(&cfg, "example.org", out, 1), 1);
	ck_assert_uint_eq(dkim_config_find_keys(&cfg, "mail.example.org", out, 4), 0);
	cfg.sign_subdomains = true;
	ck_assert_uint_eq(dkim_config_find_keys(&cfg, "a.mail.example.org", out, 4), 2);
	ck_assert_ptr_eq(out[0], &cfg.keys[0]);
	ck_assert_uint_eq(dkim_config_find_keys(&cfg, "other.org", out, 4), 0);
	ck_assert_uint_eq(dkim_config_find_keys(&cfg, "org", out, 4), 1);
}
END_TEST

static void add_tests(TCase *tc)
{
	tcase_add_loop_test(tc, test_from_table, 0, N_CASES(from_cases));
	tcase_add_test(tc, test_from_nul_and_long);
	tcase_add_loop_test(tc, test_nets, 0, N_CASES(net_cases));
	tcase_add_test(tc, test_nets_bad);
	tcase_add_test(tc, test_find_keys);
}

int main(void)
{
	return dkim_check_run("dkim_from", add_tests);
}
