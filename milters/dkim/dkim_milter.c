/* dkim_milter.c: mxkit-dkim's milter callbacks.
 *
 * Per connection: is the client local (no address, or loopback from a
 * local submission), in the internal networks, or authenticated (the
 * {auth_authen} macro at MAIL FROM)? Only then is a message considered.
 * Per message: the signable header fields are kept; at the end of the
 * header the single From: address decides the keys; the body is hashed
 * as it streams in; at the end of the message one DKIM-Signature field
 * per key is inserted at the top. Inbound mail is never signed.
 *
 * A failure to sign follows dkim.on_error: tempfail (default: unsigned
 * mail never leaves silently) or accept unsigned. Header and body
 * chunks are taken without replies when the MTA offers it (MX_MILTER_P_NR_HDR,
 * MX_MILTER_P_NR_BODY), which saves a round trip per chunk. */
#include "mxkit-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dkim_from.h"
#include "dkim_milter.h"
#include "dkim_sign.h"
#include "mx_log.h"
#include "mx_milter.h"

/* The configuration in use is held by mx_milter_shared: a connection
 * holds a reference for its whole life, so a reload applies to new
 * connections and the old configuration, keys included, is freed when the
 * last connection using it closes. */
static void cfg_free(void *p)
{
	dkim_config_free(p);
	free(p);
}

int dkim_milter_set_config(struct dkim_config *cfg, struct mx_err *err)
{
	return mx_milter_shared_set(cfg, cfg_free, err);
}

void dkim_milter_clear_config(void)
{
	(void)mx_milter_shared_set(NULL, NULL, NULL);
}

struct conn {
	bool trusted_client;      /* local or internal network */
	bool leadspc;             /* header values come with their leading space */
	bool nr_hdr, nr_body;     /* MTA expects no reply to header / body */
	bool msg_on;              /* signing this message */
	bool msg_started;
	struct mx_milter_shared *ref;  /* holds cfg for this connection */
	const struct dkim_config *cfg;
	char error[MX_ERR_MAX];   /* failure seen where no reply may be sent */
	char client[64];
	struct dkim_msg msg;
	size_t nkeys;
	const struct dkim_key *keys[DKIM_SIGS_PER_MSG];
	char domain[DKIM_DOMAIN_MAX + 1];
	struct dkim_buf sig;
};

static struct conn *conn_of(struct mx_milter_ctx *ctx)
{
	return mx_milter_priv(ctx);
}

static enum mx_milter_status fail_policy(struct mx_milter_ctx *ctx, const char *why)
{
	struct conn *c = conn_of(ctx);
	char qid_safe[64], domain_safe[MX_LOG_SAFE_MAX];
	const char *qid = mx_milter_macro(ctx, "i");

	mx_log_safe(qid_safe, sizeof(qid_safe), qid ? qid : "-", qid ? strlen(qid) : 1);
	if (c->domain[0] != '\0')
		mx_log_safe(domain_safe, sizeof(domain_safe), c->domain, strlen(c->domain));
	else
		snprintf(domain_safe, sizeof(domain_safe), "(not yet known)");
	if (c->cfg->on_error == DKIM_ON_ERROR_ACCEPT) {
		mx_log_err("%s: domain %s: not signed (%s); accepted unsigned (on_error = accept)",
			   qid_safe, domain_safe, why);
		c->msg_on = false;
		return MX_MILTER_ACCEPT;
	}
	mx_log_err("%s: domain %s: not signed (%s); tempfail", qid_safe, domain_safe, why);
	c->msg_on = false;
	(void)mx_milter_set_reply(ctx, "451", "4.7.0", "DKIM signing failed, try again later", NULL);
	return MX_MILTER_TEMPFAIL;
}

/* Header and body callbacks may not answer (MX_MILTER_P_NR_*): keep the
 * reason, and apply the policy at the end of the header or message. */
static enum mx_milter_status defer_failure(struct conn *c, const char *why, bool noreply)
{
	if (c->error[0] == '\0')
		snprintf(c->error, sizeof(c->error), "%s", why);
	return noreply ? MX_MILTER_NOREPLY : MX_MILTER_CONTINUE;
}

static enum mx_milter_status cb_negotiate(struct mx_milter_ctx *ctx, uint32_t f0, uint32_t f1,
					  uint32_t *pf0, uint32_t *pf1)
{
	uint32_t want = MX_MILTER_P_NORCPT | MX_MILTER_P_NOUNKNOWN | MX_MILTER_P_NODATA | MX_MILTER_P_NOHELO |
			     MX_MILTER_P_HDR_LEADSPC | MX_MILTER_P_NR_HDR | MX_MILTER_P_NR_BODY;
	struct conn *c = calloc(1, sizeof(*c));
	struct mx_err err;
	void *cfgp;

	if (c == NULL)
		return MX_MILTER_REJECT;  /* refuse the connection */
	if (dkim_msg_init(&c->msg, &err) < 0) {
		mx_log_err("connection setup: %s", err.text);
		free(c);
		return MX_MILTER_REJECT;
	}
	dkim_buf_init(&c->sig, 65536);
	c->ref = mx_milter_shared_acquire(&cfgp);
	if (c->ref == NULL || (f0 & MX_MILTER_A_ADDHDRS) == 0) {
		if (c->ref != NULL)
			mx_log_err("the MTA does not allow adding header fields: cannot sign");
		mx_milter_shared_release(c->ref);
		dkim_msg_free(&c->msg);
		free(c);
		return MX_MILTER_REJECT;
	}
	c->cfg = cfgp;
	*pf0 = MX_MILTER_A_ADDHDRS;
	*pf1 = f1 & want;
	c->leadspc = (*pf1 & MX_MILTER_P_HDR_LEADSPC) != 0;
	c->nr_hdr = (*pf1 & MX_MILTER_P_NR_HDR) != 0;
	c->nr_body = (*pf1 & MX_MILTER_P_NR_BODY) != 0;
	mx_milter_set_priv(ctx, c);
	return MX_MILTER_CONTINUE;
}

static enum mx_milter_status cb_connect(struct mx_milter_ctx *ctx, const char *host, const struct sockaddr *sa)
{
	struct conn *c = conn_of(ctx);

	if (c == NULL)
		return MX_MILTER_TEMPFAIL;
	mx_log_safe(c->client, sizeof(c->client), host ? host : "local", host ? strlen(host) : 5);
	/* No address: a local submission from an MTA that says so. Postfix
	 * presents its non_smtpd_milters mail (sendmail(1), pickup) as
	 * "localhost [127.0.0.1]": loopback in internal_networks covers it. */
	c->trusted_client = sa == NULL || dkim_nets_match(&c->cfg->nets, sa);
	return MX_MILTER_CONTINUE;
}

static enum mx_milter_status cb_envfrom(struct mx_milter_ctx *ctx, char **argv)
{
	struct conn *c = conn_of(ctx);
	const char *auth = mx_milter_macro(ctx, "{auth_authen}");
	struct dkim_msg_opts o;
	struct mx_err err;

	(void)argv;
	if (c == NULL)
		return MX_MILTER_TEMPFAIL;
	c->msg_on = c->trusted_client || (auth != NULL && *auth != '\0');
	c->nkeys = 0;
	c->domain[0] = '\0';
	c->error[0] = '\0';
	if (!c->msg_on)
		return MX_MILTER_ACCEPT;  /* inbound: never signed, nothing more to see */
	memset(&o, 0, sizeof(o));
	o.t = (long long)time(NULL);
	o.expire = c->cfg->expire;
	o.eol = "\n";  /* the MTA writes CRLF on the wire */
	o.need_body[c->cfg->bc] = true;
	if (dkim_msg_start(&c->msg, &o, &err) < 0)
		return fail_policy(ctx, err.text);
	c->msg_started = true;
	return MX_MILTER_CONTINUE;
}

static enum mx_milter_status cb_header(struct mx_milter_ctx *ctx, const char *name,
					 const char *value)
{
	struct conn *c = conn_of(ctx);
	struct mx_err err;
	size_t vlen = strlen(value);

	if (c == NULL)
		return MX_MILTER_TEMPFAIL;
	if (!c->msg_on || c->error[0] != '\0')
		return c->nr_hdr ? MX_MILTER_NOREPLY : MX_MILTER_CONTINUE;
	if (!c->leadspc && vlen > 0 && value[0] != ' ' && value[0] != '\t') {
		/* The MTA dropped the space after the colon: put it back. */
		char small[1024], *v = vlen + 1 < sizeof(small) ? small : malloc(vlen + 2);
		int rc;
		if (v == NULL)
			return defer_failure(c, "out of memory", c->nr_hdr);
		v[0] = ' ';
		memcpy(v + 1, value, vlen);
		rc = dkim_msg_header(&c->msg, name, strlen(name), v, vlen + 1, &err);
		if (v != small)
			free(v);
		if (rc < 0)
			return defer_failure(c, err.text, c->nr_hdr);
	} else if (dkim_msg_header(&c->msg, name, strlen(name), value, vlen, &err) < 0) {
		return defer_failure(c, err.text, c->nr_hdr);
	}
	return c->nr_hdr ? MX_MILTER_NOREPLY : MX_MILTER_CONTINUE;
}

static enum mx_milter_status cb_eoh(struct mx_milter_ctx *ctx)
{
	struct conn *c = conn_of(ctx);
	const struct dkim_field *f;
	struct mx_err err;
	size_t n;

	if (c == NULL)
		return MX_MILTER_TEMPFAIL;
	if (!c->msg_on)
		return MX_MILTER_ACCEPT;
	if (c->error[0] != '\0')
		return fail_policy(ctx, c->error);
	n = dkim_headers_count(&c->msg.hs, "From");
	if (n != 1) {
		mx_log_info("%s: not signed: %zu From: fields (want exactly one)", c->client, n);
		c->msg_on = false;
		return MX_MILTER_ACCEPT;
	}
	f = dkim_headers_nth_from_bottom(&c->msg.hs, "From", 0);
	if (dkim_from_domain(c->msg.hs.arena.data + f->value_off, f->value_len, c->domain, &err) < 0) {
		mx_log_info("%s: not signed: %s", c->client, err.text);
		c->msg_on = false;
		return MX_MILTER_ACCEPT;
	}
	c->nkeys = dkim_config_find_keys(c->cfg, c->domain, c->keys, DKIM_SIGS_PER_MSG);
	for (n = 0; n < c->nkeys; n++)
		if (c->keys[n]->pkey == NULL)
			return fail_policy(ctx, "its key in table dkim_keys could not be loaded");
	if (c->nkeys == 0 && c->cfg->db_stale)
		return fail_policy(ctx, "the keys of table dkim_keys are not loaded (database unreachable)");
	if (c->nkeys == 0) {
		char safe[MX_LOG_SAFE_MAX];
		mx_log_info("%s: not signed: no key for From: domain %s", c->client,
			    mx_log_safe(safe, sizeof(safe), c->domain, strlen(c->domain)));
		c->msg_on = false;
		return MX_MILTER_ACCEPT;
	}
	return MX_MILTER_CONTINUE;
}

static enum mx_milter_status cb_body(struct mx_milter_ctx *ctx, const uint8_t *p, size_t len)
{
	struct conn *c = conn_of(ctx);
	struct mx_err err;

	if (c == NULL)
		return MX_MILTER_TEMPFAIL;
	if (c->msg_on && c->error[0] == '\0' && dkim_msg_body(&c->msg, p, len, &err) < 0)
		return defer_failure(c, err.text, c->nr_body);
	return c->nr_body ? MX_MILTER_NOREPLY : MX_MILTER_CONTINUE;
}

static enum mx_milter_status cb_eom(struct mx_milter_ctx *ctx)
{
	struct conn *c = conn_of(ctx);
	struct mx_err err;
	size_t i;

	if (c == NULL)
		return MX_MILTER_TEMPFAIL;
	if (!c->msg_on)
		return MX_MILTER_ACCEPT;
	if (c->error[0] != '\0')
		return fail_policy(ctx, c->error);
	if (dkim_msg_body_end(&c->msg, &err) < 0)
		return fail_policy(ctx, err.text);
	/* Insert in reverse so the first key's signature ends up on top. */
	for (i = c->nkeys; i-- > 0;) {
		struct dkim_sig_spec spec = {
			.key = c->keys[i], .hc = c->cfg->hc, .bc = c->cfg->bc,
		};
		dkim_buf_reset(&c->sig);
		if (c->leadspc && dkim_buf_append(&c->sig, " ", 1, &err) < 0)
			return fail_policy(ctx, err.text);
		if (dkim_msg_sign(&c->msg, &spec, &c->sig, &err) < 0 ||
		    dkim_buf_terminate(&c->sig, &err) < 0)
			return fail_policy(ctx, err.text);
		if (mx_milter_insert_header(ctx, 0, DKIM_SIG_FIELD, c->sig.data, &err) < 0)
			return fail_policy(ctx, err.text);
	}
	{
		const char *qid = mx_milter_macro(ctx, "i");
		char qid_safe[64];
		mx_log_safe(qid_safe, sizeof(qid_safe), qid ? qid : "-", qid ? strlen(qid) : 1);
		mx_log_info("%s: signed for %s with %zu key(s)", qid_safe, c->domain, c->nkeys);
	}
	c->msg_on = false;
	return MX_MILTER_ACCEPT;
}

static void cb_abort(struct mx_milter_ctx *ctx)
{
	struct conn *c = conn_of(ctx);

	if (c != NULL)
		c->msg_on = false;
}

static void cb_close(struct mx_milter_ctx *ctx)
{
	struct conn *c = conn_of(ctx);

	if (c != NULL) {
		dkim_msg_free(&c->msg);
		dkim_buf_free(&c->sig);
		mx_milter_shared_release(c->ref);
		free(c);
		mx_milter_set_priv(ctx, NULL);
	}
}

static const struct mx_milter_callbacks callbacks = {
	.name = "mxkit-dkim",
	.negotiate = cb_negotiate,
	.connect = cb_connect,
	.envfrom = cb_envfrom,
	.header = cb_header,
	.eoh = cb_eoh,
	.body = cb_body,
	.eom = cb_eom,
	.abort = cb_abort,
	.close = cb_close,
};

const struct mx_milter_callbacks *dkim_milter_callbacks(void)
{
	return &callbacks;
}
