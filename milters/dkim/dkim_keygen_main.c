/* dkim_keygen_main.c: mxkit-dkim-keygen, DKIM key rotation in three commands.
 *
 *   mxkit-dkim-keygen [-c FILE] new DOMAIN [--algorithm rsa|ed25519] [--selector S] [--bits N]
 *   mxkit-dkim-keygen [-c FILE] activate DOMAIN SELECTOR [--resolver HOST[:PORT]]
 *   mxkit-dkim-keygen [-c FILE] retire DOMAIN SELECTOR
 *   mxkit-dkim-keygen [-c FILE] list
 *
 * `new` makes a key (RSA-2048 by default, or Ed25519), writes it to
 * dkim.key_dir as DOMAIN.SELECTOR.pem, mode 0600, owned by dkim.user,
 * registers it inactive in table dkim_keys and prints the DNS TXT record
 * to publish, split into strings of at most 255 bytes. `activate` looks
 * the record up (dkim.resolver or --resolver) and marks the key active
 * only when the published record matches it; mxkit-dkim then signs with
 * it from its next refresh or SIGUSR1. `retire` marks a key inactive.
 *
 * Exit status: 0 done, 1 refused or failed, 2 usage, 75 temporary
 * failure (database or DNS unreachable: try again). */
#include "mxkit-config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libconfig.h>

#include "dkim_config.h"
#include "dkim_dnscheck.h"
#include "dkim_keygen_key.h"
#include "mx_config.h"
#include "mx_daemon.h"
#include "mx_db.h"
#include "mx_log.h"

#define PROGRAM "mxkit-dkim-keygen"
#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_TEMP 75
#define TXT_STRING_MAX 255

struct opts {
	const char *config;
	const char *algorithm;
	const char *selector;
	const char *resolver;
	int bits;
};

struct tool {
	struct dkim_config *cfg;
	struct mx_db_pool *pool;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: " PROGRAM " [-c FILE] new DOMAIN [--algorithm rsa|ed25519] [--selector S] [--bits N]\n"
		"       " PROGRAM " [-c FILE] activate DOMAIN SELECTOR [--resolver HOST[:PORT]]\n"
		"       " PROGRAM " [-c FILE] retire DOMAIN SELECTOR\n"
		"       " PROGRAM " [-c FILE] list\n");
	exit(EXIT_USAGE);
}

static int fail(int code, const char *what, const struct mx_err *err)
{
	fprintf(stderr, PROGRAM ": %s%s%s\n", what, err ? ": " : "", err ? err->text : "");
	return code;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s + ('a' - 'A'));
}

/* Print NAME IN TXT "..." "..." with strings of at most 255 bytes. */
static void print_record(const char *selector, const char *domain, const char *record)
{
	size_t len = strlen(record), off;

	printf("%s._domainkey.%s. IN TXT", selector, domain);
	for (off = 0; off < len; off += TXT_STRING_MAX) {
		size_t n = len - off < TXT_STRING_MAX ? len - off : TXT_STRING_MAX;
		printf(" \"%.*s\"", (int)n, record + off);
	}
	printf("\n");
}

/* Row callbacks: copy the first row's columns. */
struct key_row {
	bool found;
	bool active;
	char algorithm[32];
	char *path, *pem;
};

static int key_row_fn(void *arg, unsigned ncols, const char *const *v, const unsigned long *len,
		      struct mx_err *err)
{
	struct key_row *r = arg;

	(void)len;
	if (ncols != 4 || v[0] == NULL || v[1] == NULL)
		return mx_err_set(err, "table dkim_keys: unexpected result shape");
	r->found = true;
	r->active = strcmp(v[0], "1") == 0;
	snprintf(r->algorithm, sizeof(r->algorithm), "%s", v[1]);
	if ((v[2] != NULL && (r->path = strdup(v[2])) == NULL) ||
	    (v[3] != NULL && (r->pem = strdup(v[3])) == NULL))
		return mx_err_set(err, "out of memory");
	return 0;
}

static enum mx_result key_lookup(struct tool *t, const char *domain, const char *selector,
				 struct key_row *row, struct mx_err *err)
{
	static const char sql[] = "SELECT active, algorithm, key_path, key_pem FROM dkim_keys"
				  " WHERE domain = ? AND selector = ?";
	const char *params[] = { domain, selector };

	memset(row, 0, sizeof(*row));
	return mx_db_exec(t->pool, sql, params, 2, key_row_fn, row, MX_DB_RETRY, NULL, err);
}

static uid_t key_owner(const struct dkim_config *cfg)
{
	return cfg->daemon.has_user ? cfg->daemon.uid : geteuid();
}

static int cmd_new(struct tool *t, const char *domain, const struct opts *o)
{
	static const char sql[] = "INSERT INTO dkim_keys (domain, selector, algorithm, key_path, active)"
				  " VALUES (?, ?, ?, ?, 0)";
	enum dkim_alg alg;
	char selector[DKIM_SELECTOR_MAX + 1], path[DKIM_PATH_MAX], record[DKIM_DNS_TXT_MAX];
	char *pem = NULL;
	size_t pem_len;
	struct dkim_key key = { 0 };
	struct key_row row;
	struct mx_err err;
	enum mx_result r;
	int n, rc = EXIT_REFUSED;

	if (o->algorithm == NULL || strcmp(o->algorithm, "rsa") == 0)
		alg = DKIM_ALG_RSA_SHA256;
	else if (strcmp(o->algorithm, "ed25519") == 0)
		alg = DKIM_ALG_ED25519_SHA256;
	else
		usage();
	if (o->selector != NULL) {
		n = snprintf(selector, sizeof(selector), "%s", o->selector);
	} else {
		time_t now = time(NULL);
		struct tm tm;
		char day[16];
		gmtime_r(&now, &tm);
		strftime(day, sizeof(day), "%Y%m%d", &tm);
		n = snprintf(selector, sizeof(selector), "%s%s", alg == DKIM_ALG_RSA_SHA256 ? "r" : "e", day);
	}
	if (n < 0 || (size_t)n >= sizeof(selector))
		return fail(EXIT_REFUSED, "selector longer than 63 characters", NULL);
	lower(selector);
	if (alg == DKIM_ALG_RSA_SHA256 && o->bits != 0 && o->bits < DKIM_RSA_WARN_BITS &&
	    o->bits >= DKIM_RSA_MIN_BITS)
		fprintf(stderr, PROGRAM ": warning: an RSA key of %d bits; receivers may treat it as weak,"
			" use %d\n", o->bits, DKIM_RSA_WARN_BITS);
	if (dkim_keygen_pem(alg, o->bits ? o->bits : DKIM_RSA_WARN_BITS, &pem, &pem_len, &err) < 0)
		return fail(EXIT_REFUSED, "cannot make the key", &err);
	/* Parsing it back checks domain and selector syntax too. */
	if (dkim_key_from_pem(&key, domain, selector, pem, pem_len, &err) < 0) {
		rc = fail(EXIT_REFUSED, "refused", &err);
		goto out;
	}
	r = key_lookup(t, domain, selector, &row, &err);
	free(row.path);
	free(row.pem);
	if (r == MX_TEMP) {
		rc = fail(EXIT_TEMP, "database", &err);
		goto out;
	}
	if (row.found) {
		fprintf(stderr, PROGRAM ": %s._domainkey.%s already exists; choose another --selector\n",
			selector, domain);
		goto out;
	}
	n = snprintf(path, sizeof(path), "%s/%s.%s.pem", t->cfg->key_dir, domain, selector);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		rc = fail(EXIT_REFUSED, "key path too long", NULL);
		goto out;
	}
	if (dkim_key_dns_record(&key, record, sizeof(record), &err) < 0 ||
	    dkim_keygen_write(path, pem, pem_len, geteuid() == 0 ? key_owner(t->cfg) : (uid_t)-1,
			      geteuid() == 0 && t->cfg->daemon.has_user ? t->cfg->daemon.gid : (gid_t)-1,
			      &err) < 0) {
		rc = fail(EXIT_REFUSED, "cannot write the key", &err);
		goto out;
	}
	{
		const char *params[] = { domain, selector, dkim_alg_name(alg), path };
		if (mx_db_exec(t->pool, sql, params, 4, NULL, NULL, 0, NULL, &err) == MX_TEMP) {
			(void)unlink(path);
			rc = fail(EXIT_TEMP, "cannot register the key (file removed)", &err);
			goto out;
		}
	}
	printf("created %s (%s), registered inactive\n", path, dkim_alg_name(alg));
	printf("publish this record, then run: " PROGRAM " activate %s %s\n", domain, selector);
	print_record(selector, domain, record);
	rc = 0;
out:
	dkim_key_free(&key);
	if (pem != NULL) {
		OPENSSL_cleanse(pem, pem_len);
		free(pem);
	}
	return rc;
}

static int cmd_activate(struct tool *t, const char *domain, const char *selector,
			const struct opts *o)
{
	static const char sql[] = "UPDATE dkim_keys SET active = 1, activated_at = NOW(), retired_at = NULL"
				  " WHERE domain = ? AND selector = ?";
	const char *params[] = { domain, selector };
	struct dkim_key key = { 0 };
	struct key_row row;
	struct mx_err err;
	enum mx_result r;
	int rc = EXIT_REFUSED;

	r = key_lookup(t, domain, selector, &row, &err);
	if (r == MX_TEMP) {
		rc = fail(EXIT_TEMP, "database", &err);
		goto out;
	}
	if (!row.found) {
		fprintf(stderr, PROGRAM ": no key %s._domainkey.%s in table dkim_keys\n", selector, domain);
		goto out;
	}
	if (row.path != NULL ? dkim_key_load_file(&key, domain, selector, row.path, true,
						  key_owner(t->cfg), &err) < 0
			     : dkim_key_from_pem(&key, domain, selector, row.pem, strlen(row.pem), &err) < 0) {
		rc = fail(EXIT_REFUSED, "the key cannot be used", &err);
		goto out;
	}
	if (strcmp(dkim_alg_name(key.alg), row.algorithm) != 0) {
		fprintf(stderr, PROGRAM ": the table says %s but the key is %s\n", row.algorithm,
			dkim_alg_name(key.alg));
		goto out;
	}
	r = dkim_dnscheck(&key, o->resolver ? o->resolver : t->cfg->resolver, &err);
	if (r != MX_FOUND) {
		rc = fail(r == MX_TEMP ? EXIT_TEMP : EXIT_REFUSED, "not activated", &err);
		goto out;
	}
	if (row.active) {
		printf("%s._domainkey.%s is already active; its DNS record matches\n", selector, domain);
		rc = 0;
		goto out;
	}
	if (mx_db_exec(t->pool, sql, params, 2, NULL, NULL, 0, NULL, &err) == MX_TEMP) {
		rc = fail(EXIT_TEMP, "database", &err);
		goto out;
	}
	printf("activated %s._domainkey.%s: its DNS record matches; mxkit-dkim signs with it"
	       " from its next refresh (dkim.refresh_interval) or SIGUSR1\n", selector, domain);
	rc = 0;
out:
	dkim_key_free(&key);
	free(row.path);
	free(row.pem);
	return rc;
}

static int count_row(void *arg, unsigned ncols, const char *const *v, const unsigned long *len,
		     struct mx_err *err)
{
	(void)ncols;
	(void)len;
	(void)err;
	*(long *)arg = v[0] != NULL ? strtol(v[0], NULL, 10) : 0;
	return 0;
}

static int cmd_retire(struct tool *t, const char *domain, const char *selector)
{
	static const char sql[] = "UPDATE dkim_keys SET active = 0, retired_at = NOW()"
				  " WHERE domain = ? AND selector = ? AND active = 1";
	static const char left_sql[] = "SELECT COUNT(*) FROM dkim_keys WHERE domain = ? AND active = 1";
	const char *params[] = { domain, selector };
	unsigned long long changed = 0;
	struct key_row row;
	struct mx_err err;
	long left = 0;

	if (key_lookup(t, domain, selector, &row, &err) == MX_TEMP)
		return fail(EXIT_TEMP, "database", &err);
	free(row.path);
	free(row.pem);
	if (!row.found) {
		fprintf(stderr, PROGRAM ": no key %s._domainkey.%s in table dkim_keys\n", selector, domain);
		return EXIT_REFUSED;
	}
	if (mx_db_exec(t->pool, sql, params, 2, NULL, NULL, 0, &changed, &err) == MX_TEMP ||
	    mx_db_exec(t->pool, left_sql, params, 1, count_row, &left, MX_DB_RETRY, NULL, &err) == MX_TEMP)
		return fail(EXIT_TEMP, "database", &err);
	if (changed == 0)
		printf("%s._domainkey.%s was not active\n", selector, domain);
	else
		printf("retired %s._domainkey.%s; keep its DNS record published for a few days,"
		       " so that mail already sent still verifies\n", selector, domain);
	if (left == 0)
		fprintf(stderr, PROGRAM ": warning: %s has no active key left in table dkim_keys\n", domain);
	return 0;
}

static int list_row(void *arg, unsigned ncols, const char *const *v, const unsigned long *len,
		    struct mx_err *err)
{
	char safe[6][MX_LOG_SAFE_MAX];
	unsigned i;

	(void)arg;
	(void)err;
	for (i = 0; i < 6 && i < ncols; i++)
		mx_log_safe(safe[i], sizeof(safe[i]), v[i] ? v[i] : "-", v[i] ? len[i] : 1);
	printf("%-30s %-16s %-15s %-8s %-20s %s\n", safe[0], safe[1], safe[2],
	       strcmp(safe[3], "1") == 0 ? "active" : "inactive", safe[4], safe[5]);
	return 0;
}

static int cmd_list(struct tool *t)
{
	static const char sql[] = "SELECT domain, selector, algorithm, active,"
				  " IFNULL(activated_at, '-'), IFNULL(retired_at, '-')"
				  " FROM dkim_keys ORDER BY domain, created_at, id";
	struct mx_err err;

	printf("%-30s %-16s %-15s %-8s %-20s %s\n", "DOMAIN", "SELECTOR", "ALGORITHM", "STATE",
	       "ACTIVATED", "RETIRED");
	if (mx_db_exec(t->pool, sql, NULL, 0, list_row, NULL, MX_DB_RETRY, NULL, &err) == MX_TEMP)
		return fail(EXIT_TEMP, "database", &err);
	return 0;
}

static int load(struct tool *t, const char *path, struct mx_err *err)
{
	struct mx_db_config db;
	config_t lc;
	int rc;

	t->cfg = malloc(sizeof(*t->cfg));
	if (t->cfg == NULL)
		return mx_err_set(err, "out of memory");
	if (dkim_config_load(path, false, t->cfg, err) < 0) {
		free(t->cfg);
		t->cfg = NULL;
		return -1;
	}
	config_init(&lc);
	rc = mx_config_load(&lc, path, err) < 0 || mx_db_config_parse(&lc, &db, err) < 0 ? -1 : 0;
	config_destroy(&lc);
	if (rc == 0 && (t->pool = mx_db_pool_new(&db, err)) == NULL)
		rc = -1;
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "algorithm", required_argument, NULL, 'a' },
		{ "selector", required_argument, NULL, 's' },
		{ "resolver", required_argument, NULL, 'r' },
		{ "bits", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .config = "/etc/mxkit/mxkit.conf" };
	struct tool t = { 0 };
	struct mx_err err;
	char domain[DKIM_DOMAIN_MAX + 1];
	const char *cmd;
	char *end;
	int c, rc;

	if (mx_log_open(PROGRAM, MX_LOG_STDERR, NULL, &err) < 0)
		return EXIT_REFUSED;
	while ((c = getopt_long(argc, argv, "c:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o.config = optarg; break;
		case 'a': o.algorithm = optarg; break;
		case 's': o.selector = optarg; break;
		case 'r': o.resolver = optarg; break;
		case 'b':
			o.bits = (int)strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || o.bits <= 0)
				usage();
			break;
		case 'V':
			mx_daemon_print_version(PROGRAM);
			return 0;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	cmd = argv[optind];
	if (strcmp(cmd, "list") == 0 ? argc - optind != 1
	    : strcmp(cmd, "new") == 0 ? argc - optind != 2
	    : strcmp(cmd, "activate") == 0 || strcmp(cmd, "retire") == 0 ? argc - optind != 3
	    : 1)
		usage();
	if (argc - optind >= 2) {
		if (strlen(argv[optind + 1]) >= sizeof(domain))
			return fail(EXIT_REFUSED, "domain longer than 253 characters", NULL);
		memcpy(domain, argv[optind + 1], strlen(argv[optind + 1]) + 1);
		lower(domain);
	}
	if (load(&t, o.config, &err) < 0) {
		rc = fail(EXIT_REFUSED, "configuration", &err);
		goto out;
	}
	if (strcmp(cmd, "new") == 0)
		rc = cmd_new(&t, domain, &o);
	else if (strcmp(cmd, "activate") == 0)
		rc = cmd_activate(&t, domain, argv[optind + 2], &o);
	else if (strcmp(cmd, "retire") == 0)
		rc = cmd_retire(&t, domain, argv[optind + 2]);
	else
		rc = cmd_list(&t);
out:
	mx_db_pool_free(t.pool);
	if (t.cfg != NULL) {
		dkim_config_free(t.cfg);
		free(t.cfg);
	}
	return rc;
}
