/* mx_milter_quickack.c: acknowledge the MTA's milter packets at once over TCP.
 *
 * The stall this removes (measured with bench/dkim/milter_load, which
 * writes like Postfix's milter8 client): the MTA writes several small
 * packets in a row without waiting for an answer (a macro packet and then
 * its command; with SMFIP_NR_HDR, one header field after another). Its
 * socket keeps Nagle's algorithm on, so each packet after the first waits
 * until the previous one is acknowledged, and the milter's kernel delays
 * that ACK (about 40 ms on Linux) because the milter has nothing to send
 * back yet. One message took 90 to 130 ms over loopback TCP this way.
 *
 * Linux sends a pending ACK at once when TCP_QUICKACK is set, and quick
 * ACK mode wears off by itself, so it has to be set again after every
 * read. libmilter owns the connection and its receive loop and exposes
 * neither, so this file defines read(2): the libmilter shared library calls
 * read() through its PLT, which the executable's definition interposes.
 * While mx_milter_quickack_enable() has been called (the milter listens on
 * TCP), every successful read sets TCP_QUICKACK on its descriptor; on a
 * descriptor that is not a TCP socket the call fails harmlessly (ENOTSOCK,
 * EOPNOTSUPP) and errno is kept. Nothing changes for unix sockets. */
#include "mxkit-config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mx_milter.h"

static atomic_bool quickack_on;

void mx_milter_quickack_enable(void)
{
	atomic_store(&quickack_on, true);
}

ssize_t read(int fd, void *buf, size_t count)
{
	ssize_t r = syscall(SYS_read, fd, buf, count);

	if (r > 0 && atomic_load_explicit(&quickack_on, memory_order_relaxed)) {
		int saved = errno, one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
		errno = saved;
	}
	return r;
}
