/* dkim_keygen_key.c: new private keys for mxkit-dkim-keygen (see dkim_keygen_key.h). */
#include "mxkit-config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dkim_keygen_key.h"

int dkim_keygen_pem(enum dkim_alg alg, int bits, char **pem_r, size_t *len_r,
		    struct mx_err *err)
{
	EVP_PKEY *pkey;
	BIO *bio = NULL;
	char *data, *copy;
	long n;
	int rc = -1;

	if (alg == DKIM_ALG_RSA_SHA256 && (bits < DKIM_RSA_MIN_BITS || bits > DKIM_RSA_MAX_BITS))
		return mx_err_set(err, "RSA keys must have %d to %d bits (RFC 8301 forbids fewer than %d)",
				  DKIM_RSA_MIN_BITS, DKIM_RSA_MAX_BITS, DKIM_RSA_MIN_BITS);
	pkey = alg == DKIM_ALG_RSA_SHA256 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits)
					  : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (pkey == NULL)
		return mx_err_set(err, "key generation failed");
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1) {
		mx_err_set(err, "cannot encode the key as PEM");
		goto out;
	}
	n = BIO_get_mem_data(bio, &data);
	if (n <= 0 || (copy = malloc((size_t)n + 1)) == NULL) {
		mx_err_set(err, "out of memory");
		goto out;
	}
	memcpy(copy, data, (size_t)n);
	copy[n] = '\0';
	*pem_r = copy;
	*len_r = (size_t)n;
	rc = 0;
out:
	BIO_free(bio);  /* the memory BIO is cleared as it is freed */
	EVP_PKEY_free(pkey);
	return rc;
}

int dkim_keygen_write(const char *path, const char *pem, size_t len, uid_t uid, gid_t gid,
		      struct mx_err *err)
{
	size_t off = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return mx_err_set(err, "%s: %s", path, strerror(errno));
	if (fchmod(fd, 0600) < 0)
		goto fail;
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0)
		goto fail;
	while (off < len) {
		ssize_t w = write(fd, pem + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		off += (size_t)w;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	mx_err_set(err, "%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	(void)unlink(path);
	return -1;
}
