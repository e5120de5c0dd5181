/*
 * route53_text.c - names and TXT values in Route 53's text forms: TXT
 * values as quoted character-strings of at most 255 bytes with octal \DDD
 * escapes, names with octal escapes for what is not a letter, digit, '-'
 * or '_', and the order ListResourceRecordSets lists names in (labels
 * reversed, compared as ASCII).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provision/buf.h"
#include "provision/record.h"
#include "provision/util.h"
#include "route53_xml.h"

char *r53_txt_quote(const char *value)
{
	struct buf b = BUF_INIT;
	size_t len = strlen(value), off = 0;
	int bad = 0;
	do {
		size_t k = len - off < TXT_STRING_MAX ? len - off : TXT_STRING_MAX;
		if (off)
			bad |= buf_putc(&b, ' ');
		bad |= buf_putc(&b, '"');
		for (size_t i = off; i < off + k; i++) {
			unsigned char c = (unsigned char)value[i];
			if (c == '"' || c == '\\')
				bad |= buf_printf(&b, "\\%c", c);
			else if (c < 0x20 || c > 0x7e)
				bad |= buf_printf(&b, "\\%03o", c); /* octal, as Route 53 */
			else
				bad |= buf_putc(&b, (char)c);
		}
		bad |= buf_putc(&b, '"');
		off += k;
	} while (off < len);
	if (bad) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

static int is_octal(char c)
{
	return c >= '0' && c <= '7';
}

char *r53_txt_unquote(const char *text)
{
	struct buf b = BUF_INIT;
	const char *p = text;
	int any = 0;
	if (*p != '"' && *p != ' ' && *p != '\t')
		return strdup(text); /* not quoted: taken as it is */
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (*p++ != '"')
			goto bad;
		while (*p != '"') {
			unsigned char c = (unsigned char)*p++;
			if (!c)
				goto bad;
			if (c == '\\') {
				if (is_octal(p[0]) && is_octal(p[1]) && is_octal(p[2])) {
					int v = (p[0] - '0') * 64 + (p[1] - '0') * 8 + (p[2] - '0');
					if (v > 255)
						goto bad;
					c = (unsigned char)v;
					p += 3;
				} else if (*p) {
					c = (unsigned char)*p++;
				} else {
					goto bad;
				}
			}
			if (buf_putc(&b, (char)c) < 0)
				goto bad;
		}
		p++;
		if (*p && *p != ' ' && *p != '\t')
			goto bad;
		any = 1;
	}
	if (!any)
		goto bad;
	return buf_detach(&b);
bad:
	buf_release(&b);
	return NULL;
}

char *r53_name_escape(const char *name)
{
	struct buf b = BUF_INIT;
	int bad = 0;
	for (const char *p = name; *p; p++) {
		unsigned char c = (unsigned char)tolower((unsigned char)*p);
		if (isalnum(c) || c == '-' || c == '_' || c == '.')
			bad |= buf_putc(&b, (char)c);
		else
			bad |= buf_printf(&b, "\\%03o", c);
	}
	if (!b.len || b.data[b.len - 1] != '.')
		bad |= buf_putc(&b, '.');
	if (bad) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

char *r53_name_unescape(const char *name)
{
	struct buf b = BUF_INIT;
	int bad = 0;
	for (const char *p = name; *p; p++) {
		if (p[0] == '\\' && is_octal(p[1]) && is_octal(p[2]) && is_octal(p[3])) {
			int v = (p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0');
			bad |= buf_putc(&b, (char)(v & 0xff));
			p += 3;
		} else {
			bad |= buf_putc(&b, *p);
		}
	}
	char *s = bad ? NULL : dname_fqdn(buf_str(&b));
	buf_release(&b);
	return s;
}

/* "_dmarc.example.com." -> "com.example._dmarc.": ListResourceRecordSets'
 * order is this text compared as ASCII (API_ListResourceRecordSets). */
char *r53_order_key(const char *escaped)
{
	struct buf b = BUF_INIT;
	size_t len = strlen(escaped);
	while (len && escaped[len - 1] == '.')
		len--;
	int bad = 0;
	size_t end = len;
	while (end > 0) {
		size_t start = end;
		while (start > 0 && escaped[start - 1] != '.')
			start--;
		bad |= buf_add(&b, escaped + start, end - start);
		bad |= buf_putc(&b, '.');
		end = start ? start - 1 : 0;
	}
	if (!b.len)
		bad |= buf_putc(&b, '.');
	if (bad) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

uint16_t r53_type_num(const char *type)
{
	static const struct {
		const char *name;
		uint16_t num;
	} more[] = { { "NAPTR", 35 }, { "DS", 43 }, { "SSHFP", 44 }, { "TLSA", 52 },
		     { "SVCB", 64 }, { "HTTPS", 65 } };
	uint16_t t = rr_type_from_name(type);
	for (size_t i = 0; !t && i < sizeof more / sizeof more[0]; i++)
		if (strcasecmp(more[i].name, type) == 0)
			t = more[i].num;
	return t;
}

/* A value as the core holds it. */
char *r53_value_in(const char *type, const char *raw)
{
	if (strcmp(type, "TXT") == 0 || strcmp(type, "SPF") == 0) {
		char *v = r53_txt_unquote(raw);
		return v ? v : strdup(raw);
	}
	if (strcmp(type, "CNAME") == 0 || strcmp(type, "NS") == 0 || strcmp(type, "PTR") == 0)
		return dname_fqdn(raw);
	return strdup(raw);
}

/* A value as Route 53 is sent it. */
char *r53_value_out(const char *type, const char *value)
{
	if (strcmp(type, "TXT") == 0 || strcmp(type, "SPF") == 0)
		return r53_txt_quote(value);
	return strdup(value);
}
