/* dkim_dnscheck.c: checking a key's published DNS record (see dkim_dnscheck.h). */
#include "mxkit-config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <ldns/ldns.h>

#include "dkim_dnscheck.h"

/* Tags we compare, normalised: value without whitespace. */
struct dns_tags {
	char v[16], k[16];
	char p[DKIM_DNS_TXT_MAX];
	bool has_v, has_k, has_p;
};

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parse "tag=value; tag=value" (RFC 6376 3.2). Unknown tags are
 * ignored; a repeated tag is an error. */
static int parse_tags(const char *s, size_t len, struct dns_tags *t, struct mx_err *err)
{
	size_t i = 0;

	memset(t, 0, sizeof(*t));
	while (i < len) {
		char name[16], *dst = NULL;
		size_t nlen = 0, dsize = 0, dlen = 0;
		bool *seen = NULL;

		while (i < len && (is_ws(s[i]) || s[i] == ';'))
			i++;
		if (i == len)
			break;
		while (i < len && s[i] != '=' && s[i] != ';' && !is_ws(s[i]))
			if (nlen + 1 < sizeof(name))
				name[nlen++] = s[i++];
			else
				return mx_err_set(err, "a tag name is too long");
		name[nlen] = '\0';
		while (i < len && is_ws(s[i]))
			i++;
		if (i == len || s[i] != '=')
			return mx_err_set(err, "tag '%s' has no '='", name);
		i++;
		if (strcmp(name, "v") == 0)
			dst = t->v, dsize = sizeof(t->v), seen = &t->has_v;
		else if (strcmp(name, "k") == 0)
			dst = t->k, dsize = sizeof(t->k), seen = &t->has_k;
		else if (strcmp(name, "p") == 0)
			dst = t->p, dsize = sizeof(t->p), seen = &t->has_p;
		if (seen != NULL && *seen)
			return mx_err_set(err, "tag '%s' appears twice", name);
		/* p= is base64, in which white space is ignored; in other values
		 * only the white space around them is. */
		for (; i < len && s[i] != ';'; i++) {
			if (dst == NULL || (is_ws(s[i]) && (dst == t->p || dlen == 0)))
				continue;
			if (dlen + 1 >= dsize)
				return mx_err_set(err, "tag '%s' is too long", name);
			dst[dlen++] = s[i];
		}
		if (dst != NULL) {
			while (dlen > 0 && is_ws(dst[dlen - 1]))
				dlen--;
			dst[dlen] = '\0';
			*seen = true;
		}
	}
	return 0;
}

enum mx_result dkim_dnscheck_record(const char *expected, const char *published,
				    size_t published_len, struct mx_err *err)
{
	struct dns_tags *want = malloc(sizeof(*want)), *got = malloc(sizeof(*got));
	enum mx_result r = MX_PERM;
	struct mx_err perr;

	if (want == NULL || got == NULL) {
		mx_err_set(err, "out of memory");
		r = MX_TEMP;
		goto out;
	}
	if (parse_tags(expected, strlen(expected), want, err) < 0) {
		r = MX_TEMP;  /* our own record: cannot happen */
		goto out;
	}
	if (parse_tags(published, published_len, got, &perr) < 0) {
		mx_err_set(err, "the published record is malformed: %s", perr.text);
		goto out;
	}
	if (got->has_v && strcmp(got->v, "DKIM1") != 0) {
		mx_err_set(err, "the published record has v=%s, not v=DKIM1", got->v);
		goto out;
	}
	if (strcmp(got->has_k ? got->k : "rsa", want->k) != 0) {
		mx_err_set(err, "the published record has k=%s, the key is k=%s",
			   got->has_k ? got->k : "rsa (by default)", want->k);
		goto out;
	}
	if (!got->has_p || got->p[0] == '\0') {
		mx_err_set(err, "the published record has no public key (p= missing or empty: revoked)");
		goto out;
	}
	if (strcmp(got->p, want->p) != 0) {
		mx_err_set(err, "the published record's p= is another public key than this key's");
		goto out;
	}
	r = MX_FOUND;
out:
	free(want);
	free(got);
	return r;
}

/* A resolver for spec ("" = /etc/resolv.conf). */
static ldns_resolver *resolver_new(const char *spec, struct mx_err *err)
{
	char host[128];
	const char *colon;
	unsigned long port = 53;
	ldns_resolver *res = NULL;
	ldns_rdf *addr;
	ldns_status st;
	struct timeval tv = { .tv_sec = 5, .tv_usec = 0 };

	if (spec == NULL || spec[0] == '\0') {
		st = ldns_resolver_new_frm_file(&res, NULL);
		if (st != LDNS_STATUS_OK) {
			mx_err_set(err, "/etc/resolv.conf: %s", ldns_get_errorstr_by_id(st));
			return NULL;
		}
	} else {
		size_t hlen;
		char *end;

		if (spec[0] == '[') {  /* [IPv6]:PORT */
			const char *close = strchr(spec, ']');
			if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
				mx_err_set(err, "resolver '%s': want HOST, HOST:PORT or [IPv6]:PORT", spec);
				return NULL;
			}
			hlen = (size_t)(close - spec - 1);
			colon = close[1] == ':' ? close + 1 : NULL;
			spec++;
		} else {
			colon = strchr(spec, ':');
			hlen = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
		}
		if (hlen == 0 || hlen >= sizeof(host)) {
			mx_err_set(err, "resolver '%s': bad address", spec);
			return NULL;
		}
		memcpy(host, spec, hlen);
		host[hlen] = '\0';
		if (colon != NULL) {
			port = strtoul(colon + 1, &end, 10);
			if (colon[1] == '\0' || *end != '\0' || port == 0 || port > 65535) {
				mx_err_set(err, "resolver '%s': port must be 1 to 65535", spec);
				return NULL;
			}
		}
		addr = ldns_rdf_new_frm_str(strchr(host, ':') ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, host);
		if (addr == NULL) {
			mx_err_set(err, "resolver '%s': '%s' is not an IP address", spec, host);
			return NULL;
		}
		res = ldns_resolver_new();
		if (res == NULL || ldns_resolver_push_nameserver(res, addr) != LDNS_STATUS_OK) {
			ldns_rdf_deep_free(addr);
			if (res != NULL)
				ldns_resolver_deep_free(res);
			mx_err_set(err, "out of memory");
			return NULL;
		}
		ldns_rdf_deep_free(addr);
		ldns_resolver_set_port(res, (uint16_t)port);
	}
	ldns_resolver_set_recursive(res, true);
	ldns_resolver_set_defnames(res, false);
	ldns_resolver_set_dnsrch(res, false);
	ldns_resolver_set_timeout(res, tv);
	ldns_resolver_set_retry(res, 2);
	return res;
}

/* Join the character-strings of one TXT record into buf. */
static int txt_join(const ldns_rr *rr, char *buf, size_t size, size_t *len_r, struct mx_err *err)
{
	size_t i, n = 0;

	for (i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);
		const uint8_t *d = ldns_rdf_data(f);
		size_t sz = ldns_rdf_size(f);

		/* A character-string: a length byte, then that many bytes. */
		if (sz == 0 || (size_t)d[0] + 1 != sz)
			return mx_err_set(err, "malformed TXT data");
		if (n + d[0] >= size)
			return mx_err_set(err, "TXT record longer than %zu bytes", size - 1);
		memcpy(buf + n, d + 1, d[0]);
		n += d[0];
	}
	buf[n] = '\0';
	*len_r = n;
	return 0;
}

enum mx_result dkim_dnscheck(const struct dkim_key *key, const char *resolver, struct mx_err *err)
{
	char name[DKIM_SELECTOR_MAX + DKIM_DOMAIN_MAX + 16], expected[DKIM_DNS_TXT_MAX];
	char *txt = NULL;
	ldns_resolver *res = NULL;
	ldns_rdf *qname = NULL;
	ldns_pkt *pkt = NULL;
	ldns_rr_list *rrs = NULL;
	enum mx_result r = MX_TEMP;
	size_t len = 0;
	int n;

	n = snprintf(name, sizeof(name), "%s._domainkey.%s.", key->selector, key->domain);
	if (n < 0 || (size_t)n >= sizeof(name)) {
		mx_err_set(err, "record name too long");
		return MX_PERM;
	}
	if (dkim_key_dns_record(key, expected, sizeof(expected), err) < 0)
		return MX_TEMP;
	if ((res = resolver_new(resolver, err)) == NULL)
		return MX_TEMP;
	if ((qname = ldns_dname_new_frm_str(name)) == NULL) {
		mx_err_set(err, "%s: not a valid DNS name", name);
		r = MX_PERM;
		goto out;
	}
	pkt = ldns_resolver_query(res, qname, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, LDNS_RD);
	if (pkt == NULL) {
		mx_err_set(err, "%s: no answer from the resolver", name);
		goto out;
	}
	if (ldns_pkt_get_rcode(pkt) == LDNS_RCODE_NXDOMAIN) {
		mx_err_set(err, "%s: no such name in DNS (NXDOMAIN)", name);
		r = MX_NOTFOUND;
		goto out;
	}
	if (ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NOERROR) {
		mx_err_set(err, "%s: the resolver answered with rcode %d", name, (int)ldns_pkt_get_rcode(pkt));
		goto out;
	}
	rrs = ldns_pkt_rr_list_by_type(pkt, LDNS_RR_TYPE_TXT, LDNS_SECTION_ANSWER);
	if (rrs == NULL || ldns_rr_list_rr_count(rrs) == 0) {
		mx_err_set(err, "%s: no TXT record", name);
		r = MX_NOTFOUND;
		goto out;
	}
	if (ldns_rr_list_rr_count(rrs) > 1) {
		mx_err_set(err, "%s: %zu TXT records (verifiers may pick any: publish exactly one)",
			   name, ldns_rr_list_rr_count(rrs));
		r = MX_PERM;
		goto out;
	}
	if ((txt = malloc(DKIM_DNS_TXT_MAX)) == NULL) {
		mx_err_set(err, "out of memory");
		goto out;
	}
	if (txt_join(ldns_rr_list_rr(rrs, 0), txt, DKIM_DNS_TXT_MAX, &len, err) < 0) {
		mx_err_prefix(err, "%s: ", name);
		r = MX_PERM;
		goto out;
	}
	r = dkim_dnscheck_record(expected, txt, len, err);
	if (r != MX_FOUND)
		mx_err_prefix(err, "%s: ", name);
out:
	free(txt);
	ldns_rr_list_deep_free(rrs);
	ldns_pkt_free(pkt);
	ldns_rdf_deep_free(qname);
	ldns_resolver_deep_free(res);
	return r;
}
