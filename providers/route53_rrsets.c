/*
 * route53_rrsets.c - the record sets read, kept per zone in r->sets.
 * They are read with ListResourceRecordSets from the smallest managed name
 * in Route 53's order (labels reversed); a page that ends before the next
 * managed name is not followed: the next request starts at that name. A
 * small zone is one call. A second set of one name and type (a routing
 * policy) or an alias marks the set special: it is never edited.
 */
#include <stdlib.h>
#include <string.h>

#include "provision/util.h"
#include "route53_internal.h"

void r53_forget(struct r53 *r)
{
	for (size_t i = 0; i < r->nsets; i++)
		r53_set_free(&r->sets[i]);
	free(r->sets);
	r->sets = NULL;
	r->nsets = 0;
	strv_free(r->covered);
	r->covered = NULL;
	r->confirmed = 0;
}

struct r53_set *r53_set_find(struct r53 *r, const char *plain, const char *type)
{
	for (size_t i = 0; i < r->nsets; i++)
		if (strcmp(r->sets[i].type, type) == 0 && dname_equal(r->sets[i].plain, plain))
			return &r->sets[i];
	return NULL;
}

int r53_covered(const struct r53 *r, const char *name)
{
	for (size_t i = 0; r->covered && r->covered[i]; i++)
		if (dname_equal(r->covered[i], name))
			return 1;
	return 0;
}

/* Add one <ResourceRecordSet> to the cache when its name is in names. */
static int keep_set(struct r53 *r, xmlNode *s, char *const *names, int *saw_soa)
{
	struct r53_set got;
	int wanted = 0;
	if (r53_xml_set(s, &got) < 0)
		return -1;
	if (strcmp(got.type, "SOA") == 0 && dname_equal(got.plain, r->zone_name))
		*saw_soa = 1;
	for (size_t i = 0; names[i] && !wanted; i++)
		wanted = dname_equal(names[i], got.plain);
	if (!wanted) {
		r53_set_free(&got);
		return 0;
	}
	struct r53_set *set = r53_set_find(r, got.plain, got.type);
	int rc = 0;
	if (!set) {
		struct r53_set *v = realloc(r->sets, (r->nsets + 1) * sizeof *v);
		if (!v) {
			r53_set_free(&got);
			return -1;
		}
		r->sets = v;
		set = &v[r->nsets++];
		*set = got;
	} else {
		/* a second set of one name and type: routing policy */
		set->special = 1;
		set->ttl = got.ttl;
		for (size_t i = 0; got.vals && got.vals[i] && rc == 0; i++)
			rc = strv_push(&set->vals, got.vals[i]);
		for (size_t i = 0; got.raw && got.raw[i] && rc == 0; i++)
			rc = strv_push(&set->raw, got.raw[i]);
		r53_set_free(&got);
	}
	if (rc == 0 && !set->vals)
		rc = -1;
	return rc;
}

struct mname {
	char *plain, *escaped, *key;
};

static int mname_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mname *)a)->key, ((const struct mname *)b)->key);
}

static void mnames_free(struct mname *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].plain);
		free(m[i].escaped);
		free(m[i].key);
	}
	free(m);
}

/*
 * Read every set at each of names into the cache. One request starts at the
 * smallest name; when a page is truncated, the next request continues where
 * Route 53 says if that is still at or before the next name not yet seen,
 * and otherwise starts at that name.
 */
int r53_read(struct r53 *r, char *const *names, struct prov_error *err)
{
	size_t n = strv_len(names), k = 0;
	struct mname *m = calloc(n + 1, sizeof *m);
	struct buf what = BUF_INIT;
	int rc = 0, saw_soa = 0, apex = 0;
	char *start = NULL, *stype = NULL, *sident = NULL;
	r53_forget(r);
	if (!m)
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		int dup = 0;
		for (size_t j = 0; j < k; j++)
			dup |= dname_equal(m[j].plain, names[i]);
		if (dup)
			continue;
		m[k].plain = dname_fqdn(names[i]);
		m[k].escaped = m[k].plain ? r53_name_escape(m[k].plain) : NULL;
		m[k].key = m[k].escaped ? r53_order_key(m[k].escaped) : NULL;
		if (!m[k].key || strv_push(&r->covered, m[k].plain) < 0) {
			k++;
			rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
			goto out;
		}
		apex |= dname_equal(m[k].plain, r->zone_name);
		k++;
	}
	if (!k)
		goto out;
	qsort(m, k, sizeof *m, mname_cmp);
	start = strdup(m[0].escaped);
	for (size_t i = 0, pages = 0; rc == 0; pages++) {
		struct buf path = BUF_INIT;
		struct r53_answer a;
		char *q_ident = sident ? http_escape(sident) : NULL;
		char *q_name = http_escape(start ? start : "");
		char *q_type = stype ? http_escape(stype) : NULL;
		buf_release(&what);
		buf_printf(&what, "zone %s: listing record sets from %s", r->zone_bare, start);
		/* parameters in canonical order: curl 7.x signs the query as given */
		buf_printf(&path, R53_API "/hostedzone/%s/rrset?", r->zone_id);
		if (q_ident)
			buf_printf(&path, "identifier=%s&", q_ident);
		buf_printf(&path, "maxitems=%d&name=%s", R53_PAGE, q_name ? q_name : "");
		if (q_type)
			buf_printf(&path, "&type=%s", q_type);
		free(q_ident);
		free(q_name);
		free(q_type);
		rc = r53_call(r, "GET", buf_str(&path), NULL, buf_str(&what), &a, NULL, err);
		buf_release(&path);
		if (rc == CALL_AWS) {
			rc = r53_aws_error(r, buf_str(&what), &a, err);
		} else if (rc == 0 && !r53_xml_is(a.root, "ListResourceRecordSetsResponse")) {
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "route53: %s: unexpected answer <%s>", buf_str(&what),
					 (const char *)a.root->name);
		}
		xmlNode *sets = rc == 0 ? r53_xml_child(a.root, "ResourceRecordSets") : NULL;
		if (rc == 0 && !sets && r53_xml_child(a.root, "IsTruncated") == NULL)
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "route53: %s: the answer has no ResourceRecordSets",
					 buf_str(&what));
		for (xmlNode *s = sets ? sets->children : NULL; s && rc == 0; s = s->next)
			if (r53_xml_is(s, "ResourceRecordSet") && keep_set(r, s, names, &saw_soa) < 0)
				rc = prov_errorf(err, PROV_ERR_RUNTIME,
						 "route53: %s: a record set in the answer is malformed",
						 buf_str(&what));
		char *nn = NULL, *nt = NULL, *ni = NULL, *nkey = NULL;
		if (rc == 0 && r53_xml_true(a.root, "IsTruncated")) {
			nn = r53_xml_text(a.root, "NextRecordName");
			nt = r53_xml_text(a.root, "NextRecordType");
			ni = r53_xml_text(a.root, "NextRecordIdentifier");
			nkey = nn ? r53_order_key(nn) : NULL;
			if (!nkey)
				rc = prov_errorf(err, PROV_ERR_RUNTIME,
						 "route53: %s: truncated answer without NextRecordName",
						 buf_str(&what));
		}
		r53_answer_release(&a);
		if (rc == 0 && nkey) {
			/* every name ordered before the next record is complete */
			while (i < k && strcmp(m[i].key, nkey) < 0)
				i++;
			if (i < k) {
				int same = strcmp(m[i].key, nkey) == 0;
				char *ns = strdup(same ? nn : m[i].escaped);
				char *nts = same && nt ? strdup(nt) : NULL;
				char *nis = same && ni ? strdup(ni) : NULL;
				int stuck = start && ns && strcmp(ns, start) == 0 &&
					    !strcmp(stype ? stype : "", nts ? nts : "") &&
					    !strcmp(sident ? sident : "", nis ? nis : "");
				free(start);
				free(stype);
				free(sident);
				start = ns;
				stype = nts;
				sident = nis;
				if (!start)
					rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
				else if (stuck || pages + 1 >= R53_MAX_PAGES)
					rc = prov_errorf(err, PROV_ERR_RUNTIME,
							 "route53: %s: the listing does not advance",
							 buf_str(&what));
			} else {
				free(nkey);
				nkey = NULL;
			}
		}
		int more = nkey != NULL;
		free(nn);
		free(nt);
		free(ni);
		free(nkey);
		if (!more)
			break;
	}
	if (rc == 0 && apex && !saw_soa)
		rc = prov_errorf(err, PROV_ERR_RUNTIME,
				 "route53: zone %s: hosted zone %s has no SOA record at %s: %s",
				 r->zone_bare, r->zone_id, r->zone_name,
				 r->zone_id_given ? "the domain's zone_id names another zone" :
				 "it is not this domain's zone");
out:
	free(start);
	free(stype);
	free(sident);
	mnames_free(m, k);
	buf_release(&what);
	if (rc < 0)
		r53_forget(r);
	return rc;
}
