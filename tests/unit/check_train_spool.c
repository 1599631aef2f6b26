/* check_train_spool.c: unit tests of the training spool (train-spool.c,
 * train-spool-parse.c): records round-trip, every kind of corrupted record
 * is refused with its reason, a file's bad and truncated records are
 * skipped, and appends respect the size bound. */
#include "mxkit-config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "train-spool.h"
#include "unit_run.h"

#define KEY "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define LINE_BUF (64 * 1024)

static const unsigned char text_nul[] = "Subject: x\r\n\r\nbody\0with NUL\xff";

static const struct training_event roundtrip_cases[] = {
	{ "alice@example.org", TRAINING_SPAM, KEY, "<a@b>", "INBOX", "Junk",
	  (const unsigned char *)"Subject: hi\r\n\r\nhello\r\n", 22, 22, "2026-11-22 08:00:00.123" },
	{ "bob", TRAINING_HAM, KEY, "", "Junk", "Archive/2026", text_nul, sizeof(text_nul), 5000,
	  "2024-02-29 23:59:59.999" },
	{ "c d\te", TRAINING_SPAM, KEY, "<x y>", "", "Junk", NULL, 0, 2000000, "" },
	{ "u", TRAINING_SPAM, KEY, "", "", "J", (const unsigned char *)"", 0, 0, "1970-01-01 00:00:00.000" },
};

START_TEST(test_roundtrip)
{
	const struct training_event *in = &roundtrip_cases[_i];
	struct training_event out;
	const char *why = NULL;
	size_t len;
	char *line = train_spool_format(in, true, &len);

	ck_assert_ptr_nonnull(line);
	ck_assert(len > 0 && line[len - 1] == '\n');
	ck_assert_ptr_null(memchr(line, '\n', len - 1));
	ck_assert_msg(train_spool_parse_line(line, len - 1, &out, &why) == 0, "%s", why);
	ck_assert_str_eq(out.user, in->user);
	ck_assert_int_eq(out.class, in->class);
	ck_assert_str_eq(out.key, in->key);
	ck_assert_str_eq(out.message_id, in->message_id);
	ck_assert_str_eq(out.source, in->source);
	ck_assert_str_eq(out.dest, in->dest);
	ck_assert_str_eq(out.created, in->created);
	ck_assert_uint_eq(out.full_size, in->full_size);
	if (in->message == NULL) {
		ck_assert_ptr_null(out.message);
	} else {
		ck_assert_uint_eq(out.message_len, in->message_len);
		ck_assert(memcmp(out.message, in->message, in->message_len) == 0);
	}
	free(line);
}
END_TEST

START_TEST(test_format_without_text)
{
	struct training_event out;
	const char *why;
	size_t len;
	char *line = train_spool_format(&roundtrip_cases[0], false, &len);

	ck_assert_ptr_nonnull(line);
	ck_assert_int_eq(train_spool_parse_line(line, len - 1, &out, &why), 0);
	ck_assert_ptr_null(out.message);
	ck_assert_uint_eq(out.full_size, 22);
	free(line);
}
END_TEST

/* A record from its fields, with a correct checksum unless `bad_check`. */
static size_t make_record(char *buf, const char *fields, int bad_check)
{
	size_t n = strlen(fields);

	memcpy(buf, fields, n);
	snprintf(buf + n, LINE_BUF - n, " %016llx",
		 train_spool_hash(fields, n) ^ (bad_check ? 1ULL : 0ULL));
	return strlen(buf);
}

#define HEAD "MXT1 2026-11-22T08:00:00.000 spam " KEY " 5 "
#define GOOD_TAIL "x61 x x494e424f58 x4a756e6b x6869"

struct bad_case {
	const char *fields;
	int bad_check;
	const char *why;
};

static const struct bad_case bad_cases[] = {
	{ HEAD GOOD_TAIL, 1, "checksum mismatch" },
	{ "MXT2 2026-11-22T08:00:00.000 spam " KEY " 5 " GOOD_TAIL, 0, "not a MXT1 record" },
	{ "MXT1 2026-02-30T08:00:00.000 spam " KEY " 5 " GOOD_TAIL, 0, "bad time" },
	{ "MXT1 2025-02-29T08:00:00.000 spam " KEY " 5 " GOOD_TAIL, 0, "bad time" },
	{ "MXT1 2026-11-22 08:00:00.000 spam " KEY " 5 " GOOD_TAIL, 0, "too many fields" },
	{ "MXT1 2026-11-22T24:00:00.000 spam " KEY " 5 " GOOD_TAIL, 0, "bad time" },
	{ "MXT1 2026-11-22T08:00:00.000 eggs " KEY " 5 " GOOD_TAIL, 0, "neither spam nor ham" },
	{ "MXT1 2026-11-22T08:00:00.000 spam 0123 5 " GOOD_TAIL, 0, "bad message key" },
	{ "MXT1 2026-11-22T08:00:00.000 spam " KEY "0 5 " GOOD_TAIL, 0, "bad message key" },
	{ HEAD "x61 x x494e424f58 x4a756e6b", 0, "too few fields" },
	{ HEAD GOOD_TAIL " x", 0, "too many fields" },
	{ "MXT1 2026-11-22T08:00:00.000 spam " KEY " 05 " GOOD_TAIL, 0, "bad message size" },
	{ "MXT1 2026-11-22T08:00:00.000 spam " KEY " -5 " GOOD_TAIL, 0, "bad message size" },
	{ "MXT1 2026-11-22T08:00:00.000 spam " KEY " 99999999999999999 " GOOD_TAIL, 0,
	  "bad message size" },
	{ HEAD "x x x494e424f58 x4a756e6b x6869", 0, "bad user" },
	{ HEAD "x6100 x x494e424f58 x4a756e6b x6869", 0, "bad user" },
	{ HEAD "61 x x494e424f58 x4a756e6b x6869", 0, "bad user" },
	{ HEAD "x6 x x494e424f58 x4a756e6b x6869", 0, "bad user" },
	{ HEAD "x4A x x494e424f58 x4a756e6b x6869", 0, "bad user" },
	{ HEAD "x61 xzz x494e424f58 x4a756e6b x6869", 0, "bad Message-ID" },
	{ HEAD "x61 x - x4a756e6b x6869", 0, "bad source mailbox" },
	{ HEAD "x61 x x494e424f58 x x6869", 0, "bad destination mailbox" },
	{ HEAD "x61 x x494e424f58 x4a756e6b 6869", 0, "bad message text" },
	{ "MXT1 2026-11-22T08:00:00.000 spam " KEY " 1 " GOOD_TAIL, 0, "longer than its size" },
	{ "", 0, "too few fields" },
};

START_TEST(test_bad_records)
{
	const struct bad_case *c = &bad_cases[_i];
	static char buf[LINE_BUF];
	struct training_event ev;
	const char *why = "";
	size_t len = make_record(buf, c->fields, c->bad_check);

	ck_assert_int_eq(train_spool_parse_line(buf, len, &ev, &why), -1);
	ck_assert_msg(strstr(why, c->why) != NULL, "case %d: got \"%s\", want \"%s\"", _i, why, c->why);
}
END_TEST

START_TEST(test_good_record_from_fields)
{
	static char buf[LINE_BUF];
	struct training_event ev;
	const char *why = "";
	size_t len = make_record(buf, HEAD GOOD_TAIL, 0);

	ck_assert_msg(train_spool_parse_line(buf, len, &ev, &why) == 0, "%s", why);
	ck_assert_str_eq(ev.user, "a");
	ck_assert_str_eq(ev.source, "INBOX");
	ck_assert_str_eq(ev.dest, "Junk");
	ck_assert_str_eq(ev.created, "2026-11-22 08:00:00.000");
	ck_assert_uint_eq(ev.message_len, 2);
	ck_assert(memcmp(ev.message, "hi", 2) == 0);
}
END_TEST

START_TEST(test_nul_in_record)
{
	char buf[8] = { 'M', 'X', '\0', 'T', '1', ' ', 'x', 0 };
	char nocheck[] = "MXT1 x 0123456789abcdef0";
	struct training_event ev;
	const char *why = "";

	ck_assert_int_eq(train_spool_parse_line(buf, 7, &ev, &why), -1);
	ck_assert_str_eq(why, "NUL byte in record");
	ck_assert_int_eq(train_spool_parse_line(nocheck, strlen(nocheck), &ev, &why), -1);
	ck_assert_str_eq(why, "no checksum");
}
END_TEST

struct collected {
	unsigned count;
	unsigned lines[8];
};

static int collect(void *ctx, const struct training_event *ev, unsigned line)
{
	struct collected *c = ctx;

	ck_assert(ev->user[0] != '\0' && ev->dest[0] != '\0');
	if (c->count < 8)
		c->lines[c->count] = line;
	c->count++;
	return 0;
}

/* A whole file: good, corrupted, empty, good, truncated. */
START_TEST(test_parse_file)
{
	char *a, *b, *buf;
	size_t alen, blen, used = 0;
	struct collected got = { 0 };
	unsigned bad = 0;

	a = train_spool_format(&roundtrip_cases[0], true, &alen);
	b = train_spool_format(&roundtrip_cases[2], true, &blen);
	buf = malloc(3 * alen + blen + 16);
	memcpy(buf + used, a, alen);
	used += alen;
	memcpy(buf + used, a, alen);
	buf[used + 7] ^= 1;           /* corrupt the second record */
	used += alen;
	buf[used++] = '\n';
	memcpy(buf + used, b, blen);
	used += blen;
	memcpy(buf + used, a, alen / 2);
	used += alen / 2;
	ck_assert_int_eq(train_spool_parse(buf, used, "test.spool", collect, &got, &bad), 0);
	ck_assert_uint_eq(got.count, 2);
	ck_assert_uint_eq(got.lines[0], 1);
	ck_assert_uint_eq(got.lines[1], 4);
	ck_assert_uint_eq(bad, 3);  /* corrupted, empty, truncated */
	free(a);
	free(b);
	free(buf);
}
END_TEST

static char *read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(LINE_BUF * 4);

	ck_assert_ptr_nonnull(f);
	*len_r = fread(buf, 1, LINE_BUF * 4 - 1, f);
	fclose(f);
	return buf;
}

START_TEST(test_append)
{
	char dir[] = "/tmp/check_train_spool.XXXXXX", path[128], *buf;
	char error[TRAIN_SPOOL_ERROR_MAX];
	struct train_spool_result res;
	struct collected got = { 0 };
	struct stat st;
	unsigned bad;
	size_t len, one;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/u.spool", dir);
	ck_assert(!train_spool_pending(path));
	ck_assert_int_eq(train_spool_append(path, roundtrip_cases, 2, 1 << 20, &res, error), 0);
	ck_assert_uint_eq(res.written, 2);
	ck_assert_uint_eq(res.dropped + res.stripped, 0);
	ck_assert(train_spool_pending(path));
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);

	/* A crash left half a record: the next append ends that line first. */
	f = fopen(path, "ab");
	fputs("MXT1 half", f);
	fclose(f);
	ck_assert_int_eq(train_spool_append(path, roundtrip_cases, 1, 1 << 20, &res, error), 0);
	buf = read_file(path, &len);
	ck_assert_int_eq(train_spool_parse(buf, len, path, collect, &got, &bad), 0);
	ck_assert_uint_eq(got.count, 3);
	ck_assert_uint_eq(bad, 1);
	free(buf);

	/* Full: the record goes in without its text, then not at all. */
	ck_assert_int_eq(stat(path, &st), 0);
	free(train_spool_format(&roundtrip_cases[0], false, &one));
	ck_assert_int_eq(train_spool_append(path, roundtrip_cases, 2,
					    (unsigned long long)st.st_size + 1 + one, &res, error), 0);
	ck_assert_uint_eq(res.written, 1);
	ck_assert_uint_eq(res.stripped, 1);
	ck_assert_uint_eq(res.dropped, 1);

	ck_assert_int_eq(unlink(path), 0);
	ck_assert(!train_spool_pending(path));
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_append_error)
{
	char error[TRAIN_SPOOL_ERROR_MAX];
	struct train_spool_result res;

	ck_assert_int_eq(train_spool_append("/nonexistent-dir/u.spool", roundtrip_cases, 1, 1 << 20,
					    &res, error), -1);
	ck_assert(strstr(error, "/nonexistent-dir/u.spool") != NULL);
}
END_TEST

static Suite *spool_suite(void)
{
	Suite *s = suite_create("train_spool");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_roundtrip, 0, UNIT_CASES(roundtrip_cases));
	tcase_add_test(tc, test_format_without_text);
	tcase_add_loop_test(tc, test_bad_records, 0, UNIT_CASES(bad_cases));
	tcase_add_test(tc, test_good_record_from_fields);
	tcase_add_test(tc, test_nul_in_record);
	tcase_add_test(tc, test_parse_file);
	tcase_add_test(tc, test_append);
	tcase_add_test(tc, test_append_error);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(spool_suite());
}
