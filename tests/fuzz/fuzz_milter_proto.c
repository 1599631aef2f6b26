/* fuzz_milter_proto.c: libFuzzer target for mxkit's milter engine: the
 * input is a stream of milter packets from a hostile MTA, split and fed
 * (some body packets in pieces, as the engine streams large ones) to a
 * session whose milter uses every callback, reads macros and, at the
 * end of the message, asks for every kind of change. Nothing may crash,
 * leak or read out of bounds, whatever the bytes. */
#include "mxkit-config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mx_milter_session.h"

static enum mx_milter_status f_negotiate(struct mx_milter_ctx *ctx, uint32_t a, uint32_t s,
					 uint32_t *ar, uint32_t *sr)
{
	*ar = a;
	*sr = s;
	(void)mx_milter_set_symlist(ctx, MX_MILTER_M_ENVFROM, "i {auth_authen}", NULL);
	return (a & 0x8000u) != 0 ? MX_MILTER_REJECT : MX_MILTER_CONTINUE;
}

static enum mx_milter_status f_connect(struct mx_milter_ctx *ctx, const char *host,
				       const struct sockaddr *sa)
{
	(void)sa;
	(void)mx_milter_macro(ctx, host);
	return MX_MILTER_CONTINUE;
}

static enum mx_milter_status f_envfrom(struct mx_milter_ctx *ctx, char **argv)
{
	const char *v = mx_milter_macro(ctx, "{auth_authen}");

	if (v != NULL && v[0] == 'r') {
		(void)mx_milter_set_reply(ctx, "550", "5.7.1", argv[0], NULL);
		return MX_MILTER_REJECT;
	}
	return v != NULL && v[0] == 't' ? MX_MILTER_TEMPFAIL : MX_MILTER_CONTINUE;
}

static enum mx_milter_status f_header(struct mx_milter_ctx *ctx, const char *n, const char *v)
{
	(void)mx_milter_macro(ctx, n);
	(void)v;
	return MX_MILTER_NOREPLY;
}

static enum mx_milter_status f_body(struct mx_milter_ctx *ctx, const uint8_t *p, size_t len)
{
	(void)ctx;
	return len > 0 && p[0] == 'S' ? MX_MILTER_SKIP : MX_MILTER_CONTINUE;
}

static enum mx_milter_status f_eom(struct mx_milter_ctx *ctx)
{
	const char *v = mx_milter_macro(ctx, "i");

	if (v == NULL)
		v = "";
	(void)mx_milter_insert_header(ctx, 0, "X-F", v, NULL);
	(void)mx_milter_add_header(ctx, "X-G", v, NULL);
	(void)mx_milter_change_header(ctx, "X-H", 1, NULL, NULL);
	(void)mx_milter_change_from(ctx, "<a@b>", v, NULL);
	(void)mx_milter_add_rcpt(ctx, v, NULL);
	(void)mx_milter_del_rcpt(ctx, v, NULL);
	return MX_MILTER_ACCEPT;
}

static const struct mx_milter_callbacks cb = {
	.name = "fuzz", .negotiate = f_negotiate, .connect = f_connect, .envfrom = f_envfrom,
	.envrcpt = f_envfrom, .header = f_header, .body = f_body, .eom = f_eom,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size + 1);
	struct mx_milter_ctx ctx;
	struct mx_milter_packet p;
	struct mx_err err;
	size_t off = 0;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	mx_milter_session_init(&ctx, &cb);
	while (mx_milter_packet_next(buf + off, size - off, &p, NULL, &err) == 1) {
		off += p.size;
		if (p.cmd == MX_MILTER_C_BODY && p.len > 1 && (p.data[0] & 1) != 0) {
			/* As the engine hands over a large body: in pieces. */
			if (mx_milter_session_body_piece(&ctx, p.data, p.len / 2, false, &err) != 0 ||
			    mx_milter_session_body_piece(&ctx, p.data + p.len / 2, p.len - p.len / 2,
							 true, &err) != 0)
				break;
		} else if (mx_milter_session_packet(&ctx, &p, &err) != 0) {
			break;
		}
		if (ctx.out.len > 65536)
			ctx.out.len = 0;  /* as if written */
	}
	mx_milter_session_free(&ctx);
	free(buf);
	return 0;
}
