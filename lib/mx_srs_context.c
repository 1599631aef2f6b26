/* mx_srs_context.c: SRS settings (defaults, checks, secrets) and the
 * keyed context that forward and reverse rewriting run with. */
#include "mxkit-config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "mx_srs_private.h"

void mx_srs_settings_init(struct mx_srs_settings *set)
{
	memset(set, 0, sizeof(*set));
	set->separator = '=';
	set->hash_length = MX_SRS_HASH_LENGTH_DEFAULT;
	set->hash_min = MX_SRS_HASH_LENGTH_DEFAULT;
	set->max_age = MX_SRS_MAX_AGE_DEFAULT;
	set->alphabet = MX_SRS_BASE64;
}

int mx_srs_settings_add_secret(struct mx_srs_settings *set, const char *secret,
			       size_t len, struct mx_err *err)
{
	if (set->secret_count >= MX_SRS_SECRETS_MAX)
		return mx_err_set(err, "more than %d SRS secrets", MX_SRS_SECRETS_MAX);
	if (len == 0)
		return mx_err_set(err, "empty SRS secret");
	if (len > MX_SRS_SECRET_MAX)
		return mx_err_set(err, "SRS secret %zu is longer than %d bytes",
				  set->secret_count + 1, MX_SRS_SECRET_MAX);
	if (memchr(secret, '\0', len) != NULL)
		return mx_err_set(err, "SRS secret %zu contains a NUL byte", set->secret_count + 1);
	memcpy(set->secrets[set->secret_count], secret, len);
	set->secrets[set->secret_count][len] = '\0';
	set->secret_count++;
	return 0;
}

void mx_srs_settings_wipe(struct mx_srs_settings *set)
{
	OPENSSL_cleanse(set->secrets, sizeof(set->secrets));
	set->secret_count = 0;
}

int mx_srs_settings_check(const struct mx_srs_settings *set, struct mx_err *err)
{
	size_t dlen = strnlen(set->domain, sizeof(set->domain));

	if (dlen == 0)
		return mx_err_set(err, "no SRS domain set");
	if (dlen == sizeof(set->domain) || !mx_domain_valid(set->domain, dlen, 0))
		return mx_err_set(err, "SRS domain is not a valid domain name");
	if (set->separator == '\0' || strchr(SRS_SEPARATORS, set->separator) == NULL)
		return mx_err_set(err, "SRS separator must be one of '=', '+', '-'");
	if (set->hash_length < MX_SRS_HASH_LENGTH_MIN || set->hash_length > MX_SRS_HASH_LENGTH_MAX)
		return mx_err_set(err, "SRS hash length must be between %d and %d",
				  MX_SRS_HASH_LENGTH_MIN, MX_SRS_HASH_LENGTH_MAX);
	if (set->hash_min < MX_SRS_HASH_LENGTH_MIN || set->hash_min > set->hash_length)
		return mx_err_set(err, "SRS minimum hash length must be between %d and the hash length %u",
				  MX_SRS_HASH_LENGTH_MIN, set->hash_length);
	if (set->max_age < SRS_DAY || set->max_age > MX_SRS_MAX_AGE_MAX)
		return mx_err_set(err, "SRS maximum age must be between 1 and %u days",
				  MX_SRS_MAX_AGE_MAX / SRS_DAY);
	if (set->alphabet != MX_SRS_BASE64 && set->alphabet != MX_SRS_BASE64URL)
		return mx_err_set(err, "unknown SRS hash alphabet");
	if (set->secret_count == 0)
		return mx_err_set(err, "no SRS secret set");
	for (size_t i = 0; i < set->secret_count; i++)
		if (set->secrets[i][0] == '\0')
			return mx_err_set(err, "SRS secret %zu is empty", i + 1);
	return 0;
}

static time_t clock_system(void *ctx)
{
	(void)ctx;
	return time(NULL);
}

int mx_srs_create(const struct mx_srs_settings *set, struct mx_srs **srs_r,
		  struct mx_err *err)
{
	struct mx_srs *srs;

	*srs_r = NULL;
	if (mx_srs_settings_check(set, err) < 0)
		return -1;
	srs = calloc(1, sizeof(*srs));
	if (srs == NULL)
		return mx_err_set(err, "srs: out of memory");
	srs->domain_len = strlen(set->domain);
	memcpy(srs->domain, set->domain, srs->domain_len + 1);
	for (size_t i = 0; i <= srs->domain_len; i++) {
		char c = srs->domain[i];
		srs->domain_lower[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	srs->separator = set->separator;
	srs->hash_length = set->hash_length;
	srs->hash_min = set->hash_min;
	srs->max_age_days = set->max_age / SRS_DAY;
	srs->alphabet = set->alphabet;
	srs->always_rewrite = set->always_rewrite;
	srs->now = clock_system;
	if (srs_keys_create(srs, set, err) < 0) {
		free(srs);
		return -1;
	}
	*srs_r = srs;
	return 0;
}

int mx_srs_dup_one_thread(const struct mx_srs *srs, struct mx_srs **copy_r, struct mx_err *err)
{
	struct mx_srs *c = malloc(sizeof(*c));

	*copy_r = NULL;
	if (c == NULL)
		return mx_err_set(err, "srs: out of memory");
	*c = *srs;
	c->mac = NULL;
	memset(c->keyed, 0, sizeof(c->keyed));
	c->secret_count = 0;
	if (srs_keys_copy(c, srs, err) < 0) {
		free(c);
		return -1;
	}
	c->one_thread = true;
	*copy_r = c;
	return 0;
}

void mx_srs_destroy(struct mx_srs **srs)
{
	if (*srs == NULL)
		return;
	srs_keys_destroy(*srs);
	free(*srs);
	*srs = NULL;
}

void mx_srs_set_clock(struct mx_srs *srs, time_t (*now)(void *ctx), void *ctx)
{
	srs->now = now != NULL ? now : clock_system;
	srs->now_ctx = ctx;
}

void mx_srs_set_store(struct mx_srs *srs, const struct mx_srs_store *store)
{
	srs->store = store;
}
