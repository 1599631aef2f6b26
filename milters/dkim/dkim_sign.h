/* dkim_sign.h: signing one message with one or more DKIM keys.
 *
 * A struct dkim_msg lives as long as a connection and is reset between
 * messages, so its buffers and hash contexts are allocated once. Header
 * fields are added as they arrive (only signable ones are kept), the
 * body is canonicalized and hashed as it streams in (one hash per body
 * canonicalization in use), and dkim_msg_sign() then makes each
 * DKIM-Signature field: one EVP_DigestSignInit per signature, over the
 * canonical header data (RSA: RSASSA-PKCS1-v1_5 with SHA-256; Ed25519:
 * PureEdDSA over the SHA-256 of that data, RFC 8463). */
#ifndef DKIM_SIGN_H
#define DKIM_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "dkim_buf.h"
#include "dkim_canon.h"
#include "dkim_headers.h"
#include "dkim_key.h"
#include "dkim_sighdr.h"

/* How one signature is made. */
struct dkim_sig_spec {
	const struct dkim_key *key;
	enum dkim_canon hc, bc;
	const char *identity;            /* i=, or NULL */
	bool q_tag;                      /* q=dns/txt */
	bool h_spaced;                   /* "a : b" in h= */
	size_t width;                    /* fold width, 0 = DKIM_WIDTH_DEFAULT */
	const struct dkim_hlist *h;      /* fixed h= list, or NULL for the default choice */
};

/* What every signature of a message shares. */
struct dkim_msg_opts {
	const char *const *sign;         /* names to sign (NULL = the defaults) */
	size_t nsign;
	const char *const *over;         /* names to oversign (NULL = the defaults) */
	size_t nover;
	long long t;                     /* t= */
	unsigned expire;                 /* x = t + expire; 0 = no x= */
	const char *eol;                 /* "\r\n" (default when NULL) or "\n" */
	bool need_body[2];               /* body hashes wanted, by enum dkim_canon */
};

struct dkim_msg {
	struct dkim_msg_opts opts;
	struct dkim_headers hs;
	struct {
		EVP_MD_CTX *md;
		struct dkim_body_canon canon;
		unsigned char digest[32];
		bool done;
	} body[2];
	EVP_MD_CTX *sign_md;
	struct dkim_buf data;            /* canonical header data, scratch */
	struct dkim_buf sigval;          /* the DKIM-Signature value being signed */
	struct dkim_hlist hsel;
};

/* Fetch SHA-256 once for the process (thread-safe). NULL on failure. */
const EVP_MD *dkim_sha256(void);

int dkim_msg_init(struct dkim_msg *m, struct mx_err *err);
void dkim_msg_free(struct dkim_msg *m);
/* Start a message (opts is copied; its arrays must outlive the message). */
int dkim_msg_start(struct dkim_msg *m, const struct dkim_msg_opts *opts, struct mx_err *err);

/* One header field: name without colon, raw value after the colon. */
int dkim_msg_header(struct dkim_msg *m, const char *name, size_t nlen,
		    const char *value, size_t vlen, struct mx_err *err);
/* Next body chunk, and end of body. */
int dkim_msg_body(struct dkim_msg *m, const void *p, size_t n, struct mx_err *err);
int dkim_msg_body_end(struct dkim_msg *m, struct mx_err *err);

/* Append the value of a DKIM-Signature field (no name, no leading space,
 * folded with opts.eol) for spec to out. After dkim_msg_body_end(). */
int dkim_msg_sign(struct dkim_msg *m, const struct dkim_sig_spec *spec,
		  struct dkim_buf *out, struct mx_err *err);

/* Sign data with key as DKIM requires (see above); sig receives at most
 * DKIM_SIG_MAX bytes. Exposed for tests and benchmarks. */
#define DKIM_SIG_MAX 1024
int dkim_sign_data(EVP_MD_CTX *md, const struct dkim_key *key,
		   const unsigned char *data, size_t len,
		   unsigned char *sig, size_t *siglen, struct mx_err *err);

#endif
