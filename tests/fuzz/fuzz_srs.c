/* fuzz_srs.c: libFuzzer target for SRS forward and reverse rewriting.
 *
 * The first input byte picks the settings (separator, alphabet, hash
 * length) and the direction; the rest is the address. Besides "no
 * crash, no overflow", it checks two properties: every forward result is
 * a valid RFC 5321 address with at most 64 octets of local part, and
 * reverses back to the sender (for SRS1 senders: to the first
 * forwarder's SRS0 address, which this hop cannot check). */
#include "mxkit-config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx_srs.h"

#define SETUPS 8
#define STORE_SLOTS 64
#define FUZZ_NOW ((time_t)1795348800)

struct slot {
	char key[MX_SRS_KEY_LEN + 1];
	char sender[MX_SRS_ADDRESS_SIZE];
};

static struct slot slots[STORE_SLOTS];
static size_t next_slot;
static struct mx_srs *contexts[SETUPS];

static enum mx_result store_put(void *ctx, const char *key, const char *sender, time_t expiry,
				struct mx_err *err)
{
	struct slot *s = &slots[next_slot++ % STORE_SLOTS];

	(void)ctx;
	(void)expiry;
	(void)err;
	if (strlen(key) != MX_SRS_KEY_LEN || strlen(sender) >= sizeof(s->sender))
		abort();
	memcpy(s->key, key, MX_SRS_KEY_LEN + 1);
	memcpy(s->sender, sender, strlen(sender) + 1);
	return MX_FOUND;
}

static enum mx_result store_get(void *ctx, const char *key, char *buf, size_t size,
				struct mx_err *err)
{
	(void)ctx;
	(void)err;
	for (size_t i = 0; i < STORE_SLOTS; i++) {
		if (strcmp(slots[i].key, key) == 0) {
			if (strlen(slots[i].sender) >= size)
				return MX_PERM;
			memcpy(buf, slots[i].sender, strlen(slots[i].sender) + 1);
			return MX_FOUND;
		}
	}
	return MX_NOTFOUND;
}

static const struct mx_srs_store store = { store_put, store_get, NULL };

static time_t fixed_now(void *ctx)
{
	(void)ctx;
	return FUZZ_NOW;
}

static struct mx_srs *context(unsigned setup)
{
	static struct mx_srs_settings set;
	struct mx_err err;

	if (contexts[setup] != NULL)
		return contexts[setup];
	mx_srs_settings_init(&set);
	strcpy(set.domain, "srs.example.net");
	set.separator = "=+-="[setup & 3];
	set.alphabet = (setup & 4) ? MX_SRS_BASE64URL : MX_SRS_BASE64;
	set.hash_length = (setup & 4) ? 8 : 4;
	if (mx_srs_settings_add_secret(&set, "fuzz-new", 8, &err) < 0 ||
	    mx_srs_settings_add_secret(&set, "fuzz-old", 8, &err) < 0 ||
	    mx_srs_create(&set, &contexts[setup], &err) < 0) {
		fprintf(stderr, "fuzz_srs: %s\n", err.text);
		abort();
	}
	mx_srs_settings_wipe(&set);
	mx_srs_set_clock(contexts[setup], fixed_now, NULL);
	mx_srs_set_store(contexts[setup], &store);
	return contexts[setup];
}

/* True if s (len bytes) starts with the lowercase ASCII prefix, in any case. */
static bool starts_ci(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	if (len < n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
		if (c != prefix[i])
			return false;
	}
	return true;
}

static void check_forward(const struct mx_srs *srs, const char *in, size_t len)
{
	char out[MX_SRS_ADDRESS_SIZE], back[MX_SRS_ADDRESS_SIZE], canon[MX_SRS_ADDRESS_SIZE];
	struct mx_address a, r;
	struct mx_err err;

	if (mx_srs_forward(srs, in, len, out, sizeof(out), &err) != MX_FOUND)
		return;
	/* A valid address, within the RFC 5321 limits. */
	if (mx_address_parse(out, strlen(out), MX_ADDR_UTF8, &r, &err) < 0) {
		fprintf(stderr, "forward result '%s' invalid: %s\n", out, err.text);
		abort();
	}
	if (mx_srs_reverse(srs, out, strlen(out), back, sizeof(back), &err) != MX_FOUND) {
		fprintf(stderr, "forward result '%s' does not reverse: %s\n", out, err.text);
		abort();
	}
	if (mx_address_parse(in, len, MX_ADDR_UTF8 | MX_ADDR_NO_LIMITS, &a, &err) < 0 ||
	    mx_address_format(&a, canon, sizeof(canon)) < 0)
		abort();
	if (starts_ci(a.local, a.local_len, "srs1"))
		return;  /* reverses to the first forwarder's SRS0 address */
	/* The tag of an SRS0 sender comes back as "SRS0", as in PostSRSd:
	 * compare internal forms, the tag in any case. */
	struct mx_address b;
	size_t skip = starts_ci(a.local, a.local_len, "srs0") ? 4 : 0;
	if (mx_address_parse(back, strlen(back), MX_ADDR_UTF8 | MX_ADDR_NO_LIMITS, &b, &err) < 0 ||
	    strcmp(a.domain, b.domain) != 0 || a.local_len != b.local_len ||
	    (skip > 0 && !starts_ci(b.local, b.local_len, "srs0")) ||
	    memcmp(a.local + skip, b.local + skip, a.local_len - skip) != 0) {
		fprintf(stderr, "round trip: '%s' -> '%s' -> '%s'\n", canon, out, back);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[MX_SRS_ADDRESS_SIZE];
	struct mx_err err;
	const struct mx_srs *srs;

	if (size < 1)
		return 0;
	srs = context(data[0] % SETUPS);
	if (data[0] & 0x80)
		check_forward(srs, (const char *)data + 1, size - 1);
	else
		(void)mx_srs_reverse(srs, (const char *)data + 1, size - 1, out, sizeof(out), &err);
	/* Tiny output buffers must be refused, never overrun. */
	(void)mx_srs_reverse(srs, (const char *)data + 1, size - 1, out, (size_t)data[0] % 16, &err);
	(void)mx_srs_forward(srs, (const char *)data + 1, size - 1, out, (size_t)data[0] % 16, &err);
	return 0;
}
