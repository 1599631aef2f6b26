/* fuzz_mapd_request.c: libFuzzer target for the socketmap request parser.
 *
 * The input is a byte stream as a client would send it, delivered in
 * chunks whose sizes come from the input's first byte, into a buffer of
 * the size a connection has. The parser's verdicts must be consistent:
 * OK/PERM consume a whole netstring within the buffered bytes, an OK key
 * is lowercase, non-empty, bounded and free of NUL/CR/LF. */
#include "mxkit-config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mapd_request.h"

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
				if (req.key_len == 0 || req.key_len > MAPD_KEY_MAX ||
				    req.key[req.key_len] != '\0' || req.map == NULL)
					abort();
				for (size_t i = 0; i < req.key_len; i++)
					if ((req.key[i] >= 'A' && req.key[i] <= 'Z') || req.key[i] == '\0' ||
					    req.key[i] == '\r' || req.key[i] == '\n')
						abort();
			}
			memmove(buf, buf + consumed, len - consumed);
			len -= consumed;
		}
		if (pos >= size)
			break;
	}
	return 0;
}
