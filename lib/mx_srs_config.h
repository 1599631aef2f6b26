/* mx_srs_config.h: reading SRS settings from mxkit.conf and secrets files.
 *
 * Every error names the file and line (or the secrets file) at fault. */
#ifndef MX_SRS_CONFIG_H
#define MX_SRS_CONFIG_H

#include <libconfig.h>

#include "mx_error.h"
#include "mx_srs.h"

/* Fill set from the `srs` section (NULL: missing section, an error);
 * unknown keys, bad values and missing domain or secrets fail with the
 * file:line. On failure the settings hold no secret. */
int mx_srs_config_read(const config_setting_t *section, struct mx_srs_settings *set,
		       struct mx_err *err);

/* Add the secrets of a PostSRSd-style file (one per line, first signs,
 * empty lines skipped) to set. The file must be a regular file not
 * accessible by others. */
int mx_srs_secrets_file_read(const char *path, struct mx_srs_settings *set, struct mx_err *err);

#endif
