/* fuzz_rspamd_reply.c: libFuzzer target for the parser of rspamd's
 * controller replies (train-rspamd-reply.c). Checks that the outcome is
 * one of the three a reply can give, that the result text is terminated,
 * bounded and printable, and that only a 200/208 status means done. */
#include "mxkit-config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char result[TRAIN_RESULT_MAX];
	/* An exact-size copy, so that ASan sees any read past the reply. */
	char *reply = malloc(size > 0 ? size : 1);
	enum train_outcome o;
	size_t n;

	check(reply != NULL);
	memcpy(reply, data, size);
	memset(result, 'Z', sizeof(result));
	o = train_rspamd_reply(reply, size, result, sizeof(result));
	check(o == TRAIN_DONE || o == TRAIN_REFUSED || o == TRAIN_RETRY);
	n = strnlen(result, sizeof(result));
	check(n < sizeof(result));
	for (size_t i = 0; i < n; i++)
		check((unsigned char)result[i] >= 0x20 && result[i] != 0x7f);
	if (o == TRAIN_DONE)
		check(size >= 12 && memcmp(reply, "HTTP/1.", 7) == 0 && reply[9] == '2' &&
		      reply[10] == '0' && (reply[11] == '0' || reply[11] == '8'));
	free(reply);
	return 0;
}
