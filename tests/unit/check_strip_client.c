/* check_strip_client.c: unit tests of finding the submitting client's
 * address or hostname in a header value (mxkit-strip). */
#include "mxkit-config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <string.h>

#include "strip_client.h"
#include "unit_run.h"

struct named_case {
	const char *addr;    /* client address text, NULL: none */
	const char *name;    /* client hostname, NULL: none */
	const char *value;
	bool named;
};

static const struct named_case named_cases[] = {
	/* IPv4 as Postfix and others write it */
	{ "127.0.0.2", NULL, "from client.mxkit.test (unknown [127.0.0.2]) by pf (Postfix)", true },
	{ "127.0.0.2", NULL, "from x ([127.0.0.2]:50123) by y", true },
	{ "127.0.0.2", NULL, "127.0.0.2", true },
	{ "127.0.0.2", NULL, "from [127.0.0.2].", true },
	{ "127.0.0.2", NULL, "from x (x [IPv6:::ffff:127.0.0.2]) by y", true },
	{ "127.0.0.2", NULL, "from x (x [::FFFF:7f00:2]) by y", true },
	{ "127.0.0.2", NULL, "client=127.0.0.2", true },
	{ "127.0.0.2", NULL, "from x (x [127.0.0.25]) by y", false },
	{ "127.0.0.2", NULL, "from x (x [10.127.0.0.2]) by y", false },
	{ "127.0.0.2", NULL, "from x (x [127.0.0.2.5]) by y", false },
	{ "127.0.0.2", NULL, "from x (x [127.0.0.20]) by y", false },
	{ "127.0.0.2", NULL, "from x (x [227.0.0.2]) by y", false },
	{ "127.0.0.2", NULL, "id 127.0.0.3; Sun, 22 Nov 2026", false },
	{ "127.0.0.2", NULL, "", false },
	/* IPv6 in its textual forms */
	{ "2001:db8::7", NULL, "from x (x [IPv6:2001:db8::7]) by y", true },
	{ "2001:db8::7", NULL, "from x (x [IPv6:2001:DB8:0:0:0:0:0:7]) by y", true },
	{ "2001:db8::7", NULL, "from x (x [2001:0db8:0000::0007]) by y", true },
	{ "2001:db8::7", NULL, "from x (x [2001:db8::7]:587) by y", true },
	{ "2001:db8::7", NULL, "from x (x 2001:db8::7:587) by y", false },
	{ "2001:db8::7", NULL, "from x (x 2001:db8::7) by y", true },
	{ "2001:db8::7", NULL, "from x (x [2001:db8::7:1]) by y", false },
	{ "2001:db8::7", NULL, "from x (x [2001:db8::71]) by y", false },
	{ "2001:db8::7", NULL, "from x (x [3001:db8::7]) by y", false },
	{ "2001:db8::7", NULL, "from x (x [fe80::2001:db8::7])", false },
	{ "::ffff:192.0.2.9", NULL, "from x (x [192.0.2.9]) by y", true },
	{ "[IPv6:::ffff:192.0.2.9]", NULL, "from x (x [192.0.2.9]) by y", true },
	{ "192.0.2.9", NULL, "from x (x [IPv6:::ffff:c000:209]) by y", true },
	/* hostnames */
	{ NULL, "Laptop.Example.NET", "from laptop.example.net (laptop.example.net [192.0.2.1])", true },
	{ NULL, "laptop.example.net", "from LAPTOP.EXAMPLE.NET by y", true },
	{ NULL, "laptop.example.net.", "from laptop.example.net. by y", true },
	{ NULL, "laptop.example.net", "from my-laptop.example.net by y", false },
	{ NULL, "laptop.example.net", "from old.laptop.example.net by y", false },
	{ NULL, "laptop.example.net", "from laptop.example.network by y", false },
	{ NULL, "laptop.example.net", "from laptop.example.net.evil.test by y", false },
	{ NULL, "laptop.example.net", "from laptop.example.ne", false },
	{ NULL, "unknown", "from unknown (unknown [192.0.2.1])", false },
	{ NULL, "[127.0.0.2]", "from x ([127.0.0.2])", false },
	{ NULL, NULL, "from anything [127.0.0.2]", false },
};

START_TEST(test_named_table)
{
	const struct named_case *t = &named_cases[_i];
	struct strip_client c;

	strip_client_init(&c);
	if (t->addr != NULL)
		ck_assert_msg(strip_client_set_addr_text(&c, t->addr) == 0, "case %d: address", _i);
	if (t->name != NULL)
		(void)strip_client_set_name(&c, t->name);
	ck_assert_msg(strip_client_named(&c, t->value, strlen(t->value)) == t->named,
		      "case %d: \"%s\" should %sname the client", _i, t->value, t->named ? "" : "not ");
}
END_TEST

struct addr_case {
	const char *text;
	int ok;
};

static const struct addr_case addr_cases[] = {
	{ "192.0.2.1", 0 }, { "[192.0.2.1]", 0 }, { "2001:db8::1", 0 }, { "IPv6:2001:db8::1", 0 },
	{ "[IPv6:::1]", 0 }, { "unknown", -1 }, { "", -1 }, { "192.0.2", -1 }, { "[192.0.2.1", -1 },
	{ "1.2.3.4.5", -1 }, { "2001:db8::1::2", -1 },
};

START_TEST(test_addr_table)
{
	struct strip_client c;

	strip_client_init(&c);
	ck_assert_msg(strip_client_set_addr_text(&c, addr_cases[_i].text) == addr_cases[_i].ok,
		      "case %d: %s", _i, addr_cases[_i].text);
	ck_assert(c.has_addr == (addr_cases[_i].ok == 0));
}
END_TEST

struct name_case {
	const char *name;
	bool taken;
};

static const struct name_case name_cases[] = {
	{ "mail.example.org", true }, { "mail.example.org.", true }, { "unknown", false },
	{ "UNKNOWN", false }, { "", false }, { "[192.0.2.1]", false }, { "a b", false },
	{ "x\ny", false }, { ".", false },
};

START_TEST(test_name_table)
{
	struct strip_client c;

	strip_client_init(&c);
	ck_assert_msg(strip_client_set_name(&c, name_cases[_i].name) == name_cases[_i].taken,
		      "case %d", _i);
	ck_assert(name_cases[_i].taken == (c.name[0] != '\0'));
}
END_TEST

START_TEST(test_sockaddr)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;
	struct strip_client c;
	const char *v = "from x (x [198.51.100.7])";

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, "198.51.100.7", &s4.sin_addr), 1);
	strip_client_init(&c);
	strip_client_set_sockaddr(&c, (struct sockaddr *)&s4);
	ck_assert(strip_client_named(&c, v, strlen(v)));

	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:198.51.100.7", &s6.sin6_addr), 1);
	strip_client_init(&c);
	strip_client_set_sockaddr(&c, (struct sockaddr *)&s6);
	ck_assert(strip_client_named(&c, v, strlen(v)));

	strip_client_init(&c);
	strip_client_set_sockaddr(&c, NULL);
	ck_assert(!c.has_addr);
	ck_assert(!strip_client_named(&c, v, strlen(v)));
}
END_TEST

/* A long value of address characters is scanned in bounded time and
 * without reading past its end (ASan checks the latter). */
START_TEST(test_long_values)
{
	static char v[200000];
	struct strip_client c;
	size_t i;

	strip_client_init(&c);
	ck_assert_int_eq(strip_client_set_addr_text(&c, "2001:db8::7"), 0);
	(void)strip_client_set_name(&c, "host.example");
	for (i = 0; i < sizeof(v); i++)
		v[i] = "1:a."[i % 4];
	ck_assert(!strip_client_named(&c, v, sizeof(v)));
	memcpy(v + sizeof(v) - 12, " 2001:db8::7", 12);
	ck_assert(strip_client_named(&c, v, sizeof(v)));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("strip_client");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_named_table, 0, UNIT_CASES(named_cases));
	tcase_add_loop_test(tc, test_addr_table, 0, UNIT_CASES(addr_cases));
	tcase_add_loop_test(tc, test_name_table, 0, UNIT_CASES(name_cases));
	tcase_add_test(tc, test_sockaddr);
	tcase_add_test(tc, test_long_values);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
