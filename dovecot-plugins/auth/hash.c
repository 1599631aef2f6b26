/* hash.c: how strong a Dovecot password scheme is, to decide whether a
 * stored hash is upgraded after a successful login. Deliberately coarse:
 * memory-hard > bcrypt > salted SHA-2 crypt/PBKDF2 > everything else
 * (plain digests, salted digests, DES/MD5 crypt, cleartext). A hash is
 * replaced only by a strictly stronger one, never downgraded. */
#include "mxkit-config.h"

#include <stddef.h>
#include <strings.h>

#include "mxkit-auth.h"

static const struct {
	const char *scheme;
	int rank;
} ranks[] = {
	{ "ARGON2ID", 5 },
	{ "ARGON2I", 4 },
	{ "BLF-CRYPT", 3 },
	{ "SHA512-CRYPT", 2 },
	{ "SHA256-CRYPT", 2 },
	{ "PBKDF2", 2 },
};

static int scheme_rank(const char *scheme)
{
	for (size_t i = 0; i < sizeof(ranks) / sizeof(ranks[0]); i++)
		if (strcasecmp(scheme, ranks[i].scheme) == 0)
			return ranks[i].rank;
	return 0;
}

bool mxkit_hash_weaker(const char *stored_scheme, const char *target_scheme)
{
	return scheme_rank(stored_scheme) < scheme_rank(target_scheme);
}
