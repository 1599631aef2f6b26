/* dkim_keygen_key.h: making a new DKIM private key and writing it safely. */
#ifndef DKIM_KEYGEN_KEY_H
#define DKIM_KEYGEN_KEY_H

#include <stddef.h>
#include <sys/types.h>

#include "dkim_key.h"
#include "mx_error.h"

#define DKIM_RSA_MAX_BITS 8192

/* A new key as PKCS#8 PEM (caller frees *pem_r). RSA of `bits` (refused
 * under DKIM_RSA_MIN_BITS or over DKIM_RSA_MAX_BITS), or Ed25519. */
int dkim_keygen_pem(enum dkim_alg alg, int bits, char **pem_r, size_t *len_r,
		    struct mx_err *err);

/* Create path (it must not exist) with mode 0600, owned by uid:gid when
 * they are not -1, holding pem. On failure nothing is left behind. */
int dkim_keygen_write(const char *path, const char *pem, size_t len, uid_t uid, gid_t gid,
		      struct mx_err *err);

#endif
