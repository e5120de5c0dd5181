/*
 * dnsrr.c - ldns records as record.h holds them (TXT: the logical text,
 * RFC 7208 §3.3; split into 255-byte character-strings only on the way out,
 * RFC 1035 §3.3), shared by the zonefile and rfc2136 providers.
 */
#include <stdlib.h>
#include <string.h>

#include "dnsrr.h"
#include "provision/record.h"
#include "provision/util.h"

char *dnsrr_value(const ldns_rr *rr)
{
	struct buf b = BUF_INIT;
	ldns_rr_type type = ldns_rr_get_type(rr);
	size_t first = type == LDNS_RR_TYPE_MX ? 1 : 0;
	int rc = 0;
	for (size_t i = first; rc == 0 && i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);
		if (type == LDNS_RR_TYPE_TXT) {
			const uint8_t *d = ldns_rdf_data(f);
			if (ldns_rdf_size(f))
				rc = buf_add(&b, d + 1, d[0]);
			continue;
		}
		char *s = ldns_rdf2str(f);
		if (s && ldns_rdf_get_type(f) == LDNS_RDF_TYPE_DNAME)
			for (char *p = s; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p - 'A' + 'a');
		rc = !s || (i > first && buf_putc(&b, ' ') < 0) ||
		     buf_puts(&b, s) < 0 ? -1 : 0;
		free(s);
	}
	if (rc == 0 && buf_puts(&b, "") == 0)
		return buf_detach(&b);
	buf_release(&b);
	return NULL;
}

/* A name as master-file text: ldns prints a '"' in a label bare, but its
 * reader takes a bare '"' for the start of a quoted string, which turns
 * the quoting of the rest of the line inside out; so it is escaped
 * (other specials come escaped already). 0 or -1. */
static int put_name(struct buf *b, const char *name)
{
	for (const char *p = name; *p; p++) {
		int rc = *p == '"' ? buf_puts(b, "\\\"") : buf_putc(b, *p);
		if (rc == 0 && *p == '\\' && p[1])
			rc = buf_putc(b, *++p); /* an escape: its character as is */
		if (rc < 0)
			return -1;
	}
	return 0;
}

int dnsrr_text(struct buf *b, const char *name, uint16_t type, uint32_t ttl,
	       const char *value, int multiline)
{
	char *owner = dname_fqdn(name);
	int rc = owner && put_name(b, owner) == 0 ?
		 buf_printf(b, "\t%u\tIN\t%s\t", (unsigned)ttl, rr_type_name(type)) : -1;
	free(owner);
	if (rc == 0 && type == RR_TXT) {
		char **parts = txt_split(value);
		size_t n = strv_len(parts);
		int paren = multiline && n > 1;
		rc = parts ? 0 : -1;
		if (rc == 0 && paren)
			rc = buf_puts(b, "(");
		for (size_t i = 0; rc == 0 && i < n; i++)
			rc = (paren ? buf_puts(b, i ? "\n\t" : " ")
				    : i ? buf_puts(b, " ") : 0) ||
			     txt_quote(b, parts[i]) ? -1 : 0;
		if (rc == 0 && paren)
			rc = buf_puts(b, " )");
		strv_free(parts);
	} else if (rc == 0 && (type == RR_CNAME || type == RR_NS ||
			       type == RR_PTR)) {
		char *target = dname_fqdn(value);
		rc = target ? put_name(b, target) : -1;
		free(target);
	} else if (rc == 0) {
		rc = buf_puts(b, value);
	}
	return rc == 0 ? buf_putc(b, '\n') : -1;
}

ldns_rr *dnsrr_new(const char *name, uint16_t type, uint32_t ttl,
		   const char *value)
{
	struct buf b = BUF_INIT;
	ldns_rr *rr = NULL;
	if (dnsrr_text(&b, name, type, ttl, value, 0) == 0) {
		b.data[--b.len] = '\0'; /* the newline */
		if (ldns_rr_new_frm_str(&rr, b.data, 0, NULL, NULL) != LDNS_STATUS_OK)
			rr = NULL;
	}
	buf_release(&b);
	return rr;
}
