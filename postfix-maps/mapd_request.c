/* mapd_request.c: parse socketmap requests "<name> <key>" from netstrings. */
#include "mxkit-config.h"

#include <string.h>

#include "mapd_request.h"
#include "mx_log.h"
#include "mx_netstring.h"

enum mapd_request_status mapd_request_parse(const char *buf, size_t len,
					    struct mapd_request *req, size_t *consumed_r,
					    struct mx_err *err)
{
	const char *payload, *space, *key;
	size_t plen, klen;
	char safe[MX_LOG_SAFE_MAX];

	*consumed_r = 0;
	switch (mx_netstring_decode(buf, len, MAPD_REQUEST_MAX, &payload, &plen, consumed_r, err)) {
	case MX_NS_PARTIAL:
		return MAPD_REQ_PARTIAL;
	case MX_NS_ERROR:
		return MAPD_REQ_CLOSE;
	case MX_NS_OK:
		break;
	}
	space = memchr(payload, ' ', plen);
	if (space == NULL) {
		mx_err_set(err, "request '%s' has no space between map name and key",
			   mx_log_safe(safe, sizeof(safe), payload, plen));
		return MAPD_REQ_PERM;
	}
	req->map = mapd_map_find(payload, (size_t)(space - payload));
	if (req->map == NULL) {
		mx_err_set(err, "unknown map '%s'",
			   mx_log_safe(safe, sizeof(safe), payload, (size_t)(space - payload)));
		return MAPD_REQ_PERM;
	}
	key = space + 1;
	klen = plen - (size_t)(key - payload);
	if (klen == 0) {
		mx_err_set(err, "empty key for map '%s'", req->map->name);
		return MAPD_REQ_PERM;
	}
	if (klen > MX_KEY_MAX) {
		mx_err_set(err, "key for map '%s' is %zu bytes, more than %d",
			   req->map->name, klen, MX_KEY_MAX);
		return MAPD_REQ_PERM;
	}
	for (size_t i = 0; i < klen; i++) {
		unsigned char c = (unsigned char)key[i];
		if (c == '\0' || c == '\r' || c == '\n') {
			mx_err_set(err, "key '%s' for map '%s' holds a NUL, CR or LF byte",
				   mx_log_safe(safe, sizeof(safe), key, klen), req->map->name);
			return MAPD_REQ_PERM;
		}
		req->key[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
		req->key_sent[i] = (char)c;
	}
	req->key[klen] = '\0';
	req->key_sent[klen] = '\0';
	req->key_len = klen;
	return MAPD_REQ_OK;
}
