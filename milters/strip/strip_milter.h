/* strip_milter.h: the milter callbacks of mxkit-strip. */
#ifndef STRIP_MILTER_H
#define STRIP_MILTER_H

#include "mx_milter_engine.h"

#include "mx_error.h"
#include "strip_config.h"

/* The callback table for the milter engine. */
const struct mx_milter_callbacks *strip_milter_callbacks(void);

/* Make cfg (heap-allocated, now owned here) the configuration for new
 * connections; connections in progress keep theirs, and an old one is
 * freed when its last connection closes. NULL drops it (at exit). */
int strip_milter_set_config(struct strip_config *cfg, struct mx_err *err);

#endif
