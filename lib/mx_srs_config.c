/* mx_srs_config.c: the `srs` section of mxkit.conf into SRS settings.
 *
 *   srs = { domain = "example.org";
 *           secrets_file = "/etc/mxkit/srs.secrets";  # or secrets = [ "new", "old" ];
 *           separator = "="; hash_length = 4; hash_min = 4;
 *           max_age = "21d"; hash_alphabet = "base64"; always_rewrite = false;
 *           socket = "inet:10042@127.0.0.1"; };       # read by the milter
 *
 * A secrets file holds one secret per line, the first signs, empty lines
 * are skipped: the format of PostSRSd's /etc/postsrsd.secret, so a site
 * moving from PostSRSd can point at its file. */
#include "mxkit-config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "mx_config.h"
#include "mx_daemon.h"
#include "mx_srs_config.h"

/* A whole secrets file: every secret with its line end. */
#define SRS_SECRETS_FILE_MAX (MX_SRS_SECRETS_MAX * (MX_SRS_SECRET_MAX + 2))

static const char *const srs_keys[] = {
	"socket", "domain", "secrets", "secrets_file", "separator", "hash_length",
	"hash_min", "max_age", "hash_alphabet", "always_rewrite",
	/* read by the milter (milters/srs/srs_config.c) */
	"timeout", "recipient_delimiter", "socket_group", MX_DAEMON_CONFIG_KEYS, NULL,
};

/* Add each non-empty line of text as a secret. */
static int secrets_from_lines(struct mx_srs_settings *set, const char *text, size_t len,
			      struct mx_err *err)
{
	size_t start = 0;

	while (start < len) {
		const char *nl = memchr(text + start, '\n', len - start);
		size_t end = nl != NULL ? (size_t)(nl - text) : len;
		size_t n = end - start;
		if (n > 0 && text[start + n - 1] == '\r')
			n--;
		if (n > 0 && mx_srs_settings_add_secret(set, text + start, n, err) < 0)
			return -1;
		start = end + 1;
	}
	return 0;
}

int mx_srs_secrets_file_read(const char *path, struct mx_srs_settings *set, struct mx_err *err)
{
	char buf[SRS_SECRETS_FILE_MAX + 1];
	struct stat st;
	size_t len = 0;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return mx_err_set(err, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0)
		ret = mx_err_set(err, "%s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		ret = mx_err_set(err, "%s: not a regular file", path);
	else if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0)
		ret = mx_err_set(err, "%s: secrets file is accessible by others (mode %04o); chmod o-rwx it",
				 path, (unsigned)(st.st_mode & 07777));
	else
		ret = 0;
	if (ret < 0) {
		(void)close(fd);
		return ret;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = mx_err_set(err, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf)) {
			ret = mx_err_set(err, "%s: longer than %d bytes", path, SRS_SECRETS_FILE_MAX);
			goto out;
		}
	}
	ret = secrets_from_lines(set, buf, len, err);
	if (ret < 0)
		(void)mx_err_prefix(err, "%s: ", path);
	else if (set->secret_count == 0)
		ret = mx_err_set(err, "%s: no secret in the file", path);
out:
	(void)close(fd);
	OPENSSL_cleanse(buf, sizeof(buf));
	return ret;
}

static int read_secrets(const config_setting_t *section, struct mx_srs_settings *set,
			struct mx_err *err)
{
	const config_setting_t *list = config_setting_get_member(section, "secrets");
	char where[PATH_MAX + 16];
	const char *file;

	if (mx_config_string(section, "secrets_file", NULL, &file, err) < 0)
		return -1;
	if ((list == NULL) == (file == NULL))
		return mx_err_set(err, "%s: set exactly one of 'secrets' and 'secrets_file' in section 'srs'",
				  mx_config_where(section, where, sizeof(where)));
	if (file != NULL) {
		if (mx_srs_secrets_file_read(file, set, err) < 0)
			return mx_err_prefix(err, "%s: 'secrets_file': ",
					     mx_config_where(config_setting_get_member(section, "secrets_file"),
							     where, sizeof(where)));
		return 0;
	}
	if (!config_setting_is_array(list) && !config_setting_is_list(list))
		return mx_err_set(err, "%s: 'secrets' must be a list of strings [ \"new\", \"old\" ]",
				  mx_config_where(list, where, sizeof(where)));
	for (int i = 0; i < config_setting_length(list); i++) {
		const config_setting_t *s = config_setting_get_elem(list, (unsigned)i);
		const char *v = config_setting_type(s) == CONFIG_TYPE_STRING ?
				config_setting_get_string(s) : NULL;
		if (v == NULL)
			return mx_err_set(err, "%s: 'secrets' must hold strings only",
					  mx_config_where(s, where, sizeof(where)));
		if (mx_srs_settings_add_secret(set, v, strlen(v), err) < 0)
			return mx_err_prefix(err, "%s: ", mx_config_where(s, where, sizeof(where)));
	}
	return 0;
}

static int read_choices(const config_setting_t *section, struct mx_srs_settings *set,
			struct mx_err *err)
{
	char where[PATH_MAX + 16];
	const char *sep, *alphabet;

	if (mx_config_string(section, "separator", "=", &sep, err) < 0 ||
	    mx_config_string(section, "hash_alphabet", "base64", &alphabet, err) < 0)
		return -1;
	if (strlen(sep) != 1 || strchr("=+-", sep[0]) == NULL)
		return mx_err_set(err, "%s: 'separator' must be \"=\", \"+\" or \"-\"",
				  mx_config_where(config_setting_get_member(section, "separator"),
						  where, sizeof(where)));
	set->separator = sep[0];
	if (strcmp(alphabet, "base64") == 0)
		set->alphabet = MX_SRS_BASE64;
	else if (strcmp(alphabet, "base64url") == 0)
		set->alphabet = MX_SRS_BASE64URL;
	else
		return mx_err_set(err, "%s: 'hash_alphabet' must be \"base64\" or \"base64url\"",
				  mx_config_where(config_setting_get_member(section, "hash_alphabet"),
						  where, sizeof(where)));
	return 0;
}

int mx_srs_config_read(const config_setting_t *section, struct mx_srs_settings *set,
		       struct mx_err *err)
{
	char where[PATH_MAX + 16];
	const char *domain;

	mx_srs_settings_init(set);
	if (section == NULL)
		return mx_err_set(err, "no 'srs' section in the configuration");
	mx_config_where(section, where, sizeof(where));
	if (mx_config_check_keys(section, srs_keys, err) < 0 ||
	    mx_config_string(section, "domain", NULL, &domain, err) < 0 ||
	    mx_config_uint(section, "hash_length", MX_SRS_HASH_LENGTH_DEFAULT,
			   MX_SRS_HASH_LENGTH_MIN, MX_SRS_HASH_LENGTH_MAX, &set->hash_length, err) < 0 ||
	    /* PostSRSd accepts 4 characters whatever it writes: so do we. */
	    mx_config_uint(section, "hash_min", MX_SRS_HASH_LENGTH_DEFAULT, MX_SRS_HASH_LENGTH_MIN,
			   MX_SRS_HASH_LENGTH_MAX, &set->hash_min, err) < 0 ||
	    mx_config_seconds(section, "max_age", MX_SRS_MAX_AGE_DEFAULT, 86400,
			      MX_SRS_MAX_AGE_MAX, &set->max_age, err) < 0 ||
	    mx_config_bool(section, "always_rewrite", false, &set->always_rewrite, err) < 0 ||
	    read_choices(section, set, err) < 0 || read_secrets(section, set, err) < 0)
		goto fail;
	if (domain == NULL) {
		(void)mx_err_set(err, "%s: 'domain' is required in section 'srs'", where);
		goto fail;
	}
	if (strlen(domain) >= sizeof(set->domain)) {
		(void)mx_err_set(err, "%s: 'domain' is too long", where);
		goto fail;
	}
	memcpy(set->domain, domain, strlen(domain) + 1);
	if (mx_srs_settings_check(set, err) < 0) {
		(void)mx_err_prefix(err, "%s: section 'srs': ", where);
		goto fail;
	}
	return 0;
fail:
	mx_srs_settings_wipe(set);
	return -1;
}
