/* check_dkim_sign.c: unit tests of DKIM signing: the RFC 8463 Appendix A
 * example reproduced byte for byte (ed25519-sha256 and rsa-sha256, same
 * keys, message and timestamp as the RFC), key checks, DNS records, h=
 * selection with oversigning, and the header parser. */
#include "mxkit-config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "check_dkim_run.h"
#include "dkim_key.h"
#include "dkim_msgparse.h"
#include "dkim_sign.h"

/* RFC 8463 Appendix A.1: the Ed25519 private key is the seed
 * nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=, here in PKCS#8 form. */
static const char rfc_ed_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
	"-----END PRIVATE KEY-----\n";

/* RFC 8463 Appendix A.1: the RSA key of selector "test". */
static const char rfc_rsa_pem[] =
	"-----BEGIN RSA PRIVATE KEY-----\n"
	"MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi\n"
	"Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM\n"
	"KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\n"
	"AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm\n"
	"6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe\n"
	"zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy\n"
	"6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc\n"
	"uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy\n"
	"WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd\n"
	"WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a\n"
	"licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst\n"
	"o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe\n"
	"uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL\n"
	"-----END RSA PRIVATE KEY-----\n";

/* RFC 8463 Appendix A.2: the unsigned message. */
static const char rfc_msg[] =
	"From: Joe SixPack <joe@football.example.com>\r\n"
	"To: Suzie Q <suzie@shopping.example.net>\r\n"
	"Subject: Is dinner ready?\r\n"
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
	"\r\n"
	"Hi.\r\n"
	"\r\n"
	"We lost the game.  Are you hungry yet?\r\n"
	"\r\n"
	"Joe.\r\n";

/* RFC 8463 Appendix A.3: the two signature header fields. */
static const char rfc_sig_ed[] =
	"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
	" d=football.example.com; i=@football.example.com;\r\n"
	" q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
	" subject : date : message-id : from : subject : date;\r\n"
	" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
	" b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
	" Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==";
static const char rfc_sig_rsa[] =
	"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
	" d=football.example.com; i=@football.example.com;\r\n"
	" q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
	" date : message-id : from : subject : date;\r\n"
	" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
	" b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
	" DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
	" dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=";

/* RFC 8463 Appendix A.2: the DNS records. */
static const char rfc_dns_ed[] = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
static const char rfc_dns_rsa[] =
	"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhd"
	"R6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT"
	"5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";

static int add_field(void *arg, const char *name, size_t nlen, const char *value,
		     size_t vlen, struct mx_err *err)
{
	return dkim_msg_header(arg, name, nlen, value, vlen, err);
}

/* Sign rfc_msg with keys[0..n) in one message context (as a dual-signing
 * milter does); got[i] receives the whole field ("DKIM-Signature: ..."). */
static void sign_rfc_n(const struct dkim_key *const *keys, size_t n, size_t chunk, char **got)
{
	static const char *const h_names[] = {
		"from", "to", "subject", "date", "message-id", "from", "subject", "date",
	};
	struct dkim_hlist h = { .n = 8 };
	struct dkim_msg m;
	struct dkim_msg_opts o = { .t = 1528637909, .need_body = { false, true } };
	struct dkim_buf out;
	struct mx_err err;
	size_t body, off, i;

	memcpy(h.names, h_names, sizeof(h_names));
	ck_assert_int_eq(dkim_msg_init(&m, &err), 0);
	ck_assert_int_eq(dkim_msg_start(&m, &o, &err), 0);
	ck_assert_int_eq(dkim_parse_headers(rfc_msg, sizeof(rfc_msg) - 1, add_field, &m, &body, &err), 0);
	for (off = body; off < sizeof(rfc_msg) - 1; off += chunk) {
		size_t len = sizeof(rfc_msg) - 1 - off < chunk ? sizeof(rfc_msg) - 1 - off : chunk;
		ck_assert_int_eq(dkim_msg_body(&m, rfc_msg + off, len, &err), 0);
	}
	ck_assert_int_eq(dkim_msg_body_end(&m, &err), 0);
	dkim_buf_init(&out, 8192);
	for (i = 0; i < n; i++) {
		struct dkim_sig_spec spec = {
			.key = keys[i], .hc = DKIM_CANON_RELAXED, .bc = DKIM_CANON_RELAXED,
			.identity = "@football.example.com", .q_tag = true, .h_spaced = true,
			.width = 59, .h = &h,
		};
		dkim_buf_reset(&out);
		ck_assert_int_eq(dkim_buf_append_str(&out, "DKIM-Signature: ", &err), 0);
		ck_assert_msg(dkim_msg_sign(&m, &spec, &out, &err) == 0, "sign: %s", err.text);
		ck_assert_int_eq(dkim_buf_terminate(&out, &err), 0);
		got[i] = strdup(out.data);
	}
	dkim_buf_free(&out);
	dkim_msg_free(&m);
}

static char *sign_rfc(const struct dkim_key *key, size_t chunk)
{
	char *got;

	sign_rfc_n(&key, 1, chunk, &got);
	return got;
}

struct rfc_case {
	const char *pem;
	const char *selector;
	enum dkim_alg alg;
	int bits;
	const char *want;
};

static const struct rfc_case rfc_cases[] = {
	{ rfc_ed_pem, "brisbane", DKIM_ALG_ED25519_SHA256, 256, rfc_sig_ed },
	{ rfc_rsa_pem, "test", DKIM_ALG_RSA_SHA256, 1024, rfc_sig_rsa },
};
#define RFC_CHUNKS 8  /* body fed in chunks of 1..8 bytes */

START_TEST(test_rfc8463_signatures)
{
	const struct rfc_case *c = &rfc_cases[_i / RFC_CHUNKS];
	struct dkim_key key;
	struct mx_err err;
	char *got;

	ck_assert_msg(dkim_key_from_pem(&key, "football.example.com", c->selector, c->pem,
					strlen(c->pem), &err) == 0, "%s", err.text);
	ck_assert_int_eq(key.alg, c->alg);
	ck_assert_int_eq(key.bits, c->bits);
	ck_assert(key.weak == (c->alg == DKIM_ALG_RSA_SHA256));
	got = sign_rfc(&key, (size_t)(_i % RFC_CHUNKS) + 1);
	ck_assert_str_eq(got, c->want);
	free(got);
	dkim_key_free(&key);
}
END_TEST

/* Both signatures from one message context, in either order. */
START_TEST(test_rfc8463_dual_one_context)
{
	struct dkim_key ed, rsa;
	const struct dkim_key *order[2];
	struct mx_err err;
	char *got[2];

	ck_assert_int_eq(dkim_key_from_pem(&ed, "football.example.com", "brisbane", rfc_ed_pem,
					   sizeof(rfc_ed_pem) - 1, &err), 0);
	ck_assert_int_eq(dkim_key_from_pem(&rsa, "football.example.com", "test", rfc_rsa_pem,
					   sizeof(rfc_rsa_pem) - 1, &err), 0);
	order[0] = _i ? &ed : &rsa;
	order[1] = _i ? &rsa : &ed;
	sign_rfc_n(order, 2, 4096, got);
	ck_assert_str_eq(got[0], _i ? rfc_sig_ed : rfc_sig_rsa);
	ck_assert_str_eq(got[1], _i ? rfc_sig_rsa : rfc_sig_ed);
	free(got[0]);
	free(got[1]);
	dkim_key_free(&ed);
	dkim_key_free(&rsa);
}
END_TEST

START_TEST(test_rfc8463_dns_records)
{
	struct dkim_key ed, rsa;
	struct mx_err err;
	char rec[1024];

	ck_assert_int_eq(dkim_key_from_pem(&ed, "football.example.com", "brisbane", rfc_ed_pem,
					   sizeof(rfc_ed_pem) - 1, &err), 0);
	ck_assert_int_eq(dkim_key_from_pem(&rsa, "football.example.com", "test", rfc_rsa_pem,
					   sizeof(rfc_rsa_pem) - 1, &err), 0);
	ck_assert_int_eq(dkim_key_dns_record(&ed, rec, sizeof(rec), &err), 0);
	ck_assert_str_eq(rec, rfc_dns_ed);
	ck_assert_int_eq(dkim_key_dns_record(&rsa, rec, sizeof(rec), &err), 0);
	ck_assert_str_eq(rec, rfc_dns_rsa);
	ck_assert_int_eq(dkim_key_dns_record(&rsa, rec, 40, &err), -1);
	dkim_key_free(&ed);
	dkim_key_free(&rsa);
}
END_TEST

static char *pem_of_new_rsa(unsigned bits)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	BIO *bio = BIO_new(BIO_s_mem());
	char *p, *s;
	long n;

	ck_assert_ptr_nonnull(pk);
	ck_assert_int_eq(PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &p);
	s = strndup(p, (size_t)n);
	BIO_free(bio);
	EVP_PKEY_free(pk);
	return s;
}

START_TEST(test_key_checks)
{
	struct dkim_key key;
	struct mx_err err;
	char *pem = pem_of_new_rsa(768);

	ck_assert_int_eq(dkim_key_from_pem(&key, "example.org", "s1", pem, strlen(pem), &err), -1);
	ck_assert_msg(strstr(err.text, "768 bits refused") != NULL, "%s", err.text);
	free(pem);
	pem = pem_of_new_rsa(2048);
	ck_assert_int_eq(dkim_key_from_pem(&key, "example.org", "s1", pem, strlen(pem), &err), 0);
	ck_assert(!key.weak);
	ck_assert_int_eq(key.bits, 2048);
	dkim_key_free(&key);
	/* Bad names and garbage. */
	ck_assert_int_eq(dkim_key_from_pem(&key, "exa mple.org", "s1", pem, strlen(pem), &err), -1);
	ck_assert(strstr(err.text, "domain") != NULL);
	ck_assert_int_eq(dkim_key_from_pem(&key, "example.org", "s1;x", pem, strlen(pem), &err), -1);
	ck_assert(strstr(err.text, "selector") != NULL);
	ck_assert_int_eq(dkim_key_from_pem(&key, "example.org", "s1", "garbage", 7, &err), -1);
	ck_assert(strstr(err.text, "cannot parse private key") != NULL);
	free(pem);
}
END_TEST

START_TEST(test_key_file_permissions)
{
	char dir[] = "/tmp/check_dkim_XXXXXX", path[64];
	struct dkim_key key;
	struct mx_err err;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/k.pem", dir), (int)sizeof(path));
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(rfc_ed_pem, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(dkim_key_load_file(&key, "example.org", "s", path, true, geteuid(), &err), -1);
	ck_assert_msg(strstr(err.text, "group or others") != NULL, "%s", err.text);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_msg(dkim_key_load_file(&key, "example.org", "s", path, true, geteuid(), &err) == 0, "%s", err.text);
	dkim_key_free(&key);
	unlink(path);
	ck_assert_int_eq(dkim_key_load_file(&key, "example.org", "s", path, true, geteuid(), &err), -1);
	ck_assert(strstr(err.text, "cannot open") != NULL);
	rmdir(dir);
}
END_TEST

/* Default h=: signed names as often as present, oversigned ones once more. */
START_TEST(test_select_oversign)
{
	static const char msg[] =
		"Received: x\r\nFrom: a@example.org\r\nTo: b@example.net\r\nTo: c@example.net\r\n"
		"subject: hi\r\nX-Other: y\r\nMIME-Version: 1.0\r\n\r\n";
	struct dkim_msg m;
	struct dkim_msg_opts o = { .t = 1, .need_body = { false, true } };
	struct dkim_hlist h;
	struct mx_err err;
	size_t body, i;
	char joined[512] = "";

	ck_assert_int_eq(dkim_msg_init(&m, &err), 0);
	ck_assert_int_eq(dkim_msg_start(&m, &o, &err), 0);
	ck_assert_int_eq(dkim_parse_headers(msg, sizeof(msg) - 1, add_field, &m, &body, &err), 0);
	ck_assert_uint_eq(body, sizeof(msg) - 1);
	ck_assert_uint_eq(m.hs.count, 5);  /* Received and X-Other not kept */
	ck_assert_int_eq(dkim_headers_select(&m.hs, m.opts.sign, m.opts.nsign, m.opts.over,
					     m.opts.nover, &h, &err), 0);
	for (i = 0; i < h.n; i++) {
		strcat(joined, h.names[i]);
		strcat(joined, ":");
	}
	ck_assert_str_eq(joined, "From:Subject:To:To:MIME-Version:From:Subject:Date:To:Cc:Reply-To:");
	dkim_msg_free(&m);
}
END_TEST

/* Header data for h=to:to:to takes the To fields bottom-up, then nothing. */
START_TEST(test_canon_bottom_up)
{
	static const char msg[] = "To: first\r\nTo: second\r\n\r\n";
	struct dkim_msg m;
	struct dkim_msg_opts o = { .t = 1, .need_body = { false, true } };
	struct dkim_hlist h = { .n = 3, .names = { "to", "TO", "To" } };
	struct dkim_buf out;
	struct mx_err err;
	size_t body;

	ck_assert_int_eq(dkim_msg_init(&m, &err), 0);
	ck_assert_int_eq(dkim_msg_start(&m, &o, &err), 0);
	ck_assert_int_eq(dkim_parse_headers(msg, sizeof(msg) - 1, add_field, &m, &body, &err), 0);
	dkim_buf_init(&out, 1024);
	ck_assert_int_eq(dkim_headers_canon(&m.hs, &h, DKIM_CANON_RELAXED, &out, &err), 0);
	ck_assert_int_eq(dkim_buf_terminate(&out, &err), 0);
	ck_assert_str_eq(out.data, "to:second\r\nto:first\r\n");
	dkim_buf_free(&out);
	dkim_msg_free(&m);
}
END_TEST

struct parse_case {
	const char *in;
	int rc;
	size_t fields;
	const char *err;
};

static const struct parse_case parse_cases[] = {
	{ "A: 1\r\nB: 2\r\n\r\nbody", 0, 2, NULL },
	{ "A: 1\nB: 2\n  cont\n\nbody", 0, 2, NULL },
	{ "A: 1\r\n", 0, 1, NULL },
	{ "", 0, 0, NULL },
	{ " cont\r\n", -1, 0, "continuation" },
	{ "A: 1\r\nno colon\r\n\r\n", -1, 0, "line 2: no colon" },
	{ ": v\r\n", -1, 0, "empty field name" },
};

static int count_field(void *arg, const char *name, size_t nlen, const char *value,
		       size_t vlen, struct mx_err *err)
{
	(void)name; (void)nlen; (void)value; (void)vlen; (void)err;
	(*(size_t *)arg)++;
	return 0;
}

START_TEST(test_parse_table)
{
	const struct parse_case *c = &parse_cases[_i];
	size_t n = 0, body;
	struct mx_err err;

	ck_assert_int_eq(dkim_parse_headers(c->in, strlen(c->in), count_field, &n, &body, &err), c->rc);
	if (c->rc == 0)
		ck_assert_uint_eq(n, c->fields);
	else
		ck_assert_msg(strstr(err.text, c->err) != NULL, "%s", err.text);
}
END_TEST

static void add_tests(TCase *tc)
{
	/* Each key, body fed in chunks of 1..8 bytes: the signature must not change. */
	tcase_add_loop_test(tc, test_rfc8463_signatures, 0,
			    N_CASES(rfc_cases) * RFC_CHUNKS);
	tcase_add_loop_test(tc, test_rfc8463_dual_one_context, 0, 2);
	tcase_add_test(tc, test_rfc8463_dns_records);
	tcase_add_test(tc, test_key_checks);
	tcase_add_test(tc, test_key_file_permissions);
	tcase_add_test(tc, test_select_oversign);
	tcase_add_test(tc, test_canon_bottom_up);
	tcase_add_loop_test(tc, test_parse_table, 0, N_CASES(parse_cases));
}

int main(void)
{
	return dkim_check_run("dkim_sign", add_tests);
}
