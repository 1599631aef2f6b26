/* srs_milter.h: mxkit-srs's milter callbacks and the state they share.
 *
 * What a message gets (see mxkit-srs(8)):
 *  - each recipient in the SRS domain that is an SRS address is
 *    reversed: at the end of the message it is replaced (delrcpt +
 *    addrcpt) by the original sender; a forged or expired one is refused
 *    at RCPT with 550 5.1.1, so that no backscatter is ever sent;
 *  - every other recipient is resolved through our aliases
 *    (lib/mx_alias); when at least one of them ends at an address
 *    outside our domains, the message leaves us by forwarding and its
 *    envelope sender is rewritten into the SRS domain (chgfrom), unless
 *    it is the null sender, in one of our domains or already ours;
 *  - a database failure tempfails the recipient (RCPT) or the message
 *    (end of message): nothing is rewritten without knowing.
 * Postfix keeps one envelope sender per message, so a message with both
 * local and forwarded recipients is rewritten: the forwarded copy must
 * pass SPF, and the local copy's Return-Path, an SRS address of ours,
 * still leads back to the sender through the reverse rewriting. */
#ifndef SRS_MILTER_H
#define SRS_MILTER_H

#include "mx_milter_engine.h"

#include "mx_db.h"
#include "mx_error.h"
#include "mx_srs.h"
#include "srs_config.h"

/* What connections use: the configuration, the database pool and the
 * store of long senders on it. */
struct srs_runtime {
	struct srs_config cfg;
	struct mx_db_pool *pool;
	struct mx_srs_store store;
};

/* Build a runtime from a loaded configuration (moved into it). Returns
 * NULL with err; cfg is then freed. */
struct srs_runtime *srs_runtime_new(struct srs_config *cfg, struct mx_err *err);
void srs_runtime_free(struct srs_runtime *rt);

/* Make rt current for new connections (NULL: none). Takes rt; on
 * failure (-1) rt is freed. */
int srs_milter_set_runtime(struct srs_runtime *rt, struct mx_err *err);

/* The callback table for the milter engine. */
const struct mx_milter_callbacks *srs_milter_callbacks(void);

#endif
