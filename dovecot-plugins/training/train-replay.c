/* train-replay.c: mxkit-train's replay of the training spool (format and
 * locking in train-spool.h) into training_events.
 *
 * For each <user>.spool file of spool_dir: a <user>.spool.replay left by
 * an earlier run goes first; then the file is claimed by renaming it to
 * <user>.spool.replay under the writers' lock (writers then start a new
 * file), its valid records are inserted in one transaction, and it is
 * removed once that committed. A record the database refuses (bad data)
 * is logged and skipped, so that one bad record cannot block the spool;
 * a lost connection leaves the file for the next run. */
#include "mxkit-config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mysqld_error.h>

#include "mx_log.h"
#include "train-db.h"
#include "train-spool.h"
#include "train.h"

#define TRAIN_REPLAY_PATH_MAX 4096
#define TRAIN_REPLAY_FILES_MAX 100000  /* files looked at per run */
#define TRAIN_REPLAY_ROUNDS 2          /* the .replay file, then the claimed one */

struct train_replay {
	const struct mx_db_config *db;
	MYSQL *conn;
	MYSQL_STMT *st;
	const char *path;
	struct train_replay_stats *stats;
	struct mx_err *err;
};

static bool train_has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

static int train_replay_connect(struct train_replay *r)
{
	char error[TRAIN_DB_ERROR_MAX];

	if (r->conn != NULL)
		return 0;
	r->conn = train_db_connect(r->db, error);
	if (r->conn == NULL)
		return mx_err_set(r->err, "%s", error);
	return 0;
}

static void train_replay_disconnect(struct train_replay *r)
{
	if (r->conn != NULL)
		mysql_close(r->conn);
	r->conn = NULL;
}

/* Errors about this record's data: it can never go in, so it is skipped.
 * Any other error (connection, lock wait, ...) leaves the file for later. */
static bool train_replay_refused(unsigned code)
{
	switch (code) {
	case ER_BAD_NULL_ERROR:
	case ER_WARN_DATA_OUT_OF_RANGE:
	case ER_TRUNCATED_WRONG_VALUE:
	case ER_INVALID_CHARACTER_STRING:
	case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
	case ER_DATA_TOO_LONG:
	case ER_CANNOT_CONVERT_CHARACTER:
		return true;
	default:
		return false;
	}
}

static int train_replay_event(void *ctx, const struct training_event *ev, unsigned line)
{
	struct train_replay *r = ctx;
	char error[TRAIN_DB_ERROR_MAX], safe[TRAIN_REPLAY_PATH_MAX];

	if (train_db_insert(r->st, ev, error) == 0) {
		r->stats->replayed++;
		return 0;
	}
	if (!train_replay_refused(mysql_stmt_errno(r->st)))
		return mx_err_set(r->err, "%s", error); /* try the file later */
	mx_log_safe(safe, sizeof(safe), r->path, strlen(r->path));
	mx_log_warn("%s:%u: the database refused the record, skipped: %s", safe, line, error);
	r->stats->bad++;
	return 0;
}

/* Insert the records of a claimed file and remove it. 0 also when another
 * trainer has it; -1 on a database error (the file stays). */
static int train_replay_file(struct train_replay *r, const char *path)
{
	char error[TRAIN_DB_ERROR_MAX], *buf;
	struct stat st;
	unsigned bad = 0;
	ssize_t got;
	size_t used = 0;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : mx_err_set(r->err, "open %s: %s", path, strerror(errno));
	/* Another trainer replaying it holds the lock; one that finished has removed it. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || fstat(fd, &st) < 0 || st.st_nlink == 0 ||
	    !S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		return mx_err_set(r->err, "%s: out of memory for %lld bytes", path, (long long)st.st_size);
	}
	while (used < (size_t)st.st_size &&
	       (got = read(fd, buf + used, (size_t)st.st_size - used)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			mx_err_set(r->err, "read %s: %s", path, strerror(errno));
			goto out;
		}
		used += (size_t)got;
	}
	if (train_replay_connect(r) < 0)
		goto out;
	r->st = train_db_prepare(r->conn, error);
	if (r->st == NULL) {
		mx_err_set(r->err, "%s", error);
		train_replay_disconnect(r);
		goto out;
	}
	r->path = path;
	if (train_spool_parse(buf, used, path, train_replay_event, r, &bad) < 0) {
		mysql_stmt_close(r->st);
		(void)mysql_rollback(r->conn);
		train_replay_disconnect(r);
		goto out;
	}
	mysql_stmt_close(r->st);
	if (mysql_commit(r->conn) != 0) {
		mx_err_set(r->err, "database commit: %s", mysql_error(r->conn));
		train_replay_disconnect(r);
		goto out;
	}
	r->stats->bad += bad;
	r->stats->files++;
	if (unlink(path) < 0)
		mx_log_err("unlink %s: %s (its records are in the database: a next replay "
			   "records them again, and trains none twice)", path, strerror(errno));
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}

/* Rename base to replay under the writers' lock, unless replay exists. */
static void train_replay_claim(const char *base, const char *replay)
{
	struct stat fst, pst;
	int fd;

	fd = open(base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if (flock(fd, LOCK_EX) == 0 && fstat(fd, &fst) == 0 && stat(base, &pst) == 0 &&
	    fst.st_ino == pst.st_ino && fst.st_dev == pst.st_dev && access(replay, F_OK) < 0) {
		if (fst.st_size == 0)
			(void)unlink(base);
		else if (rename(base, replay) < 0)
			mx_log_err("rename %s: %s", base, strerror(errno));
	}
	close(fd);
}

static int train_replay_user(struct train_replay *r, const char *dir, const char *name)
{
	char base[TRAIN_REPLAY_PATH_MAX], replay[TRAIN_REPLAY_PATH_MAX];
	size_t n = strlen(name);
	int len, round;

	if (train_has_suffix(name, TRAIN_SPOOL_SUFFIX TRAIN_SPOOL_REPLAY_SUFFIX))
		n -= strlen(TRAIN_SPOOL_REPLAY_SUFFIX);
	else if (!train_has_suffix(name, TRAIN_SPOOL_SUFFIX))
		return 0;
	len = snprintf(base, sizeof(base), "%s/%.*s", dir, (int)n, name);
	if (len < 0 || (size_t)len >= sizeof(base) ||
	    snprintf(replay, sizeof(replay), "%s%s", base, TRAIN_SPOOL_REPLAY_SUFFIX) >=
	    (int)sizeof(replay))
		return mx_err_set(r->err, "%s/%s: path too long", dir, name);
	for (round = 0; round < TRAIN_REPLAY_ROUNDS; round++) {
		if (train_replay_file(r, replay) < 0)
			return -1;
		if (access(replay, F_OK) == 0)
			return 0; /* another trainer is replaying it */
		if (round == 0)
			train_replay_claim(base, replay);
	}
	return 0;
}

int train_spool_replay(const struct train_config *conf, const struct mx_db_config *db,
		       struct train_replay_stats *stats, struct mx_err *err)
{
	struct train_replay r = { .db = db, .stats = stats, .err = err };
	struct dirent *de;
	unsigned seen = 0;
	int ret = 0;
	DIR *d;

	memset(stats, 0, sizeof(*stats));
	d = opendir(conf->spool.dir);
	if (d == NULL) {
		if (errno == ENOENT) {
			mx_log_debug("spool directory %s does not exist: nothing to replay",
				     conf->spool.dir);
			return 0;
		}
		return mx_err_set(err, "spool directory %s: %s", conf->spool.dir, strerror(errno));
	}
	while (ret == 0 && seen < TRAIN_REPLAY_FILES_MAX && (de = readdir(d)) != NULL) {
		seen++;
		if (de->d_name[0] != '.')
			ret = train_replay_user(&r, conf->spool.dir, de->d_name);
	}
	closedir(d);
	train_replay_disconnect(&r);
	return ret;
}
