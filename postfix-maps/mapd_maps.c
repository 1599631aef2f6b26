/* mapd_maps.c: the map table of mxkit-mapd and its SQL.
 *
 * All SQL that mapd runs is here, except the alias and domain queries,
 * which it shares with mxkit-srs (lib/mx_alias.c). Each statement gives, for one lookup
 * key, exactly the rows the reference Postfix mysql: query gives (see
 * tests/harness/mapd.py MYSQL_QUERIES), ordered so that replies are
 * deterministic. The key is always a bound parameter. */
#include "mxkit-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapd_maps.h"
#include "mx_alias.h"
#include "mx_log.h"

static const char sql_mailbox[] =
	"SELECT u.address FROM users u JOIN domains d ON d.id = u.domain_id"
	" WHERE u.address = ? AND u.active = 1 AND d.active = 1";

static const char sql_sender_login[] =
	"SELECT u.address FROM users u JOIN domains d ON d.id = u.domain_id"
	" WHERE u.address = ? AND u.active = 1 AND d.active = 1"
	" UNION SELECT u.address FROM aliases a JOIN users u ON u.address = a.destination"
	" JOIN domains d ON d.id = a.domain_id JOIN domains du ON du.id = u.domain_id"
	" WHERE a.source = ? AND a.active = 1 AND u.active = 1 AND d.active = 1 AND du.active = 1"
	" ORDER BY 1";

static const char sql_transport[] =
	"SELECT transport FROM domains WHERE name = ? AND active = 1"
	" AND transport IS NOT NULL AND transport <> ''";

const struct mapd_map mapd_maps[] = {
	{ .name = "domain", .keys = MX_KEY_EXACT, .sql = mx_alias_domain_sql, .nparams = 1,
	  .lookup = mapd_lookup_sql },
	{ .name = "mailbox", .keys = MX_KEY_ADDRESS, .sql = sql_mailbox, .nparams = 1,
	  .lookup = mapd_lookup_sql },
	{ .name = "alias", .keys = MX_KEY_ADDRESS, .propagate_ext = true, .sql = mx_alias_sql,
	  .nparams = 2, .lookup = mapd_lookup_sql },
	{ .name = "sender_login", .keys = MX_KEY_ADDRESS, .sql = sql_sender_login, .nparams = 2,
	  .lookup = mapd_lookup_sql },
	{ .name = "srs_forward", .keys = MX_KEY_EXACT, .lookup = mapd_lookup_srs_forward,
	  .inline_lookup = mapd_inline_srs_forward },
	{ .name = "srs_reverse", .keys = MX_KEY_EXACT, .lookup = mapd_lookup_srs_reverse,
	  .inline_lookup = mapd_inline_srs_reverse },
	{ .name = "transport", .keys = MX_KEY_DOMAIN, .sql = sql_transport, .nparams = 1,
	  .lookup = mapd_lookup_sql },
};
const unsigned mapd_nmaps = sizeof(mapd_maps) / sizeof(mapd_maps[0]);

const struct mapd_map *mapd_map_find(const char *name, size_t len)
{
	for (unsigned i = 0; i < mapd_nmaps; i++)
		if (strlen(mapd_maps[i].name) == len && memcmp(mapd_maps[i].name, name, len) == 0)
			return &mapd_maps[i];
	return NULL;
}

static void answer_temp(struct mapd_answer *ans, const char *why)
{
	size_t n = strnlen(why, sizeof(ans->reason) - 1);  /* a long reason is cut, deliberately */

	ans->result = MX_TEMP;
	memcpy(ans->reason, why, n);
	ans->reason[n] = '\0';
}

void mapd_lookup_sql(const struct mapd_map *map, const struct mapd_lookup_ctx *ctx,
		     const char *key, size_t key_len, struct mapd_answer *ans)
{
	struct mx_key_plan plan;
	struct mx_db_joined j = { .max = ctx->max_reply, .limit_name = "max_reply" };
	struct mx_err err;

	memset(ans, 0, sizeof(*ans));
	ans->result = MX_NOTFOUND;
	mx_keys_plan(map->keys, key, key_len, ctx->delimiter, &plan);
	for (unsigned i = 0; i < plan.n; i++) {
		const char *params[] = { plan.cand[i].key, plan.cand[i].key };
		enum mx_result r;

		j.len = 0;
		r = mx_db_exec(ctx->db, map->sql, params, map->nparams, mx_db_join_row, &j,
			       MX_DB_RETRY, NULL, &err);
		if (r == MX_TEMP) {
			answer_temp(ans, err.text);
			break;
		}
		if (r != MX_FOUND || j.len == 0)
			continue;
		if (map->propagate_ext && plan.cand[i].stripped) {
			/* The reply re-appends it, from the key as sent (mx_keys_propagate). */
			ans->ext.off = (uint16_t)(plan.ext - key);
			ans->ext.len = (uint16_t)plan.ext_len;
		}
		ans->result = MX_FOUND;
		ans->value = j.buf;
		ans->value_len = j.len;
		return;
	}
	free(j.buf);
}
