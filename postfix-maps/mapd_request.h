/* mapd_request.h: the socketmap request parser (socketmap_table(5)).
 *
 * A request is the netstring "<name> <key>". The parser works on the
 * bytes a connection has buffered so far: it says whether a request is
 * complete, incomplete, well-framed but invalid (answer PERM and go on),
 * or so broken that the stream cannot be resynchronised (close). It
 * never allocates and copies the key into the request, lowercased (to
 * look up) and as sent (to re-append an extension in its own case). */
#ifndef MAPD_REQUEST_H
#define MAPD_REQUEST_H

#include <stddef.h>

#include "mx_keys.h"
#include "mapd_maps.h"
#include "mx_error.h"

/* Largest netstring payload we read; longer lengths close the connection.
 * Above the key limit so that an over-long key gets a PERM reply. */
#define MAPD_REQUEST_MAX 4096
/* Bytes a connection must buffer to hold one whole request. */
#define MAPD_REQUEST_BUF (MAPD_REQUEST_MAX + 16)

enum mapd_request_status {
	MAPD_REQ_OK,       /* req holds a valid request */
	MAPD_REQ_PARTIAL,  /* need more bytes */
	MAPD_REQ_PERM,     /* well-framed but invalid: reply PERM, err says why */
	MAPD_REQ_CLOSE,    /* broken framing: close, err says why */
};

struct mapd_request {
	const struct mapd_map *map;
	char key[MX_KEY_MAX + 1];  /* lowercased, NUL-terminated */
	char key_sent[MX_KEY_MAX + 1];  /* as the client sent it, NUL-terminated */
	size_t key_len;
};

/* Parse one request at the start of buf[0..len). On OK and PERM,
 * *consumed_r is the size of the netstring to drop from the buffer. */
enum mapd_request_status mapd_request_parse(const char *buf, size_t len,
					    struct mapd_request *req, size_t *consumed_r,
					    struct mx_err *err);

#endif
