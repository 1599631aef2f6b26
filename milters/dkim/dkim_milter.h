/* dkim_milter.h: the milter callbacks of mxkit-dkim. */
#ifndef DKIM_MILTER_H
#define DKIM_MILTER_H

#include "dkim_config.h"
#include "mx_error.h"
#include "mx_milter_engine.h"

/* The callback table for the milter engine. */
const struct mx_milter_callbacks *dkim_milter_callbacks(void);

/* Make cfg (heap-allocated, now owned here) the configuration for new
 * connections; the previous one is freed once no connection uses it. */
int dkim_milter_set_config(struct dkim_config *cfg, struct mx_err *err);
/* Drop the current configuration (at exit). */
void dkim_milter_clear_config(void);

#endif
