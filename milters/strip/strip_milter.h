/* strip_milter.h: the libmilter callbacks of mxkit-strip. */
#ifndef STRIP_MILTER_H
#define STRIP_MILTER_H

#include <libmilter/mfapi.h>

#include "strip_config.h"

/* The filter description for smfi_register(). */
struct smfiDesc *strip_milter_desc(void);

/* The configuration the callbacks use. Set once before the milter
 * starts serving; read-only afterwards. */
void strip_milter_set_config(const struct strip_config *cfg);

#endif
