/* mapd_cache.h: bounded in-memory cache of lookup answers.
 *
 * Keyed by (map number, key). Each entry is one allocation holding key
 * and value inline, with its own expiry time; positive and negative
 * answers carry different TTLs (the caller passes the TTL). When full,
 * the least recently used entry goes. The hash is keyed with a random
 * seed because keys come from SMTP clients. Not thread-safe: the event
 * loop owns it. The clock is injectable for tests. */
#ifndef MAPD_CACHE_H
#define MAPD_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mx_error.h"
#include "mx_keys.h"
#include "mx_result.h"

typedef time_t mapd_clock_fn(void);

/* Seconds of CLOCK_MONOTONIC: the default clock. */
time_t mapd_clock_monotonic(void);

struct mapd_cache;

/* max_entries 0 gives a cache that stores nothing. clock NULL: monotonic. */
struct mapd_cache *mapd_cache_new(size_t max_entries, mapd_clock_fn *clock, struct mx_err *err);
void mapd_cache_free(struct mapd_cache *cache);

/* Look up (map, key). On a live hit, returns true with *result_r and the
 * value (valid until the next call that changes the cache). Expired
 * entries are dropped and miss. */
bool mapd_cache_get(struct mapd_cache *cache, unsigned map, const char *key, size_t key_len,
		    enum mx_result *result_r, const char **value_r, size_t *value_len_r,
		    struct mx_key_ext *ext_r);

/* Store an answer (MX_FOUND with a value and the place of the extension
 * to re-append, or MX_NOTFOUND) for ttl seconds, replacing an older one.
 * ttl 0 stores nothing. Returns 0, or -1 when out of memory (the cache is
 * then merely smaller). */
int mapd_cache_put(struct mapd_cache *cache, unsigned map, const char *key, size_t key_len,
		   enum mx_result result, const char *value, size_t value_len,
		   struct mx_key_ext ext, unsigned ttl);

void mapd_cache_flush(struct mapd_cache *cache);
size_t mapd_cache_count(const struct mapd_cache *cache);

#endif
