/* mapd_domains.c: the snapshot of our domains (see mapd_domains.h). */
#include "mxkit-config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mapd_domains.h"
#include "mx_address.h"
#include "mx_alias.h"

static const char sql_all_domains[] = "SELECT name FROM domains WHERE active = 1";

struct mapd_domains {
	pthread_mutex_t lock;
	int64_t max_age_ms;
	bool valid;            /* names holds a list read at read_at_ms */
	bool too_many;         /* more than MAPD_DOMAINS_MAX: ask each time */
	int64_t read_at_ms;    /* monotonic clock when its query started */
	char **names;          /* sorted, lowercase */
	size_t n;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct mapd_domains *mapd_domains_new(unsigned max_age)
{
	struct mapd_domains *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	pthread_mutex_init(&d->lock, NULL);
	d->max_age_ms = (int64_t)max_age * 1000;
	return d;
}

static void names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

void mapd_domains_free(struct mapd_domains *d)
{
	if (d == NULL)
		return;
	names_free(d->names, d->n);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool mapd_domains_install(struct mapd_domains *d, char **names, size_t n, bool too_many,
			  int64_t read_at_ms)
{
	char **old_names = names;
	size_t old_n = n;
	bool installed = false;

	qsort(names, n, sizeof(*names), name_cmp);
	pthread_mutex_lock(&d->lock);
	if (!d->valid || read_at_ms >= d->read_at_ms) {
		old_names = d->names;
		old_n = d->n;
		d->names = names;
		d->n = n;
		d->too_many = too_many;
		d->read_at_ms = read_at_ms;
		d->valid = true;
		installed = true;
	}
	pthread_mutex_unlock(&d->lock);
	names_free(old_names, old_n);  /* outside the lock */
	return installed;
}

struct loading {
	char **names;
	size_t n;
	bool too_many;
};

static int add_row(void *ctx, unsigned ncols, const char *const *values,
		   const unsigned long *lengths, struct mx_err *err)
{
	struct loading *l = ctx;
	char *s;

	if (ncols < 1 || values[0] == NULL)
		return 0;
	if (l->n >= MAPD_DOMAINS_MAX) {
		l->too_many = true;
		return 0;
	}
	if ((s = malloc(lengths[0] + 1)) == NULL)
		return mx_err_set(err, "out of memory");
	for (size_t i = 0; i < lengths[0]; i++)
		s[i] = (values[0][i] >= 'A' && values[0][i] <= 'Z') ? (char)(values[0][i] - 'A' + 'a')
								    : values[0][i];
	s[lengths[0]] = '\0';
	l->names[l->n++] = s;
	return 0;
}

enum mx_result mapd_domains_refresh(struct mapd_domains *d, struct mx_db_pool *db,
				    struct mx_err *err)
{
	struct loading l = { 0 };
	int64_t started = now_ms();
	enum mx_result r;

	if ((l.names = malloc(sizeof(*l.names) * MAPD_DOMAINS_MAX)) == NULL) {
		mx_err_set(err, "out of memory");
		return MX_TEMP;
	}
	r = mx_db_exec(db, sql_all_domains, NULL, 0, add_row, &l, MX_DB_RETRY, NULL, err);
	if (r == MX_TEMP) {
		names_free(l.names, l.n);
		return MX_TEMP;
	}
	(void)mapd_domains_install(d, l.names, l.n, l.too_many, started);
	return MX_FOUND;
}

enum mx_result mapd_domains_peek_at(struct mapd_domains *d, const char *domain, size_t len,
				    int64_t now)
{
	char key[MX_DOMAIN_MAX + 1];
	const char *k = key;
	enum mx_result r = MX_TEMP;

	if (len == 0 || len > MX_DOMAIN_MAX)
		return MX_NOTFOUND;
	if (d == NULL || d->max_age_ms == 0)
		return MX_TEMP;
	memcpy(key, domain, len);
	key[len] = '\0';
	pthread_mutex_lock(&d->lock);
	/* now < read_at_ms: a list read after `now` was sampled, fresh. */
	if (d->valid && !d->too_many && now - d->read_at_ms < d->max_age_ms)
		r = bsearch(&k, d->names, d->n, sizeof(*d->names), name_cmp) != NULL ?
			MX_FOUND : MX_NOTFOUND;
	pthread_mutex_unlock(&d->lock);
	return r;
}

enum mx_result mapd_domains_peek(struct mapd_domains *d, const char *domain, size_t len)
{
	return mapd_domains_peek_at(d, domain, len, now_ms());
}

enum mx_result mapd_domains_is_ours(struct mapd_domains *d, struct mx_db_pool *db,
				    const char *domain, size_t len, struct mx_err *err)
{
	enum mx_result r;
	bool too_many;

	if (len == 0 || len > MX_DOMAIN_MAX)
		return MX_NOTFOUND;
	if (d == NULL || d->max_age_ms == 0)
		return mx_alias_domain_is_ours(db, domain, len, err);
	if ((r = mapd_domains_peek(d, domain, len)) != MX_TEMP)
		return r;
	pthread_mutex_lock(&d->lock);
	too_many = d->valid && d->too_many;
	pthread_mutex_unlock(&d->lock);
	if (!too_many) {
		if (mapd_domains_refresh(d, db, err) == MX_TEMP)
			return MX_TEMP;
		if ((r = mapd_domains_peek(d, domain, len)) != MX_TEMP)
			return r;
	}
	return mx_alias_domain_is_ours(db, domain, len, err);
}
