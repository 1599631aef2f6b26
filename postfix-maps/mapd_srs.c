/* mapd_srs.c: the srs_forward and srs_reverse maps of mxkit-mapd.
 *
 * For sites that wire SRS the way PostSRSd does, through
 *   sender_canonical_maps = socketmap:...:srs_forward
 *   recipient_canonical_maps = socketmap:...:srs_reverse
 * (with sender_canonical_classes = envelope_sender and
 * recipient_canonical_classes = envelope_recipient,header_recipient).
 *
 * srs_forward answers the SRS address of every sender that is not in
 * one of our domains (the `domains` table, as the `domain` map, through
 * the snapshot of mapd_domains.h) nor in
 * the SRS domain, and NOTFOUND for those (and for keys without a
 * domain, malformed ones and the null sender). srs_reverse answers the
 * original sender of an SRS address in the SRS domain, and NOTFOUND for
 * anything else, including forged or expired ones: Postfix then treats
 * the address as unknown and refuses it at RCPT like any unknown
 * recipient. A database failure (our domains, the store of long
 * senders) is TEMP, never a rewrite made without knowing. Without an
 * `srs` section both maps answer PERM: a configuration error.
 *
 * Both maps also have an inline form that the event loop tries first:
 * the same answers, computed in place, whenever neither the list of our
 * domains (a fresh snapshot) nor the store of long senders is needed;
 * otherwise it declines and the lookup goes to a worker. */
#include "mxkit-config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mapd_maps.h"
#include "mx_alias.h"
#include "mx_log.h"

static void answer_reason(struct mapd_answer *ans, enum mx_result r, const char *why)
{
	size_t n = strnlen(why, sizeof(ans->reason) - 1);  /* a long reason is cut, deliberately */

	ans->result = r;
	memcpy(ans->reason, why, n);
	ans->reason[n] = '\0';
}

static void answer_value(struct mapd_answer *ans, const char *value, size_t max_reply)
{
	size_t n = strlen(value);

	if (n > max_reply) {
		answer_reason(ans, MX_TEMP, "SRS result longer than max_reply");
		return;
	}
	if ((ans->value = malloc(n + 1)) == NULL) {
		answer_reason(ans, MX_TEMP, "out of memory");
		return;
	}
	memcpy(ans->value, value, n + 1);
	ans->value_len = n;
	ans->result = MX_FOUND;
}

/* The reason may quote the address: made safe for the log. */
static void log_why(const char *what, const struct mx_err *err)
{
	char safe[sizeof(err->text) * 4];

	mx_log_info("%s: %s", what, mx_log_safe(safe, sizeof(safe), err->text, strlen(err->text)));
}

/* Start an answer: NOTFOUND, or PERM without an SRS context. */
static bool srs_begin(const struct mapd_lookup_ctx *ctx, struct mapd_answer *ans)
{
	memset(ans, 0, sizeof(*ans));
	ans->result = MX_NOTFOUND;
	if (ctx->srs != NULL)
		return true;
	answer_reason(ans, MX_PERM, "no 'srs' section in the mxkit-mapd configuration");
	return false;
}

/* The store the inline lookups use: it only notes that the database
 * was needed (a long sender, a keyed address), so that the lookup is
 * repeated in a worker with the real one. */
struct defer {
	bool needed;
};

static enum mx_result defer_store(void *ctx, const char *key, const char *sender, time_t expiry,
				  struct mx_err *err)
{
	(void)key;
	(void)sender;
	(void)expiry;
	((struct defer *)ctx)->needed = true;
	mx_err_set(err, "needs the database");
	return MX_TEMP;
}

static enum mx_result defer_fetch(void *ctx, const char *key, char *buf, size_t size,
				  struct mx_err *err)
{
	(void)key;
	(void)buf;
	(void)size;
	((struct defer *)ctx)->needed = true;
	mx_err_set(err, "needs the database");
	return MX_TEMP;
}

/* The domain of key: false (NOTFOUND answered) without one. */
static bool key_domain(const char *key, size_t key_len, const char **dom, size_t *dlen)
{
	const char *at = memrchr(key, '@', key_len);

	if (at == NULL || at + 1 == key + key_len)
		return false;  /* the null sender, or no domain: Postfix's own */
	*dom = at + 1;
	*dlen = (size_t)(key + key_len - at - 1);
	return true;
}

/* The answer for a rewrite's result: the address, TEMP, or NOTFOUND (a
 * refusal is logged with `refusal`). */
static void answer_result(const struct mapd_lookup_ctx *ctx, enum mx_result r, const char *out,
			  const struct mx_err *err, const char *refusal, struct mapd_answer *ans)
{
	if (r == MX_FOUND)
		answer_value(ans, out, ctx->max_reply);
	else if (r == MX_TEMP)
		answer_reason(ans, MX_TEMP, err->text);
	else if (r == MX_PERM)
		log_why(refusal, err);
}

/* Rewrite key through store (NULL: the context's) into ans. */
static void forward_answer(const struct mapd_lookup_ctx *ctx, const struct mx_srs_store *store,
			   const char *key, size_t key_len, struct mapd_answer *ans)
{
	char out[MX_SRS_ADDRESS_SIZE];
	struct mx_err err;
	enum mx_result r;

	r = store != NULL ? mx_srs_forward_via(ctx->srs, store, key, key_len, out, sizeof(out), &err)
			  : mx_srs_forward(ctx->srs, key, key_len, out, sizeof(out), &err);
	answer_result(ctx, r, out, &err, "srs_forward: not rewritten", ans);
}

void mapd_lookup_srs_forward(const struct mapd_map *map, const struct mapd_lookup_ctx *ctx,
			     const char *key, size_t key_len, struct mapd_answer *ans)
{
	const char *dom;
	size_t dlen;
	struct mx_err err;
	enum mx_result r;

	(void)map;
	if (!srs_begin(ctx, ans) || !key_domain(key, key_len, &dom, &dlen))
		return;
	r = mapd_domains_is_ours(ctx->domains, ctx->db, dom, dlen, &err);
	if (r == MX_TEMP) {
		answer_reason(ans, MX_TEMP, err.text);
		return;
	}
	if (r == MX_FOUND)
		return;  /* one of our domains: SPF passes as it is */
	forward_answer(ctx, NULL, key, key_len, ans);
}

bool mapd_inline_srs_forward(const struct mapd_map *map, const struct mapd_lookup_ctx *ctx,
			     const char *key, size_t key_len, struct mapd_answer *ans)
{
	struct defer d = { false };
	const struct mx_srs_store store = { defer_store, defer_fetch, &d };
	const char *dom;
	size_t dlen;
	enum mx_result r;

	(void)map;
	if (!srs_begin(ctx, ans) || !key_domain(key, key_len, &dom, &dlen))
		return true;
	r = mapd_domains_peek(ctx->domains, dom, dlen);
	if (r == MX_TEMP)
		return false;  /* no fresh snapshot: a worker loads it or says TEMP */
	if (r == MX_FOUND)
		return true;
	forward_answer(ctx, &store, key, key_len, ans);
	return !d.needed;
}

/* Reverse key through store (NULL: the context's) into ans. */
static void reverse_answer(const struct mapd_lookup_ctx *ctx, const struct mx_srs_store *store,
			   const char *key, size_t key_len, struct mapd_answer *ans)
{
	char out[MX_SRS_ADDRESS_SIZE];
	const char *dom;
	struct mx_err err;
	enum mx_result r;
	size_t dlen;

	if (!key_domain(key, key_len, &dom, &dlen) || dlen != strlen(ctx->srs_domain) ||
	    strncasecmp(dom, ctx->srs_domain, dlen) != 0)
		return;  /* only addresses in the SRS domain are ours to reverse */
	r = store != NULL ? mx_srs_reverse_via(ctx->srs, store, key, key_len, out, sizeof(out), &err)
			  : mx_srs_reverse(ctx->srs, key, key_len, out, sizeof(out), &err);
	answer_result(ctx, r, out, &err, "srs_reverse: refused", ans);
}

void mapd_lookup_srs_reverse(const struct mapd_map *map, const struct mapd_lookup_ctx *ctx,
			     const char *key, size_t key_len, struct mapd_answer *ans)
{
	(void)map;
	if (srs_begin(ctx, ans))
		reverse_answer(ctx, NULL, key, key_len, ans);
}

bool mapd_inline_srs_reverse(const struct mapd_map *map, const struct mapd_lookup_ctx *ctx,
			     const char *key, size_t key_len, struct mapd_answer *ans)
{
	struct defer d = { false };
	const struct mx_srs_store store = { defer_store, defer_fetch, &d };

	(void)map;
	if (srs_begin(ctx, ans))
		reverse_answer(ctx, &store, key, key_len, ans);
	return !d.needed;
}
