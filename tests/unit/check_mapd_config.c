/* check_mapd_config.c: unit tests of the mapd section parser: defaults,
 * and every bad value named with file:line. */
#include "mxkit-config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "mapd_config.h"
#include "unit_run.h"

static char path[64];

static int load(const char *text, struct mapd_config *conf, struct mx_err *err)
{
	FILE *f;
	int fd;

	(void)snprintf(path, sizeof(path), "/tmp/check_mapd_config.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	int r = mapd_config_load(path, conf, err);
	unlink(path);
	return r;
}

START_TEST(test_defaults)
{
	static struct mapd_config conf;
	struct mx_err err;

	ck_assert_msg(load("mapd = { listen = [ \"unix:/run/x.sock\", \"inet:127.0.0.1:10041\","
			   " \"inet:[::1]:10041\" ]; };\n", &conf, &err) == 0, "%s", err.text);
	ck_assert_uint_eq(conf.nlisten, 3);
	ck_assert(conf.listen[0].is_unix);
	ck_assert_str_eq(conf.listen[0].path, "/run/x.sock");
	ck_assert(!conf.listen[1].is_unix && conf.listen[1].is_loopback);
	ck_assert(conf.listen[2].is_loopback);
	ck_assert_str_eq(conf.delimiter, "+");
	ck_assert_uint_eq(conf.cache_ttl, 60);
	ck_assert_uint_eq(conf.negative_ttl, 10);
	ck_assert_uint_eq(conf.cache_size, 200000);
	ck_assert_uint_eq(conf.idle_timeout, 300);
	ck_assert_uint_eq(conf.request_timeout, 10);
	ck_assert_uint_eq(conf.max_connections, 1000);
	ck_assert_uint_eq(conf.max_reply, 100000);
	ck_assert_uint_eq(conf.workers, conf.db.pool_size);
	ck_assert_uint_eq(conf.socket_mode, 0660);
	ck_assert_uint_eq(conf.domains_ttl, 60);
	ck_assert_uint_eq(conf.domains_refresh, 10);
	ck_assert(!conf.allow_remote && !conf.has_socket_group && !conf.daemon.has_user);
	ck_assert_str_eq(conf.daemon.pid_file, "");
	ck_assert_str_eq(conf.daemon.log_file, "");
}
END_TEST

START_TEST(test_values)
{
	static struct mapd_config conf;
	struct mx_err err;

	ck_assert_msg(load("database = { pool_size = 3; };\n"
			   "mapd = { listen = \"inet:10.1.2.3:99\"; allow_remote = true;\n"
			   "  recipient_delimiter = \"+-\"; cache_ttl = \"2m\"; negative_ttl = 0;\n"
			   "  cache_size = 5; idle_timeout = \"1h\"; request_timeout = 2;\n"
			   "  max_connections = 7; max_reply = 1000; socket_mode = \"0600\";\n"
			   "  user = \"nobody\"; group = \"nogroup\"; socket_group = \"nogroup\";\n"
			   "  pid_file = \"/run/m.pid\"; log_file = \"/var/log/m.log\"; log_level = \"debug\"; };\n",
			   &conf, &err) == 0, "%s", err.text);
	ck_assert(!conf.listen[0].is_loopback);
	ck_assert_str_eq(conf.delimiter, "+-");
	ck_assert_uint_eq(conf.cache_ttl, 120);
	ck_assert_uint_eq(conf.negative_ttl, 0);
	ck_assert_uint_eq(conf.cache_size, 5);
	ck_assert_uint_eq(conf.idle_timeout, 3600);
	ck_assert_uint_eq(conf.request_timeout, 2);
	ck_assert_uint_eq(conf.max_connections, 7);
	ck_assert_uint_eq(conf.max_reply, 1000);
	ck_assert_uint_eq(conf.workers, 3);
	ck_assert_uint_eq(conf.socket_mode, 0600);
	ck_assert(conf.daemon.has_user && conf.has_socket_group);
	ck_assert_str_eq(conf.daemon.user, "nobody");
	ck_assert_str_eq(conf.daemon.pid_file, "/run/m.pid");
	ck_assert_int_eq(conf.daemon.log_level, LOG_DEBUG);
}
END_TEST

/* domains_refresh: as given while below domains_ttl, else half of it. */
static const struct {
	const char *text;
	unsigned ttl, refresh;
} refresh_cases[] = {
	{ "domains_ttl = \"5m\"; domains_refresh = 30;", 300, 30 },
	{ "domains_ttl = 5;", 5, 2 },
	{ "domains_ttl = 1;", 1, 1 },
	{ "domains_ttl = 20; domains_refresh = 20;", 20, 10 },
	{ "domains_ttl = 0; domains_refresh = 99;", 0, 99 },
};

START_TEST(test_domains_refresh)
{
	static struct mapd_config conf;
	static char text[256];
	struct mx_err err;

	(void)snprintf(text, sizeof(text), "mapd = { listen = \"unix:/run/x.sock\"; %s };\n",
		       refresh_cases[_i].text);
	ck_assert_msg(load(text, &conf, &err) == 0, "%s", err.text);
	ck_assert_uint_eq(conf.domains_ttl, refresh_cases[_i].ttl);
	ck_assert_uint_eq(conf.domains_refresh, refresh_cases[_i].refresh);
}
END_TEST

struct bad_case {
	const char *line;   /* the third line of the file, inside mapd = { ... } */
	const char *want;   /* expected in the message, after "file:3: " */
};

static const struct bad_case bad_cases[] = {
	{ "bogus = 1;", "unknown setting 'bogus'" },
	{ "cache_ttl = -1;", "'cache_ttl' must be between" },
	{ "cache_ttl = \"5 parsecs\";", "'cache_ttl' must be a duration" },
	{ "negative_ttl = true;", "'negative_ttl' must be a duration" },
	{ "cache_size = \"many\";", "'cache_size' must be an integer" },
	{ "idle_timeout = 0;", "'idle_timeout' must be between 1" },
	{ "request_timeout = 0;", "'request_timeout' must be between 1" },
	{ "max_connections = 0;", "'max_connections' is 0" },
	{ "max_reply = 10;", "'max_reply' is 10" },
	{ "workers = 0;", "'workers' is 0" },
	{ "domains_refresh = 0;", "'domains_refresh' must be between 1" },
	{ "workers = 1000;", "'workers' is 1000" },
	{ "socket_mode = \"0999\";", "'socket_mode' must be an octal string" },
	{ "socket_mode = 660;", "'socket_mode' must be a string" },
	{ "socket_group = \"no-such-group-xyz\";", "unknown group 'no-such-group-xyz'" },
	{ "user = \"no-such-user-xyz\";", "unknown user 'no-such-user-xyz'" },
	{ "recipient_delimiter = \"@\";", "'recipient_delimiter' may hold only" },
	{ "recipient_delimiter = \"+ \";", "'recipient_delimiter' may hold only" },
	{ "recipient_delimiter = \"+-=_.~!#$%^&*+-=_.~!#$\";", "'recipient_delimiter' is longer" },
	{ "allow_remote = \"yes\";", "'allow_remote' must be true or false" },
	{ "pid_file = \"relative.pid\";", "'pid_file' must be an absolute path" },
	{ "log_level = \"chatty\";", "'log_level' must be one of" },
	{ "listen = [ \"inet:192.0.2.1:25\" ];", "not a loopback address" },
	{ "listen = [ \"inet:127.0.0.1:0\" ];", "port must be a number" },
	{ "listen = [ \"inet:127.0.0.1:70000\" ];", "port must be a number" },
	{ "listen = [ \"inet:localhost:25\" ];", "not a numeric IPv4 address" },
	{ "listen = [ \"inet:::1:25\" ];", "not a numeric IPv4 address" },
	{ "listen = [ \"inet:[::1]25\" ];", "expected inet:[IPv6]:PORT" },
	{ "listen = [ \"inet:[2001:db8::1]:25\" ];", "not a loopback address" },
	{ "listen = [ \"unix:relative.sock\" ];", "must be absolute" },
	{ "listen = [ \"tcp:127.0.0.1:25\" ];", "expected unix:/path" },
	{ "listen = [ \"unix:/a\", \"unix:/a\" ];", "given twice" },
	{ "listen = [ ];", "needs 1 to 16" },
	{ "listen = 5;", "must be a string or a list" },
	{ "listen = [ 5 ];", "entries must be strings" },
};

START_TEST(test_bad_values)
{
	static struct mapd_config conf;
	static char text[512], want[256];
	struct mx_err err;
	const struct bad_case *c = &bad_cases[_i];

	(void)snprintf(text, sizeof(text), "mapd = {\n%s\n%s\n};\n",
		       strncmp(c->line, "listen", 6) == 0 ? "" : "listen = \"unix:/run/x.sock\";",
		       c->line);
	ck_assert_int_eq(load(text, &conf, &err), -1);
	(void)snprintf(want, sizeof(want), "%s:3: ", path);
	ck_assert_msg(strncmp(err.text, want, strlen(want)) == 0, "case %d: '%s' does not start with '%s'",
		      _i, err.text, want);
	ck_assert_msg(strstr(err.text, c->want) != NULL, "case %d: '%s' lacks '%s'", _i, err.text, c->want);
}
END_TEST

START_TEST(test_missing)
{
	static struct mapd_config conf;
	struct mx_err err;

	ck_assert_int_eq(load("database = { };\n", &conf, &err), -1);
	ck_assert(strstr(err.text, "section 'mapd' is missing") != NULL);
	ck_assert_int_eq(load("mapd = { cache_ttl = 5; };\n", &conf, &err), -1);
	ck_assert_msg(strstr(err.text, ":1: 'listen' is required") != NULL, "%s", err.text);
	ck_assert_int_eq(load("mapd = { listen = \"unix:/x\" \n", &conf, &err), -1);
	ck_assert_msg(strstr(err.text, ":2: ") != NULL, "%s", err.text);
	ck_assert_int_eq(mapd_config_load("/nonexistent/mxkit.conf", &conf, &err), -1);
	ck_assert(strstr(err.text, "/nonexistent/mxkit.conf") != NULL);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("mapd_config");
	TCase *tc = tcase_create("config");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_values);
	tcase_add_loop_test(tc, test_domains_refresh, 0, UNIT_CASES(refresh_cases));
	tcase_add_loop_test(tc, test_bad_values, 0, UNIT_CASES(bad_cases));
	tcase_add_test(tc, test_missing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(config_suite());
}
