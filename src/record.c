/*
 * record.c - record sets, and TXT values between logical text and the
 * character-strings of the wire and the zone file.
 *
 * A TXT character-string holds at most 255 bytes (RFC 1035 §3.3; ldns
 * str2host.c rejects more), so a 2048-bit DKIM key (401 characters with its
 * tags) is two strings. SPF, DKIM and DMARC join strings with nothing
 * between them, so the cut may fall anywhere (email-auth-rules.md §4.2).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provision/record.h"
#include "provision/util.h"

static const struct {
	uint16_t type;
	const char *name;
} rr_types[] = {
	{ RR_A, "A" },     { RR_NS, "NS" },   { RR_CNAME, "CNAME" },
	{ RR_SOA, "SOA" }, { RR_PTR, "PTR" }, { RR_MX, "MX" },
	{ RR_TXT, "TXT" }, { RR_AAAA, "AAAA" }, { 33, "SRV" },
	{ 99, "SPF" },     { 257, "CAA" },
};

const char *rr_type_name(uint16_t type)
{
	static _Thread_local char other[16];
	for (size_t i = 0; i < sizeof rr_types / sizeof rr_types[0]; i++)
		if (rr_types[i].type == type)
			return rr_types[i].name;
	snprintf(other, sizeof other, "TYPE%u", (unsigned)type);
	return other;
}

uint16_t rr_type_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof rr_types / sizeof rr_types[0]; i++)
		if (strcasecmp(rr_types[i].name, name) == 0)
			return rr_types[i].type;
	return 0;
}

static struct rrset *find_set(const struct rrset_list *l, const char *name,
			      uint16_t type)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].type == type && dname_equal(l->v[i].name, name))
			return &l->v[i];
	return NULL;
}

int rrset_list_add(struct rrset_list *l, const char *name, uint16_t type,
		   uint32_t ttl, const char *value)
{
	struct rrset *s = find_set(l, name, type);
	if (!s) {
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 8;
			struct rrset *v = realloc(l->v, cap * sizeof *v);
			if (!v)
				return -1;
			l->v = v;
			l->cap = cap;
		}
		s = &l->v[l->n];
		memset(s, 0, sizeof *s);
		if (!(s->name = dname_fqdn(name)))
			return -1;
		s->type = type;
		s->ttl = ttl;
		l->n++;
	}
	size_t n = strv_len(s->values);
	uint32_t *t = realloc(s->ttls, (n + 1) * sizeof *t);
	if (!t)
		return -1;
	s->ttls = t;
	t[n] = ttl;
	return strv_push(&s->values, value);
}

uint32_t rrset_value_ttl(const struct rrset *set, const char *value)
{
	for (size_t i = 0; set->ttls && value && set->values[i]; i++)
		if (strcmp(set->values[i], value) == 0)
			return set->ttls[i];
	return set->ttl;
}

const struct rrset *rrset_list_find(const struct rrset_list *l,
				    const char *name, uint16_t type)
{
	return find_set(l, name, type);
}

static size_t nvalues(const struct rrset *s)
{
	size_t n = 0;
	while (s && s->values && s->values[n])
		n++;
	return n;
}

int rrset_same(const struct rrset *a, const struct rrset *b, int with_ttls)
{
	size_t na = nvalues(a), nb = nvalues(b);
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++) {
		int found = 0;
		for (size_t k = 0; k < nb && !found; k++)
			found = strcmp(a->values[i], b->values[k]) == 0 &&
				(!with_ttls || rrset_value_ttl(a, a->values[i]) ==
						       rrset_value_ttl(b, b->values[k]));
		if (!found)
			return 0;
	}
	return 1;
}

int rrset_text(struct buf *out, const struct rrset *s, int with_ttls)
{
	size_t n = nvalues(s);
	int rc = n ? 0 : buf_puts(out, "(nothing)");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = buf_printf(out, "%s\"%s\"", i ? ", " : "", s->values[i]);
		if (rc == 0 && with_ttls)
			rc = buf_printf(out, " (ttl %u)", (unsigned)rrset_value_ttl(s, s->values[i]));
	}
	return rc;
}

int rrset_list_has_other(const struct rrset_list *l, const char *name,
			 uint16_t except_type)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].type != except_type &&
		    dname_equal(l->v[i].name, name))
			return 1;
	return 0;
}

void rrset_list_release(struct rrset_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		strv_free(l->v[i].values);
		free(l->v[i].ttls);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

char **txt_split(const char *value)
{
	size_t len = strlen(value), n = len ? (len + TXT_STRING_MAX - 1) / TXT_STRING_MAX : 1;
	char **v = calloc(n + 1, sizeof *v);
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t off = i * TXT_STRING_MAX;
		size_t k = len - off < TXT_STRING_MAX ? len - off : TXT_STRING_MAX;
		if (!(v[i] = strndup(value + off, k))) {
			strv_free(v);
			return NULL;
		}
	}
	return v;
}

char *txt_join(char *const *strings)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; strings && strings[i]; i++)
		if (buf_puts(&b, strings[i]) < 0) {
			buf_release(&b);
			return NULL;
		}
	return buf_detach(&b);
}

int txt_quote(struct buf *out, const char *value)
{
	size_t len = strlen(value), off = 0;
	do {
		size_t k = len - off < TXT_STRING_MAX ? len - off : TXT_STRING_MAX;
		if (off && buf_putc(out, ' ') < 0)
			return -1;
		if (buf_putc(out, '"') < 0)
			return -1;
		for (size_t i = off; i < off + k; i++) {
			unsigned char c = (unsigned char)value[i];
			int rc;
			if (c == '"' || c == '\\')
				rc = buf_printf(out, "\\%c", c);
			else if (c < 0x20 || c > 0x7e)
				rc = buf_printf(out, "\\%03u", c);
			else
				rc = buf_putc(out, (char)c);
			if (rc < 0)
				return -1;
		}
		if (buf_putc(out, '"') < 0)
			return -1;
		off += k;
	} while (off < len);
	return 0;
}

/* Read one escape at *p (after the backslash) into *c; advance *p. */
static int unescape(const char **p, unsigned char *c)
{
	const char *s = *p;
	if (isdigit((unsigned char)s[0])) {
		if (!isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]))
			return -1;
		int v = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
		if (v > 255)
			return -1;
		*c = (unsigned char)v;
		*p = s + 3;
		return 0;
	}
	if (!s[0])
		return -1;
	*c = (unsigned char)s[0];
	*p = s + 1;
	return 0;
}

char *txt_unquote(const char *text)
{
	struct buf b = BUF_INIT;
	const char *p = text;
	int any = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		int quoted = (*p == '"');
		if (quoted)
			p++;
		size_t piece = 0;
		while (*p && (quoted ? *p != '"' : (*p != ' ' && *p != '\t'))) {
			unsigned char c = (unsigned char)*p++;
			if (c == '\\' && unescape(&p, &c) < 0)
				goto bad;
			if (++piece > TXT_STRING_MAX || buf_putc(&b, (char)c) < 0)
				goto bad;
		}
		if (quoted) {
			if (*p != '"')
				goto bad;
			p++;
		}
		any = 1;
	}
	if (!any)
		goto bad;
	return buf_detach(&b);
bad:
	buf_release(&b);
	return NULL;
}
