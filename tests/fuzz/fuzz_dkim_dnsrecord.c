/* fuzz_dkim_dnsrecord.c: libFuzzer target for the DKIM DNS record parser
 * of mxkit-dkim-keygen (the TXT text a DNS server returns): no crash, no
 * read past the input, and a "match" only for an input that says
 * k=ed25519 and has a p= tag (the expected record is an Ed25519 key's). */
#include "mxkit-config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_dnscheck.h"

static const char expected[] = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);
	struct mx_err err;
	enum mx_result r;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);  /* not NUL-terminated: the parser must use the length */
	r = dkim_dnscheck_record(expected, copy, size, &err);
	if (r == MX_FOUND && (memmem(copy, size, "ed25519", 7) == NULL || memmem(copy, size, "p", 1) == NULL))
		abort();
	free(copy);
	return 0;
}
