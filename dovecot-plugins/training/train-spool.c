/* train-spool.c: writes training events to the per-user spool file when
 * MariaDB cannot take them (format in train-spool.h). Plain POSIX, used by
 * the Dovecot plugin: the file is locked only while appending, written
 * with O_APPEND and fsync()ed before the function returns. */
#include "mxkit-config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "train-spool.h"

#define TRAIN_SPOOL_OPEN_TRIES 5  /* the file was renamed away by a replay */

unsigned long long train_spool_hash(const char *data, size_t len)
{
	unsigned long long h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)data[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static char *train_spool_hex(char *out, const void *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = data;
	size_t i;

	*out++ = 'x';
	for (i = 0; i < len; i++) {
		*out++ = digits[p[i] >> 4];
		*out++ = digits[p[i] & 15];
	}
	*out++ = ' ';
	return out;
}

char *train_spool_format(const struct training_event *ev, bool with_text, size_t *len_r)
{
	const char *strs[] = { ev->user, ev->message_id, ev->source, ev->dest };
	bool text = with_text && ev->message != NULL;
	char head[160], created[TRAINING_TIME_LEN + 1], *line, *p;
	size_t cap, i;
	int n;

	/* The database form has a space between date and time: not in a record. */
	snprintf(created, sizeof(created), "%s", ev->created[0] != '\0' ? ev->created : "-");
	if (created[0] != '-' && strlen(created) == TRAINING_TIME_LEN)
		created[10] = 'T';
	n = snprintf(head, sizeof(head), "%s %s %s %s %llu ", TRAIN_SPOOL_MAGIC, created,
		     ev->class == TRAINING_SPAM ? "spam" : "ham", ev->key, ev->full_size);
	if (n < 0 || (size_t)n >= sizeof(head))
		return NULL;
	cap = (size_t)n + 2 + 16 + 2 + 2 * (text ? ev->message_len : 0);
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		cap += 2 + 2 * strlen(strs[i]);
	line = malloc(cap);
	if (line == NULL)
		return NULL;
	memcpy(line, head, (size_t)n);
	p = line + n;
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		p = train_spool_hex(p, strs[i], strlen(strs[i]));
	if (text) {
		p = train_spool_hex(p, ev->message, ev->message_len);
	} else {
		*p++ = '-';
		*p++ = ' ';
	}
	n = snprintf(p, 18, "%016llx", train_spool_hash(line, (size_t)(p - 1 - line)));
	if (n != 16) {
		free(line);
		return NULL;
	}
	p += 16;
	*p++ = '\n';
	*len_r = (size_t)(p - line);
	return line;
}

static int train_spool_write(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Open and lock the spool file, making sure it is still the one at path
 * (a replay may have renamed it between open and flock). */
static int train_spool_open(const char *path, bool *created_r, char error[TRAIN_SPOOL_ERROR_MAX])
{
	struct stat fst, pst;
	int fd, i;

	for (i = 0; i < TRAIN_SPOOL_OPEN_TRIES; i++) {
		*created_r = access(path, F_OK) < 0;
		fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0) {
			snprintf(error, TRAIN_SPOOL_ERROR_MAX, "open %s: %s", path, strerror(errno));
			return -1;
		}
		if (flock(fd, LOCK_EX) < 0 || fstat(fd, &fst) < 0) {
			snprintf(error, TRAIN_SPOOL_ERROR_MAX, "lock %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (!S_ISREG(fst.st_mode)) {
			snprintf(error, TRAIN_SPOOL_ERROR_MAX, "%s: not a regular file", path);
			close(fd);
			return -1;
		}
		if (stat(path, &pst) == 0 && pst.st_ino == fst.st_ino && pst.st_dev == fst.st_dev)
			return fd;
		close(fd);
	}
	snprintf(error, TRAIN_SPOOL_ERROR_MAX, "%s: renamed away %d times while opening it", path,
		 TRAIN_SPOOL_OPEN_TRIES);
	return -1;
}

/* After a crash mid-record the file may not end in '\n': end that line, so
 * that the garbage stays one bad line instead of spoiling the next record. */
static int train_spool_terminate(int fd, off_t size)
{
	char last;

	if (size == 0)
		return 0;
	if (pread(fd, &last, 1, size - 1) != 1)
		return -1;
	return last == '\n' ? 0 : train_spool_write(fd, "\n", 1);
}

static void train_spool_sync_dir(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd;

	if (slash == NULL || (size_t)(slash - path) >= sizeof(dir))
		return;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	fd = open(dir[0] != '\0' ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

int train_spool_append(const char *path, const struct training_event *events, unsigned count,
		       unsigned long long max_size, struct train_spool_result *res,
		       char error[TRAIN_SPOOL_ERROR_MAX])
{
	struct stat st;
	unsigned long long size;
	bool created;
	unsigned i;
	int fd;

	memset(res, 0, sizeof(*res));
	fd = train_spool_open(path, &created, error);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || train_spool_terminate(fd, st.st_size) < 0) {
		snprintf(error, TRAIN_SPOOL_ERROR_MAX, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	size = (unsigned long long)st.st_size + 1;
	for (i = 0; i < count; i++) {
		size_t len;
		char *line = train_spool_format(&events[i], true, &len);
		bool stripped = false;

		if (line != NULL && size + len > max_size && events[i].message != NULL) {
			free(line);
			line = train_spool_format(&events[i], false, &len);
			stripped = true;
		}
		if (line == NULL) {
			snprintf(error, TRAIN_SPOOL_ERROR_MAX, "out of memory");
			break;
		}
		if (size + len > max_size) {
			res->dropped++;
			free(line);
			continue;
		}
		if (train_spool_write(fd, line, len) < 0) {
			snprintf(error, TRAIN_SPOOL_ERROR_MAX, "write %s: %s", path, strerror(errno));
			free(line);
			break;
		}
		free(line);
		size += len;
		res->written++;
		res->stripped += stripped;
	}
	if (fsync(fd) < 0) {
		snprintf(error, TRAIN_SPOOL_ERROR_MAX, "fsync %s: %s", path, strerror(errno));
		res->written = 0;
	}
	close(fd);
	if (created)
		train_spool_sync_dir(path);
	if (res->written + res->dropped < count && res->written == 0)
		return -1;
	res->dropped = count - res->written;
	return 0;
}

bool train_spool_pending(const char *path)
{
	char replay[4096];
	struct stat st;
	int n;

	if (stat(path, &st) == 0 && st.st_size > 0)
		return true;
	n = snprintf(replay, sizeof(replay), "%s%s", path, TRAIN_SPOOL_REPLAY_SUFFIX);
	return n > 0 && (size_t)n < sizeof(replay) && access(replay, F_OK) == 0;
}
