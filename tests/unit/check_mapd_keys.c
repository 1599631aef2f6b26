/* check_mapd_keys.c: unit tests of partial-key generation (what Postfix
 * tries against a mysql: table) and of extension propagation. */
#include "mxkit-config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mx_keys.h"
#include "unit_run.h"

struct plan_case {
	enum mx_key_kind kind;
	const char *key;
	const char *delims;
	const char *want[MX_KEY_CANDIDATES_MAX];  /* NULL-terminated when fewer */
	int stripped_at;                        /* index of the stripped key, or -1 */
	const char *ext;                        /* NULL: none */
};

static const struct plan_case plan_cases[] = {
	{ MX_KEY_EXACT, "example.org", "+", { "example.org" }, -1, NULL },
	{ MX_KEY_EXACT, "a+b@example.org", "+", { "a+b@example.org" }, -1, NULL },
	{ MX_KEY_ADDRESS, "a@example.org", "+", { "a@example.org", "@example.org" }, -1, NULL },
	{ MX_KEY_ADDRESS, "a+b@example.org", "+",
	  { "a+b@example.org", "a@example.org", "@example.org" }, 1, "+b" },
	{ MX_KEY_ADDRESS, "a+b+c@example.org", "+",
	  { "a+b+c@example.org", "a@example.org", "@example.org" }, 1, "+b+c" },
	{ MX_KEY_ADDRESS, "a-b@example.org", "+-",
	  { "a-b@example.org", "a@example.org", "@example.org" }, 1, "-b" },
	{ MX_KEY_ADDRESS, "a-b+c@example.org", "+-",
	  { "a-b+c@example.org", "a@example.org", "@example.org" }, 1, "-b+c" },
	/* Postfix splits off an empty extension too ("a+" -> "a"). */
	{ MX_KEY_ADDRESS, "a+@example.org", "+",
	  { "a+@example.org", "a@example.org", "@example.org" }, 1, "+" },
	/* no empty base, reserved names, owner-/-request with '-' */
	{ MX_KEY_ADDRESS, "+b@example.org", "+", { "+b@example.org", "@example.org" }, -1, NULL },
	{ MX_KEY_ADDRESS, "postmaster@example.org", "+",
	  { "postmaster@example.org", "@example.org" }, -1, NULL },
	{ MX_KEY_ADDRESS, "owner-list@example.org", "-",
	  { "owner-list@example.org", "@example.org" }, -1, NULL },
	{ MX_KEY_ADDRESS, "list-request@example.org", "-",
	  { "list-request@example.org", "@example.org" }, -1, NULL },
	{ MX_KEY_ADDRESS, "owner-list@example.org", "+-",
	  { "owner-list@example.org", "@example.org" }, -1, NULL },
	{ MX_KEY_ADDRESS, "a+b@example.org", "", { "a+b@example.org", "@example.org" }, -1, NULL },
	/* the last '@' separates the domain; like Postfix, the extension
	 * runs from the first delimiter to that '@' */
	{ MX_KEY_ADDRESS, "a@b+c@example.org", "+",
	  { "a@b+c@example.org", "a@b@example.org", "@example.org" }, 1, "+c" },
	{ MX_KEY_ADDRESS, "x+y@b@example.org", "+",
	  { "x+y@b@example.org", "x@example.org", "@example.org" }, 1, "+y@b" },
	/* keys without '@' are looked up once; "@domain" once */
	{ MX_KEY_ADDRESS, "a+b", "+", { "a+b" }, -1, NULL },
	{ MX_KEY_ADDRESS, "@example.org", "+", { "@example.org" }, -1, NULL },
	{ MX_KEY_ADDRESS, "a@", "+", { "a@", "@" }, -1, NULL },
	/* transport: the domain part only */
	{ MX_KEY_DOMAIN, "a+b@example.org", "+", { "example.org" }, -1, NULL },
	{ MX_KEY_DOMAIN, "example.org", "+", { "example.org" }, -1, NULL },
	{ MX_KEY_DOMAIN, "a@", "+", { NULL }, -1, NULL },
};

START_TEST(test_plan_table)
{
	const struct plan_case *c = &plan_cases[_i];
	struct mx_key_plan plan;
	unsigned n = 0;

	mx_keys_plan(c->kind, c->key, strlen(c->key), c->delims, &plan);
	while (n < MX_KEY_CANDIDATES_MAX && c->want[n] != NULL)
		n++;
	ck_assert_msg(plan.n == n, "case %d (%s): %u keys, want %u", _i, c->key, plan.n, n);
	for (unsigned i = 0; i < n; i++) {
		ck_assert_str_eq(plan.cand[i].key, c->want[i]);
		ck_assert_uint_eq(plan.cand[i].len, strlen(c->want[i]));
		ck_assert(plan.cand[i].stripped == ((int)i == c->stripped_at));
	}
	if (c->ext == NULL) {
		ck_assert_ptr_null(plan.ext);
	} else {
		ck_assert_uint_eq(plan.ext_len, strlen(c->ext));
		ck_assert(memcmp(plan.ext, c->ext, plan.ext_len) == 0);
	}
}
END_TEST

struct propagate_case {
	const char *value;
	const char *ext;
	const char *want;  /* NULL: does not fit */
	size_t size;       /* 0: large */
};

static const struct propagate_case propagate_cases[] = {
	{ "b@example.net", "+x", "b+x@example.net", 0 },
	{ "b@example.net,c@example.com", "+x", "b+x@example.net,c+x@example.com", 0 },
	{ "local", "+x", "local+x", 0 },
	{ "a@b@example.net", "-y", "a@b-y@example.net", 0 },
	{ "b@example.net,,c@d", "+x", "b+x@example.net,,c+x@d", 0 },
	{ "", "+x", "", 0 },
	{ "b@c", "+x", "b+x@c", 6 },
	{ "b@c", "+x", NULL, 5 },
	{ "b@c,d@e", "+", NULL, 9 },
	{ "b@c,d@e", "+", "b+@c,d+@e", 10 },
};

START_TEST(test_propagate_table)
{
	const struct propagate_case *c = &propagate_cases[_i];
	char out[256];
	size_t size = c->size != 0 ? c->size : sizeof(out);
	long n;

	n = mx_keys_propagate(c->value, strlen(c->value), c->ext, strlen(c->ext), out, size);
	if (c->want == NULL) {
		ck_assert_int_eq(n, -1);
	} else {
		ck_assert_int_eq(n, (long)strlen(c->want));
		ck_assert_str_eq(out, c->want);
	}
}
END_TEST

/* A stripped key that would not fit is simply not tried. */
START_TEST(test_long_key)
{
	static char key[MX_KEY_MAX + 1];
	struct mx_key_plan plan;

	memset(key, 'a', MX_KEY_MAX);
	key[10] = '+';
	key[20] = '@';
	key[MX_KEY_MAX] = '\0';
	mx_keys_plan(MX_KEY_ADDRESS, key, MX_KEY_MAX, "+", &plan);
	ck_assert_uint_eq(plan.n, 3);
	ck_assert_uint_eq(plan.cand[1].len, MX_KEY_MAX - 10);
	ck_assert_uint_eq(strlen(plan.cand[1].key), MX_KEY_MAX - 10);
	ck_assert_uint_eq(plan.cand[2].len, MX_KEY_MAX - 20);
}
END_TEST

static Suite *keys_suite(void)
{
	Suite *s = suite_create("mapd_keys");
	TCase *tc = tcase_create("keys");

	tcase_add_loop_test(tc, test_plan_table, 0, UNIT_CASES(plan_cases));
	tcase_add_loop_test(tc, test_propagate_table, 0,
			    UNIT_CASES(propagate_cases));
	tcase_add_test(tc, test_long_key);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(keys_suite());
}
