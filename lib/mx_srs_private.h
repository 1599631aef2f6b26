/* mx_srs_private.h: the SRS context and its cryptographic helpers,
 * shared by the files of lib/mx_srs* only. */
#ifndef MX_SRS_PRIVATE_H
#define MX_SRS_PRIVATE_H

#include <openssl/evp.h>

#include "mx_srs.h"

#define SRS_SEPARATORS "=+-"      /* allowed after SRS0 and SRS1 */
#define SRS_DAY 86400
#define SRS_STAMP_LEN 2
#define SRS_STAMP_SLOTS 1024      /* 2 base32 characters: 10 bits of days */
#define SRS_DIGEST_B64_LEN 27     /* base64 characters of a SHA-1 digest, no padding */

struct mx_srs {
	char domain[MX_DOMAIN_MAX + 1];
	char domain_lower[MX_DOMAIN_MAX + 1];  /* to compare sender domains with */
	size_t domain_len;
	char separator;
	unsigned hash_length;
	unsigned hash_min;
	unsigned max_age_days;
	enum mx_srs_alphabet alphabet;
	bool always_rewrite;
	EVP_MAC *mac;
	EVP_MAC_CTX *keyed[MX_SRS_SECRETS_MAX];  /* one HMAC-SHA1 per secret */
	size_t secret_count;
	bool one_thread;   /* keyed[] re-initialised in place, not copied per hash */
	time_t (*now)(void *ctx);
	void *now_ctx;
	const struct mx_srs_store *store;
};

/* A byte range of an address: the hashed fields are not NUL-terminated. */
struct srs_span {
	const char *p;
	size_t len;
};

/* Set err (printf format) and return r: `return srs_fail(MX_PERM, err, ...)`. */
enum mx_result srs_fail(enum mx_result r, struct mx_err *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Key one HMAC-SHA1 context per secret of set into srs. */
int srs_keys_create(struct mx_srs *srs, const struct mx_srs_settings *set,
		    struct mx_err *err);
void srs_keys_destroy(struct mx_srs *srs);
/* Give dst its own copies of the keyed contexts of src. */
int srs_keys_copy(struct mx_srs *dst, const struct mx_srs *src, struct mx_err *err);

/* The hash we write: first hash_length characters of the base64 (or
 * base64url) HMAC of the ASCII-lowercased fields, with the first secret.
 * out holds MX_SRS_HASH_LENGTH_MAX + 1 bytes. MX_FOUND or MX_TEMP. */
enum mx_result srs_hash_make(const struct mx_srs *srs, const struct srs_span *fields,
			     size_t n, char *out, struct mx_err *err);

/* Check `hash` against every secret: MX_FOUND if one matches (case and
 * alphabet folded, constant time), MX_PERM if none or the hash is
 * shorter than hash_min, MX_TEMP on an internal failure. */
enum mx_result srs_hash_check(const struct mx_srs *srs, struct srs_span hash,
			      const struct srs_span *fields, size_t n, struct mx_err *err);

/* The 2-character base32 day stamp of `now`. */
void srs_stamp_make(time_t now, char out[SRS_STAMP_LEN + 1]);

/* Decode a 2-character base32 stamp (any case) into its day number
 * modulo 1024; -1 with a reason when it is malformed. */
int srs_stamp_decode(struct srs_span stamp, unsigned *day_r, struct mx_err *err);

/* Check a decoded stamp against `now`: MX_FOUND when at most
 * max_age_days old (or at most MX_SRS_FUTURE_GRACE_DAYS ahead),
 * MX_PERM otherwise. */
enum mx_result srs_stamp_check(const struct mx_srs *srs, unsigned day, time_t now,
			       struct mx_err *err);

/* base32hex (RFC 4648) of SHA-1(data): the key of a stored sender.
 * out holds MX_SRS_KEY_LEN + 1 bytes. MX_FOUND or MX_TEMP. */
enum mx_result srs_key_make(const char *data, size_t len, char *out, struct mx_err *err);

#endif
