/* training-store.c: writes the plugin's events into training_events.
 *
 * The plugin needs what lib/mx_db does not offer: several rows in one
 * database transaction (so a MOVE of 1,000 messages costs one commit) and
 * the message text as a binary parameter. So it keeps one MariaDB
 * connection of its own per imap process (which serves one user and runs
 * one thread), opened lazily from the `database` section of mxkit.conf with
 * its connect and read/write timeouts, and reopened after an error. */
#include <errno.h>
#include <mysql.h>
#include <stdio.h>
#include <string.h>

#include "lib.h"
#include "training-plugin.h"

#include "mx_config.h"
#include "mx_db.h"

static const char training_insert_sql[] =
	"INSERT INTO training_events (username, message_key, message_id, class,"
	" source_mailbox, dest_mailbox, state, result, message_size, message)"
	" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* One per imap process: the process serves a single user on one thread. */
static MYSQL *training_conn;

static void training_store_close(void)
{
	if (training_conn != NULL) {
		mysql_close(training_conn);
		training_conn = NULL;
	}
}

void training_store_deinit(void)
{
	training_store_close();
}

static int training_store_connect(const struct training_settings *set, const char **error_r)
{
	struct mx_db_config conf;
	struct mx_err err;
	config_t cfg;
	const char *socket_path;
	MYSQL *conn;

	if (training_conn != NULL)
		return 0;
	config_init(&cfg);
	if (mx_config_load(&cfg, set->config_path, &err) < 0 ||
	    mx_db_config_parse(&cfg, &conf, &err) < 0) {
		config_destroy(&cfg);
		*error_r = t_strdup(err.text);
		return -1;
	}
	config_destroy(&cfg);

	conn = mysql_init(NULL);
	if (conn == NULL) {
		*error_r = "mysql_init: out of memory";
		return -1;
	}
	mysql_optionsv(conn, MYSQL_OPT_CONNECT_TIMEOUT, &conf.connect_timeout);
	mysql_optionsv(conn, MYSQL_OPT_READ_TIMEOUT, &conf.rw_timeout);
	mysql_optionsv(conn, MYSQL_OPT_WRITE_TIMEOUT, &conf.rw_timeout);
	socket_path = conf.socket[0] != '\0' ? conf.socket : NULL;
	if (mysql_real_connect(conn, socket_path != NULL ? "localhost" : conf.host,
			       conf.user, conf.password, conf.name, conf.port,
			       socket_path, 0) == NULL) {
		*error_r = t_strdup_printf("database connection: %s", mysql_error(conn));
		mysql_close(conn);
		explicit_bzero(conf.password, sizeof(conf.password));
		return -1;
	}
	explicit_bzero(conf.password, sizeof(conf.password));
	if (mysql_autocommit(conn, 0) != 0) {
		*error_r = t_strdup_printf("database: %s", mysql_error(conn));
		mysql_close(conn);
		return -1;
	}
	training_conn = conn;
	return 0;
}

static void training_bind_str(MYSQL_BIND *b, unsigned long *len, const char *s)
{
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = (void *)s;
	*len = strlen(s);
	b->buffer_length = *len;
	b->length = len;
}

#define TRAINING_NPARAMS 10

static int training_store_one(MYSQL_STMT *st, const char *user, const struct training_event *ev)
{
	MYSQL_BIND b[TRAINING_NPARAMS];
	unsigned long len[TRAINING_NPARAMS];
	unsigned long long size = ev->full_size;
	bool too_large = ev->message == NULL;
	const char *state = too_large ? "failed" : "pending";
	const char *result = too_large ? "not trained: larger than mxkit_training_max_size" : "";
	my_bool is_null = 1;

	memset(b, 0, sizeof(b));
	training_bind_str(&b[0], &len[0], user);
	training_bind_str(&b[1], &len[1], ev->key);
	training_bind_str(&b[2], &len[2], ev->message_id);
	training_bind_str(&b[3], &len[3], ev->class == TRAINING_SPAM ? "spam" : "ham");
	training_bind_str(&b[4], &len[4], ev->source);
	training_bind_str(&b[5], &len[5], ev->dest);
	training_bind_str(&b[6], &len[6], state);
	training_bind_str(&b[7], &len[7], result);
	b[8].buffer_type = MYSQL_TYPE_LONGLONG;
	b[8].buffer = &size;
	b[8].is_unsigned = 1;
	b[9].buffer_type = MYSQL_TYPE_BLOB;
	if (too_large) {
		b[9].is_null = &is_null;
	} else {
		b[9].buffer = (void *)ev->message;
		len[9] = ev->message_len;
		b[9].buffer_length = len[9];
		b[9].length = &len[9];
	}
	if (mysql_stmt_bind_param(st, b) != 0 || mysql_stmt_execute(st) != 0)
		return -1;
	return 0;
}

int training_store_events(const struct training_settings *set, const char *user,
			  const struct training_event *events, unsigned count,
			  const char **error_r)
{
	MYSQL_STMT *st;
	unsigned i;

	if (strlen(user) > TRAINING_USER_MAX) {
		*error_r = "user name longer than 320 characters";
		return -1;
	}
	if (training_store_connect(set, error_r) < 0)
		return -1;
	st = mysql_stmt_init(training_conn);
	if (st == NULL) {
		*error_r = "mysql_stmt_init: out of memory";
		return -1;
	}
	if (mysql_stmt_prepare(st, training_insert_sql, sizeof(training_insert_sql) - 1) != 0)
		goto fail;
	for (i = 0; i < count; i++) {
		if (training_store_one(st, user, &events[i]) < 0)
			goto fail;
	}
	mysql_stmt_close(st);
	if (mysql_commit(training_conn) != 0) {
		*error_r = t_strdup_printf("database commit: %s", mysql_error(training_conn));
		training_store_close();
		return -1;
	}
	return 0;
fail:
	*error_r = t_strdup_printf("database: %s", mysql_stmt_error(st));
	mysql_stmt_close(st);
	(void)mysql_rollback(training_conn);
	training_store_close();
	return -1;
}
