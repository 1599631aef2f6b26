/* mx_milter_session.c: one MTA connection's milter conversation: decode a
 * packet, call the callback, queue the reply (see mx_milter_session.h),
 * and the context functions callbacks use (mx_milter_engine.h). */
#include "mxkit-config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "mx_log.h"
#include "mx_milter_session.h"

void mx_milter_session_init(struct mx_milter_ctx *ctx, const struct mx_milter_callbacks *cb)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->cb = cb;
	mx_milter_out_init(&ctx->out);
}

static void macros_clear(struct mx_milter_ctx *ctx, int from)
{
	int s;

	for (s = from; s < MX_MILTER_M_COUNT; s++) {
		free(ctx->macros[s].copy);
		ctx->macros[s].copy = NULL;
		ctx->macros[s].n = 0;
	}
}

static void run_close(struct mx_milter_ctx *ctx)
{
	if (!ctx->closed && ctx->cb->close != NULL)
		ctx->cb->close(ctx);
	ctx->closed = true;
	ctx->priv = NULL;
}

void mx_milter_session_free(struct mx_milter_ctx *ctx)
{
	int s;

	run_close(ctx);
	macros_clear(ctx, 0);
	for (s = 0; s < MX_MILTER_M_COUNT; s++) {
		free(ctx->symlists[s]);
		ctx->symlists[s] = NULL;
	}
	mx_milter_out_free(&ctx->out);
}

void *mx_milter_priv(struct mx_milter_ctx *ctx)
{
	return ctx->priv;
}

void mx_milter_set_priv(struct mx_milter_ctx *ctx, void *priv)
{
	ctx->priv = priv;
}

/* name without its braces: "{auth_authen}" -> "auth_authen". */
static void bare_name(const char *name, const char **p, size_t *len)
{
	size_t n = strlen(name);

	if (n >= 2 && name[0] == '{' && name[n - 1] == '}') {
		*p = name + 1;
		*len = n - 2;
	} else {
		*p = name;
		*len = n;
	}
}

const char *mx_milter_macro(struct mx_milter_ctx *ctx, const char *name)
{
	static const int order[] = {
		MX_MILTER_M_EOH, MX_MILTER_M_EOM, MX_MILTER_M_DATA, MX_MILTER_M_ENVRCPT,
		MX_MILTER_M_ENVFROM, MX_MILTER_M_HELO, MX_MILTER_M_CONNECT,
	};
	const char *want, *have;
	size_t wlen, hlen, i, k;

	bare_name(name, &want, &wlen);
	for (k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		const struct mx_milter_macros *m = &ctx->macros[order[k]];
		for (i = 0; i < m->n; i++) {
			bare_name(m->names[i], &have, &hlen);
			if (hlen == wlen && memcmp(have, want, wlen) == 0)
				return m->values[i];
		}
	}
	return NULL;
}

int mx_milter_set_symlist(struct mx_milter_ctx *ctx, enum mx_milter_stage stage,
			  const char *list, struct mx_err *err)
{
	char *copy;

	if ((int)stage < 0 || stage >= MX_MILTER_M_COUNT)
		return mx_err_set(err, "symbol list for unknown stage %d", (int)stage);
	if (ctx->negotiated)
		return mx_err_set(err, "symbol lists are set during negotiation only");
	if ((copy = strdup(list)) == NULL)
		return mx_err_set(err, "out of memory");
	free(ctx->symlists[stage]);
	ctx->symlists[stage] = copy;
	return 0;
}

int mx_milter_set_reply(struct mx_milter_ctx *ctx, const char *code, const char *xcode,
			const char *text, struct mx_err *err)
{
	int n;

	if (strlen(code) != 3 || (code[0] != '4' && code[0] != '5') ||
	    code[1] < '0' || code[1] > '9' || code[2] < '0' || code[2] > '9')
		return mx_err_set(err, "reply code '%.16s' is not 4xx or 5xx", code);
	if (strpbrk(text, "\r\n") != NULL || (xcode != NULL && strpbrk(xcode, " \r\n") != NULL))
		return mx_err_set(err, "reply text with a line break");
	n = snprintf(ctx->reply, sizeof(ctx->reply), "%s %s%s%s", code,
		     xcode != NULL ? xcode : "", xcode != NULL ? " " : "", text);
	if (n < 0 || (size_t)n >= sizeof(ctx->reply)) {
		ctx->reply[0] = '\0';
		return mx_err_set(err, "reply text longer than %zu bytes", sizeof(ctx->reply) - 1);
	}
	return 0;
}

static int may_change(struct mx_milter_ctx *ctx, uint32_t action, const char *what,
		      struct mx_err *err)
{
	if (!ctx->in_eom)
		return mx_err_set(err, "%s: only at the end of the message", what);
	if ((ctx->actions & action) == 0)
		return mx_err_set(err, "%s: action not negotiated with the MTA", what);
	return 0;
}

int mx_milter_add_header(struct mx_milter_ctx *ctx, const char *name, const char *value,
			 struct mx_err *err)
{
	const char *s[2] = { name, value };

	if (may_change(ctx, MX_MILTER_A_ADDHDRS, "add header", err) < 0)
		return -1;
	return mx_milter_out_strings(&ctx->out, MX_MILTER_R_ADDHEADER, 0, 0, s, 2, err);
}

int mx_milter_insert_header(struct mx_milter_ctx *ctx, unsigned index, const char *name,
			    const char *value, struct mx_err *err)
{
	const char *s[2] = { name, value };

	if (may_change(ctx, MX_MILTER_A_ADDHDRS, "insert header", err) < 0)
		return -1;
	return mx_milter_out_strings(&ctx->out, MX_MILTER_R_INSHEADER, 1, index, s, 2, err);
}

int mx_milter_change_header(struct mx_milter_ctx *ctx, const char *name, unsigned index,
			    const char *value, struct mx_err *err)
{
	const char *s[2] = { name, value != NULL ? value : "" };

	if (may_change(ctx, MX_MILTER_A_CHGHDRS, "change header", err) < 0)
		return -1;
	return mx_milter_out_strings(&ctx->out, MX_MILTER_R_CHGHEADER, 1, index, s, 2, err);
}

int mx_milter_change_from(struct mx_milter_ctx *ctx, const char *from, const char *args,
			  struct mx_err *err)
{
	const char *s[2] = { from, args };

	if (may_change(ctx, MX_MILTER_A_CHGFROM, "change sender", err) < 0)
		return -1;
	return mx_milter_out_strings(&ctx->out, MX_MILTER_R_CHGFROM, 0, 0, s,
				     args != NULL ? 2 : 1, err);
}

int mx_milter_add_rcpt(struct mx_milter_ctx *ctx, const char *rcpt, struct mx_err *err)
{
	if (may_change(ctx, MX_MILTER_A_ADDRCPT, "add recipient", err) < 0)
		return -1;
	return mx_milter_out_strings(&ctx->out, MX_MILTER_R_ADDRCPT, 0, 0, &rcpt, 1, err);
}

int mx_milter_del_rcpt(struct mx_milter_ctx *ctx, const char *rcpt, struct mx_err *err)
{
	if (may_change(ctx, MX_MILTER_A_DELRCPT, "delete recipient", err) < 0)
		return -1;
	return mx_milter_out_strings(&ctx->out, MX_MILTER_R_DELRCPT, 0, 0, &rcpt, 1, err);
}

/* Queue the reply for st, unless the step was negotiated as no-reply. */
static int answer(struct mx_milter_ctx *ctx, enum mx_milter_status st, uint32_t nr_step,
		  struct mx_err *err)
{
	char cmd;

	if (nr_step != 0 && (ctx->steps & nr_step) != 0) {
		if (st != MX_MILTER_CONTINUE && st != MX_MILTER_NOREPLY)
			mx_log_warn("%s: a verdict where the MTA expects no reply was dropped",
				    ctx->cb->name);
		return 0;
	}
	switch (st) {
	case MX_MILTER_ACCEPT: cmd = MX_MILTER_R_ACCEPT; break;
	case MX_MILTER_DISCARD: cmd = MX_MILTER_R_DISCARD; break;
	case MX_MILTER_SKIP:
		cmd = (ctx->steps & MX_MILTER_P_SKIP) != 0 ? MX_MILTER_R_SKIP : MX_MILTER_R_CONTINUE;
		break;
	case MX_MILTER_REJECT:
	case MX_MILTER_TEMPFAIL: {
		char want = st == MX_MILTER_REJECT ? '5' : '4';
		if (ctx->reply[0] == want) {
			const char *s = ctx->reply;
			if (mx_milter_out_strings(&ctx->out, MX_MILTER_R_REPLYCODE, 0, 0, &s, 1, err) < 0)
				return -1;
			ctx->reply[0] = '\0';
			return 0;
		}
		ctx->reply[0] = '\0';
		cmd = st == MX_MILTER_REJECT ? MX_MILTER_R_REJECT : MX_MILTER_R_TEMPFAIL;
		break;
	}
	default: cmd = MX_MILTER_R_CONTINUE; break;
	}
	return mx_milter_out_packet(&ctx->out, cmd, NULL, 0, err);
}

static int do_optneg(struct mx_milter_ctx *ctx, const struct mx_milter_packet *p,
		     struct mx_err *err)
{
	struct mx_milter_optneg in, out;
	uint32_t actions = 0, steps = 0;

	if (mx_milter_parse_optneg(p->data, p->len, &in, err) < 0)
		return -1;
	if (ctx->cb->negotiate != NULL &&
	    ctx->cb->negotiate(ctx, in.actions, in.steps, &actions, &steps) == MX_MILTER_REJECT)
		return 1;
	out.version = in.version < MX_MILTER_VERSION ? in.version : MX_MILTER_VERSION;
	out.actions = ctx->actions = actions & in.actions;
	out.steps = ctx->steps = steps & in.steps;
	ctx->negotiated = true;
	return mx_milter_out_optneg(&ctx->out, &out,
				    (in.actions & MX_MILTER_A_SETSYMLIST) != 0 ?
				    (const char *const *)ctx->symlists : NULL, err);
}

static int do_macro(struct mx_milter_ctx *ctx, const struct mx_milter_packet *p,
		    struct mx_err *err)
{
	struct mx_milter_macros *m;
	char cmd;
	int stage;

	if (p->len < 1)
		return mx_err_set(err, "macro packet without a command");
	stage = mx_milter_stage_of((char)p->data[0]);
	if (stage < 0)
		return 0;  /* macros for a command we do not track */
	m = &ctx->macros[stage];
	free(m->copy);
	m->n = 0;
	if ((m->copy = malloc(p->len)) == NULL)
		return mx_err_set(err, "out of memory for macros");
	memcpy(m->copy, p->data, p->len);
	if (mx_milter_parse_macro(m->copy, p->len, &cmd, m->names, m->values,
				  MX_MILTER_MACROS_MAX, &m->n, err) < 0) {
		m->n = 0;
		return -1;
	}
	return 0;
}

static int do_connect(struct mx_milter_ctx *ctx, const struct mx_milter_packet *p,
		      struct mx_err *err)
{
	struct mx_milter_connect c;
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
		struct sockaddr_un un;
	} a;
	const struct sockaddr *sa = NULL;
	enum mx_milter_status st = MX_MILTER_CONTINUE;

	if (mx_milter_parse_connect(p->data, p->len, &c, err) < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	if (c.family == '4') {
		a.in4.sin_family = AF_INET;
		a.in4.sin_port = htons(c.port);
		if (inet_pton(AF_INET, c.addr, &a.in4.sin_addr) != 1)
			return mx_err_set(err, "connect: bad IPv4 address");
		sa = &a.sa;
	} else if (c.family == '6') {
		const char *s = strncasecmp(c.addr, "IPv6:", 5) == 0 ? c.addr + 5 : c.addr;
		a.in6.sin6_family = AF_INET6;
		a.in6.sin6_port = htons(c.port);
		if (inet_pton(AF_INET6, s, &a.in6.sin6_addr) != 1)
			return mx_err_set(err, "connect: bad IPv6 address");
		sa = &a.sa;
	} else if (c.family == 'L') {
		a.un.sun_family = AF_UNIX;
		if (strlen(c.addr) >= sizeof(a.un.sun_path))
			return mx_err_set(err, "connect: unix socket path too long");
		memcpy(a.un.sun_path, c.addr, strlen(c.addr) + 1);
		sa = &a.sa;
	}
	if (ctx->cb->connect != NULL)
		st = ctx->cb->connect(ctx, c.host, sa);
	return answer(ctx, st, MX_MILTER_P_NR_CONN, err);
}

/* MAIL and RCPT: argv, NULL-terminated. */
static int do_args(struct mx_milter_ctx *ctx, const struct mx_milter_packet *p,
		   enum mx_milter_status (*fn)(struct mx_milter_ctx *, char **),
		   uint32_t nr, struct mx_err *err)
{
	char *argv[MX_MILTER_STRINGS_MAX + 1];
	int n = mx_milter_parse_strings(p->data, p->len, argv, MX_MILTER_STRINGS_MAX, err);

	if (n < 0)
		return -1;
	if (n == 0)
		return mx_err_set(err, "'%c' command without an address", p->cmd);
	argv[n] = NULL;
	return answer(ctx, fn != NULL ? fn(ctx, argv) : MX_MILTER_CONTINUE, nr, err);
}

static int do_eob(struct mx_milter_ctx *ctx, const struct mx_milter_packet *p,
		  struct mx_err *err)
{
	enum mx_milter_status st = MX_MILTER_CONTINUE;

	if (p->len > 0 && ctx->cb->body != NULL)
		st = ctx->cb->body(ctx, p->data, p->len);
	if ((st == MX_MILTER_CONTINUE || st == MX_MILTER_NOREPLY) && ctx->cb->eom != NULL) {
		ctx->in_eom = true;
		st = ctx->cb->eom(ctx);
		ctx->in_eom = false;
	}
	return answer(ctx, st, 0, err);
}

int mx_milter_session_body_piece(struct mx_milter_ctx *ctx, const uint8_t *p, size_t len,
				 bool last, struct mx_err *err)
{
	enum mx_milter_status st;

	if (!ctx->negotiated)
		return mx_err_set(err, "body before option negotiation");
	if (ctx->cb->body != NULL &&
	    (ctx->body_st == MX_MILTER_CONTINUE || ctx->body_st == MX_MILTER_NOREPLY)) {
		st = ctx->cb->body(ctx, p, len);
		if (st != MX_MILTER_CONTINUE && st != MX_MILTER_NOREPLY)
			ctx->body_st = st;  /* the verdict; no more pieces to the milter */
	}
	if (!last)
		return 0;
	st = ctx->body_st;
	ctx->body_st = MX_MILTER_CONTINUE;
	return answer(ctx, st, MX_MILTER_P_NR_BODY, err);
}

int mx_milter_session_packet(struct mx_milter_ctx *ctx, const struct mx_milter_packet *p,
			     struct mx_err *err)
{
	const struct mx_milter_callbacks *cb = ctx->cb;
	enum mx_milter_status st = MX_MILTER_CONTINUE;
	char *strs[2];
	int n;

	if (!ctx->negotiated && p->cmd != MX_MILTER_C_OPTNEG && p->cmd != MX_MILTER_C_QUIT)
		return mx_err_set(err, "command '%c' before option negotiation", p->cmd);
	switch (p->cmd) {
	case MX_MILTER_C_OPTNEG:
		if (ctx->negotiated)
			return mx_err_set(err, "option negotiation repeated");
		return do_optneg(ctx, p, err);
	case MX_MILTER_C_MACRO:
		return do_macro(ctx, p, err);
	case MX_MILTER_C_CONNECT:
		return do_connect(ctx, p, err);
	case MX_MILTER_C_HELO:
		if ((n = mx_milter_parse_strings(p->data, p->len, strs, 1, err)) < 0)
			return -1;
		if (cb->helo != NULL)
			st = cb->helo(ctx, n > 0 ? strs[0] : "");
		return answer(ctx, st, MX_MILTER_P_NR_HELO, err);
	case MX_MILTER_C_MAIL:
		macros_clear(ctx, MX_MILTER_M_ENVRCPT);
		ctx->reply[0] = '\0';
		return do_args(ctx, p, cb->envfrom, MX_MILTER_P_NR_MAIL, err);
	case MX_MILTER_C_RCPT:
		return do_args(ctx, p, cb->envrcpt, MX_MILTER_P_NR_RCPT, err);
	case MX_MILTER_C_DATA:
		if (cb->data != NULL)
			st = cb->data(ctx);
		return answer(ctx, st, MX_MILTER_P_NR_DATA, err);
	case MX_MILTER_C_HEADER: {
		char *name, *value;
		if (mx_milter_parse_header(p->data, p->len, &name, &value, err) < 0)
			return -1;
		if (cb->header != NULL)
			st = cb->header(ctx, name, value);
		return answer(ctx, st, MX_MILTER_P_NR_HDR, err);
	}
	case MX_MILTER_C_EOH:
		if (cb->eoh != NULL)
			st = cb->eoh(ctx);
		return answer(ctx, st, MX_MILTER_P_NR_EOH, err);
	case MX_MILTER_C_BODY:
		if (cb->body != NULL)
			st = cb->body(ctx, p->data, p->len);
		return answer(ctx, st, MX_MILTER_P_NR_BODY, err);
	case MX_MILTER_C_BODYEOB:
		return do_eob(ctx, p, err);
	case MX_MILTER_C_UNKNOWN:
		return answer(ctx, MX_MILTER_CONTINUE, MX_MILTER_P_NR_UNKN, err);
	case MX_MILTER_C_ABORT:
		if (cb->abort != NULL)
			cb->abort(ctx);
		macros_clear(ctx, MX_MILTER_M_ENVFROM);
		ctx->reply[0] = '\0';
		return 0;
	case MX_MILTER_C_QUIT:
		return 1;
	case MX_MILTER_C_QUIT_NC:
		/* The MTA reuses the connection for a new SMTP client. */
		run_close(ctx);
		ctx->closed = false;
		macros_clear(ctx, 0);
		ctx->reply[0] = '\0';
		return 0;
	default:
		return mx_err_set(err, "unknown milter command 0x%02x", (unsigned)(uint8_t)p->cmd);
	}
}
