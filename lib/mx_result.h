/* mx_result.h: the one failure vocabulary of mxkit.
 *
 * Every lookup, from the database up to the Postfix or milter reply,
 * ends in one of these. TEMP means "try again later" (database away,
 * timeout, resource limit): Postfix defers, milters tempfail, Dovecot
 * says temporary failure. PERM means the request itself is bad. The
 * decision is made once, where the failure happens, never guessed at
 * the call site. */
#ifndef MX_RESULT_H
#define MX_RESULT_H

enum mx_result {
	MX_FOUND = 0,     /* lookup answered with a value */
	MX_NOTFOUND = 1,  /* lookup answered: no such key */
	MX_TEMP = -1,     /* transient failure: try again later */
	MX_PERM = -2,     /* bad request or configuration: do not retry */
};

const char *mx_result_name(enum mx_result r);

#endif
