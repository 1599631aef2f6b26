/* dkim_milter.h: the libmilter callbacks of mxkit-dkim. */
#ifndef DKIM_MILTER_H
#define DKIM_MILTER_H

#include <libmilter/mfapi.h>

#include "dkim_config.h"

/* The filter description; `cfg` must stay valid while the milter runs. */
struct smfiDesc *dkim_milter_desc(const struct dkim_config *cfg);

#endif
