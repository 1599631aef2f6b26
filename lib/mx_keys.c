/* mx_keys.c: partial-key generation and extension propagation (shared by
 * mxkit-mapd's maps and the alias resolution of lib/mx_alias). */
#include "mxkit-config.h"

#include <string.h>

#include "mx_keys.h"
#include "mx_address.h"

static void add(struct mx_key_plan *plan, const char *key, size_t len, bool stripped)
{
	struct mx_key_candidate *c = &plan->cand[plan->n++];

	c->key = key;
	c->len = len;
	c->stripped = stripped;
}

void mx_keys_plan(enum mx_key_kind kind, const char *key, size_t len,
		    const char *delimiters, struct mx_key_plan *plan)
{
	const char *at = memrchr(key, '@', len);
	size_t local_len, base;

	plan->n = 0;
	plan->ext = NULL;
	plan->ext_len = 0;
	plan->stripped[0] = '\0';
	if (kind == MX_KEY_DOMAIN) {
		if (at == NULL)
			add(plan, key, len, false);
		else if (at + 1 < key + len)
			add(plan, at + 1, (size_t)(key + len - at - 1), false);
		return;
	}
	add(plan, key, len, false);
	if (kind == MX_KEY_EXACT || at == NULL || at == key)
		return;
	local_len = (size_t)(at - key);
	base = delimiters[0] != '\0' ?
		mx_address_extension_at(key, local_len, delimiters) : local_len;
	if (base > 0 && base < local_len && len - (local_len - base) <= MX_KEY_MAX) {
		memcpy(plan->stripped, key, base);
		memcpy(plan->stripped + base, at, (size_t)(key + len - at));
		plan->stripped[len - (local_len - base)] = '\0';
		add(plan, plan->stripped, len - (local_len - base), true);
		plan->ext = key + base;
		plan->ext_len = local_len - base;
	}
	add(plan, at, (size_t)(key + len - at), false);
}

long mx_keys_propagate(const char *value, size_t len, const char *ext, size_t ext_len,
			 char *out, size_t size)
{
	size_t o = 0, start = 0;

	while (start <= len) {
		const char *comma = memchr(value + start, ',', len - start);
		size_t end = comma != NULL ? (size_t)(comma - value) : len;
		size_t elen = end - start;
		const char *at = memrchr(value + start, '@', elen);
		size_t split = at != NULL ? (size_t)(at - value) - start : elen;
		size_t need = elen + (elen > 0 ? ext_len : 0) + (comma != NULL ? 1 : 0);

		if (need >= size - o)
			return -1;
		memcpy(out + o, value + start, split);
		o += split;
		if (elen > 0) {
			memcpy(out + o, ext, ext_len);
			o += ext_len;
		}
		memcpy(out + o, value + start + split, elen - split);
		o += elen - split;
		if (comma == NULL)
			break;
		out[o++] = ',';
		start = end + 1;
	}
	out[o] = '\0';
	return (long)o;
}
