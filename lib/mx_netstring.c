/* mx_netstring.c: bounded, allocation-free netstring decoding and encoding. */
#include "mxkit-config.h"

#include <stdio.h>
#include <string.h>

#include "mx_netstring.h"

#define MAX_DIGITS 10

enum mx_netstring_status mx_netstring_decode(const char *buf, size_t len, size_t max_payload,
					     const char **payload_r, size_t *payload_len_r,
					     size_t *consumed_r, struct mx_err *err)
{
	size_t n = 0, i;

	for (i = 0; i < len && buf[i] != ':'; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c < '0' || c > '9') {
			mx_err_set(err, "netstring: length has a non-digit byte 0x%02x", c);
			return MX_NS_ERROR;
		}
		if (i == MAX_DIGITS) {
			mx_err_set(err, "netstring: length has more than %d digits", MAX_DIGITS);
			return MX_NS_ERROR;
		}
		if (i == 1 && buf[0] == '0') {
			mx_err_set(err, "netstring: length has a leading zero");
			return MX_NS_ERROR;
		}
		n = n * 10 + (size_t)(c - '0');
		if (n > max_payload) {
			mx_err_set(err, "netstring: length exceeds the limit of %zu bytes", max_payload);
			return MX_NS_ERROR;
		}
	}
	if (i == len)
		return MX_NS_PARTIAL;
	if (i == 0) {
		mx_err_set(err, "netstring: empty length");
		return MX_NS_ERROR;
	}
	/* i digits, ':', n bytes, ','; n <= max_payload so no overflow. */
	if (len - i - 1 < n + 1)
		return MX_NS_PARTIAL;
	if (buf[i + 1 + n] != ',') {
		mx_err_set(err, "netstring: missing ',' after %zu-byte payload", n);
		return MX_NS_ERROR;
	}
	*payload_r = buf + i + 1;
	*payload_len_r = n;
	*consumed_r = i + 1 + n + 1;
	return MX_NS_OK;
}

size_t mx_netstring_encoded_len(size_t len)
{
	size_t digits = 1;
	for (size_t v = len; v >= 10; v /= 10)
		digits++;
	return digits + 1 + len + 1;
}

long mx_netstring_encode(const char *payload, size_t len, char *out, size_t size)
{
	size_t need = mx_netstring_encoded_len(len);
	int h;

	if (need > size || need > (size_t)0x7fffffff)
		return -1;
	h = snprintf(out, size, "%zu:", len);
	if (h < 0 || (size_t)h + len + 1 > size)
		return -1;
	memcpy(out + h, payload, len);
	out[(size_t)h + len] = ',';
	return (long)need;
}
