/* train-event.h: one spam-training event as the mxkit_training plugin
 * records it, shared by the plugin, its local spool (train-spool*.c) and
 * the database writer (train-db.c). Plain C: no Dovecot headers. */
#ifndef TRAIN_EVENT_H
#define TRAIN_EVENT_H

#include <stddef.h>

/* Largest message the plugin stores for training (the trainer reads it back
 * through a result column that is limited to 1 MiB). */
#define TRAINING_MESSAGE_MAX (1024 * 1024 - 1)
#define TRAINING_MESSAGE_ID_MAX 998
#define TRAINING_MAILBOX_MAX 255
#define TRAINING_USER_MAX 320
#define TRAINING_KEY_LEN 64           /* hex SHA-256 */
#define TRAINING_TIME_LEN 23          /* "YYYY-MM-DD HH:MM:SS.mmm", UTC */

enum training_class { TRAINING_SPAM, TRAINING_HAM };

struct training_event {
	const char *user;
	enum training_class class;
	char key[TRAINING_KEY_LEN + 1];   /* hex SHA-256: of Message-ID, else of the GUID */
	const char *message_id;           /* "" when the message has none */
	const char *source;               /* source mailbox, "" for APPEND */
	const char *dest;
	const unsigned char *message;     /* NULL when not kept (event recorded failed) */
	size_t message_len;
	unsigned long long full_size;
	char created[TRAINING_TIME_LEN + 1]; /* when the user moved it, "" = now */
};

/* The reason stored for an event recorded without its message text. */
#define TRAINING_NO_TEXT_RESULT \
	"not trained: message text not kept (larger than mxkit_training_max_size, or the spool was full)"

#endif
