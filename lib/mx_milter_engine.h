/* mx_milter_engine.h: mxkit's own milter engine (replaces libmilter).
 *
 * A milter fills a struct mx_milter_callbacks; the engine listens on a
 * unix or TCP socket, runs one thread per MTA connection (at most
 * max_conns at once), reads whatever the MTA has sent in one read(),
 * answers every packet of that batch and writes the replies in one
 * write(). Over TCP it sets TCP_NODELAY and re-arms TCP_QUICKACK after
 * every read, so the MTA's packets are acknowledged at once (no
 * delayed-ACK stall). Callbacks get the connection's context, in which
 * they keep their private data and through which they read macros and
 * ask for changes to the message (only from the eom callback).
 *
 * Signals (mx_milter_serve): SIGHUP and SIGUSR1 call reload(); SIGTERM
 * and SIGINT stop accepting, and open connections get
 * MX_MILTER_STOP_GRACE seconds to finish before they are cut. */
#ifndef MX_MILTER_ENGINE_H
#define MX_MILTER_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "mx_error.h"
#include "mx_milter_proto.h"

/* What a callback answers. NOREPLY only where a no-reply step was
 * negotiated (MX_MILTER_P_NR_*); elsewhere it counts as CONTINUE. */
enum mx_milter_status {
	MX_MILTER_CONTINUE,
	MX_MILTER_ACCEPT,
	MX_MILTER_REJECT,    /* from negotiate: refuse the connection */
	MX_MILTER_TEMPFAIL,
	MX_MILTER_DISCARD,
	MX_MILTER_NOREPLY,
	MX_MILTER_SKIP
};

struct mx_milter_ctx;

struct mx_milter_callbacks {
	const char *name;   /* for logs */
	/* The MTA offers actions and steps; set what we take. */
	enum mx_milter_status (*negotiate)(struct mx_milter_ctx *ctx, uint32_t actions,
					   uint32_t steps, uint32_t *actions_r, uint32_t *steps_r);
	/* sa: NULL when the MTA does not know the client's address. */
	enum mx_milter_status (*connect)(struct mx_milter_ctx *ctx, const char *host,
					 const struct sockaddr *sa);
	enum mx_milter_status (*helo)(struct mx_milter_ctx *ctx, const char *name);
	/* argv[0] is the address, then ESMTP parameters; NULL-terminated. */
	enum mx_milter_status (*envfrom)(struct mx_milter_ctx *ctx, char **argv);
	enum mx_milter_status (*envrcpt)(struct mx_milter_ctx *ctx, char **argv);
	enum mx_milter_status (*data)(struct mx_milter_ctx *ctx);
	enum mx_milter_status (*header)(struct mx_milter_ctx *ctx, const char *name,
					const char *value);
	enum mx_milter_status (*eoh)(struct mx_milter_ctx *ctx);
	enum mx_milter_status (*body)(struct mx_milter_ctx *ctx, const uint8_t *p, size_t len);
	enum mx_milter_status (*eom)(struct mx_milter_ctx *ctx);
	void (*abort)(struct mx_milter_ctx *ctx);
	/* The connection ends (also after a failed negotiation): free priv. */
	void (*close)(struct mx_milter_ctx *ctx);
};

/* Per-connection private data of the milter. */
void *mx_milter_priv(struct mx_milter_ctx *ctx);
void mx_milter_set_priv(struct mx_milter_ctx *ctx, void *priv);

/* A macro's value ("i", "{auth_authen}"; braces optional), NULL if unset. */
const char *mx_milter_macro(struct mx_milter_ctx *ctx, const char *name);

/* From negotiate: the macros wanted at a stage (needs
 * MX_MILTER_A_SETSYMLIST from the MTA). list is copied. */
int mx_milter_set_symlist(struct mx_milter_ctx *ctx, enum mx_milter_stage stage,
			  const char *list, struct mx_err *err);

/* The SMTP reply used with the next REJECT or TEMPFAIL ("451", "4.7.0",
 * text); the code must start with 4 or 5 and text holds no CR or LF. */
int mx_milter_set_reply(struct mx_milter_ctx *ctx, const char *code, const char *xcode,
			const char *text, struct mx_err *err);

/* Changes to the message: from the eom callback only. Return 0 or -1. */
int mx_milter_add_header(struct mx_milter_ctx *ctx, const char *name, const char *value,
			 struct mx_err *err);
int mx_milter_insert_header(struct mx_milter_ctx *ctx, unsigned index, const char *name,
			    const char *value, struct mx_err *err);
/* value NULL: delete the index'th (from 1) field of that name. */
int mx_milter_change_header(struct mx_milter_ctx *ctx, const char *name, unsigned index,
			    const char *value, struct mx_err *err);
int mx_milter_change_from(struct mx_milter_ctx *ctx, const char *from, const char *args,
			  struct mx_err *err);
int mx_milter_add_rcpt(struct mx_milter_ctx *ctx, const char *rcpt, struct mx_err *err);
int mx_milter_del_rcpt(struct mx_milter_ctx *ctx, const char *rcpt, struct mx_err *err);

/* Seconds open connections get after SIGTERM. */
#define MX_MILTER_STOP_GRACE 10
/* Default cap on concurrent connections. */
#define MX_MILTER_CONNS_MAX 512
#define MX_MILTER_BACKLOG 128

struct mx_milter_listen_opts {
	const char *spec;     /* unix:/path, local:/path, inet:PORT[@HOST], inet6:PORT[@HOST] */
	uid_t uid;            /* unix socket owner, (uid_t)-1 to keep */
	gid_t gid;            /* unix socket group, (gid_t)-1 to keep */
	unsigned timeout;     /* seconds of silence or blocked writes before a connection is dropped */
	unsigned max_conns;   /* 0: MX_MILTER_CONNS_MAX */
};

struct mx_milter_server;

/* Open the socket (call while still root). A stale unix socket is
 * removed, a new one gets mode 0660 and the given owner. */
struct mx_milter_server *mx_milter_listen(const struct mx_milter_listen_opts *opts,
					  struct mx_err *err);

/* Block SIGHUP, SIGUSR1, SIGTERM and SIGINT in the calling thread: call
 * before any other thread is created, so every thread inherits the mask
 * (signals that arrive meanwhile wait for mx_milter_signals_start). */
int mx_milter_signals_block(struct mx_err *err);

/* Block them (as above) and start the thread that handles them: reload()
 * (may be NULL) for SIGHUP/SIGUSR1, a stop for SIGTERM/SIGINT. */
int mx_milter_signals_start(struct mx_milter_server *srv, void (*reload)(void),
			    struct mx_err *err);

/* Serve until SIGTERM/SIGINT or mx_milter_server_stop(); then wait for
 * the open connections (MX_MILTER_STOP_GRACE). Closes the socket (a
 * unix one is removed) and frees srv. Returns 0 or -1 with err. */
int mx_milter_serve_loop(struct mx_milter_server *srv, const struct mx_milter_callbacks *cb,
			 struct mx_err *err);

/* Close a server that never served (start-up failed). */
void mx_milter_server_close(struct mx_milter_server *srv);

/* Ask mx_milter_serve_loop() to stop (async-signal-safe). */
void mx_milter_server_stop(struct mx_milter_server *srv);

/* Serve one MTA connection on fd until it ends (the engine's connection
 * thread; also used by tests on a socketpair). is_tcp turns on the
 * quick-ACK re-arm. Closes fd. */
void mx_milter_conn_run(int fd, int is_tcp, unsigned timeout,
			const struct mx_milter_callbacks *cb);

#endif
