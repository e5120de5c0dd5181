/*
 * spf.c - the SPF engine: parse, check_host(), worst-case cost, merge.
 *
 * RFC 7208: a TXT record starting "v=spf1" (§4.5) is checked whole before
 * use (§4.6); mechanisms run left to right, the first match decides (§4.6.2);
 * include/a/mx/ptr/exists/redirect count toward 10 lookups and NXDOMAIN or
 * empty answers toward 2 void lookups (§4.6.4); redirect= is ignored when
 * the record has `all` (§6.1); exp= is read only on fail (§6.2). spf_cost()
 * runs the same evaluator in "count mode": no client matches, nothing stops
 * at the limit, and every counted term is recorded in a tree. Both can take
 * some records from a "pending" list instead of DNS (records not yet
 * published). Flattening is in spf_flatten.c.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provision/buf.h"
#include "provision/record.h"
#include "provision/spf.h"
#include "provision/util.h"
#include "spf_internal.h"

#define MAX_DEPTH SPF_MAX_DEPTH
#define MAX_STEPS 2000  /* counted terms walked by one spf_cost() */
#define MAX_MX SPF_MAX_MX
#define MAX_PTR 10      /* §4.6.4 */

static const char *const mech_names[] = {
	"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists",
};

const char *spf_result_name(enum spf_result r)
{
	static const char *const names[] = {
		"none", "neutral", "pass", "fail", "softfail", "temperror",
		"permerror",
	};
	return (unsigned)r < sizeof names / sizeof *names ? names[r] : "?";
}

static int is_record_n(const char *text, size_t len)
{
	return len >= 6 && strncasecmp(text, "v=spf1", 6) == 0 &&
	       (len == 6 || text[6] == ' ');
}

int spf_is_record(const char *text)
{
	return text && is_record_n(text, strlen(text));
}

/* ---- parsing (§4.6.1, §12) ---- */

void spf_record_release(struct spf_record_p *rec)
{
	for (size_t i = 0; i < rec->n; i++) {
		free(rec->t[i].text);
		free(rec->t[i].spec);
	}
	free(rec->t);
	memset(rec, 0, sizeof *rec);
}

/* A prefix length: digits without a leading zero, at most max. */
static int parse_cidr(const char *s, size_t n, int max, int *out)
{
	int v = 0;
	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* Strip "/n", "//n" or "/n//m" from the end of s (§5.3 dual-cidr). */
static int strip_dual_cidr(const char *s, size_t *len, struct spf_term_p *t)
{
	size_t n = *len, j = n;
	while (j > 0 && isdigit((unsigned char)s[j - 1]))
		j--;
	if (j < n && j >= 2 && s[j - 1] == '/' && s[j - 2] == '/') {
		if (parse_cidr(s + j, n - j, 128, &t->cidr6) < 0)
			return -1;
		n = j - 2;
		j = n;
		while (j > 0 && isdigit((unsigned char)s[j - 1]))
			j--;
	}
	if (j < n && j >= 1 && s[j - 1] == '/') {
		if (parse_cidr(s + j, n - j, 32, &t->cidr4) < 0)
			return -1;
		n = j - 1;
	}
	*len = n;
	return 0;
}

static int set_spec(struct spf_term_p *t, const char *s, size_t n)
{
	t->spec = strndup(s, n);
	return t->spec ? 0 : -1;
}

/* Check a domain-spec (§7.1): a macro-string ending as domain-end says. */
static const char *spec_problem(const char *s, size_t n)
{
	if (n == 0)
		return "empty domain";
	if (spf_macro_check(s, n, 0, NULL) < 0)
		return "bad macro";
	if (!spf_domain_end_ok(s, n))
		return "bad domain";
	return NULL;
}

static int parse_modifier(const char *s, size_t n, size_t eq,
			  struct spf_term_p *t, const char **why)
{
	if (eq == 0)
		return *why = "empty modifier name", -1;
	if (!isalpha((unsigned char)s[0]))
		return *why = "bad modifier name", -1;
	for (size_t i = 1; i < eq; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
			return *why = "bad modifier name", -1;
	const char *v = s + eq + 1;
	size_t vn = n - eq - 1;
	t->kind = K_MOD;
	if (eq == 8 && strncasecmp(s, "redirect", 8) == 0)
		t->kind = K_REDIRECT;
	else if (eq == 3 && strncasecmp(s, "exp", 3) == 0)
		t->kind = K_EXP;
	if (t->kind == K_MOD) {
		if (spf_macro_check(v, vn, 0, NULL) < 0)
			return *why = "bad macro", -1;
		return 0;
	}
	if ((*why = spec_problem(v, vn)) != NULL)
		return -1;
	return set_spec(t, v, vn) < 0 ? (*why = "out of memory", -1) : 0;
}

/* ip4:/ip6: argument: -1 bad address, -2 bad prefix length. */
static int parse_ip(const char *s, size_t n, struct spf_term_p *t)
{
	int six = t->kind == K_IP6;
	const char *slash = memchr(s, '/', n);
	size_t an = slash ? (size_t)(slash - s) : n;
	char tmp[64];
	if (an == 0 || an >= sizeof tmp)
		return -1;
	memcpy(tmp, s, an);
	tmp[an] = '\0';
	if (inet_pton(six ? AF_INET6 : AF_INET, tmp, t->addr) != 1)
		return -1;
	if (!slash)
		return 0;
	return parse_cidr(slash + 1, n - an - 1, six ? 128 : 32,
			  six ? &t->cidr6 : &t->cidr4) < 0 ? -2 : 0;
}

/* The argument of a mechanism: s/n is what follows its name. */
static int parse_mech_arg(const char *s, size_t n, struct spf_term_p *t,
			  const char **why)
{
	switch (t->kind) {
	case K_ALL:
		return n ? (*why = "argument to all", -1) : 0;
	case K_IP4:
	case K_IP6:
		if (n < 2 || s[0] != ':')
			return *why = "bad address", -1;
		switch (parse_ip(s + 1, n - 1, t)) {
		case 0: return 0;
		case -2: return *why = "bad prefix length", -1;
		default: return *why = "bad address", -1;
		}
	case K_INCLUDE:
	case K_EXISTS:
	case K_PTR:
		if (n == 0 && t->kind == K_PTR)
			return 0;
		if (n == 0 || s[0] != ':')
			return *why = "missing domain", -1;
		break;
	default: /* a, mx */
		if (n && s[0] != ':' && s[0] != '/')
			return *why = "bad argument", -1;
		if (strip_dual_cidr(s, &n, t) < 0)
			return *why = "bad prefix length", -1;
		if (n == 0)
			return 0;
		if (s[0] != ':')
			return *why = "bad prefix length", -1;
	}
	if ((*why = spec_problem(s + 1, n - 1)) != NULL)
		return -1;
	return set_spec(t, s + 1, n - 1) < 0 ? (*why = "out of memory", -1) : 0;
}

static int parse_term(const char *s, size_t n, struct spf_term_p *t,
		      const char **why)
{
	t->cidr4 = 32;
	t->cidr6 = 128;
	t->qual = '+';
	size_t i = strcspn(s, "=:/");
	if (i < n && s[i] == '=')
		return parse_modifier(s, n, i, t, why);
	if (strchr("+-~?", s[0]))
		t->qual = *s++, n--;
	size_t name = 0;
	while (name < n && s[name] != ':' && s[name] != '/')
		name++;
	for (size_t k = 0; k < sizeof mech_names / sizeof *mech_names; k++)
		if (strlen(mech_names[k]) == name &&
		    strncasecmp(s, mech_names[k], name) == 0) {
			t->kind = (enum spf_kind)k;
			return parse_mech_arg(s + name, n - name, t, why);
		}
	return *why = "unknown mechanism", -1;
}

static int add_term(struct spf_record_p *rec, const char *s, size_t n,
		    size_t col, struct prov_error *err)
{
	struct spf_term_p *v = realloc(rec->t, (rec->n + 1) * sizeof *v);
	if (!v)
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	rec->t = v;
	struct spf_term_p *t = &v[rec->n++];
	memset(t, 0, sizeof *t);
	t->col = col;
	t->len = n;
	t->text = strndup(s, n);
	if (!t->text)
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	const char *why = NULL;
	if (parse_term(t->text, n, t, &why) < 0)
		return prov_errorf(err, PROV_ERR_RULE, "%s '%s' at column %zu",
				   why, t->text, col);
	if (t->kind == K_ALL)
		rec->has_all = 1;
	int *slot = t->kind == K_REDIRECT ? &rec->redirect
		    : t->kind == K_EXP   ? &rec->exp : NULL;
	if (slot && *slot >= 0)
		return prov_errorf(err, PROV_ERR_RULE,
				   "second %s modifier '%s' at column %zu",
				   t->kind == K_EXP ? "exp" : "redirect",
				   t->text, col);
	if (slot)
		*slot = (int)(rec->n - 1);
	return 0;
}

/* Parse a whole record of len bytes (§4.6: any error anywhere fails it). */
int spf_parse_record(const char *text, size_t len, struct spf_record_p *rec,
		     struct prov_error *err)
{
	memset(rec, 0, sizeof *rec);
	rec->redirect = rec->exp = -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c < 0x20 || c > 0x7e)
			return prov_errorf(err, PROV_ERR_RULE,
					   "byte 0x%02x (not printable ascii) "
					   "at column %zu", c, i + 1);
	}
	if (!is_record_n(text, len))
		return prov_errorf(err, PROV_ERR_RULE,
				   "not an spf record (must start with "
				   "'v=spf1' and a space)");
	size_t i = 6;
	while (i < len) {
		if (text[i] == ' ') {
			i++;
			continue;
		}
		size_t j = i;
		while (j < len && text[j] != ' ')
			j++;
		int rc = add_term(rec, text + i, j - i, i + 1, err);
		if (rc < 0) {
			spf_record_release(rec);
			return rc;
		}
		i = j;
	}
	return 0;
}

int spf_validate(const char *text, struct prov_error *err)
{
	struct spf_record_p rec;
	if (!text)
		return prov_errorf(err, PROV_ERR_RULE, "no spf record");
	int rc = spf_parse_record(text, strlen(text), &rec, err);
	if (rc == 0)
		spf_record_release(&rec);
	return rc;
}

/* ---- merge (email-auth-rules.md §1.12) ---- */

static int is_mechanism(enum spf_kind k)
{
	return k <= K_EXISTS;
}

int spf_merge(const char *existing, const char *include, const char *all,
	      char **out, int *changed, struct prov_error *err)
{
	struct spf_record_p rec;
	struct buf b = BUF_INIT;
	int rc;
	*out = NULL;
	*changed = 0;
	if (!existing) {
		if (buf_printf(&b, "v=spf1 include:%s %s", include,
			       all ? all : "~all") < 0)
			return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
		*out = buf_detach(&b);
		*changed = 1;
		return 0;
	}
	if ((rc = spf_parse_record(existing, strlen(existing), &rec, err)) < 0)
		return rc;
	size_t at = 6; /* insert after this offset... */
	int before = 0; /* ...or before it */
	for (size_t i = 0; i < rec.n; i++) {
		struct spf_term_p *t = &rec.t[i];
		if (t->kind == K_INCLUDE && dname_equal(t->spec, include)) {
			spf_record_release(&rec);
			*out = strdup(existing);
			return *out ? 0 : prov_errorf(err, PROV_ERR_NOMEM,
						      "out of memory");
		}
		if (!before && t->kind == K_ALL)
			at = t->col - 1, before = 1;
		else if (!before && is_mechanism(t->kind))
			at = t->col - 1 + t->len;
	}
	spf_record_release(&rec);
	rc = buf_add(&b, existing, at);
	if (rc == 0)
		rc = buf_printf(&b, before ? "include:%s " : " include:%s",
				include);
	if (rc == 0)
		rc = buf_puts(&b, existing + at);
	if (rc < 0) {
		buf_release(&b);
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	}
	*out = buf_detach(&b);
	*changed = 1;
	return 0;
}

/* ---- evaluation (§4.6, §5, §6) ---- */

enum mres { M_NO, M_YES, M_TEMP, M_PERM };

struct tlist {
	struct spf_term **v;
	size_t *n;
};

struct ev {
	struct resolver *r;
	const struct spf_pending *pending; /* records answered without DNS */
	int count; /* spf_cost(): nothing matches but `all`, no limit */
	int family;
	unsigned char ip[16];
	struct spf_macro_env env;
	int lookups, voids;
	char **valid; /* PTR names that point back to the client (§5.5) */
	int valid_done;
	char *chain[MAX_DEPTH + 1]; /* records being evaluated, FQDN */
	size_t depth;
	/* count mode only */
	struct spf_cost *cost;
	struct tlist cur;
	struct spf_term *stack[MAX_DEPTH + 2];
	size_t nstack;
	int steps;
	int nomem;
};

static enum spf_result check_domain(struct ev *ev, const char *domain,
				    char **exp);

/* Count mode: attach a note to the term being evaluated; the first one is
 * also the cost's problem. */
static void note(struct ev *ev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void note(struct ev *ev, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int rc = buf_vprintf(&b, fmt, ap);
	va_end(ap);
	struct spf_term *node = ev->nstack ? ev->stack[ev->nstack - 1] : NULL;
	if (rc == 0 && node && !node->note && !(node->note = strdup(b.data)))
		ev->nomem = 1;
	if (rc == 0 && !ev->cost->problem) {
		struct buf p = BUF_INIT;
		if (node)
			buf_printf(&p, "%s in %s: ", node->term, node->domain);
		if (buf_puts(&p, b.data) < 0 || !(ev->cost->problem = buf_detach(&p)))
			ev->nomem = 1;
	}
	if (rc < 0)
		ev->nomem = 1;
	buf_release(&b);
}

/* Count mode: the cost below the terms being evaluated is not known. */
static void unknown(struct ev *ev, int dns)
{
	for (size_t i = 0; i < ev->nstack; i++)
		ev->stack[i]->known = 0;
	ev->cost->known = 0;
	if (dns)
		ev->cost->dns_failed = 1;
}

/* 1 when the answer has records to look at; else 0 and *m says what the
 * term does (nothing, temperror, permerror over the void limit). */
static int usable(struct ev *ev, const struct dns_answer *a,
		  const char *name, uint16_t type, int counts_void,
		  enum mres *m)
{
	*m = M_NO;
	if (a->status == DNS_TEMPFAIL) {
		if (!ev->count)
			return *m = M_TEMP, 0;
		note(ev, "dns: %s lookup of %s failed: %s", rr_type_name(type),
		     name, a->why[0] ? a->why : "temporary failure");
		unknown(ev, 1);
		return 0;
	}
	if (a->status == DNS_NXDOMAIN || a->n == 0) {
		if (counts_void && ++ev->voids > SPF_VOID_LIMIT && !ev->count)
			*m = M_PERM;
		return 0;
	}
	return 1;
}

static int prefix_eq(const unsigned char *a, const unsigned char *b, int bits)
{
	int full = bits / 8, rest = bits % 8;
	if (memcmp(a, b, (size_t)full) != 0)
		return 0;
	if (!rest)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

static int addr_match(const struct ev *ev, const struct dns_rr *rr,
		      const struct spf_term_p *t)
{
	if (ev->count)
		return 0;
	if (ev->family == 4)
		return rr->type == RR_A && prefix_eq(ev->ip, rr->addr, t->cidr4);
	return rr->type == RR_AAAA && prefix_eq(ev->ip, rr->addr, t->cidr6);
}

static uint16_t addr_type(const struct ev *ev)
{
	return ev->family == 4 ? RR_A : RR_AAAA;
}

/* A macro-string expanded for the record of domain; NULL on no memory. */
static char *expand(struct ev *ev, const char *domain, const char *spec)
{
	struct buf b = BUF_INIT;
	struct spf_macro_env env = ev->env;
	env.domain = domain;
	if (spf_macro_expand(spec, &env, &b) < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

/* The name a term points at; NULL with *m set when it cannot be asked. */
static char *term_target(struct ev *ev, const char *domain,
			 const struct spf_term_p *t, enum mres *m)
{
	*m = M_NO;
	if (ev->count && spf_has_macro(t->spec) && !spf_macro_only_domain(t->spec)) {
		note(ev, "macro: cost below is not known");
		unknown(ev, 0);
		return NULL;
	}
	char *name = t->spec ? expand(ev, domain, t->spec) : strdup(domain);
	if (!name) {
		ev->nomem = 1;
		*m = M_TEMP;
		return NULL;
	}
	spf_truncate_name(name);
	return name;
}

/* The client's reverse-lookup name (in-addr.arpa / ip6.arpa). */
static void reverse_name(const struct ev *ev, char *out, size_t size)
{
	struct buf b = BUF_INIT;
	if (ev->family == 4)
		buf_printf(&b, "%u.%u.%u.%u.in-addr.arpa", ev->ip[3], ev->ip[2],
			   ev->ip[1], ev->ip[0]);
	else {
		for (int i = 15; i >= 0; i--)
			buf_printf(&b, "%x.%x.", ev->ip[i] & 15, ev->ip[i] >> 4);
		buf_puts(&b, "ip6.arpa");
	}
	snprintf(out, size, "%s", buf_str(&b));
	buf_release(&b);
}

static int points_back(struct ev *ev, const char *name)
{
	const struct dns_answer *a = resolver_query(ev->r, name, addr_type(ev));
	if (a->status != DNS_OK)
		return 0; /* §5.5: an error skips the name */
	for (size_t i = 0; i < a->n; i++)
		if (a->rr[i].type == addr_type(ev) &&
		    prefix_eq(ev->ip, a->rr[i].addr, ev->family == 4 ? 32 : 128))
			return 1;
	return 0;
}

/* The validated names of the client: at most the first 10 PTR names. */
static void validate_ptr(struct ev *ev)
{
	char rev[80];
	if (ev->valid_done)
		return;
	ev->valid_done = 1;
	reverse_name(ev, rev, sizeof rev);
	const struct dns_answer *a = resolver_query(ev->r, rev, RR_PTR);
	if (a->status != DNS_OK)
		return;
	for (size_t i = 0; i < a->n && i < MAX_PTR; i++) {
		char *name = a->rr[i].text;
		if (a->rr[i].type != RR_PTR || !name || !points_back(ev, name))
			continue;
		size_t len = strlen(name);
		char *dup = strndup(name, len && name[len - 1] == '.' ? len - 1 : len);
		if (!dup || strv_push(&ev->valid, dup) < 0)
			ev->nomem = 1;
		free(dup);
	}
}

/* %{p}: a validated name, the domain itself or one below it first. */
static const char *ptr_name(void *ctx, const char *domain)
{
	struct ev *ev = ctx;
	validate_ptr(ev);
	if (!ev->valid)
		return NULL;
	for (char **p = ev->valid; *p; p++)
		if (dname_equal(*p, domain))
			return *p;
	for (char **p = ev->valid; *p; p++)
		if (dname_in_zone(*p, domain))
			return *p;
	return ev->valid[0];
}

static enum mres eval_a(struct ev *ev, const char *name,
		       const struct spf_term_p *t)
{
	enum mres m;
	const struct dns_answer *a = resolver_query(ev->r, name, addr_type(ev));
	if (!usable(ev, a, name, addr_type(ev), 1, &m))
		return m;
	for (size_t i = 0; i < a->n; i++)
		if (addr_match(ev, &a->rr[i], t))
			return M_YES;
	return M_NO;
}

static enum mres eval_mx(struct ev *ev, const char *name,
			const struct spf_term_p *t)
{
	enum mres m;
	const struct dns_answer *a = resolver_query(ev->r, name, RR_MX);
	if (!usable(ev, a, name, RR_MX, 1, &m))
		return m;
	if (a->n > MAX_MX) {
		if (!ev->count)
			return M_PERM;
		note(ev, "%s has %zu mx hosts (more than %d)", name, a->n,
		     MAX_MX);
		ev->cost->permerror = 1;
		return M_NO;
	}
	for (size_t i = 0; i < a->n; i++) {
		const char *host = a->rr[i].text;
		if (a->rr[i].type != RR_MX || !host)
			continue;
		const struct dns_answer *h =
			resolver_query(ev->r, host, addr_type(ev));
		if (!usable(ev, h, host, addr_type(ev), 0, &m)) {
			if (m != M_NO)
				return m;
			continue;
		}
		for (size_t k = 0; k < h->n; k++)
			if (addr_match(ev, &h->rr[k], t))
				return M_YES;
	}
	return M_NO;
}

static enum mres eval_ptr(struct ev *ev, const char *name)
{
	if (ev->count)
		return M_NO; /* no client, no PTR to ask */
	validate_ptr(ev);
	for (char **p = ev->valid; p && *p; p++)
		if (dname_in_zone(*p, name))
			return M_YES;
	return M_NO;
}

static enum mres eval_exists(struct ev *ev, const char *name)
{
	enum mres m;
	const struct dns_answer *a = resolver_query(ev->r, name, RR_A);
	if (!usable(ev, a, name, RR_A, 1, &m))
		return m;
	return ev->count ? M_NO : M_YES;
}

static int in_chain(struct ev *ev, const char *name)
{
	for (size_t i = 0; i < ev->depth; i++)
		if (dname_equal(ev->chain[i], name))
			return (int)i + 1;
	return 0;
}

static void loop_note(struct ev *ev, int from)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "loop: ");
	for (size_t i = (size_t)from - 1; i < ev->depth; i++)
		buf_printf(&b, "%s -> ", ev->chain[i]);
	buf_puts(&b, ev->chain[from - 1]);
	note(ev, "%s", buf_str(&b));
	buf_release(&b);
	ev->cost->loop = 1;
}

/* include (§5.2) and redirect= (§6.1): a check of another domain. */
static enum mres eval_nested(struct ev *ev, const char *name,
			     const struct spf_term_p *t, char **exp,
			     enum spf_result *sub)
{
	int at = in_chain(ev, name);
	if (ev->count && at) {
		loop_note(ev, at);
		return M_NO;
	}
	enum spf_result r = check_domain(ev, name, exp);
	if (t->kind == K_REDIRECT) {
		*sub = r == SPF_NONE ? SPF_PERMERROR : r;
		return M_YES;
	}
	if (ev->count)
		return M_NO;
	switch (r) {
	case SPF_PASS: return M_YES;
	case SPF_FAIL: case SPF_SOFTFAIL: case SPF_NEUTRAL: return M_NO;
	case SPF_TEMPERROR: return M_TEMP;
	default: return M_PERM; /* permerror, and none (§5.2) */
	}
}

static enum mres eval_mech(struct ev *ev, const char *domain,
			   const struct spf_term_p *t, char **exp,
			   enum spf_result *sub)
{
	enum mres m;
	switch (t->kind) {
	case K_ALL:
		return M_YES;
	case K_IP4:
		return !ev->count && ev->family == 4 &&
		       prefix_eq(ev->ip, t->addr, t->cidr4) ? M_YES : M_NO;
	case K_IP6:
		return !ev->count && ev->family == 6 &&
		       prefix_eq(ev->ip, t->addr, t->cidr6) ? M_YES : M_NO;
	default:
		break;
	}
	char *name = term_target(ev, domain, t, &m);
	if (!name)
		return m;
	if (!spf_name_ok(name) && t->kind != K_INCLUDE && t->kind != K_REDIRECT)
		m = M_NO; /* §4.8: not a DNS name, no match */
	else if (t->kind == K_A)
		m = eval_a(ev, name, t);
	else if (t->kind == K_MX)
		m = eval_mx(ev, name, t);
	else if (t->kind == K_PTR)
		m = eval_ptr(ev, name);
	else if (t->kind == K_EXISTS)
		m = eval_exists(ev, name);
	else
		m = eval_nested(ev, name, t, exp, sub);
	free(name);
	return m;
}

static int counted(enum spf_kind k)
{
	return k == K_INCLUDE || k == K_A || k == K_MX || k == K_PTR ||
	       k == K_EXISTS || k == K_REDIRECT;
}

/* Count mode: a node for the term, in the list being filled. */
static struct spf_term *node_push(struct ev *ev, const struct spf_term_p *t,
				  const char *domain)
{
	struct spf_term *v = realloc(*ev->cur.v, (*ev->cur.n + 1) * sizeof *v);
	if (!v) {
		ev->nomem = 1;
		return NULL;
	}
	*ev->cur.v = v;
	struct spf_term *node = &v[(*ev->cur.n)++];
	memset(node, 0, sizeof *node);
	node->known = 1;
	node->term = strdup(t->text);
	node->domain = strdup(domain);
	if (!node->term || !node->domain)
		ev->nomem = 1;
	return node;
}

/* One term, counted against the limits (§4.6.4); in count mode recorded. */
static enum mres eval_term(struct ev *ev, const char *domain,
			   const struct spf_term_p *t, char **exp,
			   enum spf_result *sub)
{
	if (!counted(t->kind))
		return eval_mech(ev, domain, t, exp, sub);
	ev->lookups++;
	if (!ev->count)
		return ev->lookups > SPF_LOOKUP_LIMIT
			       ? M_PERM : eval_mech(ev, domain, t, exp, sub);
	struct spf_term *node = node_push(ev, t, domain);
	if (!node || ev->nstack > MAX_DEPTH)
		return M_NO;
	int l0 = ev->lookups - 1, v0 = ev->voids;
	struct tlist saved = ev->cur;
	ev->cur = (struct tlist){ &node->children, &node->nchildren };
	ev->stack[ev->nstack++] = node;
	enum mres m = M_NO;
	if (++ev->steps > MAX_STEPS) {
		note(ev, "tree too large: stopped counting");
		unknown(ev, 0);
	} else {
		m = eval_mech(ev, domain, t, exp, sub);
	}
	ev->nstack--;
	ev->cur = saved;
	node->lookups = ev->lookups - l0;
	node->void_lookups = ev->voids - v0;
	return m;
}

static enum spf_result qual_result(char q)
{
	return q == '-' ? SPF_FAIL : q == '~' ? SPF_SOFTFAIL
	       : q == '?' ? SPF_NEUTRAL : SPF_PASS;
}

/* exp= (§6.2): the explanation, or NULL when there is none to use. */
static char *explain(struct ev *ev, const char *domain,
		     const struct spf_term_p *t)
{
	char *name = expand(ev, domain, t->spec), *text = NULL;
	if (!name)
		return NULL;
	spf_truncate_name(name);
	if (spf_name_ok(name)) {
		const struct dns_answer *a = resolver_query(ev->r, name, RR_TXT);
		if (a->status == DNS_OK && a->n == 1 && a->rr[0].text &&
		    spf_macro_check(a->rr[0].text, a->rr[0].text_len, 1,
				    NULL) == 0)
			text = expand(ev, domain, a->rr[0].text);
	}
	free(name);
	return text;
}

/* Evaluate a parsed record of domain (§4.6). */
static enum spf_result eval_record(struct ev *ev, const char *domain,
				   const struct spf_record_p *rec, char **exp)
{
	enum spf_result sub = SPF_NEUTRAL;
	for (size_t i = 0; i < rec->n; i++) {
		const struct spf_term_p *t = &rec->t[i];
		if (!is_mechanism(t->kind))
			continue;
		enum mres m = eval_term(ev, domain, t, NULL, &sub);
		if (m == M_TEMP)
			return SPF_TEMPERROR;
		if (m == M_PERM)
			return SPF_PERMERROR;
		if (m != M_YES)
			continue;
		enum spf_result r = qual_result(t->qual);
		if (r == SPF_FAIL && exp && rec->exp >= 0 && !ev->count)
			*exp = explain(ev, domain, &rec->t[rec->exp]);
		return r;
	}
	if (rec->redirect < 0 || rec->has_all)
		return SPF_NEUTRAL;
	enum mres m = eval_term(ev, domain, &rec->t[rec->redirect], exp, &sub);
	if (m == M_TEMP)
		return SPF_TEMPERROR;
	if (m == M_PERM)
		return SPF_PERMERROR;
	return ev->count ? SPF_NEUTRAL : sub;
}

/* Pick the one SPF record among TXT answers (§4.5). */
static enum spf_result select_record(struct ev *ev, const char *domain,
				     const struct dns_answer *a,
				     const struct dns_rr **rr)
{
	size_t found = 0;
	for (size_t i = 0; i < a->n; i++)
		if (a->rr[i].type == RR_TXT && a->rr[i].text &&
		    is_record_n(a->rr[i].text, a->rr[i].text_len))
			found++, *rr = &a->rr[i];
	if (found == 1)
		return SPF_PASS;
	if (found == 0) {
		if (ev->count && ev->depth > 0) {
			note(ev, "%s has no spf record", domain);
			ev->cost->permerror = 1;
		}
		return SPF_NONE;
	}
	if (ev->count) {
		note(ev, "%s has %zu spf records", domain, found);
		ev->cost->permerror = 1;
	}
	return SPF_PERMERROR;
}

static int chain_push(struct ev *ev, const char *domain)
{
	if (!(ev->chain[ev->depth] = dname_fqdn(domain)))
		return ev->nomem = 1, -1;
	ev->depth++;
	return 0;
}

static void chain_pop(struct ev *ev)
{
	free(ev->chain[--ev->depth]);
}

static const struct spf_pending *pending_find(const struct spf_pending *p,
					      const char *name)
{
	for (; p && p->name; p++)
		if (dname_equal(p->name, name))
			return p;
	return NULL;
}

/* The TXT answer for domain: a pending record (exactly that one text; no
 * text: no record) in *own, else what DNS says. */
static const struct dns_answer *txt_answer(struct ev *ev, const char *domain,
					   struct dns_answer *own,
					   struct dns_rr *rr)
{
	const struct spf_pending *p = pending_find(ev->pending, domain);
	if (!p)
		return resolver_query(ev->r, domain, RR_TXT);
	memset(own, 0, sizeof *own);
	memset(rr, 0, sizeof *rr);
	own->status = DNS_OK;
	if (!p->text)
		return own;
	rr->type = RR_TXT;
	rr->text = (char *)p->text; /* read only */
	rr->text_len = strlen(p->text);
	rr->nstrings = 1;
	own->n = 1;
	own->rr = rr;
	return own;
}

/* check_host() for one domain: find, parse and evaluate its record. */
static enum spf_result check_domain(struct ev *ev, const char *domain,
				    char **exp)
{
	const struct dns_rr *rr = NULL;
	struct prov_error perr = PROV_ERROR_INIT;
	struct spf_record_p rec;
	struct dns_answer own;
	struct dns_rr own_rr;
	if (!spf_name_ok(domain)) /* §4.3 */
		return select_record(ev, domain, &(struct dns_answer){ 0 }, &rr);
	if (ev->depth >= MAX_DEPTH) {
		if (ev->count) {
			note(ev, "too deep: more than %d nested records", MAX_DEPTH);
			unknown(ev, 0);
		}
		return SPF_PERMERROR;
	}
	const struct dns_answer *a = txt_answer(ev, domain, &own, &own_rr);
	enum mres m;
	if (!usable(ev, a, domain, RR_TXT, 0, &m)) {
		if (m == M_TEMP || a->status == DNS_TEMPFAIL)
			return SPF_TEMPERROR;
		if (ev->depth > 0)
			ev->voids++; /* an include/redirect target: void */
	}
	enum spf_result r = select_record(ev, domain, a, &rr);
	if (r != SPF_PASS)
		return r;
	if (spf_parse_record(rr->text, rr->text_len, &rec, &perr) < 0) {
		if (ev->count) {
			note(ev, "spf record of %s: %s", domain, perr.msg);
			ev->cost->permerror = 1;
		}
		return SPF_PERMERROR;
	}
	if (chain_push(ev, domain) == 0) {
		r = eval_record(ev, domain, &rec, exp);
		chain_pop(ev);
	} else {
		r = SPF_TEMPERROR;
	}
	spf_record_release(&rec);
	return r;
}

static int set_client(struct ev *ev, const char *ip)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0,
						  0, 0, 0xff, 0xff };
	if (ip && inet_pton(AF_INET, ip, ev->ip) == 1)
		return ev->family = 4, 0;
	if (!ip || inet_pton(AF_INET6, ip, ev->ip) != 1)
		return -1;
	ev->family = 6;
	if (memcmp(ev->ip, mapped, sizeof mapped) == 0) { /* ::ffff:a.b.c.d */
		memmove(ev->ip, ev->ip + 12, 4);
		ev->family = 4;
	}
	return 0;
}

/* The sender, its local part and domain (§4.3: postmaster@helo when
 * empty, postmaster when the local part is empty). */
static int set_sender(const struct spf_request *req, char **sender,
		      char **local, char **sdomain)
{
	const char *s = req->sender, *helo = req->helo ? req->helo : "";
	struct buf b = BUF_INIT;
	const char *at = s ? strrchr(s, '@') : NULL;
	if (!s || !*s)
		buf_printf(&b, "postmaster@%s", helo);
	else if (!at || at == s)
		buf_printf(&b, "postmaster@%s", at ? at + 1 : s);
	else
		buf_puts(&b, s);
	*sender = buf_detach(&b);
	if (!*sender)
		return -1;
	at = strrchr(*sender, '@');
	*local = strndup(*sender, (size_t)(at - *sender));
	*sdomain = strdup(at + 1);
	return *local && *sdomain ? 0 : -1;
}

static void ev_release(struct ev *ev)
{
	strv_free(ev->valid);
	while (ev->depth)
		chain_pop(ev);
}

/* check_host() with the pending records in place of DNS. */
static enum spf_result check_host(struct resolver *r,
				  const struct spf_request *req,
				  const struct spf_pending *pending,
				  char **explanation)
{
	struct ev ev;
	char *sender = NULL, *local = NULL, *sdomain = NULL, *exp = NULL;
	enum spf_result res = SPF_PERMERROR;
	if (explanation)
		*explanation = NULL;
	memset(&ev, 0, sizeof ev);
	ev.r = r;
	ev.pending = pending;
	if (set_client(&ev, req->ip) < 0)
		goto out;
	res = SPF_TEMPERROR;
	if (set_sender(req, &sender, &local, &sdomain) < 0)
		goto out;
	ev.env = (struct spf_macro_env){
		.sender = sender, .local = local, .sdomain = sdomain,
		.helo = req->helo ? req->helo : "", .receiver = req->receiver,
		.family = ev.family, .ip = ev.ip, .ptr_name = ptr_name,
		.ptr_ctx = &ev,
	};
	res = check_domain(&ev, req->domain ? req->domain : sdomain,
			   explanation ? &exp : NULL);
	if (ev.nomem)
		res = SPF_TEMPERROR;
	if (res == SPF_FAIL && explanation) {
		*explanation = exp ? exp : xstrdup(req->default_exp);
		exp = NULL;
	}
out:
	free(exp);
	free(sender);
	free(local);
	free(sdomain);
	ev_release(&ev);
	return res;
}

enum spf_result spf_check_host(struct resolver *r,
			       const struct spf_request *req,
			       char **explanation)
{
	return check_host(r, req, NULL, explanation);
}

enum spf_result spf_check_pending(struct resolver *r,
				  const struct spf_request *req,
				  const struct spf_pending *pending,
				  char **explanation)
{
	return check_host(r, req, pending, explanation);
}

/* ---- worst-case cost (§4.6.4, email-auth-rules.md §1.5) ---- */

int spf_cost(struct resolver *r, const char *domain, const char *record,
	     struct spf_cost *cost, struct prov_error *err)
{
	const struct spf_pending one[2] = { { domain, record }, { NULL, NULL } };
	return spf_cost_pending(r, domain, one, cost, err);
}

int spf_cost_pending(struct resolver *r, const char *domain,
		     const struct spf_pending *pending, struct spf_cost *cost,
		     struct prov_error *err)
{
	struct ev ev;
	struct spf_record_p rec;
	memset(cost, 0, sizeof *cost);
	cost->known = 1;
	const struct spf_pending *top = pending_find(pending, domain);
	if (!top || !top->text)
		return prov_errorf(err, PROV_ERR_RULE,
				   "no pending spf record for %s", domain);
	int rc = spf_parse_record(top->text, strlen(top->text), &rec, err);
	if (rc < 0)
		return rc;
	memset(&ev, 0, sizeof ev);
	ev.r = r;
	ev.pending = pending;
	ev.count = 1;
	ev.family = 4; /* an IPv4 client: a asks A, mx asks A of each host */
	ev.cost = cost;
	ev.cur = (struct tlist){ &cost->terms, &cost->nterms };
	ev.env = (struct spf_macro_env){ .family = 4, .ip = ev.ip };
	if (!(cost->domain = strdup(domain)) || chain_push(&ev, domain) < 0)
		ev.nomem = 1;
	else
		eval_record(&ev, domain, &rec, NULL);
	cost->lookups = ev.lookups;
	cost->void_lookups = ev.voids;
	spf_record_release(&rec);
	ev_release(&ev);
	if (ev.nomem) {
		spf_cost_release(cost);
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	}
	return 0;
}

static void terms_release(struct spf_term *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].term);
		free(v[i].domain);
		free(v[i].note);
		terms_release(v[i].children, v[i].nchildren);
	}
	free(v);
}

void spf_cost_release(struct spf_cost *cost)
{
	if (!cost)
		return;
	free(cost->domain);
	free(cost->problem);
	terms_release(cost->terms, cost->nterms);
	memset(cost, 0, sizeof *cost);
}
