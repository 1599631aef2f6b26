/* check_config.c: unit tests of the libconfig helpers (lib/mx_config.c)
 * and the shared `database` section (lib/mx_db_config.c). Every case
 * writes a real file into a private temporary directory, which main()
 * removes whatever the outcome. */
#include "mxkit-config.h"

#include <check.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mx_config.h"
#include "mx_db.h"

#define NOPEN_FTW 16

/* Set once in main() before any test runs, read-only afterwards. */
static char tmpdir[PATH_MAX];

/* Write `text` to a new file in tmpdir with the given mode; its path goes
 * to path (PATH_MAX bytes). */
static void write_file(const char *text, mode_t mode, char *path)
{
	int n = snprintf(path, PATH_MAX, "%s/f-XXXXXX", tmpdir);
	ck_assert(n > 0 && n < PATH_MAX);
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	size_t len = strlen(text);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(close(fd), 0);
}

/* Write and load a config; returns mx_config_load()'s result. */
static int load_text(config_t *cfg, const char *text, char *path, struct mx_err *err)
{
	write_file(text, 0600, path);
	config_init(cfg);
	err->text[0] = '\0';
	return mx_config_load(cfg, path, err);
}

/* Assert that err begins with "path:line: " and contains `what`. */
static void assert_where(const struct mx_err *err, const char *path, int line, const char *what)
{
	char prefix[PATH_MAX + 32];
	int n = snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);

	ck_assert(n > 0 && (size_t)n < sizeof(prefix));
	ck_assert_msg(strncmp(err->text, prefix, (size_t)n) == 0,
		      "error '%s' does not start with '%s'", err->text, prefix);
	ck_assert_msg(strstr(err->text, what) != NULL, "error '%s' lacks '%s'", err->text, what);
}

/* mx_config_load: syntax errors carry file:line. */
struct load_case {
	const char *text;
	int line;          /* 0: loads fine */
};

static const struct load_case load_cases[] = {
	{ "a = 1;\n", 0 },
	{ "# comment\ndatabase = { socket = \"/x\"; };\n", 0 },
	{ "a = 1;\nb = ;\n", 2 },
	{ "a = 1;\n\n\nb = 1 2;\nc = 3;\n", 4 },
	{ "a = {\n b = 1;\n", 3 },
	{ "a = 1;\na = 2;\n", 2 },
	{ "a == 1;\n", 1 },
	{ "}\n", 1 },
};

START_TEST(test_load_table)
{
	const struct load_case *c = &load_cases[_i];
	char path[PATH_MAX];
	config_t cfg;
	struct mx_err err;
	int r = load_text(&cfg, c->text, path, &err);

	if (c->line == 0) {
		ck_assert_msg(r == 0, "case %d: %s", _i, err.text);
	} else {
		ck_assert_int_eq(r, -1);
		assert_where(&err, path, c->line, "");
	}
	config_destroy(&cfg);
}
END_TEST

START_TEST(test_load_missing_and_dir)
{
	char path[PATH_MAX];
	config_t cfg;
	struct mx_err err;

	config_init(&cfg);
	ck_assert(snprintf(path, sizeof(path), "%s/does-not-exist.conf", tmpdir) < (int)sizeof(path));
	ck_assert_int_eq(mx_config_load(&cfg, path, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, path));
	ck_assert_ptr_nonnull(strstr(err.text, "No such file"));
	ck_assert_int_eq(mx_config_load(&cfg, tmpdir, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "not a regular file"));
	config_destroy(&cfg);
}
END_TEST

/* Sections and unknown keys. */
START_TEST(test_section_and_keys)
{
	static const char *const allowed[] = { "socket", "timeout", NULL };
	char path[PATH_MAX];
	config_t cfg;
	const config_setting_t *s;
	struct mx_err err;

	ck_assert_int_eq(load_text(&cfg, "mapd = {\n  socket = \"x\";\n\n  sockte = \"y\";\n};\n"
				   "dkim = 5;\n", path, &err), 0);
	ck_assert_int_eq(mx_config_section(&cfg, "mapd", &s, &err), 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(mx_config_check_keys(s, allowed, &err), -1);
	assert_where(&err, path, 4, "unknown setting 'sockte'");
	ck_assert_ptr_nonnull(strstr(err.text, "section 'mapd'"));
	/* Absent section: NULL, no error; the getters then give defaults. */
	ck_assert_int_eq(mx_config_section(&cfg, "srs", &s, &err), 0);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(mx_config_check_keys(s, allowed, &err), 0);
	/* A section that is not a group. */
	ck_assert_int_eq(mx_config_section(&cfg, "dkim", &s, &err), -1);
	ck_assert_ptr_null(s);
	assert_where(&err, path, 6, "'dkim' must be a group");
	config_destroy(&cfg);
}
END_TEST

/* mx_config_uint: types and ranges. */
struct uint_case {
	const char *value;  /* NULL: key absent */
	unsigned min, max;
	int ok;
	unsigned want;
	const char *why;
};

static const struct uint_case uint_cases[] = {
	{ NULL, 1, 10, 1, 7, NULL },
	{ "5", 1, 10, 1, 5, NULL },
	{ "1", 1, 10, 1, 1, NULL },
	{ "10", 1, 10, 1, 10, NULL },
	{ "0x10", 1, 100, 1, 16, NULL },
	{ "0", 0, 10, 1, 0, NULL },
	{ "4294967295L", 0, 4294967295u, 1, 4294967295u, NULL },
	{ "0", 1, 10, 0, 0, "'n' is 0, must be between 1 and 10" },
	{ "11", 1, 10, 0, 0, "'n' is 11, must be between 1 and 10" },
	{ "-1", 0, 10, 0, 0, "'n' is -1" },
	{ "4294967296L", 0, 4294967295u, 0, 0, "'n' is 4294967296" },
	{ "-9223372036854775807L", 0, 10, 0, 0, "must be between" },
	{ "\"5\"", 1, 10, 0, 0, "'n' must be an integer" },
	{ "5.0", 1, 10, 0, 0, "'n' must be an integer" },
	{ "true", 1, 10, 0, 0, "'n' must be an integer" },
	{ "[ 5 ]", 1, 10, 0, 0, "'n' must be an integer" },
};

START_TEST(test_uint_table)
{
	const struct uint_case *c = &uint_cases[_i];
	char text[256], path[PATH_MAX];
	config_t cfg;
	const config_setting_t *s;
	struct mx_err err;
	unsigned v = 12345;
	int n;

	if (c->value != NULL)
		n = snprintf(text, sizeof(text), "sec = {\n  other = 1;\n  n = %s;\n};\n", c->value);
	else
		n = snprintf(text, sizeof(text), "sec = {\n  other = 1;\n};\n");
	ck_assert(n > 0 && (size_t)n < sizeof(text));
	ck_assert_int_eq(load_text(&cfg, text, path, &err), 0);
	ck_assert_int_eq(mx_config_section(&cfg, "sec", &s, &err), 0);
	if (c->ok) {
		ck_assert_msg(mx_config_uint(s, "n", 7, c->min, c->max, &v, &err) == 0,
			      "case %d: %s", _i, err.text);
		ck_assert_uint_eq(v, c->want);
	} else {
		ck_assert_int_eq(mx_config_uint(s, "n", 7, c->min, c->max, &v, &err), -1);
		assert_where(&err, path, 3, c->why);
	}
	config_destroy(&cfg);
}
END_TEST

/* mx_config_seconds: integers and strings with s/m/h/d suffixes. */
static const struct uint_case seconds_cases[] = {
	{ NULL, 0, 100, 1, 7, NULL },
	{ "30", 0, 100, 1, 30, NULL },
	{ "0", 0, 100, 1, 0, NULL },
	{ "\"30\"", 0, 100, 1, 30, NULL },
	{ "\"90s\"", 0, 100, 1, 90, NULL },
	{ "\"5m\"", 0, 1000, 1, 300, NULL },
	{ "\"1m\"", 0, 60, 1, 60, NULL },
	{ "\"2h\"", 0, 10000, 1, 7200, NULL },
	{ "\"21d\"", 0, 4000000, 1, 1814400, NULL },
	{ "\"0d\"", 0, 10, 1, 0, NULL },
	{ "\"61\"", 0, 60, 0, 0, "between 0 and 60 seconds" },
	{ "\"2m\"", 0, 60, 0, 0, "between 0 and 60 seconds" },
	{ "101", 0, 100, 0, 0, "between 0 and 100 seconds" },
	{ "-5", 0, 100, 0, 0, "between 0 and 100 seconds" },
	{ "0", 1, 100, 0, 0, "between 1 and 100 seconds" },
	{ "\"4294967296\"", 0, 4294967295u, 0, 0, "seconds" },
	{ "\"99999999999999999999\"", 0, 4294967295u, 0, 0, "between" },
	{ "\"999999999999999999d\"", 0, 4294967295u, 0, 0, "between" },
	{ "\"5x\"", 0, 100, 0, 0, "must be a duration" },
	{ "\"5ms\"", 0, 100, 0, 0, "must be a duration" },
	{ "\"5 m\"", 0, 100, 0, 0, "must be a duration" },
	{ "\"\"", 0, 100, 0, 0, "must be a duration" },
	{ "\"m\"", 0, 100, 0, 0, "must be a duration" },
	{ "\"-5\"", 0, 100, 0, 0, "must be a duration" },
	{ "\" 5\"", 0, 100, 0, 0, "must be a duration" },
	{ "\"+5\"", 0, 100, 0, 0, "must be a duration" },
	{ "1.5", 0, 100, 0, 0, "must be a duration" },
	{ "true", 0, 100, 0, 0, "must be a duration" },
};

START_TEST(test_seconds_table)
{
	const struct uint_case *c = &seconds_cases[_i];
	char text[256], path[PATH_MAX];
	config_t cfg;
	const config_setting_t *s;
	struct mx_err err;
	unsigned v = 12345;
	int n;

	if (c->value != NULL)
		n = snprintf(text, sizeof(text), "sec = {\n  other = 1;\n  t = %s;\n};\n", c->value);
	else
		n = snprintf(text, sizeof(text), "sec = {\n  other = 1;\n};\n");
	ck_assert(n > 0 && (size_t)n < sizeof(text));
	ck_assert_int_eq(load_text(&cfg, text, path, &err), 0);
	ck_assert_int_eq(mx_config_section(&cfg, "sec", &s, &err), 0);
	if (c->ok) {
		ck_assert_msg(mx_config_seconds(s, "t", 7, c->min, c->max, &v, &err) == 0,
			      "case %d: %s", _i, err.text);
		ck_assert_uint_eq(v, c->want);
	} else {
		ck_assert_msg(mx_config_seconds(s, "t", 7, c->min, c->max, &v, &err) == -1,
			      "case %d: accepted as %u", _i, v);
		assert_where(&err, path, 3, c->why);
		ck_assert_ptr_nonnull(strstr(err.text, "'t'"));
	}
	config_destroy(&cfg);
}
END_TEST

/* Strings and booleans, briefly: wrong types name file:line. */
START_TEST(test_string_bool)
{
	char path[PATH_MAX];
	config_t cfg;
	const config_setting_t *s;
	struct mx_err err;
	const char *str;
	bool b;

	ck_assert_int_eq(load_text(&cfg, "sec = {\n s = \"v\";\n i = 3;\n b = true;\n};\n", path, &err), 0);
	ck_assert_int_eq(mx_config_section(&cfg, "sec", &s, &err), 0);
	ck_assert_int_eq(mx_config_string(s, "s", "d", &str, &err), 0);
	ck_assert_str_eq(str, "v");
	ck_assert_int_eq(mx_config_string(s, "absent", "d", &str, &err), 0);
	ck_assert_str_eq(str, "d");
	ck_assert_int_eq(mx_config_string(s, "i", "d", &str, &err), -1);
	assert_where(&err, path, 3, "'i' must be a string");
	ck_assert_int_eq(mx_config_bool(s, "b", false, &b, &err), 0);
	ck_assert(b);
	ck_assert_int_eq(mx_config_bool(s, "absent", true, &b, &err), 0);
	ck_assert(b);
	ck_assert_int_eq(mx_config_bool(s, "s", false, &b, &err), -1);
	assert_where(&err, path, 2, "'s' must be true or false");
	ck_assert_int_eq(mx_config_string(NULL, "s", "d", &str, &err), 0);
	ck_assert_str_eq(str, "d");
	config_destroy(&cfg);
}
END_TEST

/* mx_config_secret: inline or from a file, never both. */
enum secret_file { SF_NONE, SF_GOOD, SF_WORLD_READABLE, SF_WORLD_WRITABLE, SF_MISSING, SF_DIR };

struct secret_case {
	const char *inline_value;  /* NULL: not set */
	enum secret_file file;
	const char *file_text;
	bool required;
	int ok;
	const char *want;          /* the secret, or a substring of the error */
	int line;                  /* line the error names (0: do not check) */
};

static const struct secret_case secret_cases[] = {
	{ "s3cret", SF_NONE, NULL, true, 1, "s3cret", 0 },
	{ NULL, SF_GOOD, "fromfile\n", true, 1, "fromfile", 0 },
	{ NULL, SF_GOOD, "fromfile", true, 1, "fromfile", 0 },
	{ NULL, SF_GOOD, "crlf\r\nsecond line\n", true, 1, "crlf", 0 },
	{ NULL, SF_GOOD, "", false, 1, "", 0 },
	{ NULL, SF_NONE, NULL, false, 1, "", 0 },
	{ NULL, SF_NONE, NULL, true, 0, "'password' or 'password_file' is required", 2 },
	{ "s3cret", SF_GOOD, "x\n", true, 0, "set either 'password' or 'password_file', not both", 2 },
	{ NULL, SF_WORLD_READABLE, "x\n", true, 0, "accessible by others (mode 0644)", 4 },
	{ NULL, SF_WORLD_WRITABLE, "x\n", true, 0, "accessible by others (mode 0602)", 4 },
	{ NULL, SF_MISSING, NULL, true, 0, "No such file or directory", 4 },
	{ NULL, SF_DIR, NULL, true, 0, "not a regular file", 4 },
	{ NULL, SF_GOOD, "0123456789012345678901234567890123456789\n", true, 0, "secret longer than", 4 },
	{ "0123456789012345678901234567890123456789", SF_NONE, NULL, true, 0, "'password' is too long", 2 },
};

#define SECRET_BUF 32

START_TEST(test_secret_table)
{
	const struct secret_case *c = &secret_cases[_i];
	char text[PATH_MAX * 2], path[PATH_MAX], fpath[PATH_MAX], buf[SECRET_BUF];
	config_t cfg;
	const config_setting_t *s;
	struct mx_err err;
	int n, r;

	fpath[0] = '\0';
	switch (c->file) {
	case SF_NONE:
		break;
	case SF_GOOD:
		write_file(c->file_text, 0640, fpath);
		break;
	case SF_WORLD_READABLE:
		write_file(c->file_text, 0644, fpath);
		break;
	case SF_WORLD_WRITABLE:
		write_file(c->file_text, 0602, fpath);
		break;
	case SF_MISSING:
		n = snprintf(fpath, sizeof(fpath), "%s/missing.secret", tmpdir);
		ck_assert(n > 0 && (size_t)n < sizeof(fpath));
		break;
	case SF_DIR:
		n = snprintf(fpath, sizeof(fpath), "%s", tmpdir);
		ck_assert(n > 0 && (size_t)n < sizeof(fpath));
		break;
	}
	/* Line 2: section opens; 3: inline value; 4: file. */
	n = snprintf(text, sizeof(text), "# secrets\nsec = {\n%s%s%s\n%s%s%s\n};\n",
		     c->inline_value != NULL ? "password = \"" : "",
		     c->inline_value != NULL ? c->inline_value : "",
		     c->inline_value != NULL ? "\";" : "",
		     fpath[0] != '\0' ? "password_file = \"" : "",
		     fpath,
		     fpath[0] != '\0' ? "\";" : "");
	ck_assert(n > 0 && (size_t)n < sizeof(text));
	ck_assert_int_eq(load_text(&cfg, text, path, &err), 0);
	ck_assert_int_eq(mx_config_section(&cfg, "sec", &s, &err), 0);
	memset(buf, 'Z', sizeof(buf));
	r = mx_config_secret(s, "password", "password_file", c->required, buf, sizeof(buf), &err);
	if (c->ok) {
		ck_assert_msg(r == 0, "case %d: %s", _i, err.text);
		ck_assert_str_eq(buf, c->want);
	} else {
		ck_assert_msg(r == -1, "case %d: accepted '%s'", _i, buf);
		if (c->line != 0)
			assert_where(&err, path, c->line, c->want);
		else
			ck_assert_ptr_nonnull(strstr(err.text, c->want));
		if (c->file == SF_MISSING || c->file == SF_WORLD_READABLE)
			ck_assert_ptr_nonnull(strstr(err.text, fpath));
	}
	config_destroy(&cfg);
}
END_TEST

/* The file reader on its own: symlinks are not followed. */
START_TEST(test_secret_file_symlink)
{
	char target[PATH_MAX], link[PATH_MAX], buf[SECRET_BUF];
	struct mx_err err;
	int n;

	write_file("x\n", 0600, target);
	n = snprintf(link, sizeof(link), "%s/link.secret", tmpdir);
	ck_assert(n > 0 && (size_t)n < sizeof(link));
	ck_assert_int_eq(symlink(target, link), 0);
	ck_assert_int_eq(mx_secret_file_read(target, buf, sizeof(buf), &err), 0);
	ck_assert_str_eq(buf, "x");
	ck_assert_int_eq(mx_secret_file_read(link, buf, sizeof(buf), &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, link));
	ck_assert_int_eq(unlink(link), 0);
}
END_TEST

/* mx_db_config_parse: defaults and errors. */
START_TEST(test_db_defaults)
{
	char path[PATH_MAX];
	config_t cfg;
	struct mx_db_config dc;
	struct mx_err err;

	ck_assert_int_eq(load_text(&cfg, "mapd = { };\n", path, &err), 0);
	ck_assert_int_eq(mx_db_config_parse(&cfg, &dc, &err), 0);
	ck_assert_str_eq(dc.socket, "/run/mysqld/mysqld.sock");
	ck_assert_str_eq(dc.host, "");
	ck_assert_uint_eq(dc.port, 3306);
	ck_assert_str_eq(dc.name, "mxkit");
	ck_assert_str_eq(dc.user, "mxkit");
	ck_assert_str_eq(dc.password, "");
	ck_assert_uint_eq(dc.connect_timeout, 3);
	ck_assert_uint_eq(dc.rw_timeout, 5);
	ck_assert_uint_eq(dc.pool_size, 4);
	ck_assert_uint_eq(dc.retry_interval, 1);
	config_destroy(&cfg);
}
END_TEST

struct db_case {
	const char *body;   /* inside database = { ... }, starting on line 2 */
	int ok;
	const char *why;    /* error substring */
	int line;           /* line the error names */
};

static const struct db_case db_cases[] = {
	{ "host = \"db.example\";\nport = 3307;\n", 1, NULL, 0 },
	{ "socket = \"/tmp/m.sock\";\nname = \"mail\";\nuser = \"u\";\npassword = \"p\";\n"
	  "timeout = \"2m\";\nconnect_timeout = 10;\npool_size = 16;\nretry_interval = \"0s\";\n", 1, NULL, 0 },
	{ "socket = \"/tmp/m.sock\";\nhost = \"db.example\";\n", 0, "set database.socket or database.host, not both", 1 },
	{ "port = 0;\n", 0, "'port' is 0, must be between 1 and 65535", 2 },
	{ "\nport = 65536;\n", 0, "'port' is 65536", 3 },
	{ "port = \"3306\";\n", 0, "'port' must be an integer", 2 },
	{ "pool_size = 300;\n", 0, "'pool_size' is 300", 2 },
	{ "timeout = \"6m\";\n", 0, "'timeout' must be between 1 and 300 seconds", 2 },
	{ "connect_timeout = 0;\n", 0, "'connect_timeout' must be between 1 and 60 seconds", 2 },
	{ "user = \"u\";\nsockte = \"/x\";\n", 0, "unknown setting 'sockte' in section 'database'", 3 },
	{ "password = \"a\";\npassword_file = \"/nonexistent\";\n", 0, "not both", 1 },
	{ "name = \"0123456789012345678901234567890123456789012345678901234567890123456789\";\n", 0,
	  "database.name is too long", 1 },
};

START_TEST(test_db_table)
{
	const struct db_case *c = &db_cases[_i];
	char text[1024], path[PATH_MAX];
	config_t cfg;
	struct mx_db_config dc;
	struct mx_err err;
	int n = snprintf(text, sizeof(text), "database = {\n%s};\n", c->body);

	ck_assert(n > 0 && (size_t)n < sizeof(text));
	ck_assert_int_eq(load_text(&cfg, text, path, &err), 0);
	if (c->ok) {
		ck_assert_msg(mx_db_config_parse(&cfg, &dc, &err) == 0, "case %d: %s", _i, err.text);
	} else {
		ck_assert_int_eq(mx_db_config_parse(&cfg, &dc, &err), -1);
		assert_where(&err, path, c->line, c->why);
	}
	config_destroy(&cfg);
}
END_TEST

START_TEST(test_db_values)
{
	char path[PATH_MAX];
	config_t cfg;
	struct mx_db_config dc;
	struct mx_err err;

	ck_assert_int_eq(load_text(&cfg, "database = {\n host = \"db.example\"; port = 3307;\n"
				   " timeout = \"2m\"; pool_size = 16; retry_interval = \"0s\";\n"
				   " name = \"mail\"; user = \"u\"; password = \"p\";\n};\n", path, &err), 0);
	ck_assert_int_eq(mx_db_config_parse(&cfg, &dc, &err), 0);
	ck_assert_str_eq(dc.socket, "");
	ck_assert_str_eq(dc.host, "db.example");
	ck_assert_uint_eq(dc.port, 3307);
	ck_assert_uint_eq(dc.rw_timeout, 120);
	ck_assert_uint_eq(dc.pool_size, 16);
	ck_assert_uint_eq(dc.retry_interval, 0);
	ck_assert_str_eq(dc.name, "mail");
	ck_assert_str_eq(dc.user, "u");
	ck_assert_str_eq(dc.password, "p");
	config_destroy(&cfg);
}
END_TEST

START_TEST(test_db_not_a_group)
{
	char path[PATH_MAX];
	config_t cfg;
	struct mx_db_config dc;
	struct mx_err err;

	ck_assert_int_eq(load_text(&cfg, "\ndatabase = \"mysql://x\";\n", path, &err), 0);
	ck_assert_int_eq(mx_db_config_parse(&cfg, &dc, &err), -1);
	assert_where(&err, path, 2, "'database' must be a group");
	config_destroy(&cfg);
}
END_TEST

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

#define N(t) ((int)(sizeof(t) / sizeof((t)[0])))

int main(void)
{
	const char *base = getenv("TMPDIR");
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed, n;

	n = snprintf(tmpdir, sizeof(tmpdir), "%s/mxkit-check-config-XXXXXX",
		     base != NULL && base[0] != '\0' ? base : "/tmp");
	if (n < 0 || (size_t)n >= sizeof(tmpdir) || mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	tcase_add_loop_test(tc, test_load_table, 0, N(load_cases));
	tcase_add_test(tc, test_load_missing_and_dir);
	tcase_add_test(tc, test_section_and_keys);
	tcase_add_loop_test(tc, test_uint_table, 0, N(uint_cases));
	tcase_add_loop_test(tc, test_seconds_table, 0, N(seconds_cases));
	tcase_add_test(tc, test_string_bool);
	tcase_add_loop_test(tc, test_secret_table, 0, N(secret_cases));
	tcase_add_test(tc, test_secret_file_symlink);
	tcase_add_test(tc, test_db_defaults);
	tcase_add_loop_test(tc, test_db_table, 0, N(db_cases));
	tcase_add_test(tc, test_db_values);
	tcase_add_test(tc, test_db_not_a_group);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (nftw(tmpdir, remove_entry, NOPEN_FTW, FTW_DEPTH | FTW_PHYS) != 0)
		perror(tmpdir);
	return failed == 0 ? 0 : 1;
}
