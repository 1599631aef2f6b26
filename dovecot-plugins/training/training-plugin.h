/* training-plugin.h: shared declarations of the mxkit_training Dovecot mail
 * plugin. The plugin sees messages copied, moved or appended into Junk (spam)
 * and moved out of Junk to anything but Trash (ham), and once the IMAP
 * transaction has committed it records each as a pending event in MariaDB
 * (training_events) and starts `mxkit-train --pending` in the background,
 * which talks to the spam filter. The IMAP command never waits for it.
 * When MariaDB cannot take the events they go to the user's spool file
 * (train-spool.h), which mxkit-train replays. */
#ifndef TRAINING_PLUGIN_H
#define TRAINING_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>

#include "train-event.h"

struct mx_db_config;

struct training_settings {
	const char *config_path;     /* mxkit.conf holding the database section */
	const char *junk;            /* Junk mailbox name (besides \Junk special-use) */
	const char *trash;           /* Trash mailbox name (besides \Trash special-use) */
	const char *trainer;         /* mxkit-train path, "" to never start it */
	size_t max_size;
	/* from mxkit.conf, read at login (NULL/"" when it could not be read) */
	const struct mx_db_config *db;
	const char *spool_path;      /* this user's spool file */
	unsigned spool_max_size;
};

/* training-store.c: read the database and spool settings of mxkit.conf
 * into set (allocated from pool). -1 with *error_r set. */
int training_store_settings(struct training_settings *set, pool_t pool, const char *user,
			    const char **error_r);
/* Write events in one database transaction. Returns 0, or -1 with *error_r
 * set (nothing was written: the caller spools them). */
int training_store_events(const struct training_settings *set,
			  const struct training_event *events, unsigned count,
			  const char **error_r);
/* Append events to the user's spool file; logs what was lost if it is full. */
int training_store_spool(const struct training_settings *set, const char *user,
			 const struct training_event *events, unsigned count,
			 const char **error_r);
void training_store_deinit(void);

/* training-spawn.c: start `trainer -c config --pending` detached. */
int training_spawn_trainer(const struct training_settings *set, const char **error_r);

#endif
