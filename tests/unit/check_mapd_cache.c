/* check_mapd_cache.c: unit tests of the lookup cache with an injected clock. */
#include "mxkit-config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapd_cache.h"

static const struct mx_key_ext NO_EXT = { 0, 0 };
#include "unit_run.h"

static time_t fake_now;

static time_t fake_clock(void)
{
	return fake_now;
}

static struct mapd_cache *new_cache(size_t max)
{
	struct mx_err err;
	struct mapd_cache *c;

	fake_now = 1000;
	c = mapd_cache_new(max, fake_clock, &err);
	ck_assert_msg(c != NULL, "%s", err.text);
	return c;
}

static void assert_hit(struct mapd_cache *c, unsigned map, const char *key,
		       enum mx_result want, const char *value)
{
	enum mx_result r;
	const char *v;
	size_t vlen;

	ck_assert_msg(mapd_cache_get(c, map, key, strlen(key), &r, &v, &vlen, NULL),
		      "miss for %u/%s", map, key);
	ck_assert_int_eq(r, want);
	ck_assert_uint_eq(vlen, strlen(value));
	ck_assert_str_eq(v, value);
}

static bool miss(struct mapd_cache *c, unsigned map, const char *key)
{
	enum mx_result r;
	const char *v;
	size_t vlen;

	return !mapd_cache_get(c, map, key, strlen(key), &r, &v, &vlen, NULL);
}

START_TEST(test_positive_ttl)
{
	struct mapd_cache *c = new_cache(10);

	ck_assert(miss(c, 0, "a@b"));
	ck_assert_int_eq(mapd_cache_put(c, 0, "a@b", 3, MX_FOUND, "x@y", 3, NO_EXT, 60), 0);
	assert_hit(c, 0, "a@b", MX_FOUND, "x@y");
	fake_now += 59;
	assert_hit(c, 0, "a@b", MX_FOUND, "x@y");
	fake_now += 1;
	ck_assert(miss(c, 0, "a@b"));
	ck_assert_uint_eq(mapd_cache_count(c), 0);
	mapd_cache_free(c);
}
END_TEST

START_TEST(test_negative_ttl_and_zero)
{
	struct mapd_cache *c = new_cache(10);

	ck_assert_int_eq(mapd_cache_put(c, 1, "n@b", 3, MX_NOTFOUND, NULL, 0, NO_EXT, 10), 0);
	assert_hit(c, 1, "n@b", MX_NOTFOUND, "");
	fake_now += 10;
	ck_assert(miss(c, 1, "n@b"));
	/* ttl 0 (negative_ttl = 0) stores nothing; TEMP is never stored */
	ck_assert_int_eq(mapd_cache_put(c, 1, "n@b", 3, MX_NOTFOUND, NULL, 0, NO_EXT, 0), 0);
	ck_assert(miss(c, 1, "n@b"));
	ck_assert_int_eq(mapd_cache_put(c, 1, "t@b", 3, MX_TEMP, NULL, 0, NO_EXT, 60), 0);
	ck_assert(miss(c, 1, "t@b"));
	ck_assert_uint_eq(mapd_cache_count(c), 0);
	mapd_cache_free(c);
}
END_TEST

START_TEST(test_map_is_part_of_key)
{
	struct mapd_cache *c = new_cache(10);

	mapd_cache_put(c, 0, "k", 1, MX_FOUND, "zero", 4, NO_EXT, 60);
	mapd_cache_put(c, 1, "k", 1, MX_FOUND, "one", 3, NO_EXT, 60);
	assert_hit(c, 0, "k", MX_FOUND, "zero");
	assert_hit(c, 1, "k", MX_FOUND, "one");
	ck_assert(miss(c, 2, "k"));
	ck_assert(miss(c, 0, "K"));
	ck_assert(miss(c, 0, "k "));
	mapd_cache_free(c);
}
END_TEST

START_TEST(test_replace)
{
	struct mapd_cache *c = new_cache(10);

	mapd_cache_put(c, 0, "k", 1, MX_FOUND, "old", 3, NO_EXT, 60);
	fake_now += 50;
	mapd_cache_put(c, 0, "k", 1, MX_NOTFOUND, NULL, 0, NO_EXT, 30);
	ck_assert_uint_eq(mapd_cache_count(c), 1);
	assert_hit(c, 0, "k", MX_NOTFOUND, "");
	fake_now += 29;
	assert_hit(c, 0, "k", MX_NOTFOUND, "");  /* the new TTL counts from the replace */
	fake_now += 1;
	ck_assert(miss(c, 0, "k"));
	mapd_cache_free(c);
}
END_TEST

START_TEST(test_eviction_bound_lru)
{
	enum { MAX = 100 };
	struct mapd_cache *c = new_cache(MAX);
	char key[32];

	for (int i = 0; i < MAX; i++) {
		int n = snprintf(key, sizeof(key), "k%d", i);
		ck_assert_int_eq(mapd_cache_put(c, 0, key, (size_t)n, MX_FOUND, key, (size_t)n, NO_EXT, 60), 0);
	}
	ck_assert_uint_eq(mapd_cache_count(c), MAX);
	assert_hit(c, 0, "k0", MX_FOUND, "k0");  /* k0 is now the most recent */
	for (int i = MAX; i < 3 * MAX; i++) {
		int n = snprintf(key, sizeof(key), "k%d", i);
		ck_assert_int_eq(mapd_cache_put(c, 0, key, (size_t)n, MX_FOUND, key, (size_t)n, NO_EXT, 60), 0);
		ck_assert_uint_le(mapd_cache_count(c), MAX);
		if (i == MAX)
			assert_hit(c, 0, "k0", MX_FOUND, "k0");  /* k1 went, not k0 */
	}
	ck_assert(miss(c, 0, "k1"));
	ck_assert(miss(c, 0, "k0"));       /* eventually old enough too */
	assert_hit(c, 0, "k299", MX_FOUND, "k299");
	assert_hit(c, 0, "k200", MX_FOUND, "k200");
	ck_assert(miss(c, 0, "k199"));
	mapd_cache_flush(c);
	ck_assert_uint_eq(mapd_cache_count(c), 0);
	ck_assert(miss(c, 0, "k299"));
	mapd_cache_free(c);
}
END_TEST

START_TEST(test_size_zero_and_binary)
{
	struct mapd_cache *c = new_cache(0);

	ck_assert_int_eq(mapd_cache_put(c, 0, "k", 1, MX_FOUND, "v", 1, NO_EXT, 60), 0);
	ck_assert(miss(c, 0, "k"));
	mapd_cache_free(c);

	c = new_cache(4);
	ck_assert_int_eq(mapd_cache_put(c, 0, "a\0b", 3, MX_FOUND, "v\0w", 3, NO_EXT, 60), 0);
	{
		enum mx_result r;
		const char *v;
		size_t vlen;
		ck_assert(!mapd_cache_get(c, 0, "a", 1, &r, &v, &vlen, NULL));
		ck_assert(mapd_cache_get(c, 0, "a\0b", 3, &r, &v, &vlen, NULL));
		ck_assert_uint_eq(vlen, 3);
		ck_assert(memcmp(v, "v\0w", 3) == 0);
	}
	mapd_cache_free(c);
}
END_TEST

static Suite *cache_suite(void)
{
	Suite *s = suite_create("mapd_cache");
	TCase *tc = tcase_create("cache");

	tcase_add_test(tc, test_positive_ttl);
	tcase_add_test(tc, test_negative_ttl_and_zero);
	tcase_add_test(tc, test_map_is_part_of_key);
	tcase_add_test(tc, test_replace);
	tcase_add_test(tc, test_eviction_bound_lru);
	tcase_add_test(tc, test_size_zero_and_binary);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(cache_suite());
}
