/* train-spool-parse.c: reads the records of a training spool file (format
 * in train-spool.h). The file is untrusted input: every field is checked
 * (shape, length, hex, checksum) before an event is built, and a bad or
 * truncated record is skipped with a log line naming file and line. */
#include "mxkit-config.h"

#include <stdlib.h>
#include <string.h>

#include "mx_log.h"
#include "train-spool.h"

#define TRAIN_SPOOL_SIZE_MAX 4503599627370496ULL  /* 2^52: any real message */

static int train_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode an "x<hex>" field in place (NUL-terminated after the bytes).
 * text: the result must hold no NUL byte. */
static int train_unhex(char *field, size_t max, bool text, size_t *len_r)
{
	size_t hexlen = strlen(field), i;

	if (field[0] != 'x' || (hexlen - 1) % 2 != 0 || (hexlen - 1) / 2 > max)
		return -1;
	for (i = 0; i < (hexlen - 1) / 2; i++) {
		int hi = train_hexval(field[1 + 2 * i]), lo = train_hexval(field[2 + 2 * i]);
		if (hi < 0 || lo < 0 || (text && hi == 0 && lo == 0))
			return -1;
		field[i] = (char)(hi << 4 | lo);
	}
	field[i] = '\0';
	*len_r = i;
	return 0;
}

static bool train_digits(const char *s, size_t n, unsigned *value_r)
{
	unsigned v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*value_r = v;
	return true;
}

/* "YYYY-MM-DDTHH:MM:SS.mmm", a real date (the database refuses others). */
static bool train_time_ok(const char *s)
{
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned y, mo, d, h, mi, sec, ms;
	bool leap;

	if (strlen(s) != TRAINING_TIME_LEN || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[19] != '.')
		return false;
	if (!train_digits(s, 4, &y) || !train_digits(s + 5, 2, &mo) || !train_digits(s + 8, 2, &d) ||
	    !train_digits(s + 11, 2, &h) || !train_digits(s + 14, 2, &mi) ||
	    !train_digits(s + 17, 2, &sec) || !train_digits(s + 20, 3, &ms))
		return false;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
	    sec > 59)
		return false;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return !(mo == 2 && d == 29 && !leap);
}

static bool train_key_ok(const char *s)
{
	size_t i;

	for (i = 0; i < TRAINING_KEY_LEN; i++) {
		if (train_hexval(s[i]) < 0)
			return false;
	}
	return s[TRAINING_KEY_LEN] == '\0';
}

static bool train_size_ok(const char *s, unsigned long long *size_r)
{
	unsigned long long v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 16 || (n > 1 && s[0] == '0'))
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long long)(s[i] - '0');
	}
	*size_r = v;
	return v <= TRAIN_SPOOL_SIZE_MAX;
}

int train_spool_parse_line(char *line, size_t len, struct training_event *ev, const char **why_r)
{
	char *f[TRAIN_SPOOL_FIELDS], *p, *sp, *end;
	size_t n, slen;
	unsigned i;

	memset(ev, 0, sizeof(*ev));
	if (len > TRAIN_SPOOL_LINE_MAX) {
		*why_r = "record longer than any valid one";
		return -1;
	}
	if (memchr(line, '\0', len) != NULL) {
		*why_r = "NUL byte in record";
		return -1;
	}
	line[len] = '\0';
	/* The checksum covers everything before its separating space. */
	sp = strrchr(line, ' ');
	if (sp == NULL || strlen(sp + 1) != 16) {
		*why_r = "no checksum";
		return -1;
	}
	unsigned long long want = strtoull(sp + 1, &end, 16);
	if (*end != '\0' || train_hexval(sp[1]) < 0 || want != train_spool_hash(line, (size_t)(sp - line))) {
		*why_r = "checksum mismatch (corrupted record)";
		return -1;
	}
	for (i = 0, p = line; i < TRAIN_SPOOL_FIELDS; i++) {
		f[i] = p;
		sp = strchr(p, ' ');
		if (i + 1 < TRAIN_SPOOL_FIELDS) {
			if (sp == NULL) {
				*why_r = "too few fields";
				return -1;
			}
			*sp = '\0';
			p = sp + 1;
		} else if (sp != NULL) {
			*why_r = "too many fields";
			return -1;
		}
	}
	if (strcmp(f[0], TRAIN_SPOOL_MAGIC) != 0) {
		*why_r = "not a " TRAIN_SPOOL_MAGIC " record";
		return -1;
	}
	if (strcmp(f[1], "-") != 0) {
		if (!train_time_ok(f[1])) {
			*why_r = "bad time";
			return -1;
		}
		memcpy(ev->created, f[1], TRAINING_TIME_LEN + 1);
		ev->created[10] = ' ';
	}
	if (strcmp(f[2], "spam") == 0) {
		ev->class = TRAINING_SPAM;
	} else if (strcmp(f[2], "ham") == 0) {
		ev->class = TRAINING_HAM;
	} else {
		*why_r = "class is neither spam nor ham";
		return -1;
	}
	if (!train_key_ok(f[3])) {
		*why_r = "bad message key";
		return -1;
	}
	memcpy(ev->key, f[3], TRAINING_KEY_LEN + 1);
	if (!train_size_ok(f[4], &ev->full_size)) {
		*why_r = "bad message size";
		return -1;
	}
	if (train_unhex(f[5], TRAINING_USER_MAX, true, &slen) < 0 || slen == 0) {
		*why_r = "bad user";
		return -1;
	}
	ev->user = f[5];
	if (train_unhex(f[6], TRAINING_MESSAGE_ID_MAX, true, &slen) < 0) {
		*why_r = "bad Message-ID";
		return -1;
	}
	ev->message_id = f[6];
	if (train_unhex(f[7], TRAINING_MAILBOX_MAX, true, &slen) < 0) {
		*why_r = "bad source mailbox";
		return -1;
	}
	ev->source = f[7];
	if (train_unhex(f[8], TRAINING_MAILBOX_MAX, true, &slen) < 0 || slen == 0) {
		*why_r = "bad destination mailbox";
		return -1;
	}
	ev->dest = f[8];
	if (strcmp(f[9], "-") != 0) {
		if (train_unhex(f[9], TRAINING_MESSAGE_MAX, false, &n) < 0) {
			*why_r = "bad message text";
			return -1;
		}
		if (n > ev->full_size) {
			*why_r = "message text longer than its size";
			return -1;
		}
		ev->message = (const unsigned char *)f[9];
		ev->message_len = n;
	}
	return 0;
}

int train_spool_parse(char *buf, size_t len, const char *name, train_spool_event_fn *fn,
		      void *ctx, unsigned *bad_r)
{
	char safe[256];
	size_t off = 0;
	unsigned line;

	*bad_r = 0;
	/* Each round consumes at least one byte: bounded by len. */
	for (line = 1; off < len; line++) {
		char *nl = memchr(buf + off, '\n', len - off);
		struct training_event ev;
		const char *why;

		if (nl == NULL) {
			mx_log_safe(safe, sizeof(safe), name, strlen(name));
			mx_log_warn("%s:%u: truncated record (no end of line): skipped", safe, line);
			(*bad_r)++;
			break;
		}
		if (train_spool_parse_line(buf + off, (size_t)(nl - (buf + off)), &ev, &why) < 0) {
			mx_log_safe(safe, sizeof(safe), name, strlen(name));
			mx_log_warn("%s:%u: %s: record skipped", safe, line, why);
			(*bad_r)++;
		} else if (fn(ctx, &ev, line) < 0) {
			return -1;
		}
		off = (size_t)(nl - buf) + 1;
	}
	return 0;
}
