/* train-spool.h: the local spool of training events that could not be
 * written to MariaDB (database down or slow when the user moved mail).
 *
 * One file per user, <spool_dir>/<hex SHA-256 of the user>.spool, owned by
 * the mail user (mode 0600), one record per line:
 *
 *   MXT1 CREATED CLASS KEY SIZE xUSER xMESSAGE-ID xSOURCE xDEST xTEXT|- CHECK
 *
 * CREATED is the UTC time of the move (YYYY-MM-DDTHH:MM:SS.mmm), CLASS spam
 * or ham, KEY the 64-hex-digit dedup key, SIZE the message's full size,
 * the x-fields lower-case hex after an "x" (the message text "-" when it
 * was not kept), CHECK the FNV-1a 64 hash (16 hex digits) of everything
 * before the space that precedes it. Writers append whole records under
 * flock() and fsync; mxkit-train claims a file by renaming it to
 * <name>.spool.replay, inserts its records in one transaction and removes
 * it. A record inserted twice (a crash between commit and removal) is not
 * trained twice: the trainer skips a message already trained in its class. */
#ifndef TRAIN_SPOOL_H
#define TRAIN_SPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "train-event.h"

#define TRAIN_SPOOL_SUFFIX ".spool"
#define TRAIN_SPOOL_REPLAY_SUFFIX ".replay"
#define TRAIN_SPOOL_MAGIC "MXT1"
#define TRAIN_SPOOL_FIELDS 11
#define TRAIN_SPOOL_ERROR_MAX 512
/* Longest record: the fixed fields plus every variable field in hex. */
#define TRAIN_SPOOL_LINE_MAX \
	(128 + 2 * (TRAINING_USER_MAX + TRAINING_MESSAGE_ID_MAX + 2 * TRAINING_MAILBOX_MAX + \
		    TRAINING_MESSAGE_MAX))

/* train-spool.c: one record (with or without the message text), a malloc()ed
 * line ending in '\n' of *len_r bytes, or NULL when out of memory. */
char *train_spool_format(const struct training_event *ev, bool with_text, size_t *len_r);

struct train_spool_result {
	unsigned written;   /* records appended */
	unsigned stripped;  /* of those, appended without the message text */
	unsigned dropped;   /* not appended: the spool was full */
};

/* Append the events to the spool file at path (created 0600), keeping the
 * file under max_size bytes: a record that does not fit goes in without
 * its message text (recorded failed on replay), one that still does not
 * fit is dropped and counted. Returns 0 (see res), -1 with error set when
 * nothing could be written. */
int train_spool_append(const char *path, const struct training_event *events, unsigned count,
		       unsigned long long max_size, struct train_spool_result *res,
		       char error[TRAIN_SPOOL_ERROR_MAX]);

/* True when the spool file at path holds records or is being replayed. */
bool train_spool_pending(const char *path);

/* train-spool-parse.c: parse one record (its line without the '\n', with
 * room for one byte after it: line[len] is overwritten), decoding in
 * place: ev's strings point into line. 0, or -1 with *why_r saying what
 * is wrong. */
int train_spool_parse_line(char *line, size_t len, struct training_event *ev, const char **why_r);

/* Called for each valid record; line numbers count from 1. Return 0 to go
 * on, -1 to stop the parse (train_spool_parse then returns -1). */
typedef int train_spool_event_fn(void *ctx, const struct training_event *ev, unsigned line);

/* Parse a spool file's contents (modified in place). A corrupted record, or
 * a last one without its '\n' (truncated), is logged as "NAME:LINE: why"
 * and counted in *bad_r. */
int train_spool_parse(char *buf, size_t len, const char *name, train_spool_event_fn *fn,
		      void *ctx, unsigned *bad_r);

/* FNV-1a 64 of data: the record checksum. */
unsigned long long train_spool_hash(const char *data, size_t len);

#endif
