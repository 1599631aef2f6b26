/* check_mx_milter_proto.c: unit tests of mxkit's milter engine: packet
 * splitting and decoding (tables of good and bad packets, each bad one
 * with the reason it must name), reply encoding, a whole conversation
 * through a session (replies byte for byte), and one connection served
 * over a socketpair (every reply of a batch in one write). */
#include "mxkit-config.h"

#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_dkim_run.h"
#include "mx_milter_proto.h"
#include "mx_milter_session.h"

/* A packet as bytes: the length prefix, the command, the data. */
static size_t pkt(uint8_t *out, char cmd, const void *data, size_t len)
{
	uint32_t n = (uint32_t)len + 1;

	out[0] = (uint8_t)(n >> 24);
	out[1] = (uint8_t)(n >> 16);
	out[2] = (uint8_t)(n >> 8);
	out[3] = (uint8_t)n;
	out[4] = (uint8_t)cmd;
	memcpy(out + 5, data, len);
	return len + 5;
}

/* rc is what the case wants; a failure's err names the case's reason.
 * True when rc is not a failure. */
static bool as_wanted(int rc, int want, const struct mx_err *err, const char *why)
{
	ck_assert_int_eq(rc, want);
	if (rc < 0)
		ck_assert_msg(strstr(err->text, why) != NULL, "%s", err->text);
	return rc >= 0;
}

struct split_case {
	const char *bytes;
	size_t len;
	int rc;
	char cmd;
	size_t dlen, need;
	const char *why;
};

static const struct split_case split_cases[] = {
	{ "", 0, 0, 0, 0, 0, NULL },
	{ "\0\0\0", 3, 0, 0, 0, 0, NULL },
	{ "\0\0\0\x01" "Q", 5, 1, 'Q', 0, 0, NULL },
	{ "\0\0\0\x03" "Hab", 8, 1, 'H', 2, 0, NULL },
	{ "\0\0\0\x03" "Ha", 6, 0, 0, 0, 7, NULL },
	{ "\0\0\0\x01" "QXYZ", 8, 1, 'Q', 0, 0, NULL },
	{ "\0\0\0\0" "Q", 5, -1, 0, 0, 0, "length 0" },
	{ "\0\x10\0\x01" "B", 5, -1, 0, 0, 0, "MX_MILTER_PACKET_MAX" },
	{ "\xff\xff\xff\xff", 4, -1, 0, 0, 0, "MX_MILTER_PACKET_MAX" },
};

START_TEST(test_split)
{
	const struct split_case *c = &split_cases[_i];
	uint8_t buf[16];
	struct mx_milter_packet p;
	struct mx_err err;
	size_t need = 99;
	int rc;

	memcpy(buf, c->bytes, c->len);
	rc = mx_milter_packet_next(buf, c->len, &p, &need, &err);
	if (as_wanted(rc, c->rc, &err, c->why) && rc == 1) {
		ck_assert_int_eq(p.cmd, c->cmd);
		ck_assert_uint_eq(p.len, c->dlen);
		ck_assert_uint_eq(p.size, c->dlen + 5);
	} else if (rc == 0) {
		ck_assert_uint_eq(need, c->need);
	}
}
END_TEST

struct connect_case {
	const char *bytes;
	size_t len;
	int rc;
	char family;
	unsigned port;
	const char *addr;
	const char *why;
};

static const struct connect_case connect_cases[] = {
	{ "mx.example\0" "4\x00\x19" "192.0.2.1\0", 24, 0, '4', 25, "192.0.2.1", NULL },
	{ "h\0" "6\x01\xbb" "IPv6:2001:db8::1\0", 22, 0, '6', 443, "IPv6:2001:db8::1", NULL },
	{ "localhost\0" "U", 11, 0, 'U', 0, NULL, NULL },
	{ "h\0" "L\0\0" "/run/x\0", 12, 0, 'L', 0, "/run/x", NULL },
	{ "host-without-nul", 16, -1, 0, 0, NULL, "host name" },
	{ "h\0", 2, -1, 0, 0, NULL, "no address family" },
	{ "h\0" "X", 3, -1, 0, 0, NULL, "unknown address family" },
	{ "h\0" "4\0", 4, -1, 0, 0, NULL, "truncated" },
	{ "h\0" "4\0\x19" "1.2.3.4", 12, -1, 0, 0, NULL, "address not terminated" },
};

START_TEST(test_connect)
{
	const struct connect_case *c = &connect_cases[_i];
	uint8_t buf[64];
	struct mx_milter_connect mc;
	struct mx_err err;
	int rc;

	memcpy(buf, c->bytes, c->len);
	rc = mx_milter_parse_connect(buf, c->len, &mc, &err);
	if (as_wanted(rc, c->rc, &err, c->why)) {
		ck_assert_int_eq(mc.family, c->family);
		ck_assert_uint_eq(mc.port, c->port);
		if (c->addr == NULL)
			ck_assert_ptr_null(mc.addr);
		else
			ck_assert_str_eq(mc.addr, c->addr);
	}
}
END_TEST

struct macro_case {
	const char *bytes;
	size_t len;
	int rc;
	size_t n;
	const char *last_value;
	const char *why;
};

static const struct macro_case macro_cases[] = {
	{ "Mi\0" "ABC123\0" "{auth_authen}\0" "alice\0", 30, 0, 2, "alice", NULL },
	{ "C", 1, 0, 0, NULL, NULL },
	{ "", 0, -1, 0, NULL, "without a command" },
	{ "Mi\0", 3, -1, 0, NULL, "without a value" },
	{ "Mi\0v", 4, -1, 0, NULL, "not terminated" },
};

START_TEST(test_macro)
{
	const struct macro_case *c = &macro_cases[_i];
	uint8_t buf[64];
	char *names[8], *values[8], cmd;
	size_t n = 99;
	struct mx_err err;
	int rc;

	memcpy(buf, c->bytes, c->len);
	rc = mx_milter_parse_macro(buf, c->len, &cmd, names, values, 8, &n, &err);
	if (as_wanted(rc, c->rc, &err, c->why)) {
		ck_assert_uint_eq(n, c->n);
		if (n > 0)
			ck_assert_str_eq(values[n - 1], c->last_value);
	}
}
END_TEST

START_TEST(test_strings_limits)
{
	uint8_t buf[] = "a\0b\0c\0";
	char *out[2];
	struct mx_err err;
	char *name, *value;
	uint8_t hdr[] = "\0v\0";

	ck_assert_int_eq(mx_milter_parse_strings(buf, 6, out, 2, &err), -1);
	ck_assert_msg(strstr(err.text, "more than 2") != NULL, "%s", err.text);
	ck_assert_int_eq(mx_milter_parse_header(hdr, 3, &name, &value, &err), -1);
	ck_assert_msg(strstr(err.text, "empty name") != NULL, "%s", err.text);
}
END_TEST

START_TEST(test_encode)
{
	struct mx_milter_out o;
	struct mx_milter_optneg ng = { 6, 0x1, 0x80 };
	const char *lists[MX_MILTER_M_COUNT] = { NULL };
	const char *hs[2] = { "X-A", "b" };
	struct mx_err err;
	static const uint8_t want[] = {
		0, 0, 0, 13, 'O', 0, 0, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0x80,
		0, 0, 0, 0x15, 'O', 0, 0, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0x80, 0, 0, 0, 2, 'i', ' ', 'j', 0,
		0, 0, 0, 11, 'i', 0, 0, 0, 0, 'X', '-', 'A', 0, 'b', 0,
		0, 0, 0, 1, 'a',
	};

	mx_milter_out_init(&o);
	ck_assert_int_eq(mx_milter_out_optneg(&o, &ng, NULL, &err), 0);
	lists[MX_MILTER_M_ENVFROM] = "i j";
	ck_assert_int_eq(mx_milter_out_optneg(&o, &ng, lists, &err), 0);
	ck_assert_int_eq(mx_milter_out_strings(&o, 'i', 1, 0, hs, 2, &err), 0);
	ck_assert_int_eq(mx_milter_out_packet(&o, 'a', NULL, 0, &err), 0);
	ck_assert_uint_eq(o.len, sizeof(want));
	ck_assert_int_eq(memcmp(o.data, want, sizeof(want)), 0);
	{
		static char big[MX_MILTER_REPLY_MAX + 1];
		const char *s[1] = { big };
		memset(big, 'x', sizeof(big) - 1);
		ck_assert_int_eq(mx_milter_out_strings(&o, 'h', 0, 0, s, 1, &err), -1);
		ck_assert_msg(strstr(err.text, "MX_MILTER_REPLY_MAX") != NULL, "%s", err.text);
	}
	mx_milter_out_free(&o);
}
END_TEST

/* A test milter: takes ADDHDRS and NR_HDR, records what it saw, and at
 * the end of the message inserts a header naming the {auth_authen}
 * macro and the headers it counted; a sender "<bad>" is refused with a
 * reply code. */
struct seen {
	int headers, closed;
	char host[32];
	size_t body;
};

static enum mx_milter_status t_negotiate(struct mx_milter_ctx *ctx, uint32_t a, uint32_t s,
					 uint32_t *ar, uint32_t *sr)
{
	static struct seen seen;

	memset(&seen, 0, sizeof(seen));
	mx_milter_set_priv(ctx, &seen);
	*ar = a & MX_MILTER_A_ADDHDRS;
	*sr = s & (MX_MILTER_P_NR_HDR | MX_MILTER_P_NOHELO);
	return MX_MILTER_CONTINUE;
}

static enum mx_milter_status t_connect(struct mx_milter_ctx *ctx, const char *host,
				       const struct sockaddr *sa)
{
	struct seen *s = mx_milter_priv(ctx);

	snprintf(s->host, sizeof(s->host), "%s/%d", host, sa != NULL ? sa->sa_family : -1);
	return MX_MILTER_CONTINUE;
}

static enum mx_milter_status t_envfrom(struct mx_milter_ctx *ctx, char **argv)
{
	if (strcmp(argv[0], "<bad>") == 0) {
		ck_assert_int_eq(mx_milter_set_reply(ctx, "550", "5.7.1", "go away", NULL), 0);
		return MX_MILTER_REJECT;
	}
	return MX_MILTER_CONTINUE;
}

static enum mx_milter_status t_header(struct mx_milter_ctx *ctx, const char *n, const char *v)
{
	struct seen *s = mx_milter_priv(ctx);

	(void)n;
	(void)v;
	s->headers++;
	return MX_MILTER_NOREPLY;
}

static enum mx_milter_status t_body(struct mx_milter_ctx *ctx, const uint8_t *p, size_t len)
{
	struct seen *s = mx_milter_priv(ctx);

	(void)p;
	s->body += len;
	return MX_MILTER_CONTINUE;
}

static enum mx_milter_status t_eom(struct mx_milter_ctx *ctx)
{
	struct seen *s = mx_milter_priv(ctx);
	const char *auth = mx_milter_macro(ctx, "auth_authen");
	char v[64];
	struct mx_err err;

	snprintf(v, sizeof(v), "%s %d %zu", auth != NULL ? auth : "-", s->headers, s->body);
	ck_assert_int_eq(mx_milter_insert_header(ctx, 0, "X-T", v, &err), 0);
	/* Not negotiated: refused. */
	ck_assert_int_eq(mx_milter_change_from(ctx, "<x>", NULL, &err), -1);
	return MX_MILTER_ACCEPT;
}

static void t_close(struct mx_milter_ctx *ctx)
{
	struct seen *s = mx_milter_priv(ctx);

	if (s != NULL)
		s->closed++;
}

static const struct mx_milter_callbacks test_cb = {
	.name = "test", .negotiate = t_negotiate, .connect = t_connect, .envfrom = t_envfrom,
	.header = t_header, .body = t_body, .eom = t_eom, .close = t_close,
};

/* The MTA's side of a conversation: every packet, in one buffer. */
static size_t conversation(uint8_t *b, const char *sender)
{
	size_t n = 0;

	n += pkt(b + n, 'O', "\0\0\0\x06\0\0\x01\xff\0\x1f\xff\xff", 12);
	n += pkt(b + n, 'D', "C{daemon_name}\0mx\0", 18);
	n += pkt(b + n, 'C', "mx.example\0" "4\x00\x19" "192.0.2.1\0", 24);
	n += pkt(b + n, 'D', "M{auth_authen}\0alice\0", 21);
	n += pkt(b + n, 'M', sender, strlen(sender) + 1);
	n += pkt(b + n, 'L', "From\0 a@b\0", 10);
	n += pkt(b + n, 'L', "To\0 c@d\0", 8);
	n += pkt(b + n, 'N', "", 0);
	n += pkt(b + n, 'B', "hello\r\n", 7);
	n += pkt(b + n, 'E', "", 0);
	n += pkt(b + n, 'Q', "", 0);
	return n;
}

static const uint8_t conversation_replies[] = {
	0, 0, 0, 13, 'O', 0, 0, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0x82,  /* NR_HDR | NOHELO */
	0, 0, 0, 1, 'c',   /* connect */
	0, 0, 0, 1, 'c',   /* MAIL */
	0, 0, 0, 1, 'c',   /* EOH; no replies to the headers */
	0, 0, 0, 1, 'c',   /* body */
	0, 0, 0, 19, 'i', 0, 0, 0, 0, 'X', '-', 'T', 0, 'a', 'l', 'i', 'c', 'e', ' ', '2', ' ', '7', 0,
	0, 0, 0, 1, 'a',
};

START_TEST(test_session)
{
	uint8_t buf[512];
	size_t len = conversation(buf, "<a@b>"), off = 0;
	struct mx_milter_ctx ctx;
	struct mx_milter_packet p;
	struct mx_err err;
	struct seen *s;
	int rc = 0;

	mx_milter_session_init(&ctx, &test_cb);
	while (rc == 0 && mx_milter_packet_next(buf + off, len - off, &p, NULL, &err) == 1) {
		rc = mx_milter_session_packet(&ctx, &p, &err);
		off += p.size;
	}
	ck_assert_int_eq(rc, 1);  /* QUIT */
	ck_assert_uint_eq(off, len);
	s = mx_milter_priv(&ctx);
	ck_assert_str_eq(s->host, "mx.example/2");
	ck_assert_str_eq(mx_milter_macro(&ctx, "{daemon_name}"), "mx");
	ck_assert_str_eq(mx_milter_macro(&ctx, "daemon_name"), "mx");
	ck_assert_ptr_null(mx_milter_macro(&ctx, "i"));
	ck_assert_uint_eq(ctx.out.len, sizeof(conversation_replies));
	ck_assert_int_eq(memcmp(ctx.out.data, conversation_replies, sizeof(conversation_replies)), 0);
	mx_milter_session_free(&ctx);
	ck_assert_int_eq(s->closed, 1);
}
END_TEST

START_TEST(test_session_reject_and_errors)
{
	uint8_t buf[512];
	size_t len = conversation(buf, "<bad>"), off = 0;
	struct mx_milter_ctx ctx;
	struct mx_milter_packet p;
	struct mx_err err;
	static const char want[] = "550 5.7.1 go away";
	int i;

	mx_milter_session_init(&ctx, &test_cb);
	for (i = 0; i < 5; i++) {  /* OPTNEG, macro, CONNECT, macro, MAIL */
		ck_assert_int_eq(mx_milter_packet_next(buf + off, len - off, &p, NULL, &err), 1);
		ck_assert_int_eq(mx_milter_session_packet(&ctx, &p, &err), 0);
		off += p.size;
	}
	/* 17 (OPTNEG) + 5 (connect), then the reply code. */
	ck_assert_uint_eq(ctx.out.len, 22 + 5 + sizeof(want));
	ck_assert_int_eq(ctx.out.data[22 + 4], 'y');
	ck_assert_int_eq(memcmp(ctx.out.data + 22 + 5, want, sizeof(want)), 0);
	/* A header packet with one string only is a protocol error. */
	off = pkt(buf, 'L', "From\0", 5);
	ck_assert_int_eq(mx_milter_packet_next(buf, off, &p, NULL, &err), 1);
	ck_assert_int_eq(mx_milter_session_packet(&ctx, &p, &err), -1);
	ck_assert_msg(strstr(err.text, "want a name and a value") != NULL, "%s", err.text);
	off = pkt(buf, 'Z', "", 0);
	ck_assert_int_eq(mx_milter_packet_next(buf, off, &p, NULL, &err), 1);
	ck_assert_int_eq(mx_milter_session_packet(&ctx, &p, &err), -1);
	ck_assert_msg(strstr(err.text, "unknown milter command") != NULL, "%s", err.text);
	mx_milter_session_free(&ctx);

	/* Nothing but OPTNEG or QUIT before the negotiation. */
	mx_milter_session_init(&ctx, &test_cb);
	off = pkt(buf, 'M', "<a>\0", 4);
	ck_assert_int_eq(mx_milter_packet_next(buf, off, &p, NULL, &err), 1);
	ck_assert_int_eq(mx_milter_session_packet(&ctx, &p, &err), -1);
	ck_assert_msg(strstr(err.text, "before option negotiation") != NULL, "%s", err.text);
	mx_milter_session_free(&ctx);
}
END_TEST

static void *serve(void *arg)
{
	mx_milter_conn_run(*(int *)arg, 0, 5, &test_cb);
	return NULL;
}

/* Serve one connection on a socketpair: write in[] at once, read every
 * reply until the engine closes (after QUIT). Returns the bytes read. */
static size_t over_socketpair(const uint8_t *in, size_t len, uint8_t *got, size_t cap)
{
	size_t have = 0;
	int sv[2];
	pthread_t t;
	ssize_t n;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, serve, &sv[1]), 0);
	ck_assert_int_eq(write(sv[0], in, len), (ssize_t)len);
	while ((n = read(sv[0], got + have, cap - have)) > 0)
		have += (size_t)n;
	pthread_join(t, NULL);
	close(sv[0]);
	return have;
}

START_TEST(test_conn_one_write_per_batch)
{
	uint8_t buf[512], got[512];
	size_t len = conversation(buf, "<a@b>");
	/* The whole conversation at once: the engine answers it all. */
	size_t have = over_socketpair(buf, len, got, sizeof(got));

	ck_assert_uint_eq(have, sizeof(conversation_replies));
	ck_assert_int_eq(memcmp(got, conversation_replies, have), 0);
}
END_TEST

/* A body packet far larger than the engine's read buffer: the milter
 * gets all of it (in pieces), and one reply. */
START_TEST(test_conn_large_body)
{
	static uint8_t buf[120000];
	uint8_t got[256];
	static const uint8_t want_tail[] = {
		0, 0, 0, 1, 'c',  /* MAIL */
		0, 0, 0, 1, 'c',  /* the 100000-byte body packet */
		0, 0, 0, 20, 'i', 0, 0, 0, 0, 'X', '-', 'T', 0, '-', ' ', '0', ' ',
		'1', '0', '0', '0', '0', '0', 0,
		0, 0, 0, 1, 'a',
	};
	size_t len = 0, have;
	uint8_t *body = calloc(1, 100000);

	ck_assert_ptr_nonnull(body);
	len += pkt(buf + len, 'O', "\0\0\0\x06\0\0\x01\xff\0\x1f\xff\xff", 12);
	len += pkt(buf + len, 'M', "<a@b>\0", 6);
	len += pkt(buf + len, 'B', body, 100000);
	len += pkt(buf + len, 'E', "", 0);
	len += pkt(buf + len, 'Q', "", 0);
	free(body);
	have = over_socketpair(buf, len, got, sizeof(got));
	ck_assert_uint_eq(have, 17 + sizeof(want_tail));
	ck_assert_int_eq(memcmp(got + 17, want_tail, sizeof(want_tail)), 0);
}
END_TEST

static void add_tests(TCase *tc)
{
	tcase_add_loop_test(tc, test_split, 0, N_CASES(split_cases));
	tcase_add_loop_test(tc, test_connect, 0, N_CASES(connect_cases));
	tcase_add_loop_test(tc, test_macro, 0, N_CASES(macro_cases));
	tcase_add_test(tc, test_strings_limits);
	tcase_add_test(tc, test_encode);
	tcase_add_test(tc, test_session);
	tcase_add_test(tc, test_session_reject_and_errors);
	tcase_add_test(tc, test_conn_one_write_per_batch);
	tcase_add_test(tc, test_conn_large_body);
}

int main(void)
{
	return dkim_check_run("mx_milter_proto", add_tests);
}
