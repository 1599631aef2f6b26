/* strip_milter.c: mxkit-strip's milter callbacks.
 *
 * Per connection: the client's address and hostname (connect event, and
 * the {client_addr}/{client_name} macros at MAIL FROM). Per message: only
 * when {auth_authen} is set at MAIL FROM (an authenticated submission) are
 * the header fields looked at; every other message is accepted at once,
 * untouched. Each field that meets a rule is noted with its index among
 * the fields of that name; at the end of the message the notes are
 * applied with mx_milter_change_header(), last first, so that removing a field
 * never shifts the index of one still to be changed. The body is never
 * requested.
 *
 * Postfix hides its own Received: field (the one for this hop) from
 * milters and does not let them change it: the deployment redacts that
 * one (see mxkit-strip(8)). */
#include "mxkit-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mx_log.h"
#include "mx_milter.h"
#include "strip_milter.h"

#define STRIP_CHANGES_MAX 1000        /* changed fields per message */
#define STRIP_VALUE_MAX (1u << 20)    /* bytes of one value that are looked at */

static void config_free(void *p)
{
	strip_config_free(p);
	free(p);
}

int strip_milter_set_config(struct strip_config *cfg, struct mx_err *err)
{
	return mx_milter_shared_set(cfg, config_free, err);
}

struct change {
	const struct strip_rule *rule;
	unsigned index;               /* 1-based among the fields of its name */
};

struct conn {
	struct mx_milter_shared *ref; /* holds cfg for the connection's life */
	const struct strip_config *cfg;
	struct strip_client client;
	bool leadspc;                 /* values come with their leading space */
	bool nr_hdr;                  /* the MTA expects no reply to a header */
	bool msg_on;                  /* an authenticated message: look at it */
	bool too_many;
	unsigned counts[STRIP_RULES_MAX];  /* fields seen per rule name_id */
	size_t nchanges;
	struct change changes[STRIP_CHANGES_MAX];
	char *buf;                    /* unfolded value */
	size_t bufsize;
};

static struct conn *conn_of(struct mx_milter_ctx *ctx)
{
	return mx_milter_priv(ctx);
}

static void qid_of(struct mx_milter_ctx *ctx, char *buf, size_t size)
{
	const char *qid = mx_milter_macro(ctx, "i");

	mx_log_safe(buf, size, qid ? qid : "-", qid ? strlen(qid) : 1);
}

static enum mx_milter_status cb_negotiate(struct mx_milter_ctx *ctx, uint32_t f0, uint32_t f1,
					  uint32_t *pf0, uint32_t *pf1)
{
	uint32_t want = MX_MILTER_P_NOHELO | MX_MILTER_P_NORCPT | MX_MILTER_P_NOUNKNOWN | MX_MILTER_P_NODATA |
			     MX_MILTER_P_NOBODY | MX_MILTER_P_NOEOH | MX_MILTER_P_HDR_LEADSPC | MX_MILTER_P_NR_HDR;
	struct conn *c;
	void *cfg;

	if ((f0 & MX_MILTER_A_CHGHDRS) == 0) {
		mx_log_err("the MTA does not allow changing header fields: cannot strip");
		return MX_MILTER_REJECT;  /* refuse the connection */
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return MX_MILTER_REJECT;
	c->ref = mx_milter_shared_acquire(&cfg);
	if (c->ref == NULL) {
		free(c);
		return MX_MILTER_REJECT;
	}
	c->cfg = cfg;
	*pf0 = MX_MILTER_A_CHGHDRS | (f0 & MX_MILTER_A_SETSYMLIST);
	*pf1 = f1 & want;
	c->leadspc = (*pf1 & MX_MILTER_P_HDR_LEADSPC) != 0;
	c->nr_hdr = (*pf1 & MX_MILTER_P_NR_HDR) != 0;
	mx_milter_set_priv(ctx, c);
	/* Ask for what we need at MAIL FROM (Postfix's default list has
	 * {auth_authen} too, but not {client_addr}/{client_name}). */
	if ((f0 & MX_MILTER_A_SETSYMLIST) != 0 &&
	    mx_milter_set_symlist(ctx, MX_MILTER_M_ENVFROM, "i {auth_authen} {client_addr} {client_name}",
				  NULL) < 0)
		mx_log_warn("the MTA refused the macro list; relying on its defaults");
	return MX_MILTER_CONTINUE;
}

static enum mx_milter_status cb_connect(struct mx_milter_ctx *ctx, const char *host, const struct sockaddr *sa)
{
	struct conn *c = conn_of(ctx);

	if (c == NULL)
		return MX_MILTER_TEMPFAIL;
	strip_client_init(&c->client);
	strip_client_set_sockaddr(&c->client, sa);
	if (host != NULL)
		(void)strip_client_set_name(&c->client, host);
	return MX_MILTER_CONTINUE;
}

static enum mx_milter_status cb_envfrom(struct mx_milter_ctx *ctx, char **argv)
{
	struct conn *c = conn_of(ctx);
	const char *auth = mx_milter_macro(ctx, "{auth_authen}");
	const char *addr = mx_milter_macro(ctx, "{client_addr}");
	const char *name = mx_milter_macro(ctx, "{client_name}");

	(void)argv;
	if (c == NULL)
		return MX_MILTER_TEMPFAIL;
	c->msg_on = auth != NULL && *auth != '\0';
	if (!c->msg_on)
		return MX_MILTER_ACCEPT;  /* not an authenticated submission: untouched */
	if (addr != NULL && !c->client.has_addr)
		(void)strip_client_set_addr_text(&c->client, addr);
	if (name != NULL && c->client.name[0] == '\0')
		(void)strip_client_set_name(&c->client, name);
	memset(c->counts, 0, sizeof(c->counts));
	c->nchanges = 0;
	c->too_many = false;
	return MX_MILTER_CONTINUE;
}

static int value_room(struct conn *c, size_t len)
{
	size_t want = len + 1;
	char *p;

	if (want <= c->bufsize)
		return 0;
	p = realloc(c->buf, want);
	if (p == NULL)
		return -1;
	c->buf = p;
	c->bufsize = want;
	return 0;
}

static enum mx_milter_status cb_header(struct mx_milter_ctx *ctx, const char *name,
					 const char *value)
{
	struct conn *c = conn_of(ctx);
	enum mx_milter_status next = c->nr_hdr ? MX_MILTER_NOREPLY : MX_MILTER_CONTINUE;
	const struct strip_rule *r;
	size_t len, n, i;

	if (!c->msg_on || !strip_rules_want(&c->cfg->rules, name))
		return next;
	len = strlen(value);
	if (len > STRIP_VALUE_MAX)
		len = STRIP_VALUE_MAX;  /* more than any MTA passes; look at the start */
	if (value_room(c, len) < 0) {
		c->too_many = true;  /* fail at the end: never let a field through unseen */
		return next;
	}
	n = strip_value_unfold(value, len, c->buf);
	/* Count this field among those of its name (every rule for the name shares name_id). */
	for (i = 0; i < c->cfg->rules.n; i++)
		if (strcasecmp(c->cfg->rules.rule[i].header, name) == 0) {
			c->counts[c->cfg->rules.rule[i].name_id]++;
			break;
		}
	r = strip_rules_match(&c->cfg->rules, name, c->buf, n, &c->client);
	if (r == NULL)
		return next;
	if (c->nchanges >= STRIP_CHANGES_MAX) {
		c->too_many = true;
		return next;
	}
	c->changes[c->nchanges].rule = r;
	c->changes[c->nchanges].index = c->counts[r->name_id];
	c->nchanges++;
	return next;
}

static enum mx_milter_status tempfail(struct mx_milter_ctx *ctx, const char *why)
{
	char qid[64];

	qid_of(ctx, qid, sizeof(qid));
	mx_log_err("%s: %s; tempfail", qid, why);
	(void)mx_milter_set_reply(ctx, "451", "4.7.0", "Header privacy filter failed, try again later",
				 NULL);
	return MX_MILTER_TEMPFAIL;
}

static enum mx_milter_status cb_eom(struct mx_milter_ctx *ctx)
{
	struct conn *c = conn_of(ctx);
	char qid[64], text[STRIP_TEXT_MAX + 2];
	size_t i, removed = 0, replaced = 0;

	if (!c->msg_on)
		return MX_MILTER_ACCEPT;
	c->msg_on = false;
	if (c->too_many)
		return tempfail(ctx, "too many header fields to change, or out of memory");
	for (i = c->nchanges; i-- > 0;) {
		const struct change *ch = &c->changes[i];
		char *v = NULL;

		if (ch->rule->action == STRIP_REPLACE) {
			if (snprintf(text, sizeof(text), "%s%s", c->leadspc ? " " : "",
				     ch->rule->text) >= (int)sizeof(text))
				return tempfail(ctx, "replacement text too long");
			v = text;
		}
		if (mx_milter_change_header(ctx, ch->rule->header, (unsigned)ch->index, v, NULL) < 0)
			return tempfail(ctx, "the MTA refused a header change");
		if (v == NULL)
			removed++;
		else
			replaced++;
	}
	if (removed + replaced > 0) {
		qid_of(ctx, qid, sizeof(qid));
		mx_log_info("%s: removed %zu and replaced %zu header field(s)", qid, removed, replaced);
	}
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
		mx_milter_shared_release(c->ref);
		free(c->buf);
		free(c);
		mx_milter_set_priv(ctx, NULL);
	}
}

static const struct mx_milter_callbacks callbacks = {
	.name = "mxkit-strip",
	.connect = cb_connect,
	.envfrom = cb_envfrom,
	.header = cb_header,
	.eom = cb_eom,
	.abort = cb_abort,
	.close = cb_close,
	.negotiate = cb_negotiate,
};

const struct mx_milter_callbacks *strip_milter_callbacks(void)
{
	return &callbacks;
}
