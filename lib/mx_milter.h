/* mx_milter.h: the startup every mxkit milter shares.
 *
 * Checks a libmilter socket specification ("unix:/path", "local:/path",
 * "inet:PORT@HOST", "inet6:PORT@HOST"), registers the filter, opens the
 * socket (a stale unix socket is removed; a new one gets mode 0660 so
 * that the postfix group can reach it), and runs smfi_main() until
 * libmilter is told to stop. */
#ifndef MX_MILTER_H
#define MX_MILTER_H

#include <libmilter/mfapi.h>

#include "mx_error.h"

#define MX_MILTER_BACKLOG 128

/* Is spec a socket specification we accept? Returns 0 or -1 with why. */
int mx_milter_check_socket(const char *spec, struct mx_err *err);

/* Register desc, open spec, and serve. timeout is libmilter's read/write
 * timeout in seconds. Returns 0 after a clean stop, -1 with err. */
int mx_milter_run(struct smfiDesc *desc, const char *spec, int timeout, struct mx_err *err);

/* Ask smfi_main() to return (from a signal-safe context is fine). */
void mx_milter_stop(void);

#endif
