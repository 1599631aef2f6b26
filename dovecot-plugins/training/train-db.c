/* train-db.c: inserts training events into training_events.
 *
 * lib/mx_db binds string parameters only and commits each statement; the
 * events need the message text as a binary parameter and many rows in one
 * transaction (a MOVE of 1,000 messages costs one commit, and a replayed
 * spool file goes in whole or not at all), so this file drives libmysql
 * itself. Every value is a bound parameter. */
#include "mxkit-config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "train-db.h"

static const char train_db_insert_sql[] =
	"INSERT INTO training_events (username, message_key, message_id, class,"
	" source_mailbox, dest_mailbox, state, result, message_size, message, created_at,"
	" updated_at)"
	" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE(?, UTC_TIMESTAMP(3)), UTC_TIMESTAMP(3))";

#define TRAIN_DB_NPARAMS 11

MYSQL *train_db_connect(const struct mx_db_config *conf, char error[TRAIN_DB_ERROR_MAX])
{
	const char *socket_path = conf->socket[0] != '\0' ? conf->socket : NULL;
	MYSQL *conn = mysql_init(NULL);

	if (conn == NULL) {
		snprintf(error, TRAIN_DB_ERROR_MAX, "mysql_init: out of memory");
		return NULL;
	}
	mysql_optionsv(conn, MYSQL_OPT_CONNECT_TIMEOUT, &conf->connect_timeout);
	mysql_optionsv(conn, MYSQL_OPT_READ_TIMEOUT, &conf->rw_timeout);
	mysql_optionsv(conn, MYSQL_OPT_WRITE_TIMEOUT, &conf->rw_timeout);
	if (mysql_real_connect(conn, socket_path != NULL ? "localhost" : conf->host, conf->user,
			       conf->password, conf->name, conf->port, socket_path, 0) == NULL) {
		snprintf(error, TRAIN_DB_ERROR_MAX, "database connection: %s", mysql_error(conn));
		mysql_close(conn);
		return NULL;
	}
	if (mysql_autocommit(conn, 0) != 0) {
		snprintf(error, TRAIN_DB_ERROR_MAX, "database: %s", mysql_error(conn));
		mysql_close(conn);
		return NULL;
	}
	return conn;
}

MYSQL_STMT *train_db_prepare(MYSQL *conn, char error[TRAIN_DB_ERROR_MAX])
{
	MYSQL_STMT *st = mysql_stmt_init(conn);

	if (st == NULL) {
		snprintf(error, TRAIN_DB_ERROR_MAX, "mysql_stmt_init: out of memory");
		return NULL;
	}
	if (mysql_stmt_prepare(st, train_db_insert_sql, sizeof(train_db_insert_sql) - 1) != 0) {
		snprintf(error, TRAIN_DB_ERROR_MAX, "database: %s", mysql_stmt_error(st));
		mysql_stmt_close(st);
		return NULL;
	}
	return st;
}

static void train_db_bind_str(MYSQL_BIND *b, unsigned long *len, const char *s)
{
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = (void *)s;
	*len = strlen(s);
	b->buffer_length = *len;
	b->length = len;
}

int train_db_insert(MYSQL_STMT *st, const struct training_event *ev,
		    char error[TRAIN_DB_ERROR_MAX])
{
	MYSQL_BIND b[TRAIN_DB_NPARAMS];
	unsigned long len[TRAIN_DB_NPARAMS];
	unsigned long long size = ev->full_size;
	bool no_text = ev->message == NULL;
	my_bool is_null = 1;

	if (strlen(ev->user) > TRAINING_USER_MAX) {
		snprintf(error, TRAIN_DB_ERROR_MAX, "user name longer than %d characters",
			 TRAINING_USER_MAX);
		return -1;
	}
	memset(b, 0, sizeof(b));
	train_db_bind_str(&b[0], &len[0], ev->user);
	train_db_bind_str(&b[1], &len[1], ev->key);
	train_db_bind_str(&b[2], &len[2], ev->message_id);
	train_db_bind_str(&b[3], &len[3], ev->class == TRAINING_SPAM ? "spam" : "ham");
	train_db_bind_str(&b[4], &len[4], ev->source);
	train_db_bind_str(&b[5], &len[5], ev->dest);
	train_db_bind_str(&b[6], &len[6], no_text ? "failed" : "pending");
	train_db_bind_str(&b[7], &len[7], no_text ? TRAINING_NO_TEXT_RESULT : "");
	b[8].buffer_type = MYSQL_TYPE_LONGLONG;
	b[8].buffer = &size;
	b[8].is_unsigned = 1;
	b[9].buffer_type = MYSQL_TYPE_BLOB;
	if (no_text) {
		b[9].is_null = &is_null;
	} else {
		b[9].buffer = (void *)ev->message;
		len[9] = ev->message_len;
		b[9].buffer_length = len[9];
		b[9].length = &len[9];
	}
	if (ev->created[0] != '\0') {
		train_db_bind_str(&b[10], &len[10], ev->created);
	} else {
		b[10].buffer_type = MYSQL_TYPE_STRING;
		b[10].is_null = &is_null;
	}
	if (mysql_stmt_bind_param(st, b) != 0 || mysql_stmt_execute(st) != 0) {
		snprintf(error, TRAIN_DB_ERROR_MAX, "database: %s", mysql_stmt_error(st));
		return -1;
	}
	return 0;
}

int train_db_store(MYSQL *conn, const struct training_event *events, unsigned count,
		   char error[TRAIN_DB_ERROR_MAX])
{
	MYSQL_STMT *st = train_db_prepare(conn, error);
	unsigned i;

	if (st == NULL)
		return -1;
	for (i = 0; i < count; i++) {
		if (train_db_insert(st, &events[i], error) < 0) {
			mysql_stmt_close(st);
			(void)mysql_rollback(conn);
			return -1;
		}
	}
	mysql_stmt_close(st);
	if (mysql_commit(conn) != 0) {
		snprintf(error, TRAIN_DB_ERROR_MAX, "database commit: %s", mysql_error(conn));
		return -1;
	}
	return 0;
}
