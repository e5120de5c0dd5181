/*
 * dmarc.c - DMARC policy records: build the record the tool publishes at
 * _dmarc.<domain>, recognise and strictly parse a published one.
 *
 * RFC 7489 §6.3/§6.4: tag=value pairs split by ';' with optional spaces or
 * tabs around '=' and ';', a final ';' allowed; v=DMARC1 (exact, upper
 * case) first and p= second; unknown tags ignored; rua/ruf are lists of
 * DMARC URIs with an optional !size suffix (§6.2). The RFC 9989 tags np,
 * psd and t are accepted and checked too. Keyword values (none, r, s, ...)
 * are ABNF strings and so compared without case (RFC 5234 §2.3).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dmarc.h"
#include "provision/buf.h"

enum dmarc_policy dmarc_policy_from_name(const char *s)
{
	if (!s)
		return DMARC_P_INVALID;
	if (!strcmp(s, "none"))
		return DMARC_P_NONE;
	if (!strcmp(s, "quarantine"))
		return DMARC_P_QUARANTINE;
	if (!strcmp(s, "reject"))
		return DMARC_P_REJECT;
	return DMARC_P_INVALID;
}

/* Append "; tag=value" when value is set. 0 or -1. */
static int put_tag(struct buf *b, const char *tag, const char *value)
{
	return value ? buf_printf(b, "; %s=%s", tag, value) : 0;
}

char *dmarc_record_build(const struct dmarc_params *p)
{
	struct buf b = BUF_INIT;
	if (!p || !p->policy)
		return NULL;
	if (buf_printf(&b, "v=DMARC1; p=%s", p->policy) < 0 ||
	    put_tag(&b, "sp", p->sp) < 0 || put_tag(&b, "rua", p->rua) < 0 ||
	    put_tag(&b, "ruf", p->ruf) < 0 || put_tag(&b, "fo", p->fo) < 0 ||
	    put_tag(&b, "adkim", p->adkim) < 0 ||
	    put_tag(&b, "aspf", p->aspf) < 0 ||
	    (p->pct >= 0 && buf_printf(&b, "; pct=%d", p->pct) < 0)) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static const char *skip_wsp(const char *s)
{
	while (is_wsp(*s))
		s++;
	return s;
}

int dmarc_is_record(const char *text)
{
	/* dmarc-version = "v" *WSP "=" *WSP %x44.4d.41.52.43.31 (§6.4) */
	if (!text || text[0] != 'v')
		return 0;
	const char *s = skip_wsp(text + 1);
	if (*s != '=')
		return 0;
	s = skip_wsp(s + 1);
	if (strncmp(s, "DMARC1", 6) != 0)
		return 0;
	s = skip_wsp(s + 6);
	return *s == '\0' || *s == ';';
}

/* One tag of a record: name and value point into the text. */
struct tag {
	const char *name, *val;
	size_t nn, vn;
};

static void trim_wsp(const char **s, size_t *n)
{
	while (*n && is_wsp(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_wsp((*s)[*n - 1]))
		(*n)--;
}

/* tag-name = ALPHA *(ALPHA / DIGIT / "_"); value chars %x21-3A / %x3C-7E
 * with WSP between runs. */
static int tag_syntax_ok(const struct tag *t)
{
	for (size_t i = 0; i < t->nn; i++) {
		char c = t->name[i];
		int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		if (!alpha && (i == 0 || !((c >= '0' && c <= '9') || c == '_')))
			return 0;
	}
	for (size_t i = 0; i < t->vn; i++) {
		unsigned char c = (unsigned char)t->val[i];
		if (!is_wsp((char)c) && (c < 0x21 || c > 0x7e))
			return 0;
	}
	return t->nn > 0;
}

/* The next tag at *cur: 1 and *t filled, 0 at the end of the list (a final
 * ';' is allowed), or PROV_ERR_RULE. */
static int next_tag(const char **cur, struct tag *t, struct prov_error *err)
{
	const char *s = *cur, *end = strchr(s, ';');
	size_t n = end ? (size_t)(end - s) : strlen(s);
	trim_wsp(&s, &n);
	if (n == 0 && !end)
		return 0;
	if (n == 0)
		return prov_errorf(err, PROV_ERR_RULE,
				   "dmarc record: empty tag between ';'");
	const char *eq = memchr(s, '=', n);
	if (!eq)
		return prov_errorf(err, PROV_ERR_RULE, "dmarc record: tag "
				   "'%.*s' has no '='", (int)n, s);
	t->name = s;
	t->nn = (size_t)(eq - s);
	t->val = eq + 1;
	t->vn = n - t->nn - 1;
	trim_wsp(&t->name, &t->nn);
	trim_wsp(&t->val, &t->vn);
	if (!tag_syntax_ok(t))
		return prov_errorf(err, PROV_ERR_RULE, "dmarc record: tag "
				   "'%.*s' is not a valid tag=value", (int)n, s);
	*cur = end ? end + 1 : s + n;
	return 1;
}

/* 1 when s (case ignored) is one of the '|'-separated words of set. */
static int word_in(const char *s, const char *set)
{
	size_t n = strlen(s);
	for (const char *w = set; n > 0; w++) {
		if (!strncasecmp(w, s, n) && (w[n] == '|' || w[n] == '\0'))
			return 1;
		if (!(w = strchr(w, '|')))
			break;
	}
	return 0;
}

static int policy_ok(const char *v)
{
	return word_in(v, "none|quarantine|reject");
}

static int rs_ok(const char *v)
{
	return word_in(v, "r|s");
}

static int psd_ok(const char *v)
{
	return word_in(v, "y|n|u");
}

static int yn_ok(const char *v)
{
	return word_in(v, "y|n");
}

/* Every ':'-separated item (WSP around ':' allowed) passes ok(). */
static int colon_list_ok(const char *v, int (*ok)(const char *, size_t))
{
	for (;;) {
		const char *colon = strchr(v, ':'), *item = v;
		size_t n = colon ? (size_t)(colon - v) : strlen(v);
		trim_wsp(&item, &n);
		if (!ok(item, n))
			return 0;
		if (!colon)
			return 1;
		v = colon + 1;
	}
}

static int fo_item_ok(const char *s, size_t n)
{
	return n == 1 && strchr("01dDsS", s[0]);
}

static int keyword_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789-", s[i]))
			return 0;
	return n > 0;
}

static int fo_ok(const char *v)
{
	return colon_list_ok(v, fo_item_ok);
}

static int rf_ok(const char *v)
{
	return colon_list_ok(v, keyword_ok);
}

/* Only digits, at most max_digits of them, value at most max. */
static int uint_ok(const char *v, size_t max_digits, unsigned long long max)
{
	size_t n = strspn(v, "0123456789");
	if (n == 0 || v[n] != '\0' || n > max_digits)
		return 0;
	errno = 0;
	unsigned long long x = strtoull(v, NULL, 10);
	return errno == 0 && x <= max;
}

static int pct_ok(const char *v)
{
	return uint_ok(v, 3, 100); /* 1*3DIGIT, 0..100 (§6.3) */
}

static int ri_ok(const char *v)
{
	return uint_ok(v, 32, 4294967295ULL); /* 32-bit unsigned */
}

/* "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] (§6.4), without the '!'. */
static int size_ok(const char *s, size_t n)
{
	size_t d = 0;
	while (d < n && s[d] >= '0' && s[d] <= '9')
		d++;
	return d > 0 && (d == n || (d + 1 == n && strchr("kmgtKMGT", s[d])));
}

/* dot-atom local part; quoted local parts are not taken. */
static int local_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789.#$%&'*+-/=^_`{|}~", s[i]))
			return 0;
	return n > 0 && s[0] != '.' && s[n - 1] != '.';
}

/* A host name of at least two non-empty labels. */
static int domain_ok(const char *s, size_t n)
{
	size_t label = 0, dots = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
			dots++;
		} else if (!strchr("abcdefghijklmnopqrstuvwxyz"
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", s[i])) {
			return 0;
		} else {
			label++;
		}
	}
	return dots > 0 && label > 0;
}

/* mailto: addr-spec [ "?" hfields ]: one '@', a local part, a domain. */
static int mailto_ok(const char *s, size_t n)
{
	const char *q = memchr(s, '?', n);
	if (q)
		n = (size_t)(q - s);
	const char *at = memchr(s, '@', n);
	if (!at || memchr(at + 1, '@', n - (size_t)(at - s) - 1))
		return 0;
	size_t ln = (size_t)(at - s);
	return local_ok(s, ln) && domain_ok(at + 1, n - ln - 1);
}

/* http(s)://host[...]: a non-empty host, no whitespace or controls. */
static int http_ok(const char *s, size_t n)
{
	size_t host = strcspn(s, "/?#");
	if (host > n)
		host = n;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return host > 0;
}

/* One DMARC URI [s, s + n) with an optional !size suffix. */
static int uri_check(const char *s, size_t n, struct prov_error *err)
{
	const char *bang = NULL;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '!')
			bang = s + i;
	size_t un = bang ? (size_t)(bang - s) : n;
	if (bang && !size_ok(bang + 1, n - un - 1))
		return prov_errorf(err, PROV_ERR_RULE, "dmarc uri '%.*s' has "
				   "a bad size suffix (want !<digits>[kmgt])",
				   (int)n, s);
	int ok;
	if (un >= 7 && !strncasecmp(s, "mailto:", 7))
		ok = mailto_ok(s + 7, un - 7);
	else if (un >= 7 && !strncasecmp(s, "http://", 7))
		ok = http_ok(s + 7, un - 7);
	else if (un >= 8 && !strncasecmp(s, "https://", 8))
		ok = http_ok(s + 8, un - 8);
	else
		return prov_errorf(err, PROV_ERR_RULE, "dmarc uri '%.*s' is "
				   "not a mailto:, http: or https: uri",
				   (int)n, s);
	if (!ok)
		return prov_errorf(err, PROV_ERR_RULE, "dmarc uri '%.*s' has "
				   "no valid address", (int)n, s);
	return 0;
}

int dmarc_uri_list_check(const char *list, struct prov_error *err)
{
	/* dmarc-urilist = dmarc-uri *(*WSP "," *WSP dmarc-uri) */
	if (!list)
		list = "";
	for (;;) {
		const char *comma = strchr(list, ','), *s = list;
		size_t n = comma ? (size_t)(comma - list) : strlen(list);
		trim_wsp(&s, &n);
		if (n == 0)
			return prov_errorf(err, PROV_ERR_RULE,
					   "dmarc uri list has an empty entry");
		int rc = uri_check(s, n, err);
		if (rc)
			return rc;
		if (!comma)
			return 0;
		list = comma + 1;
	}
}

static int uri_list_ok(const char *v)
{
	return dmarc_uri_list_check(v, NULL) == 0;
}

#define NO_SLOT ((size_t)-1)

/* The known tags: how to check each value, and where it is kept. */
static const struct dmarc_rule {
	const char *name;
	int (*ok)(const char *value);
	size_t slot; /* offset of a char * in struct dmarc_record */
	const char *want;
} dmarc_rules[] = {
	{ "p", policy_ok, NO_SLOT, "none, quarantine or reject" },
	{ "sp", policy_ok, NO_SLOT, "none, quarantine or reject" },
	{ "np", policy_ok, NO_SLOT, "none, quarantine or reject" },
	{ "rua", uri_list_ok, offsetof(struct dmarc_record, rua), NULL },
	{ "ruf", uri_list_ok, offsetof(struct dmarc_record, ruf), NULL },
	{ "adkim", rs_ok, offsetof(struct dmarc_record, adkim), "r or s" },
	{ "aspf", rs_ok, offsetof(struct dmarc_record, aspf), "r or s" },
	{ "fo", fo_ok, offsetof(struct dmarc_record, fo),
	  "a ':' list of 0, 1, d and s" },
	{ "pct", pct_ok, offsetof(struct dmarc_record, pct),
	  "an integer from 0 to 100" },
	{ "rf", rf_ok, NO_SLOT, "a ':' list of report formats" },
	{ "ri", ri_ok, NO_SLOT, "a 32-bit unsigned integer" },
	{ "psd", psd_ok, NO_SLOT, "y, n or u" },
	{ "t", yn_ok, NO_SLOT, "y or n" },
};

static const struct dmarc_rule *dmarc_rule_find(const char *name)
{
	for (size_t i = 0; i < sizeof dmarc_rules / sizeof *dmarc_rules; i++)
		if (!strcmp(dmarc_rules[i].name, name))
			return &dmarc_rules[i];
	return NULL;
}

/* Check a known tag's value and keep it in r; unknown tags are ignored. */
static int dmarc_tag_apply(struct dmarc_record *r, const char *name,
			   char *val, struct prov_error *err)
{
	const struct dmarc_rule *rule = dmarc_rule_find(name);
	struct prov_error uerr = PROV_ERROR_INIT;
	if (!rule)
		return 0;
	if (rule->ok == uri_list_ok && dmarc_uri_list_check(val, &uerr))
		return prov_errorf(err, PROV_ERR_RULE, "dmarc record: tag "
				   "%s=: %s", name, uerr.msg);
	if (!rule->ok(val))
		return prov_errorf(err, PROV_ERR_RULE, "dmarc record: tag "
				   "%s=%s: want %s", name, val, rule->want);
	if (!strcmp(name, "p") || !strcmp(name, "sp")) {
		enum dmarc_policy pol = word_in(val, "none") ? DMARC_P_NONE :
			word_in(val, "quarantine") ? DMARC_P_QUARANTINE :
			DMARC_P_REJECT;
		*(name[0] == 'p' ? &r->p : &r->sp) = pol;
	}
	if (rule->slot != NO_SLOT) {
		char **slot = (char **)((char *)r + rule->slot);
		*slot = val;
		return 1; /* val is now owned by r */
	}
	return 0;
}

/* The rules on where a tag may stand: v=DMARC1 first, p second (§6.3),
 * each tag once. seen holds ";name" for every earlier tag. */
static int dmarc_tag_place(int i, const char *name, const char *val,
			   const char *seen, struct prov_error *err)
{
	size_t n = strlen(name);
	if (i == 0 && (strcmp(name, "v") || strcmp(val, "DMARC1")))
		return prov_errorf(err, PROV_ERR_RULE, "dmarc record: the "
				   "first tag must be v=DMARC1, not %s=%s",
				   name, val);
	if (i == 1 && strcmp(name, "p"))
		return prov_errorf(err, PROV_ERR_RULE, "dmarc record: tag p= "
				   "must follow v=DMARC1, found %s=", name);
	for (const char *p = seen; (p = strchr(p, ';')); p++)
		if (!strncmp(p + 1, name, n) && (p[n + 1] == ';' ||
						 p[n + 1] == '\0'))
			return prov_errorf(err, PROV_ERR_RULE, "dmarc record: "
					   "tag %s= appears twice", name);
	return 0;
}

/* Walk the tag list of text into r. */
static int dmarc_tags(const char *text, struct dmarc_record *r,
		      struct prov_error *err)
{
	struct buf seen = BUF_INIT;
	struct tag t;
	int rc = 0, i = 0;
	char *name = NULL, *val = NULL;
	for (const char *cur = text; (rc = next_tag(&cur, &t, err)) == 1; i++) {
		name = strndup(t.name, t.nn);
		val = strndup(t.val, t.vn);
		rc = PROV_ERR_NOMEM;
		if (!name || !val)
			goto out;
		rc = dmarc_tag_place(i, name, val, buf_str(&seen), err);
		if (!rc && buf_printf(&seen, ";%s", name) < 0)
			rc = PROV_ERR_NOMEM;
		if (!rc && (rc = dmarc_tag_apply(r, name, val, err)) == 1) {
			val = NULL; /* kept in r */
			rc = 0;
		}
		if (rc)
			goto out;
		free(name);
		free(val);
		name = val = NULL;
	}
	if (rc == 0 && i == 0)
		rc = prov_errorf(err, PROV_ERR_RULE, "dmarc record: the first "
				 "tag must be v=DMARC1");
out:
	if (rc == PROV_ERR_NOMEM)
		prov_errorf(err, rc, "dmarc record: out of memory");
	free(name);
	free(val);
	buf_release(&seen);
	return rc;
}

int dmarc_record_parse(const char *text, struct dmarc_record *out,
		       struct prov_error *err)
{
	memset(out, 0, sizeof *out);
	out->p = out->sp = DMARC_P_INVALID;
	int rc = dmarc_tags(text ? text : "", out, err);
	if (rc == 0 && !dmarc_is_record(text)) /* a blank before v=DMARC1 */
		rc = prov_errorf(err, PROV_ERR_RULE,
				 "dmarc record: does not start with v=DMARC1");
	if (rc == 0 && out->p == DMARC_P_INVALID)
		rc = prov_errorf(err, PROV_ERR_RULE,
				 "dmarc record: tag p= is missing");
	if (rc) {
		dmarc_record_release(out);
		return rc;
	}
	if (out->sp == DMARC_P_INVALID)
		out->sp = out->p;
	return 0;
}

void dmarc_record_release(struct dmarc_record *r)
{
	if (!r)
		return;
	free(r->rua);
	free(r->ruf);
	free(r->fo);
	free(r->adkim);
	free(r->aspf);
	free(r->pct);
	memset(r, 0, sizeof *r);
	r->p = r->sp = DMARC_P_INVALID;
}
