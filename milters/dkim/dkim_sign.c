/* dkim_sign.c: per-message DKIM signing (see dkim_sign.h). */
#include "mxkit-config.h"

#include <pthread.h>
#include <string.h>

#include <openssl/err.h>

#include "dkim_b64.h"
#include "dkim_sign.h"

static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;  /* written once under sha256_once, then read-only */

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *dkim_sha256(void)
{
	(void)pthread_once(&sha256_once, sha256_fetch);
	return sha256_md;
}

static int ssl_fail(struct mx_err *err, const char *what)
{
	char why[256];
	unsigned long e = ERR_peek_last_error();

	if (e != 0)
		ERR_error_string_n(e, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "unknown error");
	ERR_clear_error();
	return mx_err_set(err, "%s: %s", what, why);
}

int dkim_msg_init(struct dkim_msg *m, struct mx_err *err)
{
	int i;

	memset(m, 0, sizeof(*m));
	dkim_headers_init(&m->hs);
	dkim_buf_init(&m->data, DKIM_HEADER_BYTES_MAX + 65536);
	dkim_buf_init(&m->sigval, 65536);
	for (i = 0; i < 2; i++) {
		m->body[i].md = EVP_MD_CTX_new();
		if (m->body[i].md == NULL)
			goto oom;
	}
	m->sign_md = EVP_MD_CTX_new();
	if (m->sign_md == NULL)
		goto oom;
	if (dkim_sha256() == NULL) {
		dkim_msg_free(m);
		return ssl_fail(err, "cannot fetch SHA-256");
	}
	return 0;
oom:
	dkim_msg_free(m);
	return mx_err_set(err, "out of memory");
}

void dkim_msg_free(struct dkim_msg *m)
{
	int i;

	dkim_headers_free(&m->hs);
	dkim_buf_free(&m->data);
	dkim_buf_free(&m->sigval);
	for (i = 0; i < 2; i++) {
		EVP_MD_CTX_free(m->body[i].md);
		m->body[i].md = NULL;
	}
	EVP_MD_CTX_free(m->sign_md);
	m->sign_md = NULL;
}

static int body_sink(void *arg, const unsigned char *p, size_t n, struct mx_err *err)
{
	if (EVP_DigestUpdate(arg, p, n) != 1)
		return ssl_fail(err, "body hash");
	return 0;
}

int dkim_msg_start(struct dkim_msg *m, const struct dkim_msg_opts *opts, struct mx_err *err)
{
	int i;

	m->opts = *opts;
	if (m->opts.sign == NULL) {
		m->opts.sign = dkim_default_signed;
		m->opts.nsign = dkim_default_signed_count;
	}
	if (m->opts.over == NULL) {
		m->opts.over = dkim_default_oversigned;
		m->opts.nover = dkim_default_oversigned_count;
	}
	if (m->opts.eol == NULL)
		m->opts.eol = "\r\n";
	dkim_headers_reset(&m->hs);
	for (i = 0; i < 2; i++) {
		m->body[i].done = false;
		if (!m->opts.need_body[i])
			continue;
		if (EVP_DigestInit_ex2(m->body[i].md, dkim_sha256(), NULL) != 1)
			return ssl_fail(err, "body hash init");
		dkim_body_canon_init(&m->body[i].canon, (enum dkim_canon)i, body_sink, m->body[i].md);
	}
	return 0;
}

int dkim_msg_header(struct dkim_msg *m, const char *name, size_t nlen,
		    const char *value, size_t vlen, struct mx_err *err)
{
	if (!dkim_name_in(name, nlen, m->opts.sign, m->opts.nsign) &&
	    !dkim_name_in(name, nlen, m->opts.over, m->opts.nover))
		return 0;
	return dkim_headers_add(&m->hs, name, nlen, value, vlen, err);
}

int dkim_msg_body(struct dkim_msg *m, const void *p, size_t n, struct mx_err *err)
{
	int i;

	for (i = 0; i < 2; i++)
		if (m->opts.need_body[i] &&
		    dkim_body_canon_update(&m->body[i].canon, p, n, err) < 0)
			return -1;
	return 0;
}

int dkim_msg_body_end(struct dkim_msg *m, struct mx_err *err)
{
	unsigned int len;
	int i;

	for (i = 0; i < 2; i++) {
		if (!m->opts.need_body[i])
			continue;
		if (dkim_body_canon_final(&m->body[i].canon, err) < 0)
			return -1;
		len = sizeof(m->body[i].digest);
		if (EVP_DigestFinal_ex(m->body[i].md, m->body[i].digest, &len) != 1 || len != 32)
			return ssl_fail(err, "body hash final");
		m->body[i].done = true;
	}
	return 0;
}

int dkim_sign_data(EVP_MD_CTX *md, const struct dkim_key *key,
		   const unsigned char *data, size_t len,
		   unsigned char *sig, size_t *siglen, struct mx_err *err)
{
	unsigned char hash[32];
	unsigned int hlen = sizeof(hash);
	size_t max = DKIM_SIG_MAX;

	/* The context may have signed with another key type before. */
	if (EVP_MD_CTX_reset(md) != 1)
		return ssl_fail(err, "sign context reset");
	if (key->alg == DKIM_ALG_ED25519_SHA256) {
		/* RFC 8463: Ed25519 (pure) signs the SHA-256 of the data. */
		if (EVP_Digest(data, len, hash, &hlen, dkim_sha256(), NULL) != 1)
			return ssl_fail(err, "header hash");
		if (EVP_DigestSignInit_ex(md, NULL, NULL, NULL, NULL, key->pkey, NULL) != 1)
			return ssl_fail(err, "Ed25519 sign init");
		if (EVP_DigestSign(md, NULL, &max, hash, hlen) != 1 || max > DKIM_SIG_MAX)
			return ssl_fail(err, "Ed25519 signature size");
		if (EVP_DigestSign(md, sig, &max, hash, hlen) != 1)
			return ssl_fail(err, "Ed25519 sign");
	} else {
		if (EVP_DigestSignInit(md, NULL, dkim_sha256(), NULL, key->pkey) != 1)
			return ssl_fail(err, "RSA sign init");
		if (EVP_DigestSign(md, NULL, &max, data, len) != 1 || max > DKIM_SIG_MAX)
			return ssl_fail(err, "RSA signature size");
		if (EVP_DigestSign(md, sig, &max, data, len) != 1)
			return ssl_fail(err, "RSA sign");
	}
	*siglen = max;
	return 0;
}

int dkim_msg_sign(struct dkim_msg *m, const struct dkim_sig_spec *spec,
		  struct dkim_buf *out, struct mx_err *err)
{
	char bh[DKIM_B64_SIZE(32)], b64[DKIM_B64_SIZE(DKIM_SIG_MAX)];
	unsigned char sig[DKIM_SIG_MAX];
	size_t siglen, start = out->len, col;
	struct dkim_sighdr p;
	const struct dkim_hlist *h = spec->h;

	if (!m->body[spec->bc].done)
		return mx_err_set(err, "no %s body hash for this message", dkim_canon_name(spec->bc));
	if (h == NULL) {
		if (dkim_headers_select(&m->hs, m->opts.sign, m->opts.nsign,
					m->opts.over, m->opts.nover, &m->hsel, err) < 0)
			return -1;
		h = &m->hsel;
	}
	if (dkim_b64_encode(m->body[spec->bc].digest, 32, bh, sizeof(bh), err) < 0)
		return -1;
	memset(&p, 0, sizeof(p));
	p.alg = spec->key->alg;
	p.hc = spec->hc;
	p.bc = spec->bc;
	p.domain = spec->key->domain;
	p.selector = spec->key->selector;
	p.identity = spec->identity;
	p.q_tag = spec->q_tag;
	p.t = m->opts.t;
	p.x = m->opts.expire ? m->opts.t + (long long)m->opts.expire : 0;
	p.h = h;
	p.h_spaced = spec->h_spaced;
	p.bh = bh;
	p.width = spec->width ? spec->width : DKIM_WIDTH_DEFAULT;
	p.eol = m->opts.eol;
	if (dkim_sighdr_begin(&p, out, &col, err) < 0)
		goto fail;
	/* Signed data: the chosen fields, then this field with b= empty,
	 * canonicalized, without its final CRLF (RFC 6376 section 3.7). The
	 * field's value is taken as the MTA writes it: a space, then the text. */
	dkim_buf_reset(&m->data);
	dkim_buf_reset(&m->sigval);
	if (dkim_headers_canon(&m->hs, h, spec->hc, &m->data, err) < 0 ||
	    dkim_buf_append(&m->sigval, " ", 1, err) < 0 ||
	    dkim_buf_append(&m->sigval, out->data + start, out->len - start, err) < 0 ||
	    dkim_canon_header(spec->hc, DKIM_SIG_FIELD, sizeof(DKIM_SIG_FIELD) - 1,
			      m->sigval.data, m->sigval.len, false, &m->data, err) < 0)
		goto fail;
	if (dkim_sign_data(m->sign_md, spec->key, (const unsigned char *)m->data.data,
			   m->data.len, sig, &siglen, err) < 0)
		goto fail;
	if (dkim_b64_encode(sig, siglen, b64, sizeof(b64), err) < 0 ||
	    dkim_sighdr_finish(&p, b64, col, out, err) < 0)
		goto fail;
	return 0;
fail:
	out->len = start;
	return -1;
}
