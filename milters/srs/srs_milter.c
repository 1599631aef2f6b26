/* srs_milter.c: mxkit-srs's milter callbacks (see srs_milter.h).
 *
 * Per message: the envelope sender (MAIL FROM), whether a recipient
 * leaves by forwarding, and the SRS recipients to put back (RCPT). The
 * changes are made at the end of the message, the only time the milter
 * protocol allows them. Headers and body are never requested. */
#include "mxkit-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mx_alias.h"
#include "mx_log.h"
#include "mx_milter.h"
#include "mx_srs_db.h"
#include "srs_milter.h"

#define SRS_REVERSED_MAX 1000   /* SRS recipients put back per message */
#define SRS_QID_MAX 64

struct srs_runtime *srs_runtime_new(struct srs_config *cfg, struct mx_err *err)
{
	struct srs_runtime *rt = calloc(1, sizeof(*rt));

	if (rt == NULL) {
		mx_err_set(err, "out of memory");
		srs_config_free(cfg);
		return NULL;
	}
	rt->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	if ((rt->pool = mx_db_pool_new(&rt->cfg.db, err)) == NULL) {
		srs_runtime_free(rt);
		return NULL;
	}
	mx_srs_db_store_init(&rt->store, rt->pool);
	mx_srs_set_store(rt->cfg.srs, &rt->store);
	return rt;
}

void srs_runtime_free(struct srs_runtime *rt)
{
	if (rt == NULL)
		return;
	srs_config_free(&rt->cfg);  /* the context first: it points at the store */
	mx_db_pool_free(rt->pool);
	free(rt);
}

static void runtime_free(void *p)
{
	srs_runtime_free(p);
}

int srs_milter_set_runtime(struct srs_runtime *rt, struct mx_err *err)
{
	if (mx_milter_shared_set(rt, runtime_free, err) < 0) {
		srs_runtime_free(rt);
		return -1;
	}
	return 0;
}

/* An SRS recipient and what it is put back to. */
struct reversed {
	char *srs;        /* as the client gave it, for delrcpt */
	char *original;
};

struct conn {
	struct mx_milter_shared *ref;  /* holds the runtime for the connection's life */
	const struct srs_runtime *rt;
	char sender[MX_ADDRESS_MAX + 1];
	size_t sender_len;
	bool sender_bad;                /* too long to be an address: never rewritten */
	bool forwarded;                 /* some recipient leaves us by forwarding */
	char first_remote[MX_KEY_MAX + 1];
	size_t nreversed;
	struct reversed *reversed;      /* SRS_REVERSED_MAX entries, allocated at first use */
};

static struct conn *conn_of(struct mx_milter_ctx *ctx)
{
	return mx_milter_priv(ctx);
}

static void message_reset(struct conn *c)
{
	for (size_t i = 0; i < c->nreversed; i++) {
		free(c->reversed[i].srs);
		free(c->reversed[i].original);
	}
	c->nreversed = 0;
	c->sender[0] = '\0';
	c->sender_len = 0;
	c->sender_bad = false;
	c->forwarded = false;
	c->first_remote[0] = '\0';
}

/* The address inside the angle brackets of a MAIL FROM or RCPT TO
 * argument, as a pointer into arg and a length. */
static const char *unbracket(const char *arg, size_t *len_r)
{
	size_t n = strlen(arg);

	if (n >= 2 && arg[0] == '<' && arg[n - 1] == '>') {
		*len_r = n - 2;
		return arg + 1;
	}
	*len_r = n;
	return arg;
}

static void qid_of(struct mx_milter_ctx *ctx, char *buf, size_t size)
{
	const char *qid = mx_milter_macro(ctx, "i");

	mx_log_safe(buf, size, qid ? qid : "-", qid ? strlen(qid) : 1);
}

static enum mx_milter_status reply(struct mx_milter_ctx *ctx, const char *code, const char *xcode, const char *text,
		      enum mx_milter_status status)
{
	(void)mx_milter_set_reply(ctx, code, xcode, text, NULL);
	return status;
}

static enum mx_milter_status temp(struct mx_milter_ctx *ctx, const char *what, const struct mx_err *err)
{
	char qid[SRS_QID_MAX], safe[sizeof(err->text) * 4];

	qid_of(ctx, qid, sizeof(qid));
	mx_log_err("%s: %s: %s; tempfail", qid, what,
		   mx_log_safe(safe, sizeof(safe), err->text, strlen(err->text)));
	return reply(ctx, "451", "4.3.0", "Temporary lookup failure, try again later", MX_MILTER_TEMPFAIL);
}

static enum mx_milter_status cb_negotiate(struct mx_milter_ctx *ctx, uint32_t f0, uint32_t f1,
					  uint32_t *pf0, uint32_t *pf1)
{
	const uint32_t need = MX_MILTER_A_CHGFROM | MX_MILTER_A_ADDRCPT | MX_MILTER_A_DELRCPT;
	const uint32_t want = MX_MILTER_P_NOCONNECT | MX_MILTER_P_NOHELO | MX_MILTER_P_NOHDRS | MX_MILTER_P_NOEOH |
				   MX_MILTER_P_NOBODY | MX_MILTER_P_NOUNKNOWN | MX_MILTER_P_NODATA;
	struct conn *c;
	void *rt;

	if ((f0 & need) != need) {
		mx_log_err("the MTA does not allow changing the envelope: cannot do SRS");
		return MX_MILTER_REJECT;  /* refuse the connection */
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return MX_MILTER_REJECT;
	if ((c->ref = mx_milter_shared_acquire(&rt)) == NULL) {
		free(c);
		return MX_MILTER_REJECT;
	}
	c->rt = rt;
	*pf0 = need;
	*pf1 = f1 & want;
	mx_milter_set_priv(ctx, c);
	return MX_MILTER_CONTINUE;
}

static enum mx_milter_status cb_envfrom(struct mx_milter_ctx *ctx, char **argv)
{
	struct conn *c = conn_of(ctx);
	const char *a;
	size_t n;

	if (c == NULL)
		return MX_MILTER_TEMPFAIL;
	message_reset(c);
	if (argv[0] == NULL)
		return MX_MILTER_CONTINUE;
	a = unbracket(argv[0], &n);
	if (n > MX_ADDRESS_MAX) {
		c->sender_bad = true;
		return MX_MILTER_CONTINUE;
	}
	memcpy(c->sender, a, n);
	c->sender[n] = '\0';
	c->sender_len = n;
	return MX_MILTER_CONTINUE;
}

static bool in_srs_domain(const struct conn *c, const char *addr, size_t len)
{
	const char *at = memrchr(addr, '@', len);
	size_t dlen;

	if (at == NULL)
		return false;
	dlen = (size_t)(addr + len - at - 1);
	return dlen == strlen(c->rt->cfg.domain) && strncasecmp(at + 1, c->rt->cfg.domain, dlen) == 0;
}

/* An SRS recipient: note it to be put back, or refuse it. */
static enum mx_milter_status rcpt_reverse(struct mx_milter_ctx *ctx, struct conn *c, const char *arg, const char *addr,
			     size_t len, bool *not_srs_r)
{
	char out[MX_SRS_ADDRESS_SIZE], qid[SRS_QID_MAX], safe[MX_ERR_MAX * 4];
	struct reversed *r;
	struct mx_err err;
	enum mx_result res;

	*not_srs_r = false;
	res = mx_srs_reverse(c->rt->cfg.srs, addr, len, out, sizeof(out), &err);
	switch (res) {
	case MX_FOUND:
		break;
	case MX_NOTFOUND:
		*not_srs_r = true;  /* e.g. postmaster@ the SRS domain */
		return MX_MILTER_CONTINUE;
	case MX_TEMP:
		return temp(ctx, "SRS reverse", &err);
	case MX_PERM:
	default:
		qid_of(ctx, qid, sizeof(qid));
		mx_log_info("%s: refused SRS recipient: %s", qid,
			    mx_log_safe(safe, sizeof(safe), err.text, strlen(err.text)));
		return reply(ctx, "550", "5.1.1", "Invalid or expired SRS address", MX_MILTER_REJECT);
	}
	if (c->reversed == NULL &&
	    (c->reversed = calloc(SRS_REVERSED_MAX, sizeof(*c->reversed))) == NULL)
		return reply(ctx, "451", "4.3.0", "Out of memory, try again later", MX_MILTER_TEMPFAIL);
	if (c->nreversed >= SRS_REVERSED_MAX)
		return reply(ctx, "452", "4.5.3", "Too many SRS recipients", MX_MILTER_TEMPFAIL);
	r = &c->reversed[c->nreversed];
	if ((r->srs = strdup(arg)) == NULL || (r->original = strdup(out)) == NULL) {
		free(r->srs);
		r->srs = NULL;
		return reply(ctx, "451", "4.3.0", "Out of memory, try again later", MX_MILTER_TEMPFAIL);
	}
	c->nreversed++;
	return MX_MILTER_CONTINUE;
}

static enum mx_milter_status cb_envrcpt(struct mx_milter_ctx *ctx, char **argv)
{
	struct conn *c = conn_of(ctx);
	struct mx_alias_outcome out;
	char qid[SRS_QID_MAX], safe[MX_ERR_MAX * 4];
	struct mx_err err;
	enum mx_result r;
	const char *a;
	size_t n;

	if (c == NULL)
		return MX_MILTER_TEMPFAIL;
	if (argv[0] == NULL)
		return MX_MILTER_CONTINUE;
	a = unbracket(argv[0], &n);
	if (n == 0)
		return MX_MILTER_CONTINUE;
	if (in_srs_domain(c, a, n)) {
		bool not_srs;
		enum mx_milter_status s = rcpt_reverse(ctx, c, argv[0], a, n, &not_srs);
		if (!not_srs)
			return s;
	}
	if (c->forwarded)
		return MX_MILTER_CONTINUE;  /* decided already; save the lookups */
	r = mx_alias_resolve(c->rt->pool, a, n, c->rt->cfg.delimiter, &out, &err);
	if (r == MX_TEMP)
		return temp(ctx, "alias resolution", &err);
	if (r == MX_PERM) {
		/* Postfix's own expansion will bounce it; it does not leave by forwarding. */
		qid_of(ctx, qid, sizeof(qid));
		mx_log_warn("%s: recipient not resolved: %s", qid,
			    mx_log_safe(safe, sizeof(safe), err.text, strlen(err.text)));
		return MX_MILTER_CONTINUE;
	}
	if (out.remote > 0) {
		c->forwarded = true;
		memcpy(c->first_remote, out.first_remote, sizeof(c->first_remote));
	}
	return MX_MILTER_CONTINUE;
}

/* Put the SRS recipients back to their originals. */
static enum mx_milter_status eom_recipients(struct mx_milter_ctx *ctx, struct conn *c)
{
	char qid[SRS_QID_MAX], bracketed[MX_SRS_ADDRESS_SIZE + 2];
	struct mx_err err;

	for (size_t i = 0; i < c->nreversed; i++) {
		const struct reversed *r = &c->reversed[i];

		if (snprintf(bracketed, sizeof(bracketed), "<%s>", r->original) >= (int)sizeof(bracketed)) {
			mx_err_set(&err, "reversed address too long");
			return temp(ctx, "SRS reverse", &err);
		}
		if (mx_milter_del_rcpt(ctx, r->srs, &err) < 0 || mx_milter_add_rcpt(ctx, bracketed, &err) < 0) {
			return temp(ctx, "SRS reverse", &err);
		}
	}
	if (c->nreversed > 0) {
		qid_of(ctx, qid, sizeof(qid));
		mx_log_info("%s: %zu SRS recipient(s) put back to the original sender", qid, c->nreversed);
	}
	return MX_MILTER_CONTINUE;
}

/* Rewrite the sender when the message leaves by forwarding. */
static enum mx_milter_status eom_sender(struct mx_milter_ctx *ctx, struct conn *c)
{
	char out[MX_SRS_ADDRESS_SIZE], bracketed[MX_SRS_ADDRESS_SIZE + 2], qid[SRS_QID_MAX];
	char safe[2 * MX_SRS_ADDRESS_SIZE], safe_to[MX_KEY_MAX * 4];
	const char *at;
	struct mx_err err;
	enum mx_result r;

	if (!c->forwarded || c->sender_len == 0 || c->sender_bad)
		return MX_MILTER_CONTINUE;  /* local only, the null sender, or not an address */
	at = memrchr(c->sender, '@', c->sender_len);
	if (at == NULL)
		return MX_MILTER_CONTINUE;  /* a local sender without a domain: ours */
	r = mx_alias_domain_is_ours(c->rt->pool, at + 1, (size_t)(c->sender + c->sender_len - at - 1), &err);
	if (r == MX_TEMP)
		return temp(ctx, "sender domain lookup", &err);
	if (r == MX_FOUND)
		return MX_MILTER_CONTINUE;  /* our own domain: SPF passes as it is */
	r = mx_srs_forward(c->rt->cfg.srs, c->sender, c->sender_len, out, sizeof(out), &err);
	qid_of(ctx, qid, sizeof(qid));
	switch (r) {
	case MX_FOUND:
		break;
	case MX_TEMP:
		return temp(ctx, "SRS forward", &err);
	case MX_NOTFOUND:
	case MX_PERM:
	default:
		mx_log_info("%s: sender not rewritten: %s", qid,
			    mx_log_safe(safe, sizeof(safe), err.text, strlen(err.text)));
		return MX_MILTER_CONTINUE;
	}
	if (snprintf(bracketed, sizeof(bracketed), "<%s>", out) >= (int)sizeof(bracketed)) {
		mx_err_set(&err, "SRS address too long");
		return temp(ctx, "SRS forward", &err);
	}
	if (mx_milter_change_from(ctx, bracketed, NULL, &err) < 0) {
		return temp(ctx, "SRS forward", &err);
	}
	mx_log_info("%s: forwarded to %s: sender rewritten to %s", qid,
		    mx_log_safe(safe_to, sizeof(safe_to), c->first_remote, strlen(c->first_remote)),
		    mx_log_safe(safe, sizeof(safe), out, strlen(out)));
	return MX_MILTER_CONTINUE;
}

static enum mx_milter_status cb_eom(struct mx_milter_ctx *ctx)
{
	struct conn *c = conn_of(ctx);
	enum mx_milter_status s;

	if (c == NULL)
		return MX_MILTER_TEMPFAIL;
	s = eom_recipients(ctx, c);
	if (s == MX_MILTER_CONTINUE)
		s = eom_sender(ctx, c);
	message_reset(c);
	return s == MX_MILTER_CONTINUE ? MX_MILTER_ACCEPT : s;
}

static void cb_abort(struct mx_milter_ctx *ctx)
{
	struct conn *c = conn_of(ctx);

	if (c != NULL)
		message_reset(c);
}

static void cb_close(struct mx_milter_ctx *ctx)
{
	struct conn *c = conn_of(ctx);

	if (c != NULL) {
		message_reset(c);
		mx_milter_shared_release(c->ref);
		free(c->reversed);
		free(c);
		mx_milter_set_priv(ctx, NULL);
	}
}

static const struct mx_milter_callbacks callbacks = {
	.name = "mxkit-srs",
	.envfrom = cb_envfrom,
	.envrcpt = cb_envrcpt,
	.eom = cb_eom,
	.abort = cb_abort,
	.close = cb_close,
	.negotiate = cb_negotiate,
};

const struct mx_milter_callbacks *srs_milter_callbacks(void)
{
	return &callbacks;
}
