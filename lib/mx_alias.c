/* mx_alias.c: following our virtual aliases to the final addresses (see
 * mx_alias.h). All the SQL about aliases and domains lives here, so that
 * mxkit-mapd's maps and mxkit-srs agree by construction. */
#include "mxkit-config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mx_alias.h"

const char mx_alias_sql[] =
	"SELECT a.destination FROM aliases a JOIN domains d ON d.id = a.domain_id"
	" WHERE a.source = ? AND a.active = 1 AND d.active = 1"
	" UNION SELECT u.address FROM users u JOIN domains d ON d.id = u.domain_id"
	" WHERE u.address = ? AND u.active = 1 AND d.active = 1"
	" ORDER BY 1";

const char mx_alias_domain_sql[] =
	"SELECT name FROM domains WHERE name = ? AND active = 1";

/* An address still to be looked at, and how deep in the aliases it is. */
struct pending {
	char addr[MX_KEY_MAX + 1];
	unsigned depth;
};

/* One level: the destinations of key (lowercased, NUL-terminated) into
 * out, with an unmatched extension re-appended. */
static enum mx_result lookup_once(struct mx_db_pool *db, const char *key, size_t len,
				  const char *delimiters, struct mx_db_joined *j, char *out,
				  size_t size, struct mx_err *err)
{
	struct mx_key_plan plan;

	mx_keys_plan(MX_KEY_ADDRESS, key, len, delimiters, &plan);
	for (unsigned i = 0; i < plan.n; i++) {
		const char *params[] = { plan.cand[i].key, plan.cand[i].key };
		enum mx_result r;

		j->len = 0;
		r = mx_db_exec(db, mx_alias_sql, params, 2, mx_db_join_row, j, MX_DB_RETRY, NULL, err);
		if (r == MX_TEMP)
			return MX_TEMP;
		if (r != MX_FOUND || j->len == 0)
			continue;
		if (plan.cand[i].stripped) {
			if (mx_keys_propagate(j->buf, j->len, plan.ext, plan.ext_len, out, size) < 0) {
				mx_err_set(err, "alias result with extension longer than %zu bytes", size - 1);
				return MX_PERM;
			}
		} else {
			memcpy(out, j->buf, j->len + 1);
		}
		return MX_FOUND;
	}
	return MX_NOTFOUND;
}

enum mx_result mx_alias_domain_is_ours(struct mx_db_pool *db, const char *domain, size_t len,
				       struct mx_err *err)
{
	char key[MX_KEY_MAX + 1];
	const char *params[1] = { key };

	if (len == 0 || len > MX_KEY_MAX)
		return MX_NOTFOUND;
	for (size_t i = 0; i < len; i++)
		key[i] = (domain[i] >= 'A' && domain[i] <= 'Z') ? (char)(domain[i] - 'A' + 'a') : domain[i];
	key[len] = '\0';
	return mx_db_exec(db, mx_alias_domain_sql, params, 1, NULL, NULL, MX_DB_RETRY, NULL, err);
}

/* A final address: count it as local or remote. */
static enum mx_result classify(struct mx_db_pool *db, const char *addr,
			       struct mx_alias_outcome *out, struct mx_err *err)
{
	const char *at = strrchr(addr, '@');
	enum mx_result r;

	if (at == NULL) {
		out->local++;  /* a bare local part: Postfix qualifies it with our own domain */
		return MX_FOUND;
	}
	r = mx_alias_domain_is_ours(db, at + 1, strlen(at + 1), err);
	if (r == MX_TEMP)
		return MX_TEMP;
	if (r == MX_FOUND) {
		out->local++;
	} else {
		if (out->remote++ == 0)
			memcpy(out->first_remote, addr, strlen(addr) + 1);
	}
	return MX_FOUND;
}

/* Queue each element of the comma-separated list (whitespace around
 * elements dropped, lowercased) that is not cur itself; cur in its own
 * list is final. Returns MX_FOUND, or MX_PERM past the bounds. */
static enum mx_result queue_results(const char *list, const struct pending *cur,
				    struct pending *work, size_t *nwork, size_t *seen,
				    bool *self_r, struct mx_err *err)
{
	const char *p = list;

	*self_r = false;
	while (*p != '\0') {
		size_t n = strcspn(p, ", \t"), i;

		if (n == 0) {
			p++;
			continue;
		}
		if (n > MX_KEY_MAX) {
			mx_err_set(err, "alias of %s: destination longer than %d bytes", cur->addr, MX_KEY_MAX);
			return MX_PERM;
		}
		if (n == strlen(cur->addr) && strncasecmp(p, cur->addr, n) == 0) {
			*self_r = true;
		} else {
			struct pending *nx;

			if (cur->depth + 1 > MX_ALIAS_DEPTH_MAX) {
				mx_err_set(err, "aliases nested deeper than %d (a loop?) at %s",
					   MX_ALIAS_DEPTH_MAX, cur->addr);
				return MX_PERM;
			}
			if (++*seen > MX_ALIAS_ADDRESSES_MAX) {
				mx_err_set(err, "aliases expand to more than %d addresses",
					   MX_ALIAS_ADDRESSES_MAX);
				return MX_PERM;
			}
			nx = &work[(*nwork)++];
			for (i = 0; i < n; i++)
				nx->addr[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] - 'A' + 'a') : p[i];
			nx->addr[n] = '\0';
			nx->depth = cur->depth + 1;
		}
		p += n;
	}
	return MX_FOUND;
}

enum mx_result mx_alias_resolve(struct mx_db_pool *db, const char *addr, size_t len,
				const char *delimiters, struct mx_alias_outcome *out,
				struct mx_err *err)
{
	/* Every queued address counts against MX_ALIAS_ADDRESSES_MAX, so the
	 * work list (a stack) never holds more. */
	struct pending *work;
	struct mx_db_joined j = { .max = MX_ALIAS_VALUE_MAX };
	char *value;
	size_t nwork = 0, seen = 1;
	enum mx_result r = MX_FOUND;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > MX_KEY_MAX) {
		mx_err_set(err, "recipient address empty or longer than %d bytes", MX_KEY_MAX);
		return MX_PERM;
	}
	work = malloc(sizeof(*work) * (MX_ALIAS_ADDRESSES_MAX + 1));
	value = malloc(MX_ALIAS_VALUE_MAX + 1);
	if (work == NULL || value == NULL) {
		mx_err_set(err, "out of memory");
		r = MX_TEMP;
		goto out;
	}
	for (size_t i = 0; i < len; i++)
		work[0].addr[i] = (addr[i] >= 'A' && addr[i] <= 'Z') ? (char)(addr[i] - 'A' + 'a') : addr[i];
	work[0].addr[len] = '\0';
	work[0].depth = 0;
	nwork = 1;
	while (nwork > 0 && r == MX_FOUND) {
		struct pending cur = work[--nwork];
		bool self;

		r = lookup_once(db, cur.addr, strlen(cur.addr), delimiters, &j, value,
				MX_ALIAS_VALUE_MAX + 1, err);
		if (r == MX_NOTFOUND) {
			r = classify(db, cur.addr, out, err);
			continue;
		}
		if (r != MX_FOUND)
			break;
		r = queue_results(value, &cur, work, &nwork, &seen, &self, err);
		if (r == MX_FOUND && self)
			r = classify(db, cur.addr, out, err);
	}
out:
	free(work);
	free(j.buf);
	free(value);
	return r;
}
