/* milter_load.c: a milter-protocol load client (the MTA side) for bench/dkim.
 *
 *   milter_load -s SPEC -m MESSAGE [-c CONNS] [-d SECONDS] [-p PID] [-n] [-q]
 *
 * SPEC is unix:/path or inet:PORT@HOST. Each of CONNS threads opens one
 * milter connection, negotiates (offering every protocol step, as Postfix
 * does), sends the connect and helo steps once, then signs MESSAGE over and
 * over until SECONDS have passed: macros and commands as separate writes,
 * like Postfix's milter8 client, with Nagle's algorithm left on unless -n,
 * and TCP_QUICKACK re-armed after each read with -q. A message is timed
 * from MAIL FROM to the end-of-message verdict; every message must come
 * back with at least one DKIM-Signature field and "accept" or "continue".
 * With -p, the CPU time (from /proc/PID/stat) and peak RSS (VmHWM) of the
 * milter process are reported too. Output: one line of key=value pairs. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CONNS_MAX 1024
#define PACKET_MAX (1024 * 1024)
#define BODY_CHUNK 65535
#define LAT_PER_THREAD 200000
#define HEADERS_MAX 256

/* Protocol steps the milter may skip (SMFIP_NO*) or not answer (SMFIP_NR_*). */
#define P_NOCONNECT 0x1
#define P_NOHELO 0x2
#define P_NOMAIL 0x4
#define P_NORCPT 0x8
#define P_NOBODY 0x10
#define P_NOHDRS 0x20
#define P_NOEOH 0x40
#define P_NR_HDR 0x80
#define P_NODATA 0x200
#define P_NR_CONN 0x1000
#define P_NR_HELO 0x2000
#define P_NR_MAIL 0x4000
#define P_NR_RCPT 0x8000
#define P_NR_DATA 0x10000
#define P_NR_EOH 0x40000
#define P_NR_BODY 0x80000
#define P_LEADSPC 0x100000
#define P_ALL 0x1FFFFF

struct header {
	char *name, *value;  /* value with its leading space, folds as LF */
};

static struct {
	const char *spec;
	int conns;
	double seconds;
	bool nodelay, quickack;
	struct header hdr[HEADERS_MAX];
	size_t nhdr;
	char *body;
	size_t body_len;
} g = { .conns = 1, .seconds = 5 };

struct worker {
	pthread_t t;
	int fd;
	unsigned long proto;
	uint32_t *lat_us;
	size_t nlat;
	unsigned long msgs, errors, sigs;
	char error[256];
	double deadline;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *fmt, const char *arg)
{
	fprintf(stderr, "milter_load: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(2);
}

static int connect_spec(const char *spec)
{
	int fd, one = 1;

	if (strncmp(spec, "unix:", 5) == 0) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		if (strlen(spec + 5) >= sizeof(sun.sun_path))
			die("socket path too long: %s", spec);
		strcpy(sun.sun_path, spec + 5);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			return -1;
		return fd;
	}
	if (strncmp(spec, "inet:", 5) == 0) {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		const char *at = strchr(spec, '@');
		sin.sin_port = htons((uint16_t)atoi(spec + 5));
		if (at == NULL || inet_pton(AF_INET, at + 1, &sin.sin_addr) != 1)
			die("want inet:PORT@IPV4: %s", spec);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
			return -1;
		if (g.nodelay)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		return fd;
	}
	die("socket must be unix:PATH or inet:PORT@HOST: %s", spec);
	return -1;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One packet: length, command, data (one write, as milter8 does). */
static int send_packet(int fd, char cmd, const void *data, size_t len)
{
	static __thread char *buf;
	uint32_t n = htonl((uint32_t)len + 1);

	if (len + 5 > PACKET_MAX)
		return -1;
	if (buf == NULL && (buf = malloc(PACKET_MAX)) == NULL)
		return -1;
	memcpy(buf, &n, 4);
	buf[4] = cmd;
	if (len > 0)
		memcpy(buf + 5, data, len);
	return write_all(fd, buf, len + 5);
}

static int read_all(int fd, void *p, size_t n)
{
	char *c = p;
	int one = 1;
	while (n > 0) {
		ssize_t r = read(fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (g.quickack)
			setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Read one reply packet: its command, data into buf (up to size). */
static int read_packet(int fd, char *cmd, char *buf, size_t size, size_t *len_r)
{
	uint32_t n;

	if (read_all(fd, &n, 4) < 0)
		return -1;
	n = ntohl(n);
	if (n == 0 || n > size + 1)
		return -1;
	if (read_all(fd, cmd, 1) < 0 || read_all(fd, buf, n - 1) < 0)
		return -1;
	*len_r = n - 1;
	return 0;
}

/* Send cmd; when a reply is due, read it: 'c' expected. */
static int step(struct worker *w, char cmd, const void *data, size_t len, bool reply)
{
	static __thread char buf[PACKET_MAX];
	size_t n;
	char r;

	if (send_packet(w->fd, cmd, data, len) < 0)
		return -1;
	if (!reply)
		return 0;
	if (read_packet(w->fd, &r, buf, sizeof(buf), &n) < 0)
		return -1;
	if (r != 'c') {
		snprintf(w->error, sizeof(w->error), "reply '%c' to command '%c'", r, cmd);
		return -1;
	}
	return 0;
}

static int macro(struct worker *w, char cmd, const char *kv, size_t len)
{
	char buf[512];
	buf[0] = cmd;
	memcpy(buf + 1, kv, len);
	return send_packet(w->fd, 'D', buf, len + 1);
}

static int negotiate(struct worker *w)
{
	uint32_t opt[3] = { htonl(6), htonl(0x1FF), htonl(P_ALL) };
	char buf[4096], r;
	size_t n;

	if (send_packet(w->fd, 'O', opt, sizeof(opt)) < 0 ||
	    read_packet(w->fd, &r, buf, sizeof(buf), &n) < 0 || r != 'O' || n < 12)
		return -1;
	memcpy(opt, buf, 12);
	w->proto = ntohl(opt[2]);
	return 0;
}

static int session_start(struct worker *w)
{
	static const char conn[] = "localhost\0" "4\0\0" "127.0.0.1";
	char cdata[sizeof(conn)];
	unsigned long p;

	memcpy(cdata, conn, sizeof(conn));
	/* family '4', port 0 (2 bytes), address */
	cdata[10] = '4';
	cdata[11] = 0;
	cdata[12] = 0;
	memcpy(cdata + 13, "127.0.0.1", 10);
	if ((w->fd = connect_spec(g.spec)) < 0 || negotiate(w) < 0)
		return -1;
	p = w->proto;
	if (!(p & P_NOCONNECT)) {
		static const char m[] = "j\0mx.bench.example\0{daemon_name}\0smtpd\0";
		if (macro(w, 'C', m, sizeof(m) - 1) < 0 ||
		    step(w, 'C', cdata, 13 + 10, !(p & P_NR_CONN)) < 0)
			return -1;
	}
	if (!(p & P_NOHELO) && step(w, 'H', "client.bench.example", 21, !(p & P_NR_HELO)) < 0)
		return -1;
	return 0;
}

static int one_message(struct worker *w)
{
	static __thread char buf[PACKET_MAX];
	static const char mmac[] = "i\0" "4XyZ1bench\0{auth_authen}\0alice\0{auth_type}\0PLAIN\0";
	unsigned long p = w->proto;
	size_t i, off, n;
	char r;
	bool leadspc = (p & P_LEADSPC) != 0;

	if (macro(w, 'M', mmac, sizeof(mmac) - 1) < 0)
		return -1;
	if (!(p & P_NOMAIL) && step(w, 'M', "<alice@bench.example>", 22, !(p & P_NR_MAIL)) < 0)
		return -1;
	if (!(p & P_NORCPT) && step(w, 'R', "<bob@example.net>", 18, !(p & P_NR_RCPT)) < 0)
		return -1;
	if (!(p & P_NODATA) && step(w, 'T', NULL, 0, !(p & P_NR_DATA)) < 0)
		return -1;
	if (!(p & P_NOHDRS)) {
		for (i = 0; i < g.nhdr; i++) {
			const char *v = g.hdr[i].value;
			size_t nl = strlen(g.hdr[i].name), vl;
			if (!leadspc && *v == ' ')
				v++;
			vl = strlen(v);
			if (nl + vl + 2 > sizeof(buf))
				return -1;
			memcpy(buf, g.hdr[i].name, nl + 1);
			memcpy(buf + nl + 1, v, vl + 1);
			if (step(w, 'L', buf, nl + vl + 2, !(p & P_NR_HDR)) < 0)
				return -1;
		}
	}
	if (!(p & P_NOEOH) && step(w, 'N', NULL, 0, !(p & P_NR_EOH)) < 0)
		return -1;
	if (!(p & P_NOBODY)) {
		for (off = 0; off < g.body_len; off += n) {
			n = g.body_len - off < BODY_CHUNK ? g.body_len - off : BODY_CHUNK;
			if (step(w, 'B', g.body + off, n, !(p & P_NR_BODY)) < 0)
				return -1;
		}
	}
	if (send_packet(w->fd, 'E', NULL, 0) < 0)
		return -1;
	for (;;) {
		if (read_packet(w->fd, &r, buf, sizeof(buf), &n) < 0)
			return -1;
		if ((r == 'h' || r == 'i') && n > 4 + 15 && memmem(buf, n, "DKIM-Signature", 14) != NULL) {
			w->sigs++;
			continue;
		}
		if (r == 'a' || r == 'c')
			return 0;
		if (r == 'p' || r == 'h' || r == 'i' || r == 'm')
			continue;
		snprintf(w->error, sizeof(w->error), "end-of-message reply '%c'", r);
		return -1;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	if (session_start(w) < 0) {
		if (w->error[0] == '\0')
			snprintf(w->error, sizeof(w->error), "cannot start a session: %s", strerror(errno));
		w->errors++;
		return NULL;
	}
	while (now() < w->deadline) {
		double t0 = now();
		unsigned long before = w->sigs;
		if (one_message(w) < 0) {
			if (w->error[0] == '\0')
				snprintf(w->error, sizeof(w->error), "connection lost: %s", strerror(errno));
			w->errors++;
			break;
		}
		if (w->sigs == before) {
			snprintf(w->error, sizeof(w->error), "a message came back unsigned");
			w->errors++;
			break;
		}
		if (w->nlat < LAT_PER_THREAD)
			w->lat_us[w->nlat++] = (uint32_t)((now() - t0) * 1e6);
		w->msgs++;
	}
	(void)send_packet(w->fd, 'Q', NULL, 0);
	close(w->fd);
	return NULL;
}

static void load_message(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *data, *p, *end, *hend;
	long size;

	if (f == NULL || fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0)
		die("cannot read %s", path);
	data = malloc((size_t)size + 1);
	if (data == NULL || fread(data, 1, (size_t)size, f) != (size_t)size)
		die("cannot read %s", path);
	fclose(f);
	data[size] = '\0';
	hend = strstr(data, "\r\n\r\n");
	if (hend == NULL)
		die("%s: no blank line after the header", path);
	g.body = hend + 4;
	g.body_len = (size_t)(data + size - g.body);
	hend[2] = '\0';
	for (p = data; *p != '\0'; p = end) {
		char *colon = strchr(p, ':'), *q, *o;
		/* A field runs to the CRLF not followed by whitespace. */
		for (end = p; (end = strstr(end, "\r\n")) != NULL && (end[2] == ' ' || end[2] == '\t'); end += 2)
			;
		if (colon == NULL || end == NULL || colon > end || g.nhdr == HEADERS_MAX)
			die("%s: bad header field", path);
		*colon = '\0';
		*end = '\0';
		g.hdr[g.nhdr].name = p;
		/* The value with CRLF folds as LF, as Postfix passes them. */
		for (q = o = colon + 1; *q; q++)
			if (!(q[0] == '\r' && q[1] == '\n'))
				*o++ = *q;
		*o = '\0';
		g.hdr[g.nhdr++].value = colon + 1;
		end += 2;
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static bool proc_cpu(long pid, double *sec_r)
{
	char path[64], buf[4096], *p;
	unsigned long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command name in parentheses: utime is the 14th. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return false;
	*sec_r = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	return true;
}

static long proc_hwm_kb(long pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	static struct worker w[CONNS_MAX];
	const char *msg = NULL;
	long pid = 0;
	double t0, t1, cpu0 = 0, cpu1 = 0;
	unsigned long msgs = 0, errors = 0;
	uint32_t *all;
	size_t nall = 0;
	int c, i;

	while ((c = getopt(argc, argv, "s:m:c:d:p:nq")) != -1) {
		switch (c) {
		case 's': g.spec = optarg; break;
		case 'm': msg = optarg; break;
		case 'c': g.conns = atoi(optarg); break;
		case 'd': g.seconds = atof(optarg); break;
		case 'p': pid = atol(optarg); break;
		case 'n': g.nodelay = true; break;
		case 'q': g.quickack = true; break;
		default: die("%s", "usage: milter_load -s SPEC -m MESSAGE [-c CONNS] [-d SECONDS] [-p PID] [-n] [-q]");
		}
	}
	if (g.spec == NULL || msg == NULL || g.conns < 1 || g.conns > CONNS_MAX || g.seconds <= 0)
		die("%s", "usage: milter_load -s SPEC -m MESSAGE [-c CONNS] [-d SECONDS] [-p PID] [-n] [-q]");
	load_message(msg);
	if (pid > 0 && !proc_cpu(pid, &cpu0))
		die("%s", "cannot read the milter's /proc/PID/stat");
	t0 = now();
	for (i = 0; i < g.conns; i++) {
		w[i].deadline = t0 + g.seconds;
		w[i].lat_us = malloc(LAT_PER_THREAD * sizeof(uint32_t));
		if (w[i].lat_us == NULL || pthread_create(&w[i].t, NULL, worker_main, &w[i]) != 0)
			die("%s", "cannot start a thread");
	}
	for (i = 0; i < g.conns; i++)
		pthread_join(w[i].t, NULL);
	t1 = now();
	if (pid > 0 && !proc_cpu(pid, &cpu1))
		die("%s", "cannot read the milter's /proc/PID/stat");
	all = malloc((size_t)g.conns * LAT_PER_THREAD * sizeof(uint32_t));
	if (all == NULL)
		die("%s", "out of memory");
	for (i = 0; i < g.conns; i++) {
		msgs += w[i].msgs;
		errors += w[i].errors;
		memcpy(all + nall, w[i].lat_us, w[i].nlat * sizeof(uint32_t));
		nall += w[i].nlat;
		if (w[i].error[0] != '\0' && errors == w[i].errors)
			fprintf(stderr, "milter_load: connection %d: %s\n", i, w[i].error);
	}
	qsort(all, nall, sizeof(uint32_t), cmp_u32);
	printf("msgs=%lu secs=%.2f mps=%.1f p50_ms=%.2f p99_ms=%.2f errors=%lu",
	       msgs, t1 - t0, (double)msgs / (t1 - t0),
	       nall ? all[nall / 2] / 1000.0 : -1.0, nall ? all[(nall * 99) / 100] / 1000.0 : -1.0, errors);
	if (pid > 0)
		printf(" cpu_ms_per_msg=%.3f hwm_kb=%ld", msgs ? (cpu1 - cpu0) * 1000.0 / (double)msgs : -1.0,
		       proc_hwm_kb(pid));
	printf("\n");
	return errors ? 1 : 0;
}
