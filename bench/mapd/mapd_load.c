/* mapd_load.c: socketmap load client for benchmarking mxkit-mapd.
 *
 * Opens CONNS persistent socketmap connections at once (one thread each),
 * waits until all are connected, then has each send REQUESTS lookups of
 * "MAP KEY" in turn (request/response, as Postfix does), walking the key
 * file from its own offset. Every request's latency (send to full reply)
 * is recorded; the merged latencies give p50/p90/p99/max, and the wall
 * time gives lookups per second. Prints one line of key=value pairs.
 *
 * Without -r each connection sends its next request as soon as the reply
 * arrives (closed loop: measures capacity; latency is then mostly queueing
 * behind the other CONNS-1 requests). With -r RATE each connection sends
 * RATE requests per second on a fixed schedule (open loop, like Postfix
 * processes that look up between other work), and latency is counted from
 * the scheduled send time, so a server that falls behind is not flattered.
 * Exits 1 when any reply is TEMP/TIMEOUT/PERM or malformed, or a
 * connection fails: a benchmark of errors is no benchmark.
 *
 *   mapd_load [-c CONNS] [-n REQUESTS] [-r RATE] [-m MAP] unix:/path/mapd.sock KEYFILE
 *   mapd_load -c 64 -n 2000 -r 200 -m alias inet:127.0.0.1:10041 keys.txt
 */
#include "mxkit-config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "mx_error.h"
#include "mx_netstring.h"

#define CONNS_MAX 1024
#define REQUESTS_MAX 10000000UL
#define KEYS_MAX 2000000UL
#define KEY_MAX 1024
#define MAP_MAX 64
#define REPLY_MAX 100000        /* Postfix's socketmap_max_reply */
#define IO_TIMEOUT_SEC 10
#define RATE_MAX 1000000UL      /* requests per second per connection */

struct endpoint {
	int family;
	struct sockaddr_un un;
	struct sockaddr_in in;
};

struct keys {
	char **key;
	size_t count;
};

struct worker {
	pthread_t thread;
	unsigned id, conns;
	const struct endpoint *ep;
	const struct keys *keys;
	const char *map;
	double rate;             /* requests/s on a schedule, 0 = closed loop */
	size_t start;            /* first key index */
	unsigned long requests;
	uint64_t *lat_ns;        /* one per request */
	unsigned long answered;  /* lat_ns[0..answered) are set */
	unsigned long ok, notfound, errors;
	char error[256];
};

static pthread_barrier_t start_barrier;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int endpoint_parse(const char *spec, struct endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (strncmp(spec, "unix:", 5) == 0) {
		const char *path = spec + 5;

		if (*path == '\0' || strlen(path) >= sizeof(ep->un.sun_path)) {
			fprintf(stderr, "mapd_load: bad unix socket path '%s'\n", path);
			return -1;
		}
		ep->family = AF_UNIX;
		ep->un.sun_family = AF_UNIX;
		memcpy(ep->un.sun_path, path, strlen(path) + 1);
		return 0;
	}
	if (strncmp(spec, "inet:", 5) == 0) {
		char host[64];
		const char *colon = strrchr(spec + 5, ':');
		size_t hlen;
		char *end;
		unsigned long port;

		if (colon == NULL || (hlen = (size_t)(colon - (spec + 5))) == 0 || hlen >= sizeof(host)) {
			fprintf(stderr, "mapd_load: bad endpoint '%s' (inet:HOST:PORT)\n", spec);
			return -1;
		}
		memcpy(host, spec + 5, hlen);
		host[hlen] = '\0';
		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (errno != 0 || *end != '\0' || port == 0 || port > 65535) {
			fprintf(stderr, "mapd_load: bad port in '%s'\n", spec);
			return -1;
		}
		ep->family = AF_INET;
		ep->in.sin_family = AF_INET;
		ep->in.sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &ep->in.sin_addr) != 1 ||
		    (ntohl(ep->in.sin_addr.s_addr) >> 24) != 127) {
			fprintf(stderr, "mapd_load: '%s' is not a loopback IPv4 address\n", host);
			return -1;
		}
		return 0;
	}
	fprintf(stderr, "mapd_load: endpoint must be unix:PATH or inet:127.0.0.1:PORT\n");
	return -1;
}

static int endpoint_connect(const struct endpoint *ep)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_SEC };
	int one = 1;
	int fd = socket(ep->family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (ep->family == AF_INET)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((ep->family == AF_UNIX
	     ? connect(fd, (const struct sockaddr *)&ep->un, sizeof(ep->un))
	     : connect(fd, (const struct sockaddr *)&ep->in, sizeof(ep->in))) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int keys_load(const char *path, struct keys *keys)
{
	char line[KEY_MAX + 2];
	size_t cap = 0;
	unsigned long lineno = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		fprintf(stderr, "mapd_load: %s: %s\n", path, strerror(errno));
		return -1;
	}
	keys->key = NULL;
	keys->count = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strlen(line);

		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(f)) {
			fprintf(stderr, "mapd_load: %s:%lu: key longer than %d bytes\n", path, lineno, KEY_MAX);
			fclose(f);
			return -1;
		}
		if (len == 0)
			continue;
		if (keys->count >= KEYS_MAX) {
			fprintf(stderr, "mapd_load: %s: more than %lu keys\n", path, KEYS_MAX);
			fclose(f);
			return -1;
		}
		if (keys->count == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			char **n = realloc(keys->key, ncap * sizeof(*n));

			if (n == NULL) {
				fclose(f);
				return -1;
			}
			keys->key = n;
			cap = ncap;
		}
		if ((keys->key[keys->count] = strdup(line)) == NULL) {
			fclose(f);
			return -1;
		}
		keys->count++;
	}
	fclose(f);
	if (keys->count == 0) {
		fprintf(stderr, "mapd_load: %s: no keys\n", path);
		return -1;
	}
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read one reply netstring into buf (a persistent per-connection buffer
 * holding *have bytes); returns the status word's class via *status_r:
 * 'O' OK, 'N' NOTFOUND, 'E' anything else. -1 on I/O or protocol error. */
static int read_reply(int fd, char *buf, size_t size, size_t *have, char *status_r, char *why, size_t whylen)
{
	for (;;) {
		const char *payload;
		size_t plen, used;
		struct mx_err err = { 0 };
		enum mx_netstring_status st = mx_netstring_decode(buf, *have, REPLY_MAX, &payload, &plen,
								  &used, &err);

		if (st == MX_NS_OK) {
			if (plen >= 3 && memcmp(payload, "OK ", 3) == 0)
				*status_r = 'O';
			else if (plen >= 9 && memcmp(payload, "NOTFOUND ", 9) == 0)
				*status_r = 'N';
			else {
				*status_r = 'E';
				if (snprintf(why, whylen, "reply '%.*s'", (int)(plen < 80 ? plen : 80), payload) >= (int)whylen)
					why[whylen - 1] = '\0';
			}
			memmove(buf, buf + used, *have - used);
			*have -= used;
			return 0;
		}
		if (st == MX_NS_ERROR) {
			if (snprintf(why, whylen, "malformed reply netstring") >= (int)whylen)
				why[whylen - 1] = '\0';
			return -1;
		}
		if (*have >= size) {
			if (snprintf(why, whylen, "reply over %zu bytes", size) >= (int)whylen)
				why[whylen - 1] = '\0';
			return -1;
		}
		ssize_t n = read(fd, buf + *have, size - *have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (snprintf(why, whylen, "%s", n == 0 ? "connection closed" : strerror(errno)) >= (int)whylen)
				why[whylen - 1] = '\0';
			return -1;
		}
		*have += (size_t)n;
	}
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	size_t bufsize = REPLY_MAX + 16;
	char *rbuf = malloc(bufsize);
	char req[MAP_MAX + KEY_MAX + 2], enc[MAP_MAX + KEY_MAX + 32];
	size_t have = 0;
	int fd = endpoint_connect(w->ep);

	if (fd < 0 || rbuf == NULL) {
		snprintf(w->error, sizeof(w->error), "connect: %s", strerror(errno));
		w->errors++;
	}
	pthread_barrier_wait(&start_barrier);
	uint64_t sched0 = now_ns(), period = w->rate > 0 ? (uint64_t)(1e9 / w->rate) : 0;

	/* spread the connections' schedules over one period */
	sched0 += period * w->id / (w->conns ? w->conns : 1);
	for (unsigned long i = 0; fd >= 0 && rbuf != NULL && i < w->requests; i++) {
		const char *key = w->keys->key[(w->start + i) % w->keys->count];
		int rlen = snprintf(req, sizeof(req), "%s %s", w->map, key);
		long elen;
		char status;
		uint64_t t0;

		if (rlen < 0 || (size_t)rlen >= sizeof(req) ||
		    (elen = mx_netstring_encode(req, (size_t)rlen, enc, sizeof(enc))) < 0) {
			snprintf(w->error, sizeof(w->error), "request too long");
			w->errors++;
			break;
		}
		t0 = now_ns();
		if (period > 0) {
			uint64_t due = sched0 + i * period;

			if (due > t0) {
				struct timespec ts = { .tv_sec = (time_t)(due / 1000000000u),
						       .tv_nsec = (long)(due % 1000000000u) };

				while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
					;
			}
			t0 = due;
		}
		if (write_all(fd, enc, (size_t)elen) < 0) {
			snprintf(w->error, sizeof(w->error), "write: %s", strerror(errno));
			w->errors++;
			break;
		}
		if (read_reply(fd, rbuf, bufsize, &have, &status, w->error, sizeof(w->error)) < 0) {
			w->errors++;
			break;
		}
		w->lat_ns[i] = now_ns() - t0;
		w->answered = i + 1;
		if (status == 'O')
			w->ok++;
		else if (status == 'N')
			w->notfound++;
		else
			w->errors++;
	}
	if (fd >= 0)
		close(fd);
	free(rbuf);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return (errno != 0 || *end != '\0' || *out == 0 || *out > max) ? -1 : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: mapd_load [-c CONNS] [-n REQUESTS_PER_CONN] [-r RATE_PER_CONN] [-m MAP] "
		"unix:PATH|inet:127.0.0.1:PORT KEYFILE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long conns = 64, requests = 10000, rate = 0;
	const char *map = "alias";
	struct endpoint ep;
	struct keys keys;
	struct worker *w;
	uint64_t *all, t0, t1;
	unsigned long total = 0, ok = 0, notfound = 0, errors = 0;
	int opt;

	while ((opt = getopt(argc, argv, "c:n:r:m:")) != -1) {
		switch (opt) {
		case 'c':
			if (parse_ulong(optarg, CONNS_MAX, &conns) < 0)
				usage();
			break;
		case 'n':
			if (parse_ulong(optarg, REQUESTS_MAX, &requests) < 0)
				usage();
			break;
		case 'r':
			if (parse_ulong(optarg, RATE_MAX, &rate) < 0)
				usage();
			break;
		case 'm':
			if (strlen(optarg) == 0 || strlen(optarg) >= MAP_MAX || strchr(optarg, ' '))
				usage();
			map = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2 || endpoint_parse(argv[optind], &ep) < 0 ||
	    keys_load(argv[optind + 1], &keys) < 0)
		usage();
	if (requests > REQUESTS_MAX / conns) {
		fprintf(stderr, "mapd_load: CONNS x REQUESTS over %lu\n", REQUESTS_MAX);
		return 2;
	}
	w = calloc(conns, sizeof(*w));
	all = calloc(conns * requests, sizeof(*all));
	if (w == NULL || all == NULL || pthread_barrier_init(&start_barrier, NULL, (unsigned)conns + 1) != 0) {
		fprintf(stderr, "mapd_load: out of memory\n");
		return 1;
	}
	for (unsigned long i = 0; i < conns; i++) {
		w[i].id = (unsigned)i;
		w[i].conns = (unsigned)conns;
		w[i].rate = (double)rate;
		w[i].ep = &ep;
		w[i].keys = &keys;
		w[i].map = map;
		w[i].start = (size_t)(i * (keys.count / conns + 1)) % keys.count;
		w[i].requests = requests;
		w[i].lat_ns = all + i * requests;
		if (pthread_create(&w[i].thread, NULL, worker_run, &w[i]) != 0) {
			fprintf(stderr, "mapd_load: cannot start thread %lu\n", i);
			return 1;
		}
	}
	pthread_barrier_wait(&start_barrier);
	t0 = now_ns();
	for (unsigned long i = 0; i < conns; i++)
		pthread_join(w[i].thread, NULL);
	t1 = now_ns();
	for (unsigned long i = 0; i < conns; i++) {
		ok += w[i].ok;
		notfound += w[i].notfound;
		errors += w[i].errors;
		if (w[i].error[0] != '\0')
			fprintf(stderr, "mapd_load: connection %lu: %s\n", i, w[i].error);
		/* compact the answered requests to the front */
		memmove(all + total, w[i].lat_ns, w[i].answered * sizeof(*all));
		total += w[i].answered;
	}
	if (total == 0) {
		fprintf(stderr, "mapd_load: no request answered\n");
		return 1;
	}
	qsort(all, total, sizeof(*all), cmp_u64);
	printf("connections=%lu rate_per_conn=%lu requests=%lu seconds=%.3f lookups_per_sec=%.0f "
	       "p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f ok=%lu notfound=%lu errors=%lu\n",
	       conns, rate, total, (double)(t1 - t0) / 1e9, (double)total * 1e9 / (double)(t1 - t0),
	       (double)all[total / 2] / 1e3, (double)all[total * 9 / 10] / 1e3,
	       (double)all[total * 99 / 100] / 1e3, (double)all[total - 1] / 1e3, ok, notfound, errors);
	for (size_t i = 0; i < keys.count; i++)
		free(keys.key[i]);
	free(keys.key);
	free(all);
	free(w);
	pthread_barrier_destroy(&start_barrier);
	return errors == 0 ? 0 : 1;
}
