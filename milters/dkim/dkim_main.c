/* dkim_main.c: mxkit-dkim, the DKIM signing milter: command line,
 * configuration check (-t), logging and start of the milter.
 *
 *   mxkit-dkim [-c FILE] [-f] [-t] [-V]
 *
 * -c the configuration (default /etc/mxkit/mxkit.conf), -f stay in the
 * foreground and log to stderr, -t check the configuration and every
 * key, print what is wrong (file:line) and exit 0 or 1, -V version. */
#include "mxkit-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dkim_config.h"
#include "dkim_milter.h"
#include "mx_config.h"
#include "mx_log.h"
#include "mx_milter.h"

static void usage(void)
{
	fprintf(stderr, "usage: mxkit-dkim [-c FILE] [-f] [-t] [-V]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *path = MX_CONFIG_DEFAULT;
	bool foreground = false, test = false;
	struct dkim_config *cfg;
	struct mx_err err;
	int c, rc;

	while ((c = getopt(argc, argv, "c:ftV")) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'f': foreground = true; break;
		case 't': test = true; break;
		case 'V': printf("mxkit-dkim %s\n", PACKAGE_VERSION); return 0;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (mx_log_open("mxkit-dkim", foreground || test ? MX_LOG_STDERR : MX_LOG_SYSLOG, NULL, &err) < 0) {
		fprintf(stderr, "mxkit-dkim: %s\n", err.text);
		return 1;
	}
	cfg = malloc(sizeof(*cfg));
	if (cfg == NULL) {
		fprintf(stderr, "mxkit-dkim: out of memory\n");
		return 1;
	}
	if (dkim_config_load(path, true, cfg, &err) < 0 ||
	    mx_milter_check_socket(cfg->socket, &err) < 0) {
		fprintf(stderr, "mxkit-dkim: %s\n", err.text);
		free(cfg);
		return 1;
	}
	if (test) {
		printf("mxkit-dkim: %s: configuration OK, %zu key(s)\n", path, cfg->nkeys);
		dkim_config_free(cfg);
		free(cfg);
		return 0;
	}
	if (cfg->log_file[0] != '\0') {
		mx_log_close();
		if (mx_log_open("mxkit-dkim", MX_LOG_FILE, cfg->log_file, &err) < 0) {
			fprintf(stderr, "mxkit-dkim: %s\n", err.text);
			return 1;
		}
	}
	if (cfg->nkeys == 0)
		mx_log_warn("%s: no DKIM keys configured: nothing will be signed", path);
	mx_log_info("starting on %s with %zu key(s), canonicalization %s/%s", cfg->socket,
		    cfg->nkeys, dkim_canon_name(cfg->hc), dkim_canon_name(cfg->bc));
	rc = mx_milter_run(dkim_milter_desc(cfg), cfg->socket, (int)cfg->timeout, &err);
	if (rc < 0)
		mx_log_err("%s", err.text);
	else
		mx_log_info("stopped");
	dkim_config_free(cfg);
	free(cfg);
	mx_log_close();
	return rc < 0 ? 1 : 0;
}
