/* mx_milter_session.h: one MTA connection's protocol state (private to
 * the engine): the negotiated options, the macros per stage, the
 * milter's private data, and the replies not yet written. Feeding it
 * packets (mx_milter_session_packet) calls the milter's callbacks and
 * appends the replies to out; it does no I/O, so tests and the fuzz
 * target drive it directly. */
#ifndef MX_MILTER_SESSION_H
#define MX_MILTER_SESSION_H

#include <stdbool.h>

#include "mx_milter_engine.h"

/* Macros kept per stage. */
#define MX_MILTER_MACROS_MAX 64

struct mx_milter_macros {
	uint8_t *copy;   /* the packet's data, which names/values point into */
	size_t n;
	char *names[MX_MILTER_MACROS_MAX];
	char *values[MX_MILTER_MACROS_MAX];
};

struct mx_milter_ctx {
	const struct mx_milter_callbacks *cb;
	void *priv;
	bool negotiated;
	bool closed;           /* the close callback ran */
	bool in_eom;           /* message changes allowed */
	uint32_t actions, steps;
	struct mx_milter_macros macros[MX_MILTER_M_COUNT];
	char *symlists[MX_MILTER_M_COUNT];
	char reply[1024];      /* for the next REJECT/TEMPFAIL, "" if none */
	enum mx_milter_status body_st;  /* of a body packet handed over in pieces */
	struct mx_milter_out out;
};

void mx_milter_session_init(struct mx_milter_ctx *ctx, const struct mx_milter_callbacks *cb);
/* Runs the close callback if not yet done, frees everything. */
void mx_milter_session_free(struct mx_milter_ctx *ctx);

/* Handle one packet. Returns 0 to go on, 1 when the MTA said QUIT (or
 * the negotiation was refused), -1 with err on a protocol error (the
 * connection should be dropped). */
int mx_milter_session_packet(struct mx_milter_ctx *ctx, const struct mx_milter_packet *p,
			     struct mx_err *err);

/* A piece of a large body packet (the engine hands it over as it
 * arrives instead of holding the whole packet): the body callback gets
 * each piece, the reply goes out after the last. Returns 0 or -1. */
int mx_milter_session_body_piece(struct mx_milter_ctx *ctx, const uint8_t *p, size_t len,
				 bool last, struct mx_err *err);

#endif
