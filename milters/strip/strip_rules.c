/* strip_rules.c: parsing, defaults and matching of mxkit-strip rules (see strip_rules.h). */
#include "mxkit-config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mx_config.h"
#include "strip_rules.h"

static const char *const rule_keys[] = { "header", "match", "client", "action", "text", NULL };

/* The built-in rules. */
static const struct {
	const char *header;
	bool client;
} default_rules[] = {
	{ "Received", true },
	{ "X-Originating-IP", false },
	{ "X-Mailer", false },
	{ "User-Agent", false },
	{ "X-PHP-Originating-Script", false },
	{ "X-MimeOLE", false },
};

bool strip_header_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > STRIP_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)name[i] < 33 || (unsigned char)name[i] > 126 || name[i] == ':')
			return false;
	return true;
}

static bool text_ok(const char *text)
{
	for (; *text; text++)
		if (((unsigned char)*text < 32 && *text != '\t') || (unsigned char)*text == 127)
			return false;
	return true;
}

static void set_name_id(struct strip_rules *rules, size_t k)
{
	size_t i;

	rules->rule[k].name_id = k;
	for (i = 0; i < k; i++)
		if (strcasecmp(rules->rule[i].header, rules->rule[k].header) == 0) {
			rules->rule[k].name_id = rules->rule[i].name_id;
			return;
		}
}

/* "FILE:LINE" of the rule's setting `key` (its own line), else of the rule. */
static const char *at(const config_setting_t *g, const struct strip_rule *r, const char *key,
		      char *buf, size_t size)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	if (s == NULL) {
		snprintf(buf, size, "%s", r->where);
		return buf;
	}
	return mx_config_where(s, buf, size);
}

static int compile_match(const config_setting_t *g, struct strip_rule *r, const char *src,
			 struct mx_err *err)
{
	char msg[256], where[80];
	int rc;

	if (strlen(src) > STRIP_MATCH_MAX)
		return mx_err_set(err, "%s: match is longer than %d bytes",
				  at(g, r, "match", where, sizeof(where)), STRIP_MATCH_MAX);
	rc = regcomp(&r->match, src, REG_EXTENDED | REG_ICASE | REG_NOSUB);
	if (rc != 0) {
		(void)regerror(rc, &r->match, msg, sizeof(msg));
		return mx_err_set(err, "%s: bad regular expression in match \"%s\": %s",
				  at(g, r, "match", where, sizeof(where)), src, msg);
	}
	r->has_match = true;
	return 0;
}

int strip_rule_parse(const config_setting_t *g, struct strip_rule *r, struct mx_err *err)
{
	const char *header, *match, *action, *text;
	char where[80];

	memset(r, 0, sizeof(*r));
	mx_config_where(g, r->where, sizeof(r->where));
	if (!config_setting_is_group(g))
		return mx_err_set(err, "%s: a rule must be a group { header = \"...\"; action = \"...\"; }",
				  r->where);
	if (mx_config_check_keys(g, rule_keys, err) < 0 ||
	    mx_config_string(g, "header", NULL, &header, err) < 0 ||
	    mx_config_string(g, "match", NULL, &match, err) < 0 ||
	    mx_config_bool(g, "client", false, &r->client, err) < 0 ||
	    mx_config_string(g, "action", NULL, &action, err) < 0 ||
	    mx_config_string(g, "text", NULL, &text, err) < 0)
		return -1;
	if (header == NULL)
		return mx_err_set(err, "%s: a rule needs a header name", r->where);
	if (!strip_header_name_ok(header))
		return mx_err_set(err, "%s: header \"%s\" is not a valid header field name "
				  "(1 to %d printable ASCII characters, no ':' or space)",
				  at(g, r, "header", where, sizeof(where)), header, STRIP_NAME_MAX);
	memcpy(r->header, header, strlen(header) + 1);
	if (action == NULL)
		return mx_err_set(err, "%s: a rule needs an action (\"remove\" or \"replace\")", r->where);
	if (strcmp(action, "remove") == 0) {
		r->action = STRIP_REMOVE;
		if (text != NULL)
			return mx_err_set(err, "%s: text is only for action \"replace\"",
					  at(g, r, "text", where, sizeof(where)));
	} else if (strcmp(action, "replace") == 0) {
		r->action = STRIP_REPLACE;
		if (text == NULL || text[0] == '\0')
			return mx_err_set(err, "%s: action \"replace\" needs a non-empty text", r->where);
		if (strlen(text) > STRIP_TEXT_MAX)
			return mx_err_set(err, "%s: text is longer than %d bytes",
					  at(g, r, "text", where, sizeof(where)), STRIP_TEXT_MAX);
		if (!text_ok(text))
			return mx_err_set(err, "%s: text contains control characters",
					  at(g, r, "text", where, sizeof(where)));
		memcpy(r->text, text, strlen(text) + 1);
	} else {
		return mx_err_set(err, "%s: unknown action \"%s\" (want \"remove\" or \"replace\")",
				  at(g, r, "action", where, sizeof(where)), action);
	}
	if (match != NULL && compile_match(g, r, match, err) < 0)
		return -1;
	return 0;
}

static int room(const struct strip_rules *rules, const char *where, struct mx_err *err)
{
	if (rules->n >= STRIP_RULES_MAX)
		return mx_err_set(err, "%s: more than %d rules", where, STRIP_RULES_MAX);
	return 0;
}

int strip_rules_add_defaults(struct strip_rules *rules, struct mx_err *err)
{
	size_t i;

	for (i = 0; i < sizeof(default_rules) / sizeof(default_rules[0]); i++) {
		struct strip_rule *r;

		if (room(rules, "built-in rules", err) < 0)
			return -1;
		r = &rules->rule[rules->n];
		memset(r, 0, sizeof(*r));
		snprintf(r->header, sizeof(r->header), "%s", default_rules[i].header);
		snprintf(r->where, sizeof(r->where), "built-in");
		r->client = default_rules[i].client;
		r->action = STRIP_REMOVE;
		set_name_id(rules, rules->n);
		rules->n++;
	}
	return 0;
}

int strip_rules_add_list(struct strip_rules *rules, const config_setting_t *list, struct mx_err *err)
{
	char where[80];
	int i, n;

	mx_config_where(list, where, sizeof(where));
	if (!config_setting_is_list(list) && !config_setting_is_array(list))
		return mx_err_set(err, "%s: rules must be a list ( { ... }, { ... } )", where);
	n = config_setting_length(list);
	for (i = 0; i < n; i++) {
		if (room(rules, where, err) < 0)
			return -1;
		if (strip_rule_parse(config_setting_get_elem(list, (unsigned)i),
				     &rules->rule[rules->n], err) < 0) {
			if (rules->rule[rules->n].has_match)
				regfree(&rules->rule[rules->n].match);
			return -1;
		}
		set_name_id(rules, rules->n);
		rules->n++;
	}
	return 0;
}

void strip_rules_free(struct strip_rules *rules)
{
	size_t i;

	for (i = 0; i < rules->n; i++)
		if (rules->rule[i].has_match)
			regfree(&rules->rule[i].match);
	rules->n = 0;
}

bool strip_rules_want(const struct strip_rules *rules, const char *name)
{
	size_t i;

	for (i = 0; i < rules->n; i++)
		if (strcasecmp(rules->rule[i].header, name) == 0)
			return true;
	return false;
}

const struct strip_rule *strip_rules_match(const struct strip_rules *rules, const char *name,
					   const char *value, size_t len,
					   const struct strip_client *client)
{
	size_t i;

	for (i = 0; i < rules->n; i++) {
		const struct strip_rule *r = &rules->rule[i];

		if (strcasecmp(r->header, name) != 0)
			continue;
		if (r->client && !strip_client_named(client, value, len))
			continue;
		if (r->has_match && regexec(&r->match, value, 0, NULL, 0) != 0)
			continue;
		return r;
	}
	return NULL;
}

size_t strip_value_unfold(const char *value, size_t len, char *out)
{
	size_t i = 0, n = 0;

	while (i < len && (value[i] == ' ' || value[i] == '\t' || value[i] == '\r' || value[i] == '\n'))
		i++;
	for (; i < len; i++)
		if (value[i] != '\r' && value[i] != '\n')
			out[n++] = value[i];
	out[n] = '\0';
	return n;
}
