/* strip_config.h: the `strip` section of mxkit.conf.
 *
 *   strip = {
 *     socket = "unix:/var/spool/postfix/mxkit/strip.sock";  # milter socket syntax
 *     timeout = 30;                  # MTA connection timeout, seconds
 *     default_rules = true;          # the built-in rules come first
 *     rules = ( { header = "X-Client"; action = "remove"; },
 *               { header = "X-Mailer"; match = "^PHP"; action = "replace"; text = "mail"; } );
 *     user = "mxkit"; group = "postfix";   # mx_daemon settings
 *     pid_file = ""; log_file = ""; log_level = "info";
 *   };
 *
 * Every rule is checked (and every regular expression compiled) when the
 * configuration is loaded, so -t names the file and line of a bad one. */
#ifndef STRIP_CONFIG_H
#define STRIP_CONFIG_H

#include <stdbool.h>

#include "mx_daemon.h"
#include "mx_error.h"
#include "strip_rules.h"

#define STRIP_SOCKET_MAX 1024

struct strip_config {
	char socket[STRIP_SOCKET_MAX];
	struct mx_daemon_config daemon;
	unsigned timeout;
	struct strip_rules rules;
};

/* Load and check the strip section of path into cfg (caller frees with
 * strip_config_free()). A missing section gives the defaults. */
int strip_config_load(const char *path, struct strip_config *cfg, struct mx_err *err);
/* The same from a libconfig text (tests). */
int strip_config_load_string(const char *text, struct strip_config *cfg, struct mx_err *err);
void strip_config_free(struct strip_config *cfg);

#endif
