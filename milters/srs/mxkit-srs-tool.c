/* mxkit-srs-tool.c: rewrite one address with mxkit's SRS from the shell.
 *
 *   mxkit-srs-tool [options] forward SENDER
 *   mxkit-srs-tool [options] reverse SRS-ADDRESS
 *
 * Settings come from the `srs` section of mxkit.conf (-c, default
 * /etc/mxkit/mxkit.conf); -d and -s together make the file optional,
 * and every option overrides the file. With a file, senders too long for
 * SRS are kept in (and looked up from) the database of its `database`
 * section. For admins checking a setup and
 * for tests comparing mxkit with PostSRSd. Exit status: 0 rewritten (the
 * result on stdout), 1 not rewritten, 64 usage, 65 bad or forged
 * address, 75 temporary failure, 78 configuration error. */
#include "mxkit-config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "mx_config.h"
#include "mx_db.h"
#include "mx_srs.h"
#include "mx_srs_config.h"
#include "mx_srs_db.h"

#define EXIT_NOTREWRITTEN 1
#define EXIT_USAGE 64      /* sysexits.h EX_USAGE */
#define EXIT_DATAERR 65    /* EX_DATAERR */
#define EXIT_TEMPFAIL 75   /* EX_TEMPFAIL */
#define EXIT_CONFIG 78     /* EX_CONFIG */

struct tool_options {
	const char *config;
	const char *domain;
	const char *secrets_file;
	const char *separator;
	const char *alphabet;
	long hash_length;        /* 0: not given */
	long hash_min;
	long max_age_days;
	bool always_rewrite;
	bool check_only;
	bool clock_set;
	time_t clock;
};

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: mxkit-srs-tool [options] forward SENDER\n"
		"       mxkit-srs-tool [options] reverse SRS-ADDRESS\n"
		"       mxkit-srs-tool [options] -t\n"
		"  -c FILE   configuration file (default " MX_CONFIG_DEFAULT ")\n"
		"  -d DOMAIN SRS domain             -s FILE  secrets file (one per line, first signs)\n"
		"  -a CHAR   separator (= + -)      -n N     hash length     -N N  minimum hash length\n"
		"  -m DAYS   maximum age            -u       write base64url hashes\n"
		"  -A        rewrite senders in the SRS domain too\n"
		"  -T TIME   use this Unix time as the clock\n"
		"  -t        check the settings and exit     -V  version\n");
}

static bool parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static int parse_options(int argc, char **argv, struct tool_options *o)
{
	long v;
	int c;

	while ((c = getopt(argc, argv, "c:d:s:a:n:N:m:uAT:tVh")) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'd': o->domain = optarg; break;
		case 's': o->secrets_file = optarg; break;
		case 'a': o->separator = optarg; break;
		case 'u': o->alphabet = "base64url"; break;
		case 'A': o->always_rewrite = true; break;
		case 't': o->check_only = true; break;
		case 'n':
		case 'N':
		case 'm':
			if (!parse_long(optarg, 1, 100000, &v)) {
				fprintf(stderr, "mxkit-srs-tool: -%c needs a positive number\n", c);
				return -1;
			}
			*(c == 'n' ? &o->hash_length : c == 'N' ? &o->hash_min : &o->max_age_days) = v;
			break;
		case 'T':
			if (!parse_long(optarg, 0, LONG_MAX, &v)) {
				fprintf(stderr, "mxkit-srs-tool: -T needs a Unix time\n");
				return -1;
			}
			o->clock_set = true;
			o->clock = (time_t)v;
			break;
		case 'V':
			printf("mxkit-srs-tool %s\n", PACKAGE_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	return 0;
}

/* Settings from the file (unless -d and -s make it unnecessary), then
 * the options on top. *use_db_r tells whether db holds the file's
 * database settings. */
static int load_settings(const struct tool_options *o, struct mx_srs_settings *set,
			 struct mx_db_config *db, bool *use_db_r, struct mx_err *err)
{
	const config_setting_t *section;
	config_t cfg;
	int ret = 0;

	mx_srs_settings_init(set);
	if (o->config != NULL || o->domain == NULL || o->secrets_file == NULL) {
		const char *path = o->config != NULL ? o->config : MX_CONFIG_DEFAULT;
		config_init(&cfg);
		/* Every message names the file (and line) already. */
		if (mx_config_load(&cfg, path, err) < 0 ||
		    mx_config_section(&cfg, "srs", &section, err) < 0)
			ret = -1;
		else if (section == NULL)
			ret = mx_err_set(err, "%s: no 'srs' section", path);
		else if (mx_srs_config_read(section, set, err) < 0 ||
			 mx_db_config_parse(&cfg, db, err) < 0)
			ret = -1;
		config_destroy(&cfg);
		*use_db_r = ret == 0;
		if (ret < 0)
			return -1;
	}
	if (o->domain != NULL) {
		if (strlen(o->domain) >= sizeof(set->domain))
			return mx_err_set(err, "-d: domain too long");
		memcpy(set->domain, o->domain, strlen(o->domain) + 1);
	}
	if (o->secrets_file != NULL) {
		mx_srs_settings_wipe(set);
		if (mx_srs_secrets_file_read(o->secrets_file, set, err) < 0)
			return mx_err_prefix(err, "-s: ");
	}
	if (o->separator != NULL) {
		if (strlen(o->separator) != 1)
			return mx_err_set(err, "-a: the separator is one character: = + or -");
		set->separator = o->separator[0];
	}
	if (o->alphabet != NULL)
		set->alphabet = MX_SRS_BASE64URL;
	if (o->hash_length > 0) {
		set->hash_length = (unsigned)o->hash_length;
		if (o->hash_min == 0)
			set->hash_min = set->hash_length < MX_SRS_HASH_LENGTH_DEFAULT ?
					set->hash_length : MX_SRS_HASH_LENGTH_DEFAULT;
	}
	if (o->hash_min > 0)
		set->hash_min = (unsigned)o->hash_min;
	if (o->max_age_days > 0)
		set->max_age = (unsigned)o->max_age_days * 86400u;
	if (o->always_rewrite)
		set->always_rewrite = true;
	return mx_srs_settings_check(set, err);
}

static time_t fixed_clock(void *ctx)
{
	return *(const time_t *)ctx;
}

/* Run one command; the exit status. */
static int rewrite(const struct mx_srs *srs, const char *cmd, const char *addr)
{
	char out[MX_SRS_ADDRESS_SIZE];
	struct mx_err err;
	enum mx_result r;

	mx_err_clear(&err);
	if (strcmp(cmd, "forward") == 0) {
		r = mx_srs_forward(srs, addr, strlen(addr), out, sizeof(out), &err);
	} else if (strcmp(cmd, "reverse") == 0) {
		r = mx_srs_reverse(srs, addr, strlen(addr), out, sizeof(out), &err);
	} else {
		usage(stderr);
		return EXIT_USAGE;
	}
	switch (r) {
	case MX_FOUND:
		printf("%s\n", out);
		return 0;
	case MX_NOTFOUND:
		fprintf(stderr, "mxkit-srs-tool: not rewritten: %s\n", err.text);
		return EXIT_NOTREWRITTEN;
	case MX_TEMP:
		fprintf(stderr, "mxkit-srs-tool: temporary failure: %s\n", err.text);
		return EXIT_TEMPFAIL;
	case MX_PERM:
		break;
	}
	fprintf(stderr, "mxkit-srs-tool: %s\n", err.text);
	return EXIT_DATAERR;
}

int main(int argc, char **argv)
{
	struct tool_options o = { 0 };
	static struct mx_srs_settings set;  /* 16 KiB of secrets: not on the stack */
	struct mx_db_config db = { 0 };
	struct mx_db_pool *pool = NULL;
	struct mx_srs_store store;
	struct mx_srs *srs = NULL;
	struct mx_err err;
	bool use_db = false;
	int status;

	if (parse_options(argc, argv, &o) < 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (o.check_only ? optind != argc : optind + 2 != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	mx_err_clear(&err);
	if (load_settings(&o, &set, &db, &use_db, &err) < 0 || mx_srs_create(&set, &srs, &err) < 0 ||
	    (use_db && (pool = mx_db_pool_new(&db, &err)) == NULL)) {
		mx_srs_settings_wipe(&set);
		OPENSSL_cleanse(&db, sizeof(db));
		mx_srs_destroy(&srs);
		fprintf(stderr, "mxkit-srs-tool: %s\n", err.text);
		return EXIT_CONFIG;
	}
	mx_srs_settings_wipe(&set);
	OPENSSL_cleanse(&db, sizeof(db));
	if (pool != NULL) {
		mx_srs_db_store_init(&store, pool);
		mx_srs_set_store(srs, &store);
	}
	if (o.clock_set)
		mx_srs_set_clock(srs, fixed_clock, &o.clock);
	status = o.check_only ? 0 : rewrite(srs, argv[optind], argv[optind + 1]);
	if (o.check_only)
		printf("mxkit-srs-tool: settings OK\n");
	mx_srs_destroy(&srs);
	if (pool != NULL)
		mx_db_pool_free(pool);
	return status;
}
