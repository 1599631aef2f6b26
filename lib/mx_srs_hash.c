/* mx_srs_hash.c: the cryptography and encodings of SRS addresses.
 *
 * HMAC-SHA1 keyed once per secret (OpenSSL 3 EVP_MAC; each use works on
 * a copy, so the keyed contexts are shared read-only between threads),
 * the truncated base64 hash and its constant-time, case- and
 * alphabet-folding comparison, the base32 day stamp, and the
 * base32hex SHA-1 keys of stored senders. */
#include "mxkit-config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "mx_srs_private.h"

#define SHA1_LEN 20
#define LOWER_CHUNK 256   /* bytes lowercased per HMAC update */

static const char b64_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b32_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char b32hex_chars[] = "0123456789ABCDEFGHIJKLMNOPQRSTUV";

enum mx_result srs_fail(enum mx_result r, struct mx_err *err, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		va_start(ap, fmt);
		/* Truncation is acceptable for a diagnostic. */
		(void)vsnprintf(err->text, sizeof(err->text), fmt, ap);
		va_end(ap);
	}
	return r;
}

int srs_keys_create(struct mx_srs *srs, const struct mx_srs_settings *set,
		    struct mx_err *err)
{
	char digest[] = "SHA1";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};

	srs->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (srs->mac == NULL)
		return mx_err_set(err, "srs: OpenSSL has no HMAC");
	for (size_t i = 0; i < set->secret_count; i++) {
		const char *secret = set->secrets[i];
		srs->keyed[i] = EVP_MAC_CTX_new(srs->mac);
		if (srs->keyed[i] == NULL ||
		    EVP_MAC_init(srs->keyed[i], (const unsigned char *)secret,
				 strlen(secret), params) != 1) {
			srs_keys_destroy(srs);
			return mx_err_set(err, "srs: cannot key HMAC-SHA1 with secret %zu", i + 1);
		}
		srs->secret_count = i + 1;
	}
	return 0;
}

int srs_keys_copy(struct mx_srs *dst, const struct mx_srs *src, struct mx_err *err)
{
	if (EVP_MAC_up_ref(src->mac) != 1)
		return mx_err_set(err, "srs: cannot share the HMAC implementation");
	dst->mac = src->mac;
	for (size_t i = 0; i < src->secret_count; i++) {
		if ((dst->keyed[i] = EVP_MAC_CTX_dup(src->keyed[i])) == NULL) {
			srs_keys_destroy(dst);
			return mx_err_set(err, "srs: cannot copy the HMAC-SHA1 key %zu", i + 1);
		}
		dst->secret_count = i + 1;
	}
	return 0;
}

void srs_keys_destroy(struct mx_srs *srs)
{
	for (size_t i = 0; i < MX_SRS_SECRETS_MAX; i++) {
		EVP_MAC_CTX_free(srs->keyed[i]);
		srs->keyed[i] = NULL;
	}
	srs->secret_count = 0;
	EVP_MAC_free(srs->mac);
	srs->mac = NULL;
}

/* Standard base64 of a SHA-1 digest without padding: 27 characters. */
static void b64_digest(const unsigned char in[SHA1_LEN], char out[SRS_DIGEST_B64_LEN + 1])
{
	size_t o = 0, i;

	for (i = 0; i + 3 <= SHA1_LEN; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64_chars[(v >> 18) & 63];
		out[o++] = b64_chars[(v >> 12) & 63];
		out[o++] = b64_chars[(v >> 6) & 63];
		out[o++] = b64_chars[v & 63];
	}
	/* SHA1_LEN % 3 == 2: two bytes left, three characters. */
	unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
	out[o++] = b64_chars[(v >> 18) & 63];
	out[o++] = b64_chars[(v >> 12) & 63];
	out[o++] = b64_chars[(v >> 6) & 63];
	out[o] = '\0';
}

/* HMAC-SHA1 with secret `idx` over the lowercased fields, in base64. */
static enum mx_result hmac_b64(const struct mx_srs *srs, size_t idx,
			       const struct srs_span *fields, size_t n,
			       char out[SRS_DIGEST_B64_LEN + 1], struct mx_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned char lower[LOWER_CHUNK];
	size_t mdlen = 0;
	/* A context for one thread re-keys its own in place (cheaper than a
	 * copy per hash); a shared one is copied, as threads may hash at once. */
	EVP_MAC_CTX *ctx = srs->one_thread ? srs->keyed[idx] : EVP_MAC_CTX_dup(srs->keyed[idx]);
	bool ok = ctx != NULL && (!srs->one_thread || EVP_MAC_init(ctx, NULL, 0, NULL) == 1);

	for (size_t f = 0; ok && f < n; f++) {
		for (size_t off = 0; ok && off < fields[f].len; off += LOWER_CHUNK) {
			size_t k = fields[f].len - off < LOWER_CHUNK ? fields[f].len - off : LOWER_CHUNK;
			for (size_t j = 0; j < k; j++) {
				unsigned char c = (unsigned char)fields[f].p[off + j];
				lower[j] = c >= 'A' && c <= 'Z' ? (unsigned char)(c + 'a' - 'A') : c;
			}
			ok = EVP_MAC_update(ctx, lower, k) == 1;
		}
	}
	ok = ok && EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) == 1 && mdlen == SHA1_LEN;
	if (!srs->one_thread)
		EVP_MAC_CTX_free(ctx);
	if (!ok)
		return srs_fail(MX_TEMP, err, "srs: HMAC-SHA1 failed");
	b64_digest(md, out);
	OPENSSL_cleanse(md, sizeof(md));
	return MX_FOUND;
}

enum mx_result srs_hash_make(const struct mx_srs *srs, const struct srs_span *fields,
			     size_t n, char *out, struct mx_err *err)
{
	char full[SRS_DIGEST_B64_LEN + 1];
	enum mx_result r = hmac_b64(srs, 0, fields, n, full, err);

	if (r != MX_FOUND)
		return r;
	for (size_t i = 0; i < srs->hash_length; i++) {
		char c = full[i];
		if (srs->alphabet == MX_SRS_BASE64URL)
			c = c == '+' ? '-' : c == '/' ? '_' : c;
		out[i] = c;
	}
	out[srs->hash_length] = '\0';
	return MX_FOUND;
}

/* 1 if a == b, else 0, without a branch. */
static unsigned eq_mask(unsigned a, unsigned b)
{
	return ((a ^ b) - 1u) >> 31 & 1u;  /* a, b < 256 */
}

/* 1 if lo <= c <= hi, else 0, without a branch. */
static unsigned in_range(unsigned c, unsigned lo, unsigned hi)
{
	return ((c - lo) | (hi - c)) >> 31 ^ 1u;  /* c, lo, hi < 256 */
}

/* Fold a hash character to its class: letters to lowercase, '+' and '-'
 * to '-', '/' and '_' to '_', anything outside both alphabets to 0.
 * Branch-free, as it runs over the hash we computed. */
static unsigned hash_fold(unsigned char c)
{
	unsigned up = in_range(c, 'A', 'Z'), low = in_range(c, 'a', 'z');
	unsigned dig = in_range(c, '0', '9');
	unsigned dash = eq_mask(c, '+') | eq_mask(c, '-');
	unsigned under = eq_mask(c, '/') | eq_mask(c, '_');

	return ((0u - up) & (c | 0x20u)) | ((0u - (low | dig)) & c) |
	       ((0u - dash) & '-') | ((0u - under) & '_');
}

enum mx_result srs_hash_check(const struct mx_srs *srs, struct srs_span hash,
			      const struct srs_span *fields, size_t n, struct mx_err *err)
{
	char want[SRS_DIGEST_B64_LEN + 1];
	size_t len = hash.len < srs->hash_length ? hash.len : srs->hash_length;
	unsigned matched = 0;

	if (hash.len < srs->hash_min)
		return srs_fail(MX_PERM, err, "SRS hash has %zu characters, fewer than %u",
				  hash.len, srs->hash_min);
	/* Every secret is tried, so the time taken does not tell which matched. */
	for (size_t s = 0; s < srs->secret_count; s++) {
		unsigned diff = 0;
		enum mx_result r = hmac_b64(srs, s, fields, n, want, err);
		if (r != MX_FOUND)
			return r;
		for (size_t i = 0; i < len; i++) {
			unsigned a = hash_fold((unsigned char)hash.p[i]);
			unsigned b = hash_fold((unsigned char)want[i]);
			diff |= (a ^ b) | eq_mask(a, 0);
		}
		matched |= eq_mask(diff, 0);
	}
	OPENSSL_cleanse(want, sizeof(want));
	if (!matched)
		return srs_fail(MX_PERM, err, "SRS hash does not match (forged or signed with an unknown secret)");
	return MX_FOUND;
}

void srs_stamp_make(time_t now, char out[SRS_STAMP_LEN + 1])
{
	unsigned long long day = now > 0 ? (unsigned long long)now / SRS_DAY : 0;

	out[0] = b32_chars[(day >> 5) & 31];
	out[1] = b32_chars[day & 31];
	out[2] = '\0';
}

int srs_stamp_decode(struct srs_span stamp, unsigned *day_r, struct mx_err *err)
{
	unsigned day = 0;

	if (stamp.len != SRS_STAMP_LEN)
		return mx_err_set(err, "SRS timestamp has %zu characters, not %d",
				  stamp.len, SRS_STAMP_LEN);
	for (size_t i = 0; i < SRS_STAMP_LEN; i++) {
		unsigned char c = (unsigned char)stamp.p[i];
		const char *pos;
		if (c >= 'a' && c <= 'z')
			c = (unsigned char)(c - 'a' + 'A');
		pos = c != '\0' ? strchr(b32_chars, c) : NULL;
		if (pos == NULL)
			return mx_err_set(err, "SRS timestamp has a byte 0x%02x outside base32",
					  (unsigned char)stamp.p[i]);
		day = day << 5 | (unsigned)(pos - b32_chars);
	}
	*day_r = day;
	return 0;
}

enum mx_result srs_stamp_check(const struct mx_srs *srs, unsigned day, time_t now,
			       struct mx_err *err)
{
	unsigned today, age;

	today = (unsigned)((now > 0 ? (unsigned long long)now / SRS_DAY : 0) % SRS_STAMP_SLOTS);
	age = (today + SRS_STAMP_SLOTS - day % SRS_STAMP_SLOTS) % SRS_STAMP_SLOTS;
	if (age <= srs->max_age_days)
		return MX_FOUND;
	if (SRS_STAMP_SLOTS - age <= MX_SRS_FUTURE_GRACE_DAYS)
		return MX_FOUND;
	if (SRS_STAMP_SLOTS - age < SRS_STAMP_SLOTS / 2)
		return srs_fail(MX_PERM, err, "SRS timestamp is %u days in the future (at most %d accepted)",
				SRS_STAMP_SLOTS - age, MX_SRS_FUTURE_GRACE_DAYS);
	return srs_fail(MX_PERM, err, "SRS timestamp expired: %u days old, at most %u accepted",
			age, srs->max_age_days);
}

enum mx_result srs_key_make(const char *data, size_t len, char *out, struct mx_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	size_t o = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != SHA1_LEN)
		return srs_fail(MX_TEMP, err, "srs: SHA-1 failed");
	/* 20 bytes are four groups of 5 bytes, 8 characters each. */
	for (size_t i = 0; i < SHA1_LEN; i += 5) {
		unsigned long long v = 0;
		for (size_t j = 0; j < 5; j++)
			v = v << 8 | md[i + j];
		for (int k = 7; k >= 0; k--)
			out[o++] = b32hex_chars[(v >> (5 * k)) & 31];
	}
	out[o] = '\0';
	return MX_FOUND;
}
