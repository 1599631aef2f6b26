/* check_mapd_domains.c: unit tests of mxkit-mapd's snapshot of our domains
 * (mapd_domains.h) on an explicit clock: what the event loop may answer
 * from it, when it must decline, and swaps while it is read. */
#include "mxkit-config.h"

#include <check.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "mapd_domains.h"
#include "unit_run.h"

#define MAX_AGE 60           /* seconds */
#define T0 1000000           /* ms: when the first list was read */
#define SWAPS 2000           /* installs in the concurrency test */

/* A malloc()ed list of the NULL-terminated names, as the loader builds it. */
static char **names_of(size_t *n, ...)
{
	va_list ap;
	char **v = calloc(16, sizeof(*v));
	const char *s;

	ck_assert_ptr_nonnull(v);
	*n = 0;
	va_start(ap, n);
	while ((s = va_arg(ap, const char *)) != NULL && *n < 16)
		ck_assert_ptr_nonnull(v[(*n)++] = strdup(s));
	va_end(ap);
	return v;
}

static enum mx_result peek(struct mapd_domains *d, const char *dom, int64_t at)
{
	return mapd_domains_peek_at(d, dom, strlen(dom), at);
}

START_TEST(test_not_loaded_declines)
{
	struct mapd_domains *d = mapd_domains_new(MAX_AGE);

	ck_assert_int_eq(peek(d, "example.org", T0), MX_TEMP);
	ck_assert_int_eq(peek(d, "", T0), MX_NOTFOUND);  /* no domain: never ours */
	mapd_domains_free(d);
}
END_TEST

static const struct {
	const char *domain;
	int64_t at;              /* ms after T0 */
	enum mx_result want;
} lookups[] = {
	{ "b.example", 0, MX_FOUND },
	{ "a.example", 0, MX_FOUND },
	{ "c.example", 0, MX_NOTFOUND },
	{ "example", 0, MX_NOTFOUND },
	{ "a.example.", 0, MX_NOTFOUND },
	{ "xa.example", 0, MX_NOTFOUND },
	{ "a.example", MAX_AGE * 1000 - 1, MX_FOUND },      /* just fresh enough */
	{ "c.example", MAX_AGE * 1000 - 1, MX_NOTFOUND },
	{ "a.example", MAX_AGE * 1000, MX_TEMP },           /* too old: never used */
	{ "c.example", MAX_AGE * 1000 + 5000, MX_TEMP },
	{ "a.example", -5000, MX_FOUND },                   /* read after `now` was taken */
};

START_TEST(test_lookups)
{
	struct mapd_domains *d = mapd_domains_new(MAX_AGE);
	size_t n;
	char **v = names_of(&n, "b.example", "a.example", "z.example", NULL);

	ck_assert(mapd_domains_install(d, v, n, false, T0));
	ck_assert_msg(peek(d, lookups[_i].domain, T0 + lookups[_i].at) == lookups[_i].want,
		      "%s at +%lld ms", lookups[_i].domain, (long long)lookups[_i].at);
	mapd_domains_free(d);
}
END_TEST

START_TEST(test_newer_list_replaces_older_dropped)
{
	struct mapd_domains *d = mapd_domains_new(MAX_AGE);
	size_t n;
	char **v = names_of(&n, "a.example", NULL);

	ck_assert(mapd_domains_install(d, v, n, false, T0));
	v = names_of(&n, "b.example", NULL);
	ck_assert(mapd_domains_install(d, v, n, false, T0 + 10000));
	ck_assert_int_eq(peek(d, "a.example", T0 + 10000), MX_NOTFOUND);
	ck_assert_int_eq(peek(d, "b.example", T0 + 10000), MX_FOUND);
	/* A slow load that started before the one installed loses. */
	v = names_of(&n, "a.example", NULL);
	ck_assert(!mapd_domains_install(d, v, n, false, T0 + 5000));
	ck_assert_int_eq(peek(d, "a.example", T0 + 10000), MX_NOTFOUND);
	/* Its age counts from the newer read. */
	ck_assert_int_eq(peek(d, "b.example", T0 + 10000 + MAX_AGE * 1000 - 1), MX_FOUND);
	ck_assert_int_eq(peek(d, "b.example", T0 + 10000 + MAX_AGE * 1000), MX_TEMP);
	mapd_domains_free(d);
}
END_TEST

START_TEST(test_empty_list_answers)
{
	struct mapd_domains *d = mapd_domains_new(MAX_AGE);
	size_t n;
	char **v = names_of(&n, NULL);

	ck_assert(mapd_domains_install(d, v, n, false, T0));
	ck_assert_int_eq(peek(d, "a.example", T0), MX_NOTFOUND);
	mapd_domains_free(d);
}
END_TEST

START_TEST(test_too_many_or_no_snapshot_declines)
{
	struct mapd_domains *d = mapd_domains_new(MAX_AGE);
	struct mapd_domains *off = mapd_domains_new(0);
	size_t n;
	char **v = names_of(&n, "a.example", NULL);

	ck_assert(mapd_domains_install(d, v, n, true, T0));
	ck_assert_int_eq(peek(d, "a.example", T0), MX_TEMP);  /* the list is incomplete */
	v = names_of(&n, "a.example", NULL);
	ck_assert(mapd_domains_install(off, v, n, false, T0));
	ck_assert_int_eq(peek(off, "a.example", T0), MX_TEMP);  /* domains_ttl = 0 */
	mapd_domains_free(d);
	mapd_domains_free(off);
}
END_TEST

static void *installer(void *arg)
{
	struct mapd_domains *d = arg;

	for (int i = 0; i < SWAPS; i++) {
		size_t n;
		char **v = i % 2 ? names_of(&n, "a.example", "b.example", NULL)
				 : names_of(&n, "b.example", "a.example", "c.example", NULL);
		(void)mapd_domains_install(d, v, n, false, T0 + i);
	}
	return NULL;
}

/* Lists swapped while read: every answer is one of a whole list (ASan
 * would see a list freed under a reader). */
START_TEST(test_swap_while_reading)
{
	struct mapd_domains *d = mapd_domains_new(MAX_AGE);
	pthread_t t;
	size_t n;
	char **v = names_of(&n, "a.example", NULL);

	ck_assert(mapd_domains_install(d, v, n, false, T0));
	ck_assert_int_eq(pthread_create(&t, NULL, installer, d), 0);
	for (int i = 0; i < SWAPS * 5; i++) {
		ck_assert_int_eq(peek(d, "a.example", T0 + SWAPS), MX_FOUND);
		ck_assert_int_ne(peek(d, "d.example", T0 + SWAPS), MX_FOUND);
	}
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(peek(d, "c.example", T0 + SWAPS), MX_NOTFOUND);  /* last: odd i */
	mapd_domains_free(d);
}
END_TEST

static Suite *domains_suite(void)
{
	Suite *s = suite_create("mapd_domains");
	TCase *tc = tcase_create("snapshot");

	tcase_add_test(tc, test_not_loaded_declines);
	tcase_add_loop_test(tc, test_lookups, 0, UNIT_CASES(lookups));
	tcase_add_test(tc, test_newer_list_replaces_older_dropped);
	tcase_add_test(tc, test_empty_list_answers);
	tcase_add_test(tc, test_too_many_or_no_snapshot_declines);
	tcase_add_test(tc, test_swap_while_reading);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(domains_suite());
}
