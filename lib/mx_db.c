/* mx_db.c: MariaDB connection pool with per-connection prepared statements.
 *
 * A connection is taken from the pool for one statement and given back.
 * Each connection caches its prepared statements keyed by the SQL string's
 * address. A connection-class error (server gone, lost, refused) closes
 * the connection; the statement is retried once on a fresh one when the
 * caller said it is safe to repeat. While the server is down, only one
 * connection attempt is made per retry_interval; the others fail at once
 * with TEMP. */
#include "mxkit-config.h"

#include <errno.h>
#include <mysql.h>
#include <errmsg.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mx_db.h"
#include "mx_log.h"

#define STMT_CACHE 32
#define MAX_PARAMS 16
#define MAX_COLS 16
#define ACQUIRE_WAIT_SEC 5

struct stmt_slot {
	const char *sql;
	MYSQL_STMT *stmt;
};

struct mx_db_conn {
	MYSQL *mysql;        /* NULL while not connected */
	bool busy;
	struct stmt_slot stmts[STMT_CACHE];
	unsigned nstmts;
};

struct mx_db_pool {
	struct mx_db_config conf;
	pthread_mutex_t lock;
	pthread_cond_t freed;
	struct mx_db_conn *conns;
	unsigned nconns;
	time_t down_since;      /* 0 when the last attempt succeeded */
	time_t last_attempt;
};

struct mx_db_pool *mx_db_pool_new(const struct mx_db_config *conf, struct mx_err *err)
{
	struct mx_db_pool *pool = calloc(1, sizeof(*pool));

	if (pool == NULL) {
		mx_err_set(err, "out of memory");
		return NULL;
	}
	mysql_library_init(0, NULL, NULL);
	pool->conf = *conf;
	pool->nconns = conf->pool_size > 0 ? conf->pool_size : 1;
	pool->conns = calloc(pool->nconns, sizeof(*pool->conns));
	if (pool->conns == NULL) {
		free(pool);
		mx_err_set(err, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->freed, NULL);
	return pool;
}

static void conn_close(struct mx_db_conn *c)
{
	for (unsigned i = 0; i < c->nstmts; i++)
		(void)mysql_stmt_close(c->stmts[i].stmt);
	c->nstmts = 0;
	if (c->mysql != NULL)
		mysql_close(c->mysql);
	c->mysql = NULL;
}

void mx_db_pool_free(struct mx_db_pool *pool)
{
	if (pool == NULL)
		return;
	for (unsigned i = 0; i < pool->nconns; i++)
		conn_close(&pool->conns[i]);
	free(pool->conns);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->freed);
	/* Do not leave the password in freed memory. */
	memset(pool->conf.password, 0, sizeof(pool->conf.password));
	free(pool);
}

static bool is_connection_error(unsigned e)
{
	switch (e) {
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_UNKNOWN_HOST:
	case CR_SERVER_LOST_EXTENDED:
	case CR_COMMANDS_OUT_OF_SYNC:
	case 1927: /* ER_CONNECTION_KILLED */
	case 1053: /* ER_SERVER_SHUTDOWN */
		return true;
	default:
		return false;
	}
}

/* Open c->mysql. Called without the pool lock held. */
static int conn_open(struct mx_db_pool *pool, struct mx_db_conn *c, struct mx_err *err)
{
	const struct mx_db_config *conf = &pool->conf;
	unsigned timeout;
	my_bool off = 0;
	MYSQL *m = mysql_init(NULL);

	if (m == NULL)
		return mx_err_set(err, "database: out of memory");
	timeout = conf->connect_timeout;
	(void)mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	timeout = conf->rw_timeout;
	(void)mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
	(void)mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
	(void)mysql_options(m, MYSQL_OPT_RECONNECT, &off);
	(void)mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	(void)mysql_options(m, MYSQL_READ_DEFAULT_GROUP, "mxkit");
	if (mysql_real_connect(m, conf->socket[0] != '\0' ? NULL : conf->host,
			       conf->user, conf->password[0] != '\0' ? conf->password : NULL,
			       conf->name, conf->socket[0] != '\0' ? 0 : conf->port,
			       conf->socket[0] != '\0' ? conf->socket : NULL,
			       CLIENT_MULTI_RESULTS) == NULL) {
		mx_err_set(err, "database: cannot connect to %s: %s",
			   conf->socket[0] != '\0' ? conf->socket : conf->host, mysql_error(m));
		mysql_close(m);
		return -1;
	}
	c->mysql = m;
	return 0;
}

/* Take a connection, connected. Returns NULL with err on TEMP. */
static struct mx_db_conn *conn_acquire(struct mx_db_pool *pool, struct mx_err *err)
{
	struct mx_db_conn *c = NULL;
	struct timespec deadline;
	time_t now;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += ACQUIRE_WAIT_SEC;
	pthread_mutex_lock(&pool->lock);
	for (;;) {
		/* Prefer a free connection that is already open. */
		for (unsigned i = 0; i < pool->nconns && c == NULL; i++)
			if (!pool->conns[i].busy && pool->conns[i].mysql != NULL)
				c = &pool->conns[i];
		for (unsigned i = 0; i < pool->nconns && c == NULL; i++)
			if (!pool->conns[i].busy)
				c = &pool->conns[i];
		if (c != NULL)
			break;
		if (pthread_cond_timedwait(&pool->freed, &pool->lock, &deadline) == ETIMEDOUT) {
			pthread_mutex_unlock(&pool->lock);
			mx_err_set(err, "database: all %u connections busy for %d s",
				   pool->nconns, ACQUIRE_WAIT_SEC);
			return NULL;
		}
	}
	c->busy = true;
	if (c->mysql != NULL) {
		pthread_mutex_unlock(&pool->lock);
		return c;
	}
	now = time(NULL);
	if (pool->down_since != 0 &&
	    now - pool->last_attempt < (time_t)pool->conf.retry_interval) {
		c->busy = false;
		pthread_cond_signal(&pool->freed);
		pthread_mutex_unlock(&pool->lock);
		mx_err_set(err, "database: unreachable since %lds, next attempt within %us",
			   (long)(now - pool->down_since), pool->conf.retry_interval);
		return NULL;
	}
	pool->last_attempt = now;
	pthread_mutex_unlock(&pool->lock);

	if (conn_open(pool, c, err) < 0) {
		pthread_mutex_lock(&pool->lock);
		if (pool->down_since == 0) {
			pool->down_since = now;
			mx_log_err("%s", err->text);
		}
		c->busy = false;
		pthread_cond_signal(&pool->freed);
		pthread_mutex_unlock(&pool->lock);
		return NULL;
	}
	pthread_mutex_lock(&pool->lock);
	if (pool->down_since != 0) {
		mx_log_info("database: reconnected after %lds", (long)(time(NULL) - pool->down_since));
		pool->down_since = 0;
	}
	pthread_mutex_unlock(&pool->lock);
	return c;
}

static void conn_release(struct mx_db_pool *pool, struct mx_db_conn *c, bool broken)
{
	if (broken)
		conn_close(c);
	pthread_mutex_lock(&pool->lock);
	if (broken && pool->down_since == 0) {
		/* Let the next acquire try at once; it sets down_since on failure. */
		pool->last_attempt = 0;
	}
	c->busy = false;
	pthread_cond_signal(&pool->freed);
	pthread_mutex_unlock(&pool->lock);
}

static MYSQL_STMT *stmt_get(struct mx_db_conn *c, const char *sql, unsigned *errno_r,
			    struct mx_err *err)
{
	MYSQL_STMT *st;

	for (unsigned i = 0; i < c->nstmts; i++)
		if (c->stmts[i].sql == sql)
			return c->stmts[i].stmt;
	st = mysql_stmt_init(c->mysql);
	if (st == NULL) {
		*errno_r = mysql_errno(c->mysql);
		mx_err_set(err, "database: %s", mysql_error(c->mysql));
		return NULL;
	}
	if (mysql_stmt_prepare(st, sql, (unsigned long)strlen(sql)) != 0) {
		*errno_r = mysql_stmt_errno(st);
		mx_err_set(err, "database: prepare failed: %s", mysql_stmt_error(st));
		(void)mysql_stmt_close(st);
		return NULL;
	}
	if (c->nstmts == STMT_CACHE) {
		/* Evict the oldest; the cache is sized for all statements of a daemon. */
		(void)mysql_stmt_close(c->stmts[0].stmt);
		memmove(&c->stmts[0], &c->stmts[1], sizeof(c->stmts[0]) * (STMT_CACHE - 1));
		c->nstmts--;
	}
	c->stmts[c->nstmts].sql = sql;
	c->stmts[c->nstmts].stmt = st;
	c->nstmts++;
	return st;
}

struct row_buffers {
	char *buf[MAX_COLS];
	unsigned long cap[MAX_COLS];
	unsigned long len[MAX_COLS];
	my_bool is_null[MAX_COLS];
	my_bool error[MAX_COLS];
};

static void row_buffers_free(struct row_buffers *rb, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(rb->buf[i]);
}

/* Execute on one connection. Returns the result, and sets *conn_error_r when
 * the connection must be dropped. */
static enum mx_result stmt_run(struct mx_db_conn *c, const char *sql,
			       const char *const *params, unsigned nparams,
			       mx_db_row_fn *fn, void *ctx,
			       unsigned long long *affected_r,
			       bool *conn_error_r, struct mx_err *err)
{
	MYSQL_BIND pbind[MAX_PARAMS];
	unsigned long plen[MAX_PARAMS];
	my_bool pnull[MAX_PARAMS];
	MYSQL_BIND rbind[MAX_COLS];
	struct row_buffers rb;
	MYSQL_RES *meta;
	MYSQL_STMT *st;
	unsigned ncols = 0, eno = 0;
	enum mx_result result = MX_NOTFOUND;
	int rc;

	*conn_error_r = false;
	if (nparams > MAX_PARAMS)
		return mx_err_set(err, "database: too many parameters"), MX_TEMP;
	st = stmt_get(c, sql, &eno, err);
	if (st == NULL) {
		*conn_error_r = is_connection_error(eno);
		return MX_TEMP;
	}
	if (mysql_stmt_param_count(st) != nparams) {
		mx_err_set(err, "database: statement takes %lu parameters, %u given",
			   mysql_stmt_param_count(st), nparams);
		return MX_TEMP;
	}
	memset(pbind, 0, sizeof(pbind));
	for (unsigned i = 0; i < nparams; i++) {
		pbind[i].buffer_type = MYSQL_TYPE_STRING;
		pnull[i] = params[i] == NULL;
		plen[i] = params[i] != NULL ? (unsigned long)strlen(params[i]) : 0;
		pbind[i].buffer = (void *)(params[i] != NULL ? params[i] : "");
		pbind[i].buffer_length = plen[i];
		pbind[i].length = &plen[i];
		pbind[i].is_null = &pnull[i];
	}
	if ((nparams > 0 && mysql_stmt_bind_param(st, pbind) != 0) ||
	    mysql_stmt_execute(st) != 0) {
		eno = mysql_stmt_errno(st);
		*conn_error_r = is_connection_error(eno);
		mx_err_set(err, "database: %s", mysql_stmt_error(st));
		return MX_TEMP;
	}
	if (affected_r != NULL)
		*affected_r = mysql_stmt_affected_rows(st);
	meta = mysql_stmt_result_metadata(st);
	if (meta == NULL)
		goto done_stmt;
	ncols = mysql_num_fields(meta);
	mysql_free_result(meta);
	if (ncols > MAX_COLS) {
		(void)mysql_stmt_free_result(st);
		(void)mysql_stmt_reset(st);
		mx_err_set(err, "database: too many result columns");
		return MX_TEMP;
	}
	memset(&rb, 0, sizeof(rb));
	memset(rbind, 0, sizeof(rbind));
	for (unsigned i = 0; i < ncols; i++) {
		rb.cap[i] = 256;
		rb.buf[i] = malloc(rb.cap[i]);
		if (rb.buf[i] == NULL) {
			row_buffers_free(&rb, i);
			(void)mysql_stmt_reset(st);
			mx_err_set(err, "database: out of memory");
			return MX_TEMP;
		}
		rbind[i].buffer_type = MYSQL_TYPE_STRING;
		rbind[i].buffer = rb.buf[i];
		rbind[i].buffer_length = rb.cap[i] - 1;
		rbind[i].length = &rb.len[i];
		rbind[i].is_null = &rb.is_null[i];
		rbind[i].error = &rb.error[i];
	}
	if (mysql_stmt_bind_result(st, rbind) != 0) {
		row_buffers_free(&rb, ncols);
		mx_err_set(err, "database: %s", mysql_stmt_error(st));
		(void)mysql_stmt_reset(st);
		return MX_TEMP;
	}
	while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
		const char *values[MAX_COLS];
		for (unsigned i = 0; i < ncols; i++) {
			if (rb.is_null[i]) {
				values[i] = NULL;
				continue;
			}
			if (rb.len[i] >= rb.cap[i]) {
				char *nb;
				if (rb.len[i] > MX_DB_VALUE_MAX) {
					mx_err_set(err, "database: value of %lu bytes exceeds limit", rb.len[i]);
					goto fail_rows;
				}
				nb = realloc(rb.buf[i], rb.len[i] + 1);
				if (nb == NULL) {
					mx_err_set(err, "database: out of memory");
					goto fail_rows;
				}
				rb.buf[i] = nb;
				rb.cap[i] = rb.len[i] + 1;
				rbind[i].buffer = nb;
				rbind[i].buffer_length = rb.cap[i] - 1;
				if (mysql_stmt_fetch_column(st, &rbind[i], i, 0) != 0) {
					mx_err_set(err, "database: %s", mysql_stmt_error(st));
					goto fail_rows;
				}
				/* Rebind so the next row uses the larger buffer. */
				if (mysql_stmt_bind_result(st, rbind) != 0) {
					mx_err_set(err, "database: %s", mysql_stmt_error(st));
					goto fail_rows;
				}
			}
			rb.buf[i][rb.len[i]] = '\0';
			values[i] = rb.buf[i];
		}
		result = MX_FOUND;
		if (fn != NULL && fn(ctx, ncols, values, rb.len, err) < 0)
			goto fail_rows;
	}
	if (rc != MYSQL_NO_DATA) {
		eno = mysql_stmt_errno(st);
		*conn_error_r = is_connection_error(eno);
		mx_err_set(err, "database: %s", mysql_stmt_error(st));
		goto fail_rows;
	}
	row_buffers_free(&rb, ncols);
done_stmt:
	/* Drain further result sets (CALL returns a status result). */
	while (mysql_stmt_more_results(st) && mysql_stmt_next_result(st) == 0)
		(void)mysql_stmt_free_result(st);
	(void)mysql_stmt_free_result(st);
	return result;
fail_rows:
	row_buffers_free(&rb, ncols);
	(void)mysql_stmt_free_result(st);
	(void)mysql_stmt_reset(st);
	return MX_TEMP;
}

enum mx_result mx_db_exec(struct mx_db_pool *pool, const char *sql,
			  const char *const *params, unsigned nparams,
			  mx_db_row_fn *fn, void *ctx, unsigned flags,
			  unsigned long long *affected_r, struct mx_err *err)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		struct mx_db_conn *c = conn_acquire(pool, err);
		enum mx_result r;
		bool conn_error;

		if (c == NULL)
			return MX_TEMP;
		r = stmt_run(c, sql, params, nparams, fn, ctx, affected_r, &conn_error, err);
		conn_release(pool, c, conn_error);
		if (r != MX_TEMP || !conn_error || (flags & MX_DB_RETRY) == 0)
			return r;
		mx_log_warn("%s; retrying on a new connection", err->text);
	}
	return MX_TEMP;
}

bool mx_db_ping(struct mx_db_pool *pool, struct mx_err *err)
{
	struct mx_db_conn *c = conn_acquire(pool, err);
	bool ok;

	if (c == NULL)
		return false;
	ok = mysql_ping(c->mysql) == 0;
	if (!ok)
		mx_err_set(err, "database: %s", mysql_error(c->mysql));
	conn_release(pool, c, !ok);
	return ok;
}

int mx_db_join_row(void *ctx, unsigned ncols, const char *const *values,
		   const unsigned long *lengths, struct mx_err *err)
{
	struct mx_db_joined *j = ctx;
	size_t need;

	if (ncols < 1 || values[0] == NULL)
		return 0;
	need = j->len + (j->len > 0 ? 1 : 0) + lengths[0];
	if (need > j->max)
		return mx_err_set(err, "result longer than %s (%zu bytes)",
				  j->limit_name != NULL ? j->limit_name : "the limit", j->max);
	if (need + 1 > j->cap) {
		size_t cap = j->cap > 0 ? j->cap : 256;
		char *nb;
		while (cap < need + 1)
			cap *= 2;
		if ((nb = realloc(j->buf, cap)) == NULL)
			return mx_err_set(err, "out of memory");
		j->buf = nb;
		j->cap = cap;
	}
	if (j->len > 0)
		j->buf[j->len++] = ',';
	memcpy(j->buf + j->len, values[0], lengths[0]);
	j->len += lengths[0];
	j->buf[j->len] = '\0';
	return 0;
}
