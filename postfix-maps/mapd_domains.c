/* mapd_domains.c: the snapshot of our domains (see mapd_domains.h). */
#include "mxkit-config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mapd_domains.h"
#include "mx_address.h"
#include "mx_alias.h"

static const char sql_all_domains[] = "SELECT name FROM domains WHERE active = 1";

struct mapd_domains {
	pthread_mutex_t lock;
	unsigned ttl;
	bool valid;            /* names holds a list loaded at `loaded` */
	bool too_many;         /* more than MAPD_DOMAINS_MAX: ask each time */
	time_t loaded;
	char **names;          /* sorted, lowercase */
	size_t n;
};

struct mapd_domains *mapd_domains_new(unsigned ttl)
{
	struct mapd_domains *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	pthread_mutex_init(&d->lock, NULL);
	d->ttl = ttl;
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

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Called with the lock held. */
static enum mx_result reload(struct mapd_domains *d, struct mx_db_pool *db, time_t now,
			     struct mx_err *err)
{
	struct loading l = { 0 };
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
	qsort(l.names, l.n, sizeof(*l.names), name_cmp);
	names_free(d->names, d->n);
	d->names = l.names;
	d->n = l.n;
	d->too_many = l.too_many;
	d->loaded = now;
	d->valid = true;
	return MX_FOUND;
}

enum mx_result mapd_domains_is_ours(struct mapd_domains *d, struct mx_db_pool *db,
				    const char *domain, size_t len, struct mx_err *err)
{
	char key[MX_DOMAIN_MAX + 1];
	const char *k = key;
	enum mx_result r = MX_NOTFOUND;
	bool ask = false;
	time_t now;

	if (len == 0 || len > MX_DOMAIN_MAX)
		return MX_NOTFOUND;
	if (d == NULL || d->ttl == 0)
		return mx_alias_domain_is_ours(db, domain, len, err);
	memcpy(key, domain, len);
	key[len] = '\0';
	now = time(NULL);
	pthread_mutex_lock(&d->lock);
	if (!d->valid || now - d->loaded >= (time_t)d->ttl || now < d->loaded)
		r = reload(d, db, now, err);
	if (r != MX_TEMP) {
		ask = d->too_many;
		if (!ask)
			r = bsearch(&k, d->names, d->n, sizeof(*d->names), name_cmp) != NULL ?
				MX_FOUND : MX_NOTFOUND;
	}
	pthread_mutex_unlock(&d->lock);
	return ask ? mx_alias_domain_is_ours(db, domain, len, err) : r;
}
