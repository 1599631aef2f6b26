/* mapd_cache.c: hash table with LRU eviction and per-entry expiry.
 *
 * Buckets are singly linked chains; a doubly linked list keeps entries in
 * use order (head = most recent). The table has a power-of-two number of
 * buckets, at least the entry limit, so chains stay short. The hash is
 * SipHash-1-3 with a seed from getrandom(), so clients cannot aim keys at
 * one bucket. */
#include "mxkit-config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "mapd_cache.h"

#define BUCKETS_MIN 64

struct entry {
	struct entry *hnext;
	struct entry *prev, *next;  /* use order */
	uint64_t hash;
	time_t expires;
	uint32_t value_len;
	uint16_t key_len;
	uint8_t map;
	int8_t result;
	struct mx_key_ext ext;
	char data[];                /* key, NUL, value, NUL */
};

struct mapd_cache {
	struct entry **buckets;
	size_t nbuckets;            /* power of two */
	size_t count, max;
	struct entry *head, *tail;
	mapd_clock_fn *clock;
	uint64_t k0, k1;
};

time_t mapd_clock_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do { \
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
} while (0)

static uint64_t siphash13(uint64_t k0, uint64_t k1, unsigned map, const char *in, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
	uint64_t b = ((uint64_t)len << 56) ^ ((uint64_t)map << 48), m;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&m, in + i, 8);
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	m = 0;
	for (size_t j = 0; i + j < len; j++)
		m |= (uint64_t)(unsigned char)in[i + j] << (8 * j);
	b ^= m;
	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND; SIPROUND; SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

struct mapd_cache *mapd_cache_new(size_t max_entries, mapd_clock_fn *clock, struct mx_err *err)
{
	struct mapd_cache *c = calloc(1, sizeof(*c));
	uint64_t seed[2] = { 0, 0 };

	if (c == NULL) {
		mx_err_set(err, "out of memory");
		return NULL;
	}
	c->max = max_entries;
	c->nbuckets = BUCKETS_MIN;
	while (c->nbuckets < max_entries && c->nbuckets < ((size_t)1 << 30))
		c->nbuckets *= 2;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (c->buckets == NULL) {
		free(c);
		mx_err_set(err, "out of memory for a cache of %zu entries", max_entries);
		return NULL;
	}
	if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed)) {
		free(c->buckets);
		free(c);
		mx_err_set(err, "getrandom failed");
		return NULL;
	}
	c->k0 = seed[0];
	c->k1 = seed[1];
	c->clock = clock != NULL ? clock : mapd_clock_monotonic;
	return c;
}

static void lru_unlink(struct mapd_cache *c, struct entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct mapd_cache *c, struct entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head != NULL)
		c->head->prev = e;
	c->head = e;
	if (c->tail == NULL)
		c->tail = e;
}

static struct entry **find_slot(struct mapd_cache *c, uint64_t h, unsigned map,
				const char *key, size_t key_len)
{
	struct entry **pp = &c->buckets[h & (c->nbuckets - 1)];

	for (; *pp != NULL; pp = &(*pp)->hnext) {
		struct entry *e = *pp;
		if (e->hash == h && e->map == map && e->key_len == key_len &&
		    memcmp(e->data, key, key_len) == 0)
			break;
	}
	return pp;
}

static void remove_entry(struct mapd_cache *c, struct entry **slot)
{
	struct entry *e = *slot;

	*slot = e->hnext;
	lru_unlink(c, e);
	c->count--;
	free(e);
}

bool mapd_cache_get(struct mapd_cache *c, unsigned map, const char *key, size_t key_len,
		    enum mx_result *result_r, const char **value_r, size_t *value_len_r,
		    struct mx_key_ext *ext_r)
{
	uint64_t h;
	struct entry **slot, *e;

	if (c->count == 0 || key_len > UINT16_MAX)
		return false;
	h = siphash13(c->k0, c->k1, map, key, key_len);
	slot = find_slot(c, h, map, key, key_len);
	if ((e = *slot) == NULL)
		return false;
	if (c->clock() >= e->expires) {
		remove_entry(c, slot);
		return false;
	}
	lru_unlink(c, e);
	lru_push(c, e);
	*result_r = (enum mx_result)e->result;
	*value_r = e->data + e->key_len + 1;
	*value_len_r = e->value_len;
	if (ext_r != NULL)
		*ext_r = e->ext;
	return true;
}

static void evict_oldest(struct mapd_cache *c)
{
	struct entry *e = c->tail;

	remove_entry(c, find_slot(c, e->hash, e->map, e->data, e->key_len));
}

int mapd_cache_put(struct mapd_cache *c, unsigned map, const char *key, size_t key_len,
		   enum mx_result result, const char *value, size_t value_len,
		   struct mx_key_ext ext, unsigned ttl)
{
	uint64_t h;
	struct entry **slot, *e;

	if (ttl == 0 || c->max == 0 || key_len > UINT16_MAX || value_len > UINT32_MAX - 2 ||
	    map > UINT8_MAX || (result != MX_FOUND && result != MX_NOTFOUND))
		return 0;
	h = siphash13(c->k0, c->k1, map, key, key_len);
	slot = find_slot(c, h, map, key, key_len);
	if (*slot != NULL)
		remove_entry(c, slot);
	while (c->count >= c->max)
		evict_oldest(c);
	e = malloc(sizeof(*e) + key_len + 1 + value_len + 1);
	if (e == NULL)
		return -1;
	e->hash = h;
	e->map = (uint8_t)map;
	e->result = (int8_t)result;
	e->ext = ext;
	e->key_len = (uint16_t)key_len;
	e->value_len = (uint32_t)value_len;
	e->expires = c->clock() + (time_t)ttl;
	memcpy(e->data, key, key_len);
	e->data[key_len] = '\0';
	if (value_len > 0)
		memcpy(e->data + key_len + 1, value, value_len);
	e->data[key_len + 1 + value_len] = '\0';
	slot = &c->buckets[h & (c->nbuckets - 1)];
	e->hnext = *slot;
	*slot = e;
	lru_push(c, e);
	c->count++;
	return 0;
}

void mapd_cache_flush(struct mapd_cache *c)
{
	struct entry *e, *next;

	for (e = c->head; e != NULL; e = next) {
		next = e->next;
		free(e);
	}
	memset(c->buckets, 0, c->nbuckets * sizeof(*c->buckets));
	c->head = c->tail = NULL;
	c->count = 0;
}

size_t mapd_cache_count(const struct mapd_cache *c)
{
	return c->count;
}

void mapd_cache_free(struct mapd_cache *c)
{
	if (c == NULL)
		return;
	mapd_cache_flush(c);
	free(c->buckets);
	free(c);
}
