/* dkim_b64.c: base64 encoding (RFC 4648, with padding, no line breaks). */
#include "mxkit-config.h"

#include <limits.h>

#include <openssl/evp.h>

#include "dkim_b64.h"

int dkim_b64_encode(const unsigned char *in, size_t n, char *out, size_t outsize,
		    struct mx_err *err)
{
	if (n > INT_MAX / 2 || outsize < DKIM_B64_SIZE(n))
		return mx_err_set(err, "base64 output does not fit in %zu bytes", outsize);
	return EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}
