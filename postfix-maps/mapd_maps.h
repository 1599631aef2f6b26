/* mapd_maps.h: the socketmap names mxkit-mapd serves and how each is
 * looked up.
 *
 * Adding a map is one entry in the table of mapd_maps.c: a name, how the
 * key is turned into lookup keys, and a lookup function (the SQL driver
 * for database maps). Lookups run in worker threads; a map may also have
 * an inline lookup, tried first in the event loop, that answers when it
 * needs no database and declines otherwise. */
#ifndef MAPD_MAPS_H
#define MAPD_MAPS_H

#include <stdbool.h>
#include <stddef.h>

#include "mapd_domains.h"
#include "mx_keys.h"
#include "mx_db.h"
#include "mx_result.h"
#include "mx_srs.h"

#define MAPD_REASON_MAX 200

struct mapd_lookup_ctx {
	struct mx_db_pool *db;
	const char *delimiter;   /* recipient_delimiter */
	size_t max_reply;        /* longest value we may answer */
	const struct mx_srs *srs;  /* srs_* maps; NULL without an `srs` section */
	struct mapd_domains *domains;  /* srs_forward: our domains */
	const char *srs_domain;
};

/* The outcome of one lookup: value is malloc()ed (FOUND only). */
struct mapd_answer {
	enum mx_result result;
	char *value;
	size_t value_len;
	struct mx_key_ext ext;           /* MX_FOUND by the stripped key: extension to re-append */
	char reason[MAPD_REASON_MAX];  /* TEMP/PERM: why, for the reply and the log */
};

struct mapd_map;
typedef void mapd_lookup_fn(const struct mapd_map *map, const struct mapd_lookup_ctx *ctx,
			    const char *key, size_t key_len, struct mapd_answer *ans);
/* true: answered in ans, without blocking; false: ans is empty, ask a worker. */
typedef bool mapd_inline_fn(const struct mapd_map *map, const struct mapd_lookup_ctx *ctx,
			    const char *key, size_t key_len, struct mapd_answer *ans);

struct mapd_map {
	const char *name;
	enum mx_key_kind keys;  /* which partial keys to try */
	bool propagate_ext;       /* re-append an unmatched extension to results */
	const char *sql;          /* for mapd_lookup_sql: '?' placeholders, all bound to the key */
	unsigned nparams;
	mapd_lookup_fn *lookup;
	mapd_inline_fn *inline_lookup;  /* NULL: always a worker */
};

extern const struct mapd_map mapd_maps[];
extern const unsigned mapd_nmaps;

/* The map called name[0..len), or NULL. */
const struct mapd_map *mapd_map_find(const char *name, size_t len);

/* The database driver: try each key of the plan in turn; join result
 * rows with ','. */
void mapd_lookup_sql(const struct mapd_map *map, const struct mapd_lookup_ctx *ctx,
		     const char *key, size_t key_len, struct mapd_answer *ans);

/* The SRS maps (mapd_srs.c): PostSRSd's sender_canonical_maps and
 * recipient_canonical_maps answers. */
void mapd_lookup_srs_forward(const struct mapd_map *map, const struct mapd_lookup_ctx *ctx,
			     const char *key, size_t key_len, struct mapd_answer *ans);
void mapd_lookup_srs_reverse(const struct mapd_map *map, const struct mapd_lookup_ctx *ctx,
			     const char *key, size_t key_len, struct mapd_answer *ans);
/* Their inline forms: our domains from a fresh snapshot only, and no
 * store of long senders (those go to a worker). */
bool mapd_inline_srs_forward(const struct mapd_map *map, const struct mapd_lookup_ctx *ctx,
			     const char *key, size_t key_len, struct mapd_answer *ans);
bool mapd_inline_srs_reverse(const struct mapd_map *map, const struct mapd_lookup_ctx *ctx,
			     const char *key, size_t key_len, struct mapd_answer *ans);

#endif
