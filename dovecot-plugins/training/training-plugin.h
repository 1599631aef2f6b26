/* training-plugin.h: shared declarations of the mxkit_training Dovecot mail
 * plugin. The plugin sees messages copied, moved or appended into Junk (spam)
 * and moved out of Junk to anything but Trash (ham), and once the IMAP
 * transaction has committed it records each as a pending event in MariaDB
 * (training_events) and starts `mxkit-train --pending` in the background,
 * which talks to the spam filter. The IMAP command never waits for it. */
#ifndef TRAINING_PLUGIN_H
#define TRAINING_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>

/* Largest message the plugin stores for training (the trainer reads it back
 * through a result column that is limited to 1 MiB). */
#define TRAINING_MESSAGE_MAX (1024 * 1024 - 1)
#define TRAINING_MESSAGE_ID_MAX 998
#define TRAINING_MAILBOX_MAX 255
#define TRAINING_USER_MAX 320

enum training_class { TRAINING_SPAM, TRAINING_HAM };

/* One event, collected during a transaction and written after commit. */
struct training_event {
	enum training_class class;
	char key[65];                 /* hex SHA-256: of Message-ID, else of the GUID */
	const char *message_id;       /* "" when the message has none */
	const char *source;           /* source mailbox, "" for APPEND */
	const char *dest;
	const unsigned char *message; /* NULL when too large (event recorded failed) */
	size_t message_len;
	size_t full_size;
};

struct training_settings {
	const char *config_path;     /* mxkit.conf holding the database section */
	const char *junk;            /* Junk mailbox name (besides \Junk special-use) */
	const char *trash;           /* Trash mailbox name (besides \Trash special-use) */
	const char *trainer;         /* mxkit-train path, "" to never start it */
	size_t max_size;
};

/* training-store.c: write events for `user` in one database transaction.
 * Returns 0, or -1 with *error_r set (the events are then lost: logged). */
int training_store_events(const struct training_settings *set, const char *user,
			  const struct training_event *events, unsigned count,
			  const char **error_r);
void training_store_deinit(void);

/* training-spawn.c: start `trainer -c config --pending` detached. */
int training_spawn_trainer(const struct training_settings *set, const char **error_r);

#endif
