/* fuzz_netstring.c: libFuzzer target for the netstring decoder.
 *
 * Feeds arbitrary bytes to mx_netstring_decode() the way a stream
 * parser does (decode, advance by what was consumed, repeat) under
 * several payload limits, and aborts when an invariant breaks:
 * consumed within the input, payload inside the netstring, limit
 * respected, every prefix of a decodable input "partial", never
 * "error", and encode/decode round trips. */
#include "mxkit-config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mx_netstring.h"

#define PREFIX_CHECK_MAX 512  /* check every prefix of netstrings up to this size */
#define ENCODE_BUF_MAX 4096

static void check(int cond)
{
	if (!cond)
		abort();
}

/* Every strict prefix of a netstring that decoded (or is still partial)
 * must itself be partial: more bytes can only complete it. */
static void check_prefixes(const char *buf, size_t upto, size_t max)
{
	size_t step = upto > PREFIX_CHECK_MAX ? upto / PREFIX_CHECK_MAX + 1 : 1;

	for (size_t k = 0; k < upto; k += step) {
		const char *p;
		size_t plen, consumed;
		struct mx_err err;
		check(mx_netstring_decode(buf, k, max, &p, &plen, &consumed, &err) == MX_NS_PARTIAL);
	}
}

static void roundtrip(const char *payload, size_t len)
{
	static char out[ENCODE_BUF_MAX];
	const char *p;
	size_t plen, consumed;
	struct mx_err err;
	long n;

	n = mx_netstring_encode(payload, len, out, sizeof(out));
	if (mx_netstring_encoded_len(len) > sizeof(out)) {
		check(n == -1);
		return;
	}
	check(n >= 0 && (size_t)n == mx_netstring_encoded_len(len));
	check(mx_netstring_decode(out, (size_t)n, len, &p, &plen, &consumed, &err) == MX_NS_OK);
	check(plen == len && consumed == (size_t)n && memcmp(p, payload, len) == 0);
}

static void stream(const char *buf, size_t len, size_t max)
{
	size_t off = 0;

	/* Each OK consumes at least 3 bytes, so this loop is bounded. */
	for (size_t rounds = 0; rounds <= len; rounds++) {
		const char *p = NULL;
		size_t plen = 0, consumed = 0;
		struct mx_err err;
		enum mx_netstring_status s;

		err.text[0] = '\0';
		s = mx_netstring_decode(buf + off, len - off, max, &p, &plen, &consumed, &err);
		if (s == MX_NS_ERROR) {
			check(strncmp(err.text, "netstring: ", 11) == 0);
			return;
		}
		if (s == MX_NS_PARTIAL) {
			check_prefixes(buf + off, len - off, max);
			return;
		}
		check(s == MX_NS_OK);
		check(consumed >= 3 && consumed <= len - off);
		check(plen <= max);
		check(p >= buf + off && p + plen <= buf + off + consumed);
		check(buf[off + consumed - 1] == ',');
		check(p + plen == buf + off + consumed - 1);
		check_prefixes(buf + off, consumed, max);
		roundtrip(p, plen);
		off += consumed;
		if (off == len)
			return;
	}
	abort();  /* more rounds than bytes: the decoder consumed nothing */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t limits[] = { 0, 16, 4096, SIZE_MAX };

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		stream((const char *)data, size, limits[i]);
	return 0;
}
