/* mx_srs.h: Sender Rewriting Scheme, in the exact format PostSRSd uses.
 *
 * Forward rewriting turns the envelope sender of mail we forward into an
 * address in our SRS domain; reverse rewriting turns a bounce recipient
 * in that domain back into the original sender, refusing forged and
 * expired ones.
 *
 *   SRS0<sep>HHHH=TT=domain=local@srs-domain
 *       HHHH  HMAC-SHA1(secret, lc(TT) lc(domain) lc(local)) in base64,
 *             cut to hash_length characters (lc: ASCII lowercase)
 *       TT    day number (Unix time / 86400) modulo 1024 in base32
 *   SRS1<sep>HHHH=first-hop==HHHH=TT=domain=local@srs-domain
 *       an SRS0 address of another forwarder, forwarded again: HHHH is
 *       HMAC-SHA1(secret, lc(first-hop) lc("=HHHH=TT=domain=local"))
 *
 * <sep> is the configured separator ('=', '+' or '-'); every other
 * separator is '='. Reverse accepts all three separators, hashes in the
 * base64 ('+/', PostSRSd 1.x) and base64url ('-_', PostSRSd >= 2.2.6)
 * alphabets, in any letter case, compared in constant time; a hash
 * longer than hash_length is compared on its first hash_length
 * characters, as PostSRSd does. Several secrets: the first signs, all
 * verify.
 *
 * Local parts are handled in internal form: the fields above are the
 * internal form of the SRS local part, `local` is the original local
 * part in external form (quoted when it needs quotes), and an SRS local
 * part that needs quotes is quoted on output. For every sender whose
 * local part is a dot-string this is byte for byte what PostSRSd does.
 *
 * A result whose local part would exceed 64 octets (RFC 5321 4.5.3.1.1)
 * uses the caller's key-value store, as PostSRSd 2's database mode:
 * the sender is kept under KEY = base32hex(SHA-1(sender)) and the SRS
 * address becomes SRS0<sep>HHHH=TT=1=KEY@srs-domain.
 *
 * Nothing here allocates on input: callers pass buffers with explicit
 * sizes (MX_SRS_ADDRESS_SIZE always suffices). A struct mx_srs is
 * immutable once set up and may be shared between threads. */
#ifndef MX_SRS_H
#define MX_SRS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "mx_address.h"
#include "mx_error.h"
#include "mx_result.h"

#define MX_SRS_SECRETS_MAX 16        /* secrets kept at once (rotation) */
#define MX_SRS_SECRET_MAX 1023       /* bytes of one secret */
#define MX_SRS_HASH_LENGTH_MIN 4     /* below this, forging is cheap */
#define MX_SRS_HASH_LENGTH_MAX 20    /* so that a keyed address fits 64 octets */
#define MX_SRS_HASH_LENGTH_DEFAULT 4
#define MX_SRS_MAX_AGE_DEFAULT (21u * 86400u)
#define MX_SRS_MAX_AGE_MAX (1000u * 86400u) /* the day stamp wraps after 1024 days */
#define MX_SRS_FUTURE_GRACE_DAYS 1   /* accepted stamps ahead of our clock */
#define MX_SRS_KEY_LEN 32            /* base32hex SHA-1 of a stored sender */
#define MX_SRS_KEY_HOST "1"          /* the domain field of a keyed address */

/* Internal local parts of up to 2 * MX_LOCAL_MAX octets are accepted (the
 * address parser's buffer), so any result fits in this many bytes. */
#define MX_SRS_ADDRESS_SIZE (2 * (2 * MX_LOCAL_MAX) + 2 + 1 + MX_DOMAIN_MAX + 1)

enum mx_srs_alphabet {
	MX_SRS_BASE64,     /* '+' and '/': PostSRSd 1.x, Debian 12 */
	MX_SRS_BASE64URL,  /* '-' and '_': PostSRSd >= 2.2.6 */
};

/* Where senders too long for an SRS address are kept. Both functions
 * may be called from several threads at once. */
struct mx_srs_store {
	/* Keep `sender` under `key` until `expiry`. MX_FOUND when stored,
	 * MX_TEMP (with a reason) when it could not be. */
	enum mx_result (*store)(void *ctx, const char *key, const char *sender,
				time_t expiry, struct mx_err *err);
	/* Copy the sender kept under `key` (NUL-terminated) into buf:
	 * MX_FOUND, MX_NOTFOUND (unknown or expired) or MX_TEMP. */
	enum mx_result (*fetch)(void *ctx, const char *key, char *buf, size_t size,
				struct mx_err *err);
	void *ctx;
};

/* Everything the `srs` configuration section says about rewriting. */
struct mx_srs_settings {
	char domain[MX_DOMAIN_MAX + 1];
	char separator;                 /* '=', '+' or '-' */
	unsigned hash_length;           /* characters of hash we write */
	unsigned hash_min;              /* fewest characters of hash we accept */
	unsigned max_age;               /* seconds; checked with day resolution */
	enum mx_srs_alphabet alphabet;  /* of the hashes we write */
	bool always_rewrite;            /* rewrite senders in the SRS domain too */
	size_t secret_count;
	char secrets[MX_SRS_SECRETS_MAX][MX_SRS_SECRET_MAX + 1];
};

struct mx_srs;

/* Defaults: separator '=', hash_length 4, hash_min 4, max_age 21 days,
 * base64, no domain, no secrets. */
void mx_srs_settings_init(struct mx_srs_settings *set);
/* Check ranges and the domain; -1 with a reason naming the setting. */
int mx_srs_settings_check(const struct mx_srs_settings *set, struct mx_err *err);
/* Add one secret (rotation: add the new one first). */
int mx_srs_settings_add_secret(struct mx_srs_settings *set, const char *secret,
			       size_t len, struct mx_err *err);
/* Wipe the secrets. */
void mx_srs_settings_wipe(struct mx_srs_settings *set);

/* Key an SRS context from checked settings; the settings may be wiped
 * afterwards. Returns 0, or -1 with a reason. */
int mx_srs_create(const struct mx_srs_settings *set, struct mx_srs **srs_r,
		  struct mx_err *err);
void mx_srs_destroy(struct mx_srs **srs);
/* A copy of srs (same settings, clock and store) for the use of one
 * thread at a time only: its hashes re-use its HMAC contexts instead of
 * copying them, which is faster. Free it with mx_srs_destroy. Returns 0,
 * or -1 with a reason. */
int mx_srs_dup_one_thread(const struct mx_srs *srs, struct mx_srs **copy_r, struct mx_err *err);

/* Injectable clock (tests, tools); the default is time(NULL). */
void mx_srs_set_clock(struct mx_srs *srs, time_t (*now)(void *ctx), void *ctx);
/* Store for long senders; without one they fail with MX_PERM. The
 * struct must outlive srs. */
void mx_srs_set_store(struct mx_srs *srs, const struct mx_srs_store *store);

/* Rewrite the envelope sender `sender` (len bytes, external form, no
 * angle brackets) into out.
 *   MX_FOUND     out holds the SRS0 or SRS1 address
 *   MX_NOTFOUND  not to be rewritten: the sender is in the SRS domain,
 *                or is already a valid SRS address of ours (err says)
 *   MX_PERM      the sender is malformed or too long without a store
 *   MX_TEMP      the store failed */
enum mx_result mx_srs_forward(const struct mx_srs *srs, const char *sender, size_t len,
			      char *out, size_t size, struct mx_err *err);

/* Rewrite the SRS address `addr` (len bytes; the domain is not checked,
 * a bare local part is accepted) back into out.
 *   MX_FOUND     out holds the original sender (SRS0) or the first
 *                forwarder's SRS0 address (SRS1)
 *   MX_NOTFOUND  addr is not an SRS address
 *   MX_PERM      malformed, forged (hash) or expired (timestamp), or a
 *                key the store does not know
 *   MX_TEMP      the store failed or none is set for a keyed address */
enum mx_result mx_srs_reverse(const struct mx_srs *srs, const char *addr, size_t len,
			      char *out, size_t size, struct mx_err *err);

/* The same two with `store` for this call in place of the context's
 * (NULL: none). A caller that must not block passes a store whose
 * callbacks only note that the database was needed, and repeats the
 * call elsewhere with the real one. */
enum mx_result mx_srs_forward_via(const struct mx_srs *srs, const struct mx_srs_store *store,
				  const char *sender, size_t len, char *out, size_t size,
				  struct mx_err *err);
enum mx_result mx_srs_reverse_via(const struct mx_srs *srs, const struct mx_srs_store *store,
				  const char *addr, size_t len, char *out, size_t size,
				  struct mx_err *err);

#endif
