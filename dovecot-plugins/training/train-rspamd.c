/* train-rspamd.c: the rspamd backend, a minimal HTTP/1.1 client.
 *
 * POST /learnspam or /learnham to rspamd's controller worker with the
 * message as body and the user in Deliver-To (rspamd's per-user
 * statistics key), on a non-blocking socket where connecting, sending
 * and receiving all share one deadline. The reply is read whole (bounded)
 * and judged by train-rspamd-reply.c. */
#include "mxkit-config.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mx_log.h"
#include "train.h"

#define RSPAMD_HEADER_MAX 2048
#define RSPAMD_REPLY_MAX (64 * 1024)

static long long train_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for `events` on fd until the deadline. 1 ready, 0 timeout, -1 error. */
static int train_wait(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left;
	int r;

	for (;;) {
		left = deadline - train_now_ms();
		if (left <= 0)
			return 0;
		r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static int train_connect(const struct train_config *conf, long long deadline,
			 char *result, size_t result_size)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	char port[8];
	int fd, err = 0, r;
	socklen_t len = sizeof(err);

	snprintf(port, sizeof(port), "%u", conf->rspamd_port);
	r = getaddrinfo(conf->rspamd_host, port, &hints, &ai);
	if (r != 0) {
		snprintf(result, result_size, "rspamd %s: %s", conf->rspamd_host, gai_strerror(r));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(result, result_size, "socket: %s", strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	r = connect(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (r < 0 && errno != EINPROGRESS) {
		err = errno;
	} else if (r < 0) {
		r = train_wait(fd, POLLOUT, deadline);
		if (r == 0)
			err = ETIMEDOUT;
		else if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
	}
	if (err != 0) {
		snprintf(result, result_size, "rspamd %s:%u: connect: %s", conf->rspamd_host,
			 conf->rspamd_port, strerror(err));
		close(fd);
		return -1;
	}
	return fd;
}

static int train_send_all(int fd, const char *data, size_t len, long long deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (train_wait(fd, POLLOUT, deadline) <= 0)
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

/* Read the reply until the server closes (we sent Connection: close). */
static ssize_t train_recv_all(int fd, char *buf, size_t size, long long deadline)
{
	size_t used = 0;

	while (used < size - 1) {
		ssize_t n = recv(fd, buf + used, size - 1 - used, 0);
		if (n > 0) {
			used += (size_t)n;
		} else if (n == 0) {
			break;
		} else if (errno == EAGAIN || errno == EINTR) {
			if (train_wait(fd, POLLIN, deadline) <= 0)
				return -1;
		} else {
			return -1;
		}
	}
	buf[used] = '\0';
	return (ssize_t)used;
}

static bool train_header_value_ok(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	}
	return true;
}

enum train_outcome train_rspamd(const struct train_config *conf, const struct train_request *req,
				char *result, size_t result_size)
{
	long long deadline = train_now_ms() + (long long)conf->timeout * 1000;
	char head[RSPAMD_HEADER_MAX];
	char *reply;
	int fd, n;
	ssize_t got;
	enum train_outcome outcome;

	if (!train_header_value_ok(req->user) || !train_header_value_ok(conf->rspamd_password)) {
		snprintf(result, result_size, "user name or password holds control characters");
		return TRAIN_REFUSED;
	}
	n = snprintf(head, sizeof(head),
		     "POST /%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
		     "Content-Length: %zu\r\nDeliver-To: %s\r\n%s%s%s\r\n",
		     req->spam ? "learnspam" : "learnham", conf->rspamd_host, req->message_len,
		     req->user, conf->rspamd_password[0] != '\0' ? "Password: " : "",
		     conf->rspamd_password, conf->rspamd_password[0] != '\0' ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head)) {
		snprintf(result, result_size, "request header longer than %d bytes", RSPAMD_HEADER_MAX);
		return TRAIN_REFUSED;
	}
	fd = train_connect(conf, deadline, result, result_size);
	if (fd < 0)
		return TRAIN_DOWN;
	reply = malloc(RSPAMD_REPLY_MAX);
	if (reply == NULL) {
		close(fd);
		snprintf(result, result_size, "out of memory");
		return TRAIN_RETRY;
	}
	if (train_send_all(fd, head, (size_t)n, deadline) < 0 ||
	    train_send_all(fd, req->message, req->message_len, deadline) < 0) {
		snprintf(result, result_size, "rspamd: sending the request failed or timed out");
		outcome = TRAIN_DOWN;
		goto out;
	}
	got = train_recv_all(fd, reply, RSPAMD_REPLY_MAX, deadline);
	if (got <= 0) {
		snprintf(result, result_size, "rspamd: no reply within %us", conf->timeout);
		outcome = TRAIN_DOWN;
		goto out;
	}
	outcome = train_rspamd_reply(reply, (size_t)got, result, result_size);
out:
	free(reply);
	close(fd);
	return outcome;
}
