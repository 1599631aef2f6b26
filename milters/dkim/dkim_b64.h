/* dkim_b64.h: base64 encoding of hashes, signatures and public keys. */
#ifndef DKIM_B64_H
#define DKIM_B64_H

#include <stddef.h>

#include "mx_error.h"

/* Characters needed (with the NUL) for n input bytes. */
#define DKIM_B64_SIZE(n) ((((n) + 2) / 3) * 4 + 1)

/* Encode in[0..n) into out (NUL-terminated). Returns the length or -1. */
int dkim_b64_encode(const unsigned char *in, size_t n, char *out, size_t outsize,
		    struct mx_err *err);

#endif
