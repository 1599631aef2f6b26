/* training-store.c: where the plugin's events go once the IMAP command has
 * answered: into training_events (train-db.c) over one MariaDB connection
 * per imap process (which serves one user on one thread), opened lazily
 * with the connect and read/write timeouts of mxkit.conf (at most 2 s
 * each) and reopened after an error; or, when the database cannot take them, appended to the
 * user's spool file (train-spool.c) for mxkit-train to replay. The
 * settings of both come from mxkit.conf, read once at login. */
#include <errno.h>
#include <mysql.h>
#include <stdio.h>
#include <string.h>

#include "lib.h"
#include "hex-binary.h"
#include "sha2.h"
#include "training-plugin.h"

#include "mx_config.h"
#include "mx_db.h"
#include "train-db.h"
#include "train-spool.h"
#include "train.h"

/* The imap process waits at most this long (seconds) for MariaDB to connect
 * and for each read or write, whatever the database section says: the
 * user's next command waits meanwhile, and the spool takes the events. */
#define TRAINING_DB_TIMEOUT_MAX 2U

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

int training_store_settings(struct training_settings *set, pool_t pool, const char *user,
			    const char **error_r)
{
	struct mx_db_config *db = p_new(pool, struct mx_db_config, 1);
	struct train_spool_config spool;
	unsigned char digest[SHA256_RESULTLEN];
	struct mx_err err;
	config_t cfg;
	int ret;

	config_init(&cfg);
	ret = mx_config_load(&cfg, set->config_path, &err) < 0 ||
		mx_db_config_parse(&cfg, db, &err) < 0 ||
		train_spool_config_parse(&cfg, &spool, &err) < 0 ? -1 : 0;
	config_destroy(&cfg);
	if (ret < 0) {
		*error_r = t_strdup(err.text);
		return -1;
	}
	if (db->connect_timeout > TRAINING_DB_TIMEOUT_MAX)
		db->connect_timeout = TRAINING_DB_TIMEOUT_MAX;
	if (db->rw_timeout > TRAINING_DB_TIMEOUT_MAX)
		db->rw_timeout = TRAINING_DB_TIMEOUT_MAX;
	/* One file per user, named by a hash: user names may hold anything. */
	sha256_get_digest(user, strlen(user), digest);
	set->spool_path = p_strdup_printf(pool, "%s/%s%s", spool.dir,
					  binary_to_hex(digest, sizeof(digest)), TRAIN_SPOOL_SUFFIX);
	set->spool_max_size = spool.max_size;
	set->db = db;
	return 0;
}

int training_store_events(const struct training_settings *set,
			  const struct training_event *events, unsigned count,
			  const char **error_r)
{
	char error[TRAIN_DB_ERROR_MAX];

	if (set->db == NULL) {
		*error_r = "mxkit.conf could not be read at login";
		return -1;
	}
	if (training_conn == NULL) {
		training_conn = train_db_connect(set->db, error);
		if (training_conn == NULL) {
			*error_r = t_strdup(error);
			return -1;
		}
	}
	if (train_db_store(training_conn, events, count, error) < 0) {
		*error_r = t_strdup(error);
		training_store_close();
		return -1;
	}
	return 0;
}

int training_store_spool(const struct training_settings *set, const char *user,
			 const struct training_event *events, unsigned count,
			 const char **error_r)
{
	char error[TRAIN_SPOOL_ERROR_MAX];
	struct train_spool_result res;

	if (set->spool_path == NULL) {
		*error_r = "mxkit.conf could not be read at login, so the spool is unknown";
		return -1;
	}
	if (train_spool_append(set->spool_path, events, count, set->spool_max_size, &res,
			       error) < 0) {
		*error_r = t_strdup(error);
		return -1;
	}
	if (res.dropped > 0 || res.stripped > 0)
		i_error("mxkit_training: spool %s of %s is full (training.spool_max_size = %u bytes): "
			"%u event(s) lost, %u kept without message text (they will be recorded failed)",
			set->spool_path, user, set->spool_max_size, res.dropped, res.stripped);
	return 0;
}
