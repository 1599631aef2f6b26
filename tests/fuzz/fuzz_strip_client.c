/* fuzz_strip_client.c: libFuzzer target for mxkit-strip's header-value
 * matcher: a value is unfolded and checked against the built-in rules
 * for a fixed IPv4 and an IPv6 client. It must never crash, hang or
 * read past the value (the raw bytes are not NUL-terminated). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strip_client.h"
#include "strip_rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct strip_rules rules;
	static int ready;
	struct strip_client v4, v6;
	char *buf;
	size_t n;

	if (!ready) {
		if (strip_rules_add_defaults(&rules, NULL) < 0)
			abort();
		ready = 1;
	}
	if (size > 1 << 16)
		return 0;
	strip_client_init(&v4);
	strip_client_init(&v6);
	if (strip_client_set_addr_text(&v4, "192.0.2.7") < 0 ||
	    strip_client_set_addr_text(&v6, "2001:db8::7") < 0)
		abort();
	(void)strip_client_set_name(&v4, "pc.example.net");
	/* The raw bytes, not NUL-terminated: the matcher must respect size. */
	buf = malloc(size ? size : 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	(void)strip_client_named(&v4, buf, size);
	(void)strip_client_named(&v6, buf, size);
	free(buf);
	/* Through the rules, as the milter does. */
	buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	n = strip_value_unfold((const char *)data, size, buf);
	if (memchr(buf, '\0', n) == NULL) {
		(void)strip_rules_match(&rules, "Received", buf, n, &v4);
		(void)strip_rules_match(&rules, "X-Mailer", buf, n, &v6);
	}
	free(buf);
	return 0;
}
