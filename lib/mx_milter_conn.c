/* mx_milter_conn.c: the I/O loop of one MTA connection (see
 * mx_milter_engine.h, mx_milter_conn_run): one read() takes every packet
 * the MTA has already sent; each is handed to the session, which queues
 * its replies; the replies of the whole batch go out in one write just
 * before the next read would wait. Over TCP, TCP_QUICKACK is set again
 * after every read: the MTA writes several packets in a row (a macro
 * packet and then its command, header after header) and with Nagle's
 * algorithm on its side each would otherwise wait for our delayed ACK
 * (about 40 ms on Linux). A body packet larger than the read buffer is
 * handed to the milter piece by piece as it arrives, so a connection's
 * buffer stays at MX_MILTER_READ_CHUNK whatever the MTA's chunk size. */
#include "mxkit-config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mx_log.h"
#include "mx_milter_session.h"

/* Bytes asked of each read() (every packet of a 2 KB message fits); a
 * larger packet (a 64 KiB body chunk) grows the buffer for itself only,
 * and it shrinks back to this once that packet is handled, so idle and
 * signing connections hold little memory. */
#define MX_MILTER_READ_CHUNK (16 * 1024)

/* Wait until fd is ready for events; 0 on time-out, -1 on error. */
static int wait_fd(int fd, short events, unsigned timeout)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int r;

	do
		r = poll(&pfd, 1, timeout > 0 ? (int)(timeout * 1000u) : -1);
	while (r < 0 && errno == EINTR);
	return r;
}

static int write_all(int fd, const uint8_t *p, size_t len, unsigned timeout, struct mx_err *err)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int r = wait_fd(fd, POLLOUT, timeout);
			if (r == 0)
				return mx_err_set(err, "write to the MTA timed out after %u s", timeout);
			if (r < 0)
				return mx_err_set(err, "poll: %s", strerror(errno));
			continue;
		}
		if (n < 0)
			return mx_err_set(err, "write to the MTA: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

struct rbuf {
	uint8_t *p;
	size_t start, end, cap;
	size_t body_left;   /* bytes of a streamed body packet still to come */
};

/* Make room for at least need bytes of packet and a read chunk. */
static int rbuf_room(struct rbuf *b, size_t need, struct mx_err *err)
{
	size_t want;

	if (b->start > 0) {
		memmove(b->p, b->p + b->start, b->end - b->start);
		b->end -= b->start;
		b->start = 0;
	}
	want = b->end + MX_MILTER_READ_CHUNK;
	if (want < need)
		want = need;
	if (b->cap > want && b->cap > MX_MILTER_READ_CHUNK + MX_MILTER_READ_CHUNK / 2) {
		uint8_t *p = realloc(b->p, want);  /* give a large packet's memory back */
		if (p != NULL) {
			b->p = p;
			b->cap = want;
		}
	}
	if (want > b->cap) {
		uint8_t *p = realloc(b->p, want);
		if (p == NULL)
			return mx_err_set(err, "out of memory for a %zu-byte packet", need);
		b->p = p;
		b->cap = want;
	}
	return 0;
}

/* Read what the MTA has sent. Returns bytes read, 0 at EOF, -1 with err. */
static ssize_t fill(int fd, int is_tcp, struct rbuf *b, unsigned timeout, struct mx_err *err)
{
	for (;;) {
		ssize_t n;
		int r = wait_fd(fd, POLLIN, timeout);

		if (r == 0)
			return mx_err_set(err, "no command from the MTA for %u s", timeout);
		if (r < 0)
			return mx_err_set(err, "poll: %s", strerror(errno));
		n = read(fd, b->p + b->end, b->cap - b->end);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return mx_err_set(err, "read from the MTA: %s", strerror(errno));
		if (n > 0 && is_tcp) {
			int one = 1;
			(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
		}
		b->end += (size_t)n;
		return n;
	}
}

void mx_milter_conn_run(int fd, int is_tcp, unsigned timeout,
			const struct mx_milter_callbacks *cb)
{
	struct mx_milter_ctx *ctx = malloc(sizeof(*ctx));
	struct rbuf b = { NULL, 0, 0, 0, 0 };
	struct mx_err err;

	if (ctx == NULL) {
		mx_log_err("%s: out of memory for a connection", cb->name);
		close(fd);
		return;
	}
	mx_milter_session_init(ctx, cb);
	err.text[0] = '\0';
	for (;;) {
		struct mx_milter_packet p;
		size_t need;
		int r;

		if (b.body_left > 0 && b.end > b.start) {
			size_t n = b.end - b.start < b.body_left ? b.end - b.start : b.body_left;
			b.body_left -= n;
			r = mx_milter_session_body_piece(ctx, b.p + b.start, n, b.body_left == 0, &err);
			b.start += n;
			if (r < 0)
				break;
			continue;
		}
		need = 0;
		r = b.body_left > 0 ? 0 :
		    mx_milter_packet_next(b.p + b.start, b.end - b.start, &p, &need, &err);
		if (r < 0)
			break;
		if (r == 0 && need > MX_MILTER_READ_CHUNK && b.end - b.start >= 5 &&
		    b.p[b.start + 4] == MX_MILTER_C_BODY) {
			/* A large body packet: stream it. */
			b.body_left = need - 5;
			b.start += 5;
			continue;
		}
		if (r > 0) {
			r = mx_milter_session_packet(ctx, &p, &err);
			b.start += p.size;
			if (r < 0)
				break;
			if (r > 0) {
				if (ctx->out.len > 0)
					(void)write_all(fd, ctx->out.data, ctx->out.len, timeout, &err);
				err.text[0] = '\0';
				break;
			}
			continue;
		}
		/* Every packet of this batch is answered: send the replies. */
		if (ctx->out.len > 0) {
			if (write_all(fd, ctx->out.data, ctx->out.len, timeout, &err) < 0)
				break;
			ctx->out.len = 0;
		}
		if (rbuf_room(&b, b.body_left > 0 ? 0 : need, &err) < 0)
			break;
		if (fill(fd, is_tcp, &b, timeout, &err) <= 0)
			break;  /* EOF leaves err empty: the MTA closed */
	}
	if (err.text[0] != '\0') {
		char safe[MX_LOG_SAFE_MAX];
		mx_log_warn("%s: connection dropped: %s", cb->name,
			    mx_log_safe(safe, sizeof(safe), err.text, strlen(err.text)));
	}
	mx_milter_session_free(ctx);
	free(ctx);
	free(b.p);
	close(fd);
}
