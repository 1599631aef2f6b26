/* fuzz_train_spool.c: libFuzzer target for the training spool parser.
 *
 * Parses arbitrary bytes as a spool file and, so that the fuzzer gets past
 * the checksum to the field checks, as one record whose correct checksum
 * is appended here. Checks each accepted event:
 * strings within their limits, a known class, a 64-hex key, text no longer
 * than the size; and an accepted record, formatted again, parses to the
 * same event (the writer and the parser agree). */
#include "mxkit-config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx_log.h"
#include "train-spool.h"

static void check(int cond)
{
	if (!cond)
		abort();
}

static int check_event(void *ctx, const struct training_event *ev, unsigned line)
{
	struct training_event again;
	const char *why;
	size_t len;
	char *rec;

	(void)ctx;
	check(line >= 1);
	check(strlen(ev->user) >= 1 && strlen(ev->user) <= TRAINING_USER_MAX);
	check(strlen(ev->message_id) <= TRAINING_MESSAGE_ID_MAX);
	check(strlen(ev->source) <= TRAINING_MAILBOX_MAX);
	check(strlen(ev->dest) >= 1 && strlen(ev->dest) <= TRAINING_MAILBOX_MAX);
	check(ev->class == TRAINING_SPAM || ev->class == TRAINING_HAM);
	check(strlen(ev->key) == TRAINING_KEY_LEN);
	check(ev->created[0] == '\0' || strlen(ev->created) == TRAINING_TIME_LEN);
	check(ev->message == NULL || ev->message_len <= ev->full_size);
	rec = train_spool_format(ev, true, &len);
	check(rec != NULL && len > 0 && rec[len - 1] == '\n');
	check(train_spool_parse_line(rec, len - 1, &again, &why) == 0);
	check(strcmp(again.user, ev->user) == 0 && strcmp(again.key, ev->key) == 0);
	check(strcmp(again.message_id, ev->message_id) == 0);
	check(strcmp(again.source, ev->source) == 0 && strcmp(again.dest, ev->dest) == 0);
	check(strcmp(again.created, ev->created) == 0 && again.class == ev->class);
	check(again.full_size == ev->full_size);
	check((again.message == NULL) == (ev->message == NULL));
	check(again.message == NULL || (again.message_len == ev->message_len &&
					memcmp(again.message, ev->message, ev->message_len) == 0));
	free(rec);
	return 0;
}

/* data + " " + its checksum, parsed as one record. */
static void check_with_checksum(const uint8_t *data, size_t size)
{
	struct training_event ev;
	const char *why;
	char *line = malloc(size + 18);

	check(line != NULL);
	memcpy(line, data, size);
	snprintf(line + size, 18, " %016llx", train_spool_hash((const char *)data, size));
	if (train_spool_parse_line(line, size + 17, &ev, &why) == 0)
		check_event(NULL, &ev, 1);
	else
		check(why != NULL && why[0] != '\0');
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	unsigned bad = 0;
	char *buf;

	if (!quiet) {
		mx_log_set_level(LOG_CRIT);  /* every bad record logs a line */
		quiet = 1;
	}
	buf = malloc(size + 1);
	check(buf != NULL);
	memcpy(buf, data, size);
	check(train_spool_parse(buf, size, "fuzz.spool", check_event, NULL, &bad) == 0);
	check(bad <= size);
	free(buf);
	check_with_checksum(data, size);
	return 0;
}
