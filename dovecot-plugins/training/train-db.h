/* train-db.h: writes training events into training_events over a MariaDB
 * connection of its own (binary message text, many rows in one
 * transaction): used by the plugin and by mxkit-train's spool replay. */
#ifndef TRAIN_DB_H
#define TRAIN_DB_H

#include <mysql.h>

#include "mx_db.h"
#include "train-event.h"

#define TRAIN_DB_ERROR_MAX 512

/* Open a connection (autocommit off) with the timeouts of conf. NULL with
 * error set when the database cannot be reached. */
MYSQL *train_db_connect(const struct mx_db_config *conf, char error[TRAIN_DB_ERROR_MAX]);

/* Prepare the insert on conn. NULL with error set. */
MYSQL_STMT *train_db_prepare(MYSQL *conn, char error[TRAIN_DB_ERROR_MAX]);

/* Insert one event (pending, or failed when its text was not kept) in the
 * open transaction. 0, or -1 with error set. */
int train_db_insert(MYSQL_STMT *st, const struct training_event *ev,
		    char error[TRAIN_DB_ERROR_MAX]);

/* Insert count events in one transaction and commit. On -1 the transaction
 * was rolled back and the connection should be closed. */
int train_db_store(MYSQL *conn, const struct training_event *events, unsigned count,
		   char error[TRAIN_DB_ERROR_MAX]);

#endif
