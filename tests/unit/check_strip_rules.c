/* check_strip_rules.c: unit tests of mxkit-strip's rule parsing (the
 * messages -t gives), the built-in rules and matching of header fields. */
#include "mxkit-config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strip_config.h"
#include "strip_rules.h"
#include "unit_run.h"

struct parse_case {
	const char *rules;     /* the text inside rules = ( ... ) */
	size_t n;              /* rules loaded (with default_rules = false) */
	const char *error;     /* NULL: must load; else part of the message */
};

static const struct parse_case parse_cases[] = {
	{ "{ header = \"X-Mailer\"; action = \"remove\"; }", 1, NULL },
	{ "{ header = \"X-Mailer\"; match = \"^(Outlook|Thunderbird)\"; action = \"remove\"; }", 1, NULL },
	{ "{ header = \"User-Agent\"; action = \"replace\"; text = \"mail client\"; }", 1, NULL },
	{ "{ header = \"Received\"; client = true; action = \"remove\"; },\n"
	  "{ header = \"received\"; match = \"webmail\"; action = \"remove\"; }", 2, NULL },
	{ "", 0, NULL },
	{ "{ header = \"X-Mailer\";\n match = \"([a-z\"; action = \"remove\"; }", 0,
	  "(config):2: bad regular expression in match \"([a-z\": " },
	{ "{ header = \"X-Mailer\"; match = \"a{2,1}\"; action = \"remove\"; }", 0, "bad regular expression" },
	{ "{ header = \"X-Mailer\"; action = \"delete\"; }", 0,
	  "(config):1: unknown action \"delete\" (want \"remove\" or \"replace\")" },
	{ "{ header = \"X-Mailer\"; }", 0, "(config):1: a rule needs an action" },
	{ "{ header = \"X-Mailer\"; action = \"replace\"; }", 0,
	  "(config):1: action \"replace\" needs a non-empty text" },
	{ "{ header = \"X-Mailer\"; action = \"replace\"; text = \"\"; }", 0, "needs a non-empty text" },
	{ "{ header = \"X-Mailer\"; action = \"replace\"; text = \"a\\nb\"; }", 0, "control characters" },
	{ "{ header = \"X-Mailer\"; action = \"remove\"; text = \"x\"; }", 0, "text is only for action \"replace\"" },
	{ "{ header = \"X Mailer\"; action = \"remove\"; }", 0,
	  "(config):1: header \"X Mailer\" is not a valid header field name" },
	{ "{ header = \"X-Mailer:\"; action = \"remove\"; }", 0, "is not a valid header field name" },
	{ "{ header = \"\"; action = \"remove\"; }", 0, "is not a valid header field name" },
	{ "{ header = \"X-M\xc3\xa4iler\"; action = \"remove\"; }", 0, "is not a valid header field name" },
	{ "{ action = \"remove\"; }", 0, "a rule needs a header name" },
	{ "{ header = \"X-Mailer\"; action = \"remove\"; colour = \"red\"; }", 0, "unknown setting 'colour'" },
	{ "{ header = 5; action = \"remove\"; }", 0, "'header' must be a string" },
	{ "{ header = \"X-Mailer\"; client = \"yes\"; action = \"remove\"; }", 0, "'client' must be" },
	{ "\"X-Mailer\"", 0, "a rule must be a group" },
	{ "{ header = \"A\"; action = \"remove\"; },\n\n\n{ header = \"B\"; action = \"zap\"; }", 0,
	  "(config):4: unknown action \"zap\"" },
};

START_TEST(test_parse_table)
{
	const struct parse_case *t = &parse_cases[_i];
	char text[2048];
	struct strip_config *cfg = malloc(sizeof(*cfg));
	struct mx_err err;
	int rc;

	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_lt(snprintf(text, sizeof(text), "strip = { default_rules = false; rules = ( %s ); };",
				  t->rules), (int)sizeof(text));
	rc = strip_config_load_string(text, cfg, &err);
	if (t->error == NULL) {
		ck_assert_msg(rc == 0, "case %d: %s", _i, err.text);
		ck_assert_uint_eq(cfg->rules.n, t->n);
		strip_config_free(cfg);
	} else {
		ck_assert_msg(rc == -1, "case %d accepted", _i);
		ck_assert_msg(strstr(err.text, t->error) != NULL, "case %d: got \"%s\"", _i, err.text);
		ck_assert_uint_eq(cfg->rules.n, 0);  /* freed on failure */
	}
	free(cfg);
}
END_TEST

START_TEST(test_too_many_rules)
{
	static char text[STRIP_RULES_MAX * 64 + 256];
	struct strip_config *cfg = malloc(sizeof(*cfg));
	struct mx_err err;
	size_t off = 0;
	int i;

	ck_assert_ptr_nonnull(cfg);
	off += (size_t)snprintf(text, sizeof(text), "strip = { rules = (");
	for (i = 0; i <= STRIP_RULES_MAX; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
					"%s{ header = \"X-%d\"; action = \"remove\"; }", i ? "," : "", i);
	snprintf(text + off, sizeof(text) - off, "); };");
	ck_assert_int_eq(strip_config_load_string(text, cfg, &err), -1);
	ck_assert_msg(strstr(err.text, "more than 128 rules") != NULL, "%s", err.text);
	free(cfg);
}
END_TEST

START_TEST(test_section_errors)
{
	static const struct { const char *text, *error; } cases[] = {
		{ "strip = { sockett = \"x\"; };", "unknown setting 'sockett' in section 'strip'" },
		{ "strip = { default_rules = 1; };", "'default_rules' must be" },
		{ "strip = { rules = \"X-Mailer\"; };", "rules must be a list" },
		{ "strip = { timeout = 0; };", "'timeout' is 0" },
		{ "strip = ( 1 );", "'strip' must be a group" },
		{ "strip = { ", "(config):1: " },
	};
	struct strip_config *cfg = malloc(sizeof(*cfg));
	struct mx_err err;
	size_t i;

	ck_assert_ptr_nonnull(cfg);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(strip_config_load_string(cases[i].text, cfg, &err), -1);
		ck_assert_msg(strstr(err.text, cases[i].error) != NULL, "%zu: got \"%s\"", i, err.text);
	}
	free(cfg);
}
END_TEST

START_TEST(test_defaults)
{
	struct strip_config *cfg = malloc(sizeof(*cfg));
	struct mx_err err;

	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(strip_config_load_string("", cfg, &err), 0);
	ck_assert_str_eq(cfg->socket, "unix:/var/spool/postfix/mxkit/strip.sock");
	ck_assert_uint_eq(cfg->timeout, 30);
	ck_assert_uint_eq(cfg->rules.n, 6);
	ck_assert(cfg->rules.rule[0].client);
	strip_config_free(cfg);
	ck_assert_int_eq(strip_config_load_string(
		"strip = { socket = \"inet:10043@127.0.0.1\"; rules = ( { header = \"X-Client\"; action = \"remove\"; } ); };",
		cfg, &err), 0);
	ck_assert_str_eq(cfg->socket, "inet:10043@127.0.0.1");
	ck_assert_uint_eq(cfg->rules.n, 7);
	ck_assert_str_eq(cfg->rules.rule[6].header, "X-Client");
	strip_config_free(cfg);
	free(cfg);
}
END_TEST

/* Matching: built-in rules plus these, client 192.0.2.7 / pc.example.net. */
static const char *const match_rules =
	"strip = { rules = ( "
	"{ header = \"X-Spam-Source\"; match = \"^webmail|roundcube\"; action = \"replace\"; text = \"redacted\"; },"
	"{ header = \"X-Spam-Source\"; client = true; action = \"remove\"; },"
	"{ header = \"X-Both\"; client = true; match = \"^from\"; action = \"remove\"; } ); };";

struct match_case {
	const char *name, *value;
	const char *rule_header;   /* NULL: no rule meets it */
	int action;
};

static const struct match_case match_cases[] = {
	{ "X-Mailer", " Thunderbird 115", "X-Mailer", STRIP_REMOVE },
	{ "x-mailer", "", "X-Mailer", STRIP_REMOVE },
	{ "USER-AGENT", " Mutt/2.2", "User-Agent", STRIP_REMOVE },
	{ "X-Originating-IP", " [192.0.2.7]", "X-Originating-IP", STRIP_REMOVE },
	{ "X-MimeOLE", " Produced By Microsoft MimeOLE", "X-MimeOLE", STRIP_REMOVE },
	{ "X-PHP-Originating-Script", " 1000:mail.php", "X-PHP-Originating-Script", STRIP_REMOVE },
	{ "Received", " from pc.example.net (pc.example.net [192.0.2.7])\n\tby mx", "Received", STRIP_REMOVE },
	{ "Received", " from [192.0.2.7] by pc", "Received", STRIP_REMOVE },
	{ "Received", " from PC.Example.Net by laptop", "Received", STRIP_REMOVE },
	{ "Received", " from other.example (other [198.51.100.1]) by mx", NULL, 0 },
	{ "Received", " from pc.example.network ([192.0.2.70])", NULL, 0 },
	{ "X-Spam-Source", " Roundcube on host", "X-Spam-Source", STRIP_REPLACE },
	{ "X-Spam-Source", " WEBMAIL\r\n 1", "X-Spam-Source", STRIP_REPLACE },
	{ "X-Spam-Source", " script at 192.0.2.7", "X-Spam-Source", STRIP_REMOVE },
	{ "X-Spam-Source", " script at 192.0.2.8", NULL, 0 },
	{ "X-Both", " from 192.0.2.7", "X-Both", STRIP_REMOVE },
	{ "X-Both", " to 192.0.2.7", NULL, 0 },
	{ "X-Both", " from 192.0.2.9", NULL, 0 },
	{ "Subject", " 192.0.2.7 X-Mailer", NULL, 0 },
	{ "X-Mailer-Version", " 1", NULL, 0 },
};

START_TEST(test_match_table)
{
	const struct match_case *t = &match_cases[_i];
	struct strip_config *cfg = malloc(sizeof(*cfg));
	struct strip_client client;
	const struct strip_rule *r;
	char buf[512];
	size_t n;
	struct mx_err err;

	ck_assert_ptr_nonnull(cfg);
	ck_assert_msg(strip_config_load_string(match_rules, cfg, &err) == 0, "%s", err.text);
	strip_client_init(&client);
	ck_assert_int_eq(strip_client_set_addr_text(&client, "192.0.2.7"), 0);
	ck_assert(strip_client_set_name(&client, "pc.example.net"));
	ck_assert(strip_rules_want(&cfg->rules, t->name) == (t->rule_header != NULL) ||
		  strcasecmp(t->name, "Received") == 0 || strcasecmp(t->name, "X-Spam-Source") == 0 ||
		  strcasecmp(t->name, "X-Both") == 0);
	n = strip_value_unfold(t->value, strlen(t->value), buf);
	r = strip_rules_match(&cfg->rules, t->name, buf, n, &client);
	if (t->rule_header == NULL) {
		ck_assert_msg(r == NULL, "case %d: met rule %s", _i, r ? r->where : "");
	} else {
		ck_assert_msg(r != NULL, "case %d: no rule met", _i);
		ck_assert_str_eq(r->header, t->rule_header);
		ck_assert_int_eq(r->action, t->action);
		if (r->action == STRIP_REPLACE)
			ck_assert_str_eq(r->text, "redacted");
	}
	strip_config_free(cfg);
	free(cfg);
}
END_TEST

START_TEST(test_unfold)
{
	static const struct { const char *in, *out; } cases[] = {
		{ " a", "a" }, { "\t a\r\n\tb", "a\tb" }, { "a\n b\n c", "a b c" }, { "", "" },
		{ " \r\n ", "" }, { "no fold", "no fold" },
	};
	char buf[64];
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = strip_value_unfold(cases[i].in, strlen(cases[i].in), buf);
		ck_assert_str_eq(buf, cases[i].out);
		ck_assert_uint_eq(n, strlen(cases[i].out));
	}
}
END_TEST

START_TEST(test_name_ids)
{
	struct strip_config *cfg = malloc(sizeof(*cfg));
	struct mx_err err;

	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(strip_config_load_string(match_rules, cfg, &err), 0);
	/* 6 built-ins, then X-Spam-Source twice and X-Both */
	ck_assert_uint_eq(cfg->rules.rule[6].name_id, 6);
	ck_assert_uint_eq(cfg->rules.rule[7].name_id, 6);
	ck_assert_uint_eq(cfg->rules.rule[8].name_id, 8);
	strip_config_free(cfg);
	free(cfg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("strip_rules");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_parse_table, 0, UNIT_CASES(parse_cases));
	tcase_add_test(tc, test_too_many_rules);
	tcase_add_test(tc, test_section_errors);
	tcase_add_test(tc, test_defaults);
	tcase_add_loop_test(tc, test_match_table, 0, UNIT_CASES(match_cases));
	tcase_add_test(tc, test_unfold);
	tcase_add_test(tc, test_name_ids);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
