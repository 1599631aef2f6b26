/* dkim_key.h: DKIM private keys, parsed once and shared read-only.
 *
 * A key is loaded from a PEM file or a PEM string when the daemon (or
 * tool) starts or reloads, never per message. RSA keys under 1024 bits
 * are refused (RFC 8301), under 2048 bits accepted with a warning. The
 * loaded EVP_PKEY is only read afterwards, so any number of threads may
 * sign with it at once. */
#ifndef DKIM_KEY_H
#define DKIM_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "mx_error.h"

#define DKIM_RSA_MIN_BITS 1024
#define DKIM_RSA_WARN_BITS 2048
#define DKIM_DOMAIN_MAX 253
#define DKIM_SELECTOR_MAX 63
/* Maximum size of a PEM key file we read. */
#define DKIM_KEY_FILE_MAX 65536

enum dkim_alg {
	DKIM_ALG_RSA_SHA256 = 0,
	DKIM_ALG_ED25519_SHA256 = 1,
};

struct dkim_key {
	EVP_PKEY *pkey;
	enum dkim_alg alg;
	int bits;
	bool weak;  /* RSA below DKIM_RSA_WARN_BITS */
	char domain[DKIM_DOMAIN_MAX + 1];
	char selector[DKIM_SELECTOR_MAX + 1];
};

/* "rsa-sha256" / "ed25519-sha256". */
const char *dkim_alg_name(enum dkim_alg a);

/* Parse a PEM private key (PKCS#1, PKCS#8, or OpenSSL's Ed25519 form)
 * from memory. domain and selector are checked for DNS label syntax. */
int dkim_key_from_pem(struct dkim_key *key, const char *domain, const char *selector,
		      const char *pem, size_t pem_len, struct mx_err *err);
/* Same from a file. When check_perms is set, a file readable by group
 * or others, or owned by neither root nor `user` (the daemon's user),
 * is refused. */
int dkim_key_load_file(struct dkim_key *key, const char *domain, const char *selector,
		       const char *path, bool check_perms, uid_t user, struct mx_err *err);
void dkim_key_free(struct dkim_key *key);

/* The DNS TXT record value for the public half ("v=DKIM1; k=...; p=...")
 * into buf. Returns 0 or -1 (buffer too small or encoding failure). */
int dkim_key_dns_record(const struct dkim_key *key, char *buf, size_t size,
			struct mx_err *err);

#endif
