/* dkim_key.c: loading and checking DKIM private keys (see dkim_key.h). */
#include "mxkit-config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dkim_b64.h"
#include "dkim_key.h"

const char *dkim_alg_name(enum dkim_alg a)
{
	return a == DKIM_ALG_ED25519_SHA256 ? "ed25519-sha256" : "rsa-sha256";
}

/* Letters, digits, '-' and '_' in dot-separated labels of 1..63 bytes. */
static int check_dns_name(const char *what, const char *s, size_t max, struct mx_err *err)
{
	size_t n = strlen(s), label = 0, i;

	if (n == 0 || n > max)
		return mx_err_set(err, "%s must be 1 to %zu characters", what, max);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0)
				return mx_err_set(err, "%s has an empty label", what);
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return mx_err_set(err, "%s has an invalid character at position %zu", what, i + 1);
		if (++label > 63)
			return mx_err_set(err, "%s has a label longer than 63 characters", what);
	}
	if (label == 0)
		return mx_err_set(err, "%s ends with a dot", what);
	return 0;
}

static void openssl_reason(char *buf, size_t size)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, size, "not a PEM private key");
	else
		ERR_error_string_n(e, buf, size);
	ERR_clear_error();
}

int dkim_key_from_pem(struct dkim_key *key, const char *domain, const char *selector,
		      const char *pem, size_t pem_len, struct mx_err *err)
{
	BIO *bio;
	EVP_PKEY *pkey;
	char why[256];

	memset(key, 0, sizeof(*key));
	if (check_dns_name("domain", domain, DKIM_DOMAIN_MAX, err) < 0 ||
	    check_dns_name("selector", selector, DKIM_SELECTOR_MAX, err) < 0)
		return -1;
	if (pem_len > DKIM_KEY_FILE_MAX || pem_len > (size_t)INT32_MAX)
		return mx_err_set(err, "key larger than %d bytes", DKIM_KEY_FILE_MAX);
	bio = BIO_new_mem_buf(pem, (int)pem_len);
	if (bio == NULL)
		return mx_err_set(err, "out of memory");
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		openssl_reason(why, sizeof(why));
		return mx_err_set(err, "cannot parse private key: %s", why);
	}
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		key->alg = DKIM_ALG_RSA_SHA256;
		key->bits = EVP_PKEY_get_bits(pkey);
		if (key->bits < DKIM_RSA_MIN_BITS) {
			EVP_PKEY_free(pkey);
			return mx_err_set(err, "RSA key of %d bits refused: at least %d bits are required (RFC 8301)",
					  key->bits, DKIM_RSA_MIN_BITS);
		}
		key->weak = key->bits < DKIM_RSA_WARN_BITS;
	} else if (EVP_PKEY_is_a(pkey, "ED25519")) {
		key->alg = DKIM_ALG_ED25519_SHA256;
		key->bits = EVP_PKEY_get_bits(pkey);
	} else {
		EVP_PKEY_free(pkey);
		return mx_err_set(err, "unsupported key type (only RSA and Ed25519 keys can sign DKIM)");
	}
	key->pkey = pkey;
	/* Lengths were checked above. */
	memcpy(key->domain, domain, strlen(domain) + 1);
	memcpy(key->selector, selector, strlen(selector) + 1);
	return 0;
}

static int read_key_file(const char *path, bool check_perms, uid_t user, char *buf, size_t size,
			 size_t *len_r, struct mx_err *err)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return mx_err_set(err, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		mx_err_set(err, "%s: cannot stat: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		mx_err_set(err, "%s: not a regular file", path);
		goto fail;
	}
	if (check_perms && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		mx_err_set(err, "%s: private key refused: mode %04o gives access to group or others (chmod 600)",
			   path, (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	if (check_perms && st.st_uid != 0 && st.st_uid != user) {
		mx_err_set(err, "%s: private key refused: owned by uid %u, not by root or the daemon's user (uid %u)",
			   path, (unsigned)st.st_uid, (unsigned)user);
		goto fail;
	}
	if (st.st_size < 0 || (size_t)st.st_size >= size) {
		mx_err_set(err, "%s: larger than %zu bytes", path, size - 1);
		goto fail;
	}
	while (got < size - 1) {
		n = read(fd, buf + got, size - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			mx_err_set(err, "%s: read error: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*len_r = got;
	return 0;
fail:
	close(fd);
	return -1;
}

int dkim_key_load_file(struct dkim_key *key, const char *domain, const char *selector,
		       const char *path, bool check_perms, uid_t user, struct mx_err *err)
{
	char *buf;
	size_t len = 0;
	int rc;

	buf = malloc(DKIM_KEY_FILE_MAX + 1);
	if (buf == NULL)
		return mx_err_set(err, "out of memory");
	rc = read_key_file(path, check_perms, user, buf, DKIM_KEY_FILE_MAX + 1, &len, err);
	if (rc == 0) {
		rc = dkim_key_from_pem(key, domain, selector, buf, len, err);
		if (rc < 0)
			mx_err_prefix(err, "%s: ", path);
	}
	OPENSSL_cleanse(buf, DKIM_KEY_FILE_MAX + 1);
	free(buf);
	return rc;
}

void dkim_key_free(struct dkim_key *key)
{
	EVP_PKEY_free(key->pkey);
	key->pkey = NULL;
}

int dkim_key_dns_record(const struct dkim_key *key, char *buf, size_t size,
			struct mx_err *err)
{
	unsigned char raw[32], *der = NULL;
	const unsigned char *pub;
	size_t publen = sizeof(raw);
	int derlen, n;
	char b64[2048];

	if (key->alg == DKIM_ALG_ED25519_SHA256) {
		/* RFC 8463: p= is the bare 32-byte public key. */
		if (EVP_PKEY_get_raw_public_key(key->pkey, raw, &publen) != 1)
			return mx_err_set(err, "cannot extract the Ed25519 public key");
		pub = raw;
	} else {
		/* RFC 6376: p= is the DER SubjectPublicKeyInfo. */
		derlen = i2d_PUBKEY(key->pkey, &der);
		if (derlen <= 0)
			return mx_err_set(err, "cannot encode the RSA public key");
		pub = der;
		publen = (size_t)derlen;
	}
	if (dkim_b64_encode(pub, publen, b64, sizeof(b64), err) < 0) {
		OPENSSL_free(der);
		return -1;
	}
	OPENSSL_free(der);
	n = snprintf(buf, size, "v=DKIM1; k=%s; p=%s",
		     key->alg == DKIM_ALG_ED25519_SHA256 ? "ed25519" : "rsa", b64);
	if (n < 0 || (size_t)n >= size)
		return mx_err_set(err, "DNS record does not fit in %zu bytes", size);
	return 0;
}
