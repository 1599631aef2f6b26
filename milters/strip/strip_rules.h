/* strip_rules.h: the rules of mxkit-strip and how a header field meets them.
 *
 * A rule names a header field (case-insensitive), may require that its
 * value matches a POSIX extended regular expression (case-insensitive,
 * compiled once when the configuration is loaded) and/or that the value
 * names the submitting client, and says what to do: remove the field, or
 * replace its value with a fixed text. The first rule that meets a field
 * decides. In the configuration:
 *
 *   { header = "X-Mailer"; match = "^Microsoft"; client = false;
 *     action = "remove"; }        # or action = "replace"; text = "...";
 *
 * The built-in rules remove X-Originating-IP, X-Mailer, User-Agent,
 * X-PHP-Originating-Script and X-MimeOLE, and every Received field that
 * names the client. */
#ifndef STRIP_RULES_H
#define STRIP_RULES_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include <libconfig.h>

#include "mx_error.h"
#include "strip_client.h"

#define STRIP_RULES_MAX 128
#define STRIP_NAME_MAX 128       /* header field name */
#define STRIP_TEXT_MAX 900       /* replacement text (a line is at most 998) */
#define STRIP_MATCH_MAX 1024     /* regular expression source */

enum strip_action {
	STRIP_REMOVE = 0,
	STRIP_REPLACE = 1,
};

struct strip_rule {
	char header[STRIP_NAME_MAX + 1];
	bool has_match;
	regex_t match;
	bool client;                   /* the value must name the client */
	enum strip_action action;
	char text[STRIP_TEXT_MAX + 1]; /* STRIP_REPLACE only */
	size_t name_id;                /* index of the first rule with the same header */
	char where[80];                /* "FILE:LINE" or "built-in" */
};

struct strip_rules {
	size_t n;
	struct strip_rule rule[STRIP_RULES_MAX];
};

/* Is name a valid header field name (RFC 5322: printable ASCII but ':')? */
bool strip_header_name_ok(const char *name);

/* Parse one rule group into rule. Messages name FILE:LINE and the problem. */
int strip_rule_parse(const config_setting_t *group, struct strip_rule *rule, struct mx_err *err);
/* Append the built-in rules. */
int strip_rules_add_defaults(struct strip_rules *rules, struct mx_err *err);
/* Append the rules of a libconfig list. */
int strip_rules_add_list(struct strip_rules *rules, const config_setting_t *list, struct mx_err *err);
void strip_rules_free(struct strip_rules *rules);

/* Is there a rule for this header name at all? (Cheap; before unfolding.) */
bool strip_rules_want(const struct strip_rules *rules, const char *name);
/* The first rule that meets the field, or NULL. value is the unfolded
 * value without leading white space, NUL-terminated, len bytes. */
const struct strip_rule *strip_rules_match(const struct strip_rules *rules, const char *name,
					   const char *value, size_t len,
					   const struct strip_client *client);

/* Unfold a raw header value (remove CR and LF, drop leading white space)
 * into out (size >= len + 1). Returns the new length. */
size_t strip_value_unfold(const char *value, size_t len, char *out);

#endif
