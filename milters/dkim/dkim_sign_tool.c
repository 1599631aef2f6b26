/* dkim_sign_tool.c: mxkit-dkim-sign, a test and debugging tool that signs
 * a message file with the same core as the milter and prints the signed
 * message, or prints the DNS TXT record of each key.
 *
 *   mxkit-dkim-sign [-c HDR/BODY] [-t TIME] [-x SECONDS] [-w WIDTH]
 *                   -k DOMAIN:SELECTOR:KEYFILE [-k ...] [-r] [FILE]
 *
 * -r prints "SELECTOR._domainkey.DOMAIN TXT-VALUE" per key and exits.
 * The message (FILE or stdin) must use CRLF line ends; its body is fed
 * to the signer in 64 KiB chunks, as a milter would receive it. */
#include "mxkit-config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dkim_msgparse.h"
#include "dkim_sign.h"
#include "mx_log.h"

#define TOOL_KEYS_MAX 4
#define TOOL_CHUNK 65536
#define TOOL_MSG_MAX ((size_t)256 * 1024 * 1024)

static void usage(void)
{
	fprintf(stderr, "usage: mxkit-dkim-sign [-c HDR/BODY] [-t TIME] [-x SECONDS] [-w WIDTH]\n"
			"                       -k DOMAIN:SELECTOR:KEYFILE [-k ...] [-r] [FILE]\n");
	exit(2);
}

static int read_all(FILE *f, char **buf_r, size_t *len_r)
{
	size_t cap = 1 << 16, len = 0, n;
	char *buf = malloc(cap), *p;

	if (buf == NULL)
		return -1;
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			if (cap >= TOOL_MSG_MAX) {
				free(buf);
				errno = EFBIG;
				return -1;
			}
			p = realloc(buf, cap * 2);
			if (p == NULL) {
				free(buf);
				return -1;
			}
			buf = p;
			cap *= 2;
		}
	}
	if (ferror(f)) {
		free(buf);
		return -1;
	}
	*buf_r = buf;
	*len_r = len;
	return 0;
}

static int add_field(void *arg, const char *name, size_t nlen, const char *value,
		     size_t vlen, struct mx_err *err)
{
	return dkim_msg_header(arg, name, nlen, value, vlen, err);
}

static int parse_key_arg(char *arg, struct dkim_key *key, struct mx_err *err)
{
	char *sel = strchr(arg, ':'), *path;

	if (sel == NULL || (path = strchr(sel + 1, ':')) == NULL)
		return mx_err_set(err, "-k wants DOMAIN:SELECTOR:KEYFILE");
	*sel++ = '\0';
	*path++ = '\0';
	return dkim_key_load_file(key, arg, sel, path, true, geteuid(), err);
}

int main(int argc, char **argv)
{
	struct dkim_key keys[TOOL_KEYS_MAX];
	size_t nkeys = 0, i, body, off;
	struct dkim_msg_opts o = { .t = (long long)time(NULL) };
	enum dkim_canon hc = DKIM_CANON_RELAXED, bc = DKIM_CANON_RELAXED;
	size_t width = DKIM_WIDTH_DEFAULT;
	bool records = false;
	struct dkim_msg m;
	struct dkim_buf out;
	struct mx_err err;
	char *msg, *slash, *end;
	size_t len;
	FILE *in = stdin;
	int c, rc = 1;

	if (mx_log_open("mxkit-dkim-sign", MX_LOG_STDERR, NULL, &err) < 0)
		return 1;
	while ((c = getopt(argc, argv, "c:k:rt:w:x:")) != -1) {
		switch (c) {
		case 'c':
			slash = strchr(optarg, '/');
			if (slash != NULL)
				*slash++ = '\0';
			if (dkim_canon_parse(optarg, &hc) < 0 ||
			    dkim_canon_parse(slash ? slash : "simple", &bc) < 0)
				usage();
			break;
		case 'k':
			if (nkeys == TOOL_KEYS_MAX) {
				fprintf(stderr, "mxkit-dkim-sign: at most %d keys\n", TOOL_KEYS_MAX);
				return 2;
			}
			if (parse_key_arg(optarg, &keys[nkeys], &err) < 0) {
				fprintf(stderr, "mxkit-dkim-sign: %s\n", err.text);
				return 1;
			}
			if (keys[nkeys].weak)
				fprintf(stderr, "mxkit-dkim-sign: warning: %s: RSA key of %d bits, use at least %d\n",
					keys[nkeys].selector, keys[nkeys].bits, DKIM_RSA_WARN_BITS);
			nkeys++;
			break;
		case 'r':
			records = true;
			break;
		case 't':
			o.t = strtoll(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || o.t < 0)
				usage();
			break;
		case 'w':
			width = strtoul(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0')
				usage();
			break;
		case 'x':
			o.expire = (unsigned)strtoul(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0')
				usage();
			break;
		default:
			usage();
		}
	}
	if (nkeys == 0 || argc - optind > 1)
		usage();
	if (records) {
		char rec[2048];
		for (i = 0; i < nkeys; i++) {
			if (dkim_key_dns_record(&keys[i], rec, sizeof(rec), &err) < 0) {
				fprintf(stderr, "mxkit-dkim-sign: %s\n", err.text);
				goto keys_out;
			}
			printf("%s._domainkey.%s %s\n", keys[i].selector, keys[i].domain, rec);
		}
		rc = 0;
		goto keys_out;
	}
	if (optind < argc && (in = fopen(argv[optind], "rb")) == NULL) {
		fprintf(stderr, "mxkit-dkim-sign: %s: %s\n", argv[optind], strerror(errno));
		goto keys_out;
	}
	if (read_all(in, &msg, &len) < 0) {
		fprintf(stderr, "mxkit-dkim-sign: read error: %s\n", strerror(errno));
		goto keys_out;
	}
	o.need_body[bc] = true;
	dkim_buf_init(&out, 1 << 20);
	if (dkim_msg_init(&m, &err) < 0 || dkim_msg_start(&m, &o, &err) < 0 ||
	    dkim_parse_headers(msg, len, add_field, &m, &body, &err) < 0)
		goto fail;
	for (off = body; off < len; off += TOOL_CHUNK)
		if (dkim_msg_body(&m, msg + off, len - off < TOOL_CHUNK ? len - off : TOOL_CHUNK, &err) < 0)
			goto fail;
	if (dkim_msg_body_end(&m, &err) < 0)
		goto fail;
	for (i = 0; i < nkeys; i++) {
		struct dkim_sig_spec spec = { .key = &keys[i], .hc = hc, .bc = bc, .width = width };
		if (dkim_buf_append_str(&out, DKIM_SIG_FIELD ": ", &err) < 0 ||
		    dkim_msg_sign(&m, &spec, &out, &err) < 0 ||
		    dkim_buf_append(&out, "\r\n", 2, &err) < 0)
			goto fail;
	}
	if (fwrite(out.data, 1, out.len, stdout) != out.len || fwrite(msg, 1, len, stdout) != len ||
	    fflush(stdout) != 0) {
		fprintf(stderr, "mxkit-dkim-sign: write error: %s\n", strerror(errno));
	} else {
		rc = 0;
	}
	goto done;
fail:
	fprintf(stderr, "mxkit-dkim-sign: %s\n", err.text);
done:
	dkim_msg_free(&m);
	dkim_buf_free(&out);
	free(msg);
	if (in != stdin)
		fclose(in);
keys_out:
	for (i = 0; i < nkeys; i++)
		dkim_key_free(&keys[i]);
	return rc;
}
