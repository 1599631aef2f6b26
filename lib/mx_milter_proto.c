/* mx_milter_proto.c: milter packet splitting, decoding and encoding
 * (see mx_milter_proto.h). */
#include "mxkit-config.h"

#include <stdlib.h>
#include <string.h>

#include "mx_milter_proto.h"

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int mx_milter_stage_of(char cmd)
{
	switch (cmd) {
	case MX_MILTER_C_CONNECT: return MX_MILTER_M_CONNECT;
	case MX_MILTER_C_HELO: return MX_MILTER_M_HELO;
	case MX_MILTER_C_MAIL: return MX_MILTER_M_ENVFROM;
	case MX_MILTER_C_RCPT: return MX_MILTER_M_ENVRCPT;
	case MX_MILTER_C_DATA: return MX_MILTER_M_DATA;
	case MX_MILTER_C_BODYEOB: return MX_MILTER_M_EOM;
	case MX_MILTER_C_EOH: return MX_MILTER_M_EOH;
	default: return -1;
	}
}

int mx_milter_packet_next(uint8_t *buf, size_t len, struct mx_milter_packet *p,
			  size_t *need, struct mx_err *err)
{
	uint32_t plen;

	if (need != NULL)
		*need = 0;
	if (len < 4)
		return 0;
	plen = get32(buf);
	if (plen == 0)
		return mx_err_set(err, "milter packet of length 0 (no command byte)");
	if (plen > MX_MILTER_PACKET_MAX)
		return mx_err_set(err, "milter packet of %lu bytes, over the limit of %d "
				  "(MX_MILTER_PACKET_MAX)", (unsigned long)plen, MX_MILTER_PACKET_MAX);
	if (len - 4 < plen) {
		if (need != NULL)
			*need = (size_t)plen + 4;
		return 0;
	}
	p->cmd = (char)buf[4];
	p->data = buf + 5;
	p->len = (size_t)plen - 1;
	p->size = (size_t)plen + 4;
	return 1;
}

int mx_milter_parse_optneg(const uint8_t *data, size_t len, struct mx_milter_optneg *o,
			   struct mx_err *err)
{
	if (len < 12)
		return mx_err_set(err, "option negotiation of %zu bytes (want 12)", len);
	o->version = get32(data);
	o->actions = get32(data + 4);
	o->steps = get32(data + 8);
	if (o->version < 2)
		return mx_err_set(err, "MTA speaks milter protocol version %lu (want 2 to 6)",
				  (unsigned long)o->version);
	return 0;
}

int mx_milter_parse_strings(uint8_t *data, size_t len, char **out, size_t max,
			    struct mx_err *err)
{
	size_t n = 0, i = 0;

	while (i < len) {
		uint8_t *nul = memchr(data + i, '\0', len - i);
		if (nul == NULL)
			return mx_err_set(err, "milter packet: string not terminated by NUL");
		if (n == max)
			return mx_err_set(err, "milter packet: more than %zu strings", max);
		out[n++] = (char *)data + i;
		i = (size_t)(nul - data) + 1;
	}
	return (int)n;
}

int mx_milter_parse_connect(uint8_t *data, size_t len, struct mx_milter_connect *c,
			    struct mx_err *err)
{
	uint8_t *nul = memchr(data, '\0', len);
	size_t i, rest;

	if (nul == NULL)
		return mx_err_set(err, "connect: host name not terminated by NUL");
	c->host = (const char *)data;
	i = (size_t)(nul - data) + 1;
	if (i >= len)
		return mx_err_set(err, "connect: no address family");
	c->family = (char)data[i++];
	c->port = 0;
	c->addr = NULL;
	if (c->family == 'U')
		return 0;
	if (c->family != 'L' && c->family != '4' && c->family != '6')
		return mx_err_set(err, "connect: unknown address family 0x%02x",
				  (unsigned)(uint8_t)c->family);
	rest = len - i;
	if (rest < 3)
		return mx_err_set(err, "connect: truncated port or address");
	c->port = (uint16_t)(data[i] << 8 | data[i + 1]);
	i += 2;
	if (memchr(data + i, '\0', len - i) == NULL)
		return mx_err_set(err, "connect: address not terminated by NUL");
	c->addr = (const char *)data + i;
	return 0;
}

int mx_milter_parse_macro(uint8_t *data, size_t len, char *cmd, char **names,
			  char **values, size_t max, size_t *n, struct mx_err *err)
{
	char *strs[2 * MX_MILTER_STRINGS_MAX];
	size_t cap = 2 * max < 2 * MX_MILTER_STRINGS_MAX ? 2 * max : 2 * MX_MILTER_STRINGS_MAX;
	int k, i;

	if (len < 1)
		return mx_err_set(err, "macro packet without a command");
	*cmd = (char)data[0];
	k = mx_milter_parse_strings(data + 1, len - 1, strs, cap, err);
	if (k < 0)
		return mx_err_prefix(err, "macros: ");
	if (k % 2 != 0)
		return mx_err_set(err, "macros: name '%.64s' without a value", strs[k - 1]);
	for (i = 0; i < k / 2; i++) {
		names[i] = strs[2 * i];
		values[i] = strs[2 * i + 1];
	}
	*n = (size_t)k / 2;
	return 0;
}

int mx_milter_parse_header(uint8_t *data, size_t len, char **name, char **value,
			   struct mx_err *err)
{
	char *strs[2];
	int k = mx_milter_parse_strings(data, len, strs, 2, err);

	if (k < 0)
		return mx_err_prefix(err, "header: ");
	if (k != 2)
		return mx_err_set(err, "header: %d strings (want a name and a value)", k);
	if (strs[0][0] == '\0')
		return mx_err_set(err, "header: empty name");
	*name = strs[0];
	*value = strs[1];
	return 0;
}

void mx_milter_out_init(struct mx_milter_out *o)
{
	o->data = NULL;
	o->len = o->cap = 0;
}

void mx_milter_out_free(struct mx_milter_out *o)
{
	free(o->data);
	mx_milter_out_init(o);
}

int mx_milter_out_packet(struct mx_milter_out *o, char cmd, const struct mx_milter_part *parts,
			 size_t n, struct mx_err *err)
{
	size_t body = 1, i;
	uint8_t *w;

	for (i = 0; i < n; i++) {
		if (parts[i].len > MX_MILTER_REPLY_MAX - body)
			return mx_err_set(err, "reply packet over %d bytes (MX_MILTER_REPLY_MAX)",
					  MX_MILTER_REPLY_MAX);
		body += parts[i].len;
	}
	if (o->cap - o->len < body + 4) {
		size_t cap = o->cap != 0 ? o->cap : 256;
		uint8_t *d;
		while (cap - o->len < body + 4)
			cap *= 2;
		d = realloc(o->data, cap);
		if (d == NULL)
			return mx_err_set(err, "out of memory for a reply packet");
		o->data = d;
		o->cap = cap;
	}
	w = o->data + o->len;
	put32(w, (uint32_t)body);
	w[4] = (uint8_t)cmd;
	w += 5;
	for (i = 0; i < n; i++) {
		if (parts[i].len > 0)
			memcpy(w, parts[i].p, parts[i].len);
		w += parts[i].len;
	}
	o->len += body + 4;
	return 0;
}

int mx_milter_out_strings(struct mx_milter_out *o, char cmd, int with_index, uint32_t index,
			  const char *const *strs, size_t n, struct mx_err *err)
{
	struct mx_milter_part parts[1 + 4];
	uint8_t idx[4];
	size_t k = 0, i;

	if (n > 4)
		return mx_err_set(err, "reply with %zu strings (at most 4)", n);
	if (with_index) {
		put32(idx, index);
		parts[k].p = idx;
		parts[k++].len = 4;
	}
	for (i = 0; i < n; i++) {
		parts[k].p = strs[i];
		parts[k++].len = strlen(strs[i]) + 1;
	}
	return mx_milter_out_packet(o, cmd, parts, k, err);
}

int mx_milter_out_optneg(struct mx_milter_out *o, const struct mx_milter_optneg *ng,
			 const char *const lists[MX_MILTER_M_COUNT], struct mx_err *err)
{
	struct mx_milter_part parts[1 + 2 * MX_MILTER_M_COUNT];
	uint8_t head[12], stage[MX_MILTER_M_COUNT][4];
	size_t k = 0;
	int s;

	put32(head, ng->version);
	put32(head + 4, ng->actions);
	put32(head + 8, ng->steps);
	parts[k].p = head;
	parts[k++].len = sizeof(head);
	for (s = 0; s < MX_MILTER_M_COUNT; s++) {
		if (lists == NULL || lists[s] == NULL)
			continue;
		put32(stage[s], (uint32_t)s);
		parts[k].p = stage[s];
		parts[k++].len = 4;
		parts[k].p = lists[s];
		parts[k++].len = strlen(lists[s]) + 1;
	}
	return mx_milter_out_packet(o, MX_MILTER_R_OPTNEG, parts, k, err);
}
