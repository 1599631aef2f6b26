/* check_mapd_daemon.c: unit tests of the shared daemon start-up helpers
 * (lib/mx_daemon.c) as mxkit-mapd uses them: command line, the common
 * section settings, the pid file and the signal pipe. */
#include "mxkit-config.h"

#include <check.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "mx_config.h"
#include "mx_daemon.h"
#include "unit_run.h"

struct args_case {
	const char *argv[6];
	int want;                 /* 0 or -1 */
	const char *config;       /* on success */
	bool foreground, check_only, version;
	const char *reason;       /* on failure */
};

static const struct args_case args_cases[] = {
	{ { "d", NULL }, 0, MX_CONFIG_DEFAULT, false, false, false, NULL },
	{ { "d", "-f", NULL }, 0, MX_CONFIG_DEFAULT, true, false, false, NULL },
	{ { "d", "-t", "-c", "/x.conf", NULL }, 0, "/x.conf", false, true, false, NULL },
	{ { "d", "-ftV", NULL }, 0, MX_CONFIG_DEFAULT, true, true, true, NULL },
	{ { "d", "-c/y.conf", NULL }, 0, "/y.conf", false, false, false, NULL },
	{ { "d", "-c", NULL }, -1, NULL, false, false, false, "option -c needs an argument" },
	{ { "d", "-x", NULL }, -1, NULL, false, false, false, "unknown option -x" },
	{ { "d", "extra", NULL }, -1, NULL, false, false, false, "unexpected argument 'extra'" },
};

START_TEST(test_args_table)
{
	const struct args_case *c = &args_cases[_i];
	char *argv[6];
	int argc = 0;
	struct mx_daemon_args a;
	struct mx_err err;

	while (c->argv[argc] != NULL) {
		argv[argc] = (char *)c->argv[argc];
		argc++;
	}
	argv[argc] = NULL;
	ck_assert_int_eq(mx_daemon_args_parse(argc, argv, &a, &err), c->want);
	if (c->want == 0) {
		ck_assert_str_eq(a.config_path, c->config);
		ck_assert(a.foreground == c->foreground && a.check_only == c->check_only &&
			  a.version == c->version);
	} else {
		ck_assert_msg(strstr(err.text, c->reason) != NULL, "'%s'", err.text);
		ck_assert(strstr(err.text, "usage:") != NULL);
	}
}
END_TEST

static int parse_text(const char *text, struct mx_daemon_config *out, struct mx_err *err)
{
	config_t cfg;
	const config_setting_t *s;
	int r;

	config_init(&cfg);
	ck_assert_int_eq(config_read_string(&cfg, text), CONFIG_TRUE);
	ck_assert_int_eq(mx_config_section(&cfg, "d", &s, err), 0);
	r = mx_daemon_config_parse(s, out, err);
	config_destroy(&cfg);
	return r;
}

START_TEST(test_config)
{
	struct mx_daemon_config c;
	struct mx_err err;
	struct passwd *pw = getpwnam("nobody");

	ck_assert_ptr_nonnull(pw);
	ck_assert_int_eq(parse_text("d = { };", &c, &err), 0);
	ck_assert(!c.has_user);
	ck_assert_int_eq(c.log_level, LOG_INFO);
	ck_assert_int_eq(parse_text("d = { user = \"nobody\"; log_level = \"warning\";"
				    " pid_file = \"/run/p\"; log_file = \"/var/log/l\"; };", &c, &err), 0);
	ck_assert(c.has_user);
	ck_assert_uint_eq(c.uid, pw->pw_uid);
	ck_assert_uint_eq(c.gid, pw->pw_gid);
	ck_assert_str_eq(c.pid_file, "/run/p");
	ck_assert_str_eq(c.log_file, "/var/log/l");
	ck_assert_int_eq(c.log_level, LOG_WARNING);
	ck_assert_int_eq(parse_text("d = { user = \"nobody\";\n group = \"root\"; };", &c, &err), 0);
	ck_assert_uint_eq(c.gid, 0);

	ck_assert_int_eq(parse_text("d = {\n user = \"no-such-user-q\"; };", &c, &err), -1);
	ck_assert_msg(strstr(err.text, ":2: unknown user 'no-such-user-q'") != NULL, "%s", err.text);
	ck_assert_int_eq(parse_text("d = { user = \"nobody\";\n group = \"no-such-group-q\"; };", &c, &err), -1);
	ck_assert_msg(strstr(err.text, ":2: unknown group") != NULL, "%s", err.text);
	ck_assert_int_eq(parse_text("d = { group = \"root\"; };", &c, &err), -1);
	ck_assert(strstr(err.text, "'group' needs 'user'") != NULL);
	ck_assert_int_eq(parse_text("d = {\n\n pid_file = \"rel\"; };", &c, &err), -1);
	ck_assert_msg(strstr(err.text, ":3: 'pid_file' must be an absolute path") != NULL, "%s", err.text);
	ck_assert_int_eq(parse_text("d = { log_level = \"loud\"; };", &c, &err), -1);
	ck_assert(strstr(err.text, "'log_level' must be one of") != NULL);
	ck_assert_int_eq(parse_text("d = { user = 5; };", &c, &err), -1);
	ck_assert(strstr(err.text, "'user' must be a string") != NULL);
}
END_TEST

START_TEST(test_pidfile)
{
	char path[] = "/tmp/check_mapd_daemon.XXXXXX";
	char buf[32] = "";
	struct mx_err err;
	FILE *f;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(mx_daemon_pidfile_write(path, getuid(), getgid(), &err), 0);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_int_eq(atol(buf), (long)getpid());
	mx_daemon_pidfile_remove(path);
	ck_assert_int_ne(access(path, F_OK), 0);
	ck_assert_int_eq(mx_daemon_pidfile_write("/nonexistent-dir/p.pid", 0, 0, &err), -1);
	ck_assert(strstr(err.text, "/nonexistent-dir/p.pid") != NULL);
}
END_TEST

START_TEST(test_signal_pipe)
{
	struct mx_err err;
	int fd = mx_daemon_signals_init(&err);

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_eq(mx_daemon_signals_take(), 0);
	raise(SIGHUP);
	ck_assert_uint_eq(mx_daemon_signals_take(), MX_SIG_RELOAD);
	raise(SIGTERM);
	raise(SIGHUP);
	ck_assert_uint_eq(mx_daemon_signals_take(), MX_SIG_RELOAD | MX_SIG_STOP);
	raise(SIGINT);
	ck_assert_uint_eq(mx_daemon_signals_take(), MX_SIG_STOP);
	ck_assert_int_eq(mx_daemon_signals_init(&err), fd);
}
END_TEST

START_TEST(test_drop_without_user)
{
	struct mx_daemon_config c;
	struct mx_err err;

	memset(&c, 0, sizeof(c));
	if (geteuid() == 0) {
		ck_assert_int_eq(mx_daemon_drop_privileges(&c, &err), -1);
		ck_assert(strstr(err.text, "refusing to run as root") != NULL);
	} else {
		ck_assert_int_eq(mx_daemon_drop_privileges(&c, &err), 0);
	}
}
END_TEST

static Suite *daemon_suite(void)
{
	Suite *s = suite_create("mx_daemon");
	TCase *tc = tcase_create("daemon");

	tcase_add_loop_test(tc, test_args_table, 0, UNIT_CASES(args_cases));
	tcase_add_test(tc, test_config);
	tcase_add_test(tc, test_pidfile);
	tcase_add_test(tc, test_signal_pipe);
	tcase_add_test(tc, test_drop_without_user);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(daemon_suite());
}
