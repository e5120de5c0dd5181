/*
 * spf_flatten.c - a published SPF tree walked without a client: a sample
 * sending address (spf_sample_ip) and named includes flattened into ip4/ip6
 * terms (spf_flatten). RFC 7208: include matches exactly when its record
 * passes (§5.2), so a tree of '+' ip4/ip6/a/mx/include terms and a non-pass
 * all is the list of its addresses; redirect= counts only without all
 * (§6.1); nothing after all runs (§4.6.2); a record should stay under ~450
 * bytes (§3.4), so overflow goes to chained _spfN.<domain> records.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provision/buf.h"
#include "provision/record.h"
#include "provision/spf.h"
#include "provision/util.h"
#include "spf_internal.h"

/* ---- a depth-first walk of a published tree ---- */

enum { W_GO = 0, W_STOP = 1, W_SKIP = 2 };

struct walk {
	struct resolver *r;
	/* called for each mechanism met and for a redirect= that applies;
	 * W_GO follows an include/redirect, W_SKIP does not, W_STOP ends the
	 * walk, < 0 is an error (err filled) */
	int (*visit)(struct walk *w, const char *domain,
		     const struct spf_term_p *t);
	void *ctx;
	struct prov_error *err;
	char *chain[SPF_MAX_DEPTH + 1]; /* records being walked, FQDN */
	size_t depth;
};

static int nomem(struct walk *w)
{
	return prov_errorf(w->err, PROV_ERR_NOMEM, "out of memory");
}

static int chain_push(struct walk *w, const char *domain)
{
	if (!(w->chain[w->depth] = dname_fqdn(domain)))
		return nomem(w);
	w->depth++;
	return 0;
}

static void walk_release(struct walk *w)
{
	while (w->depth)
		free(w->chain[--w->depth]);
}

static int loop_error(struct walk *w, size_t from, const char *domain)
{
	struct buf b = BUF_INIT;
	for (size_t i = from; i < w->depth; i++)
		buf_printf(&b, "%s -> ", w->chain[i]);
	buf_puts(&b, w->chain[from]);
	int rc = prov_errorf(w->err, PROV_ERR_RULE, "loop at %s: %s", domain,
			     buf_str(&b));
	buf_release(&b);
	return rc;
}

/* The one SPF record of domain, parsed (§4.5). */
static int fetch_record(struct walk *w, const char *domain,
			struct spf_record_p *rec)
{
	struct prov_error perr = PROV_ERROR_INIT;
	const struct dns_answer *a = resolver_query(w->r, domain, RR_TXT);
	const struct dns_rr *rr = NULL;
	size_t found = 0;
	if (a->status == DNS_TEMPFAIL)
		return prov_errorf(w->err, PROV_ERR_RUNTIME,
				   "dns: TXT lookup of %s failed: %s", domain,
				   a->why[0] ? a->why : "temporary failure");
	for (size_t i = 0; a->status == DNS_OK && i < a->n; i++) {
		const struct dns_rr *x = &a->rr[i];
		if (x->type == RR_TXT && x->text && x->text_len >= 6 &&
		    strncasecmp(x->text, "v=spf1", 6) == 0 &&
		    (x->text_len == 6 || x->text[6] == ' '))
			found++, rr = x;
	}
	if (found == 0)
		return prov_errorf(w->err, PROV_ERR_RULE,
				   "%s has no spf record", domain);
	if (found > 1)
		return prov_errorf(w->err, PROV_ERR_RULE,
				   "%s has %zu spf records", domain, found);
	int rc = spf_parse_record(rr->text, rr->text_len, rec, &perr);
	if (rc < 0)
		return prov_errorf(w->err, rc, "spf record of %s: %s", domain,
				   perr.msg);
	return 0;
}

static int walk_domain(struct walk *w, const char *domain);

static int step(struct walk *w, const char *domain,
		const struct spf_term_p *t)
{
	int rc = w->visit(w, domain, t);
	if (rc == W_GO && (t->kind == K_INCLUDE || t->kind == K_REDIRECT))
		rc = walk_domain(w, t->spec);
	return rc == W_SKIP ? W_GO : rc;
}

/* The mechanisms up to `all`, then redirect= when there is no `all`. */
static int walk_record(struct walk *w, const char *domain,
		       const struct spf_record_p *rec)
{
	int rc = W_GO;
	for (size_t i = 0; i < rec->n && rc == W_GO; i++) {
		const struct spf_term_p *t = &rec->t[i];
		if (t->kind > K_EXISTS)
			continue; /* a modifier */
		rc = step(w, domain, t);
		if (t->kind == K_ALL)
			return rc;
	}
	if (rc != W_GO || rec->redirect < 0 || rec->has_all)
		return rc;
	return step(w, domain, &rec->t[rec->redirect]);
}

static int walk_domain(struct walk *w, const char *domain)
{
	struct spf_record_p rec;
	int rc;
	if (!spf_name_ok(domain))
		return prov_errorf(w->err, PROV_ERR_RULE,
				   "'%s' is not a domain name", domain);
	for (size_t i = 0; i < w->depth; i++)
		if (dname_equal(w->chain[i], domain))
			return loop_error(w, i, domain);
	if (w->depth >= SPF_MAX_DEPTH)
		return prov_errorf(w->err, PROV_ERR_RULE,
				   "more than %d nested records below %s",
				   SPF_MAX_DEPTH, w->chain[0]);
	if ((rc = fetch_record(w, domain, &rec)) < 0)
		return rc;
	if ((rc = chain_push(w, domain)) == 0) {
		rc = walk_record(w, domain, &rec);
		free(w->chain[--w->depth]);
	}
	spf_record_release(&rec);
	return rc;
}

/* ---- spf_sample_ip ---- */

struct sample {
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN];
};

static int sample_visit(struct walk *w, const char *domain,
			const struct spf_term_p *t)
{
	struct sample *s = w->ctx;
	(void)domain;
	if (t->qual != '+')
		return W_SKIP; /* a match there is not a pass */
	if (t->kind == K_INCLUDE || t->kind == K_REDIRECT)
		return spf_has_macro(t->spec) ? W_SKIP : W_GO;
	if (t->kind == K_IP4) {
		inet_ntop(AF_INET, t->addr, s->v4, sizeof s->v4);
		return W_STOP;
	}
	if (t->kind == K_IP6 && !s->v6[0])
		inet_ntop(AF_INET6, t->addr, s->v6, sizeof s->v6);
	return W_SKIP;
}

int spf_sample_ip(struct resolver *r, const char *domain, char **ip,
		  struct prov_error *err)
{
	struct sample s = { { 0 }, { 0 } };
	struct walk w = { .r = r, .visit = sample_visit, .ctx = &s,
			  .err = err };
	*ip = NULL;
	int rc = walk_domain(&w, domain);
	walk_release(&w);
	if (rc < 0)
		return prov_errorf(err, PROV_ERR_RUNTIME,
				   "spf tree of %s cannot be read", domain);
	if (!s.v4[0] && !s.v6[0])
		return prov_errorf(err, PROV_ERR_RUNTIME,
				   "no ip4 or ip6 address in the spf tree of %s",
				   domain);
	if (!(*ip = strdup(s.v4[0] ? s.v4 : s.v6)))
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	return 0;
}

/* ---- the terms of the flattened record ---- */

struct tok {
	char *text;
	enum spf_kind kind;
	char qual;
	int ip;            /* a '+' ip4/ip6 term: deduplicated, may be chained */
	int plen;          /* prefix length */
	unsigned char addr[16]; /* the network address */
};

struct flat {
	struct tok *v;
	size_t n;
	const char *include; /* the include being flattened, for messages */
	int nomem;
};

static void toks_release(struct flat *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].text);
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

static void mask(unsigned char *addr, int bytes, int plen)
{
	for (int i = 0; i < bytes; i++) {
		int keep = plen - 8 * i;
		if (keep <= 0)
			addr[i] = 0;
		else if (keep < 8)
			addr[i] &= (unsigned char)(0xff << (8 - keep));
	}
}

/* Add a term; a '+' ip term equal to one before it is dropped (the first
 * always matches first). text is taken over. */
static int tok_add(struct flat *f, struct tok *t)
{
	for (size_t i = 0; t->ip && i < f->n; i++) {
		const struct tok *o = &f->v[i];
		if (o->ip && o->kind == t->kind && o->plen == t->plen &&
		    memcmp(o->addr, t->addr, sizeof o->addr) == 0) {
			free(t->text);
			return 0;
		}
	}
	struct tok *v = realloc(f->v, (f->n + 1) * sizeof *v);
	if (!v) {
		free(t->text);
		return -1;
	}
	f->v = v;
	f->v[f->n++] = *t;
	return 0;
}

/* A term of the record being flattened, kept as written. */
static int tok_term(struct flat *f, const struct spf_term_p *t)
{
	struct tok k = { .kind = t->kind, .qual = t->qual };
	if (!(k.text = strdup(t->text)))
		return -1;
	if (t->kind == K_IP4 || t->kind == K_IP6) {
		k.ip = t->qual == '+';
		k.plen = t->kind == K_IP4 ? t->cidr4 : t->cidr6;
		memcpy(k.addr, t->addr, sizeof k.addr);
		mask(k.addr, t->kind == K_IP4 ? 4 : 16, k.plen);
	}
	return tok_add(f, &k);
}

/* "ip4:<network>[/len]" for an address met in the tree. */
static int tok_addr(struct flat *f, int six, const unsigned char *addr,
		    int plen)
{
	struct tok k = { .kind = six ? K_IP6 : K_IP4, .qual = '+', .ip = 1,
			 .plen = plen };
	char text[INET6_ADDRSTRLEN];
	struct buf b = BUF_INIT;
	memcpy(k.addr, addr, six ? 16 : 4);
	mask(k.addr, six ? 16 : 4, plen);
	inet_ntop(six ? AF_INET6 : AF_INET, k.addr, text, sizeof text);
	if (buf_printf(&b, "ip%c:%s", six ? '6' : '4', text) < 0 ||
	    (plen != (six ? 128 : 32) && buf_printf(&b, "/%d", plen) < 0) ||
	    !(k.text = buf_detach(&b))) {
		buf_release(&b);
		return -1;
	}
	return tok_add(f, &k);
}

/* ---- the walk of a named include ---- */

static int refuse(struct walk *w, const char *domain,
		  const struct spf_term_p *t, const char *why)
{
	struct flat *f = w->ctx;
	return prov_errorf(w->err, PROV_ERR_RULE,
			   "include:%s cannot be flattened: '%s' in %s %s",
			   f->include, t->text, domain, why);
}

/* The A and AAAA addresses of name with the term's prefix lengths. */
static int add_addrs(struct walk *w, const char *name,
		     const struct spf_term_p *t)
{
	static const uint16_t types[] = { RR_A, RR_AAAA };
	for (size_t k = 0; k < 2; k++) {
		const struct dns_answer *a = resolver_query(w->r, name, types[k]);
		if (a->status == DNS_TEMPFAIL)
			return prov_errorf(w->err, PROV_ERR_RUNTIME,
					   "dns: %s lookup of %s failed: %s",
					   rr_type_name(types[k]), name,
					   a->why[0] ? a->why
						     : "temporary failure");
		for (size_t i = 0; a->status == DNS_OK && i < a->n; i++) {
			if (a->rr[i].type != types[k])
				continue;
			if (tok_addr(w->ctx, k == 1, a->rr[i].addr,
				     k ? t->cidr6 : t->cidr4) < 0)
				return nomem(w);
		}
	}
	return 0;
}

static int add_mx(struct walk *w, const char *domain, const char *name,
		  const struct spf_term_p *t)
{
	const struct dns_answer *a = resolver_query(w->r, name, RR_MX);
	if (a->status == DNS_TEMPFAIL)
		return prov_errorf(w->err, PROV_ERR_RUNTIME,
				   "dns: MX lookup of %s failed: %s", name,
				   a->why[0] ? a->why : "temporary failure");
	if (a->status != DNS_OK)
		return 0;
	if (a->n > SPF_MAX_MX)
		return refuse(w, domain, t, "has more than 10 mx hosts");
	for (size_t i = 0; i < a->n; i++) {
		int rc = 0;
		if (a->rr[i].type == RR_MX && a->rr[i].text &&
		    spf_name_ok(a->rr[i].text))
			rc = add_addrs(w, a->rr[i].text, t);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int flat_visit(struct walk *w, const char *domain,
		      const struct spf_term_p *t)
{
	if (t->kind == K_ALL)
		return t->qual == '+' ? refuse(w, domain, t, "passes everyone")
				      : W_GO; /* no match: nothing to add */
	if (t->qual != '+')
		return refuse(w, domain, t, "has a qualifier other than '+'");
	if (t->kind == K_PTR || t->kind == K_EXISTS)
		return refuse(w, domain, t, "depends on the client");
	if (t->spec && spf_has_macro(t->spec))
		return refuse(w, domain, t, "holds a macro");
	if (t->kind == K_IP4 || t->kind == K_IP6)
		return tok_addr(w->ctx, t->kind == K_IP6, t->addr,
				t->kind == K_IP6 ? t->cidr6 : t->cidr4) < 0
			       ? nomem(w) : W_GO;
	const char *name = t->spec ? t->spec : domain;
	if (t->kind == K_A)
		return spf_name_ok(name) ? add_addrs(w, name, t) : W_GO;
	if (t->kind == K_MX)
		return spf_name_ok(name) ? add_mx(w, domain, name, t) : W_GO;
	return W_GO; /* include, redirect: followed */
}

/* ---- spf_flatten ---- */

static int is_named(char *const *names, const char *target)
{
	for (size_t i = 0; names && names[i]; i++)
		if (dname_equal(names[i], target))
			return 1;
	return 0;
}

/* Replace each named include by the addresses of its tree, in place. */
static int flatten_terms(struct resolver *r, const char *domain,
			 const struct spf_record_p *rec, char *const *names,
			 struct flat *f, struct spf_flat *out,
			 struct prov_error *err)
{
	for (size_t i = 0; i < rec->n; i++) {
		const struct spf_term_p *t = &rec->t[i];
		if (t->kind != K_INCLUDE || spf_has_macro(t->spec) ||
		    !is_named(names, t->spec)) {
			if (tok_term(f, t) < 0)
				return prov_errorf(err, PROV_ERR_NOMEM,
						   "out of memory");
			continue;
		}
		if (t->qual != '+')
			return prov_errorf(err, PROV_ERR_RULE,
					   "'%s' cannot be flattened: it has "
					   "the qualifier '%c'", t->text,
					   t->qual);
		struct walk w = { .r = r, .visit = flat_visit, .ctx = f,
				  .err = err };
		f->include = t->spec;
		int rc = chain_push(&w, domain); /* a way back is a loop */
		if (rc == 0)
			rc = walk_domain(&w, t->spec);
		walk_release(&w);
		if (rc < 0)
			return rc;
		if (!is_named(out->flattened, t->spec) &&
		    strv_push(&out->flattened, t->spec) < 0)
			return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	}
	return 0;
}

/* Length of "v=spf1" and the terms not moved away. */
static size_t record_len(const struct flat *f, int *moved)
{
	size_t len = 6;
	for (size_t i = 0; i < f->n; i++)
		if (!moved || !moved[i])
			len += 1 + strlen(f->v[i].text);
	return len;
}

/* The target of an include term as written, or NULL. */
static const char *include_target(const struct tok *k)
{
	const char *s = k->text;
	if (k->kind != K_INCLUDE)
		return NULL;
	if (strchr("+-~?", *s))
		s++;
	return s + 8; /* "include:" */
}

static char *chain_name(const char *dom, size_t n)
{
	struct buf b = BUF_INIT;
	if (buf_printf(&b, "_spf%zu.%s", n, dom) < 0)
		return NULL;
	return buf_detach(&b);
}

/* Pack terms[0..n) in order into as few records of at most max bytes as
 * can be: each but the last ends with an include of the next. */
static int pack_chain(const char *dom, char **terms, size_t n, size_t max,
		      struct spf_flat *out, struct prov_error *err)
{
	size_t i = 0;
	while (i < n) {
		struct buf b = BUF_INIT;
		size_t rest = 6, start = i;
		char *name = chain_name(dom, out->nchain + 1);
		char *next = chain_name(dom, out->nchain + 2);
		struct spf_pending *v = realloc(out->chain,
						(out->nchain + 2) * sizeof *v);
		int rc = name && next && v ? buf_puts(&b, "v=spf1") : -1;
		if (v)
			out->chain = v;
		for (size_t j = i; j < n; j++)
			rest += 1 + strlen(terms[j]);
		size_t reserve = rest <= max ? 0 : 9 + (next ? strlen(next) : 0);
		while (rc == 0 && i < n &&
		       b.len + 1 + strlen(terms[i]) + reserve <= max)
			rc = buf_printf(&b, " %s", terms[i++]);
		if (rc == 0 && i < n && i > start)
			rc = buf_printf(&b, " include:%s", next);
		char *fq = rc == 0 ? dname_fqdn(name) : NULL;
		char *text = fq ? buf_detach(&b) : NULL;
		free(name);
		free(next);
		buf_release(&b);
		if (!text) {
			free(fq);
			return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
		}
		out->chain[out->nchain++] = (struct spf_pending){ fq, text };
		out->chain[out->nchain] = (struct spf_pending){ NULL, NULL };
		if (i == start)
			return prov_errorf(err, PROV_ERR_RULE,
					   "'%s' does not fit in a record of "
					   "%zu bytes", terms[i], max);
	}
	return 0;
}

/* Which '+' ip terms move into the chain: the fewest from the end (before
 * `all`), passing over modifiers and other '+' mechanisms only. Returns
 * the index where the include goes, or f->n when they cannot make room. */
static size_t pick_moved(const struct flat *f, size_t need, int *moved)
{
	size_t end = 0, saved = 0, at = f->n;
	while (end < f->n && f->v[end].kind != K_ALL)
		end++;
	for (size_t i = end; i-- > 0 && saved < need;) {
		const struct tok *k = &f->v[i];
		if (k->ip) {
			moved[i] = 1;
			saved += 1 + strlen(k->text);
			at = i;
		} else if (k->kind <= K_EXISTS && k->qual != '+') {
			break; /* moving across it would change the result */
		}
	}
	return saved >= need ? at : f->n;
}

/* The record of the domain: the terms not moved, with "include:<first>"
 * at index at; its ip terms counted. */
static int render_top(const struct flat *f, const int *moved, size_t at,
		      const char *first, struct spf_flat *out,
		      struct prov_error *err)
{
	struct buf b = BUF_INIT;
	int oom = buf_puts(&b, "v=spf1");
	for (size_t i = 0; i < f->n; i++) {
		const char *target = include_target(&f->v[i]);
		for (size_t c = 0; target && c < out->nchain; c++)
			if (dname_equal(target, out->chain[c].name)) {
				buf_release(&b);
				return prov_errorf(err, PROV_ERR_RULE,
						   "'%s' names a record that "
						   "flattening would replace",
						   f->v[i].text);
			}
		if (i == at)
			oom |= buf_printf(&b, " include:%.*s",
					  (int)strlen(first) - 1, first);
		if (!moved[i])
			oom |= buf_printf(&b, " %s", f->v[i].text);
		out->ip_terms += f->v[i].kind == K_IP4 || f->v[i].kind == K_IP6;
	}
	if (oom || !(out->record = buf_detach(&b))) {
		buf_release(&b);
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	}
	return 0;
}

/* The record of domain, with ip terms moved to _spfN.<domain> when it is
 * longer than max. */
static int split(const char *domain, struct flat *f, size_t max,
		 struct spf_flat *out, struct prov_error *err)
{
	char *dom = dname_fqdn(domain), **terms = NULL;
	const char *first = NULL;
	int *moved = calloc(f->n + 1, sizeof *moved), rc = 0;
	size_t len = record_len(f, NULL), at = f->n, nt = 0;
	if (!dom || !moved || !(terms = calloc(f->n + 1, sizeof *terms))) {
		rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (strlen(dom) > 1)
		dom[strlen(dom) - 1] = '\0';
	if (len > max) {
		size_t inc = strlen(" include:_spf1.") + strlen(dom);
		at = pick_moved(f, len + inc - max, moved);
		if (at == f->n) {
			rc = prov_errorf(err, PROV_ERR_RULE,
					 "the spf record of %s would be %zu "
					 "bytes, more than %zu even with its "
					 "ip terms in chained records",
					 domain, len, max);
			goto out;
		}
		for (size_t i = 0; i < f->n; i++)
			if (moved[i])
				terms[nt++] = f->v[i].text;
		if ((rc = pack_chain(dom, terms, nt, max, out, err)) < 0)
			goto out;
		first = out->chain[0].name;
	}
	rc = render_top(f, moved, at, first, out, err);
out:
	free(dom);
	free(moved);
	free(terms);
	return rc;
}

int spf_flatten(struct resolver *r, const char *domain, const char *record,
		char *const *names, size_t max_bytes, struct spf_flat *out,
		struct prov_error *err)
{
	struct spf_record_p rec;
	struct flat f = { 0 };
	memset(out, 0, sizeof *out);
	int rc = spf_parse_record(record, strlen(record), &rec, err);
	if (rc < 0)
		return rc;
	out->flattened = calloc(1, sizeof *out->flattened);
	out->chain = calloc(1, sizeof *out->chain);
	if (!out->flattened || !out->chain) {
		rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = flatten_terms(r, domain, &rec, names, &f, out, err);
	if (rc < 0)
		goto out;
	if (out->flattened[0]) {
		rc = split(domain, &f, max_bytes ? max_bytes : (size_t)-1, out,
			   err);
	} else { /* nothing named: the record as it was */
		for (size_t i = 0; i < f.n; i++)
			out->ip_terms += f.v[i].kind == K_IP4 ||
					 f.v[i].kind == K_IP6;
		if (!(out->record = strdup(record)))
			rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	}
out:
	if (rc < 0)
		spf_flat_release(out);
	toks_release(&f);
	spf_record_release(&rec);
	return rc;
}

void spf_flat_release(struct spf_flat *f)
{
	if (!f)
		return;
	free(f->record);
	for (size_t i = 0; f->chain && i < f->nchain; i++) {
		free((char *)f->chain[i].name);
		free((char *)f->chain[i].text);
	}
	free(f->chain);
	strv_free(f->flattened);
	memset(f, 0, sizeof *f);
}
