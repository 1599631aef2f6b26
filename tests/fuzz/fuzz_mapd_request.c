/* fuzz_mapd_request.c: libFuzzer target for the socketmap request parser.
 *
 * The input is a byte stream as a client would send it, delivered in
 * chunks whose sizes come from the input's first byte, into a buffer of
 * the size a connection has. The parser's verdicts must be consistent:
 * OK/PERM consume a whole netstring within the buffered bytes, an OK key
 * is lowercase, non-empty, bounded and free of NUL/CR/LF. Every accepted
 * key then goes through the partial-key planner and extension
 * propagation, whose outputs must stay within their bounds. */
#include "mxkit-config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mapd_request.h"

static void check_keys(const struct mapd_request *req)
{
	static const char *const delims[] = { "+", "+-", "" };
	static char out[2 * MX_KEY_MAX + 2];
	struct mx_key_plan plan;

	for (size_t d = 0; d < sizeof(delims) / sizeof(delims[0]); d++) {
		mx_keys_plan(req->map->keys, req->key, req->key_len, delims[d], &plan);
		if (plan.n > MX_KEY_CANDIDATES_MAX)
			abort();
		for (unsigned i = 0; i < plan.n; i++)
			if (plan.cand[i].len > req->key_len || plan.cand[i].key[plan.cand[i].len] != '\0' ||
			    (i > 0 && plan.cand[i].len >= plan.cand[i - 1].len))
				abort();
		if (plan.ext != NULL) {
			long n = mx_keys_propagate(req->key, req->key_len, plan.ext, plan.ext_len,
						     out, sizeof(out));
			if (n >= 0 && ((size_t)n >= sizeof(out) || out[n] != '\0'))
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[MAPD_REQUEST_BUF];
	struct mapd_request req;
	struct mx_err err;
	size_t len = 0, pos = 1, chunk, consumed;

	if (size == 0)
		return 0;
	chunk = (size_t)(data[0] % 16) + 1;
	while (pos < size || len > 0) {
		size_t n = size - pos < chunk ? size - pos : chunk;
		if (n > sizeof(buf) - len)
			n = sizeof(buf) - len;
		memcpy(buf + len, data + pos, n);
		len += n;
		pos += n;
		for (;;) {
			enum mapd_request_status s = mapd_request_parse(buf, len, &req, &consumed, &err);
			if (s == MAPD_REQ_PARTIAL) {
				if (len == sizeof(buf))
					abort();  /* a whole request must always fit */
				break;
			}
			if (s == MAPD_REQ_CLOSE)
				return 0;
			if (consumed == 0 || consumed > len)
				abort();
			if (s == MAPD_REQ_OK) {
				if (req.key_len == 0 || req.key_len > MX_KEY_MAX ||
				    req.key[req.key_len] != '\0' || req.map == NULL)
					abort();
				for (size_t i = 0; i < req.key_len; i++)
					if ((req.key[i] >= 'A' && req.key[i] <= 'Z') || req.key[i] == '\0' ||
					    req.key[i] == '\r' || req.key[i] == '\n')
						abort();
				check_keys(&req);
			}
			memmove(buf, buf + consumed, len - consumed);
			len -= consumed;
		}
		if (pos >= size)
			break;
	}
	return 0;
}
