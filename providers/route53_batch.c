/*
 * route53_batch.c - the ChangeBatch. The plan's changes, one value each,
 * become whole record sets: a set that changes is replaced by a DELETE of
 * exactly the values and TTL that were read plus a CREATE of the new set
 * (never UPSERT), so an edit made by someone else since the listing makes
 * the batch fail instead of being overwritten. Values not managed here
 * (verification strings beside the SPF record) are sent back byte for byte
 * as they were read. After a refusal or a lost answer, the sets read again
 * are compared with the sets as read and as written.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "provision/record.h"
#include "provision/util.h"
#include "route53_internal.h"

void r53_groups_free(struct r53_group *g, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(g[i].plain);
		free(g[i].old_name);
		strv_free(g[i].old_raw);
		strv_free(g[i].vals);
		strv_free(g[i].raw);
	}
	free(g);
}

char **r53_strv_copy(char *const *v)
{
	char **out = NULL;
	for (size_t i = 0; v && v[i]; i++)
		if (strv_push(&out, v[i]) < 0) {
			strv_free(out);
			return NULL;
		}
	return out;
}

static void strv_remove(char **v, size_t i)
{
	free(v[i]);
	for (; v[i]; i++)
		v[i] = v[i + 1];
}

static int same_values(char *const *a, char *const *b)
{
	size_t na = strv_len(a), nb = strv_len(b);
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++) {
		int found = 0;
		for (size_t j = 0; j < nb && !found; j++)
			found = strcmp(a[i], b[j]) == 0;
		if (!found)
			return 0;
	}
	return 1;
}

static ssize_t find_value(char *const *v, const char *value)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], value) == 0)
			return (ssize_t)i;
	return -1;
}

int r53_make_groups(struct r53 *r, const struct change *c, size_t n,
		    struct r53_group **out, size_t *nout, struct prov_error *err)
{
	struct r53_group *g = calloc(n ? n : 1, sizeof *g);
	size_t ng = 0;
	int rc = 0;
	if (!g)
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *type = rr_type_name(c[i].type);
		struct r53_group *x = NULL;
		for (size_t j = 0; j < ng && !x; j++)
			if (strcmp(g[j].type, type) == 0 && dname_equal(g[j].plain, c[i].name))
				x = &g[j];
		if (!x) {
			const struct r53_set *s = r53_set_find(r, c[i].name, type);
			x = &g[ng++];
			x->plain = dname_fqdn(c[i].name);
			x->type = type;
			if (s) {
				x->had = 1;
				x->special = s->special;
				x->old_name = strdup(s->name);
				x->old_ttl = s->ttl;
				x->old_raw = r53_strv_copy(s->raw);
				x->vals = r53_strv_copy(s->vals);
				x->raw = r53_strv_copy(s->raw);
				if (!x->old_name || (s->raw && (!x->old_raw || !x->raw)) ||
				    (s->vals && !x->vals))
					rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
			}
			if (!x->plain)
				rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
			/* rr_type_name's buffer is per call for unknown types */
			if (rc == 0 && r53_type_num(type) == 0)
				rc = prov_errorf(err, PROV_ERR_RUNTIME, "route53: zone %s: %s: "
						 "type %s is not supported", r->zone_bare, c[i].name, type);
		}
		if (rc < 0)
			break;
		if (x->special) {
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "route53: zone %s: %s %s is an alias or routing-policy record "
					 "set; provision does not change those", r->zone_bare, x->plain,
					 type);
			break;
		}
		x->ttl = c[i].ttl;
		ssize_t at = c[i].before ? find_value(x->vals, c[i].before) : -1;
		if (c[i].before && at < 0) {
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "route53: zone %s: %s %s: the %s value to replace is not there "
					 "any more; run provision again", r->zone_bare, x->plain, type,
					 c[i].what ? c[i].what : "managed");
			break;
		}
		if (c[i].after && find_value(x->vals, c[i].after) >= 0 &&
		    !(at >= 0 && strcmp(c[i].before, c[i].after) == 0)) {
			if (at >= 0) { /* the new value is already there: drop the old */
				strv_remove(x->vals, (size_t)at);
				strv_remove(x->raw, (size_t)at);
			}
			continue;
		}
		char *nv = c[i].after ? strdup(c[i].after) : NULL;
		char *nr = c[i].after ? r53_value_out(type, c[i].after) : NULL;
		if (c[i].after && (!nv || !nr)) {
			free(nv);
			free(nr);
			rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
			break;
		}
		if (at >= 0 && nv) { /* replaced in place: the set keeps its order */
			free(x->vals[at]);
			free(x->raw[at]);
			x->vals[at] = nv;
			x->raw[at] = nr;
		} else {
			if (at >= 0) {
				strv_remove(x->vals, (size_t)at);
				strv_remove(x->raw, (size_t)at);
			}
			if (nv && (strv_push(&x->vals, nv) < 0 || strv_push(&x->raw, nr) < 0))
				rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
			free(nv);
			free(nr);
		}
	}
	for (size_t j = 0; j < ng; j++)
		g[j].changed = !g[j].had ? strv_len(g[j].raw) > 0 :
			       g[j].ttl != g[j].old_ttl || !same_values(g[j].raw, g[j].old_raw);
	*out = g;
	*nout = ng;
	return rc;
}

int r53_in_place(struct r53 *r, const struct change *c)
{
	const struct r53_set *s = r53_set_find(r, c->name, rr_type_name(c->type));
	int before_gone = !c->before || (c->after && strcmp(c->before, c->after) == 0) ||
			  !s || find_value(s->vals, c->before) < 0;
	int after_there = !c->after || (s && find_value(s->vals, c->after) >= 0 &&
					s->ttl == c->ttl);
	return before_gone && after_there;
}

int r53_as_read(struct r53 *r, const struct r53_group *g)
{
	const struct r53_set *s = r53_set_find(r, g->plain, g->type);
	if (!g->had)
		return s == NULL;
	return s && !s->special && s->ttl == g->old_ttl && same_values(s->raw, g->old_raw);
}

int r53_as_written(struct r53 *r, const struct r53_group *g)
{
	const struct r53_set *s = r53_set_find(r, g->plain, g->type);
	if (!strv_len(g->raw))
		return s == NULL;
	return s && s->ttl == g->ttl && same_values(s->vals, g->vals);
}

int r53_take_written(struct r53 *r, const struct r53_group *g, size_t ng)
{
	for (size_t i = 0; i < ng; i++) {
		struct r53_set *s = r53_set_find(r, g[i].plain, g[i].type);
		if (!g[i].changed)
			continue;
		if (s) {
			r53_set_free(s);
			*s = r->sets[--r->nsets];
		}
		if (!strv_len(g[i].raw))
			continue;
		struct r53_set *v = realloc(r->sets, (r->nsets + 1) * sizeof *v);
		if (!v)
			return -1;
		r->sets = v;
		s = &v[r->nsets++];
		memset(s, 0, sizeof *s);
		s->name = strdup(g[i].had ? g[i].old_name : g[i].plain);
		s->plain = strdup(g[i].plain);
		s->type = strdup(g[i].type);
		s->ttl = g[i].ttl;
		s->raw = r53_strv_copy(g[i].raw);
		s->vals = r53_strv_copy(g[i].vals);
		if (!s->name || !s->plain || !s->type || !s->raw || !s->vals)
			return -1;
	}
	return 0;
}

char **r53_group_names(const struct r53_group *g, size_t ng, char *const *also)
{
	char **v = r53_strv_copy(also);
	for (size_t i = 0; i < ng; i++) {
		int dup = 0;
		for (size_t j = 0; v && v[j] && !dup; j++)
			dup = dname_equal(v[j], g[i].plain);
		if (!dup && strv_push(&v, g[i].plain) < 0) {
			strv_free(v);
			return NULL;
		}
	}
	return v;
}

void r53_group_list(const struct r53_group *g, size_t ng,
		    int (*pick)(struct r53 *, const struct r53_group *), struct r53 *r,
		    struct buf *out)
{
	size_t shown = 0;
	for (size_t i = 0; i < ng; i++) {
		if (!g[i].changed || (pick && pick(r, &g[i])))
			continue;
		if (shown++ < 4)
			buf_printf(out, "%s%s %s", shown > 1 ? ", " : "", g[i].plain, g[i].type);
	}
	if (shown > 4)
		buf_printf(out, " and %zu more", shown - 4);
}

char *r53_batch_xml(const struct r53 *r, const struct r53_group *g, size_t ng, size_t *count)
{
	struct r53_xml_change *c = calloc(2 * ng + 1, sizeof *c);
	size_t n = 0;
	*count = 0;
	if (!c)
		return NULL;
	for (size_t i = 0; i < ng; i++)
		if (g[i].changed && g[i].had)
			c[n++] = (struct r53_xml_change){ "DELETE", g[i].old_name, g[i].type,
							  g[i].old_ttl, g[i].old_raw };
	for (size_t i = 0; i < ng; i++)
		if (g[i].changed && strv_len(g[i].raw) > 0)
			c[n++] = (struct r53_xml_change){ "CREATE", g[i].had ? g[i].old_name :
							  g[i].plain, g[i].type, g[i].ttl,
							  g[i].raw };
	struct buf comment = BUF_INIT;
	buf_printf(&comment, "provision: %s", r->zone_bare);
	char *out = r53_xml_batch(c, n, buf_str(&comment));
	buf_release(&comment);
	free(c);
	*count = n;
	return out;
}
