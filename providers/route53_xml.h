/*
 * route53_xml.h - Route 53's wire forms (internal to the route53 provider):
 * names and TXT values as Route 53 writes them (route53_text.c), and its
 * XML read and written with libxml2 (route53_xml.c). Pure functions: no
 * network, no provider state, so tests and fuzzers can call them on bytes.
 */
#ifndef PROVISION_ROUTE53_XML_H
#define PROVISION_ROUTE53_XML_H

#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#define R53_NS "https://route53.amazonaws.com/doc/2013-04-01/"

/* One record set as Route 53 answered it. */
struct r53_set {
	char *name;   /* as Route 53 wrote it (escaped, trailing dot) */
	char *plain;  /* unescaped FQDN, lower case */
	char *type;
	uint32_t ttl;
	char **raw;   /* values as read (TXT quoted), NULL-terminated */
	char **vals;  /* values as the core holds them */
	int special;  /* alias or routing-policy set: not edited here */
};

/* route53_text.c: each returns a string the caller frees, NULL on no
 * memory (r53_txt_unquote also on text that is not quoted strings). */

/* A TXT value as quoted 255-byte strings with Route 53's \DDD escapes. */
char *r53_txt_quote(const char *value);
char *r53_txt_unquote(const char *text);
/* A name with Route 53's escapes ("*" -> "\052"), lower case, a dot last. */
char *r53_name_escape(const char *name);
char *r53_name_unescape(const char *name);
/* "_dmarc.example.com." -> "com.example._dmarc.": ListResourceRecordSets'
 * order is this text compared as ASCII. */
char *r53_order_key(const char *escaped);
/* A value as the core holds it, and as Route 53 is sent it. */
char *r53_value_in(const char *type, const char *raw);
char *r53_value_out(const char *type, const char *value);
/* The type number of a type name, also of those record.h does not name;
 * 0 when unknown. */
uint16_t r53_type_num(const char *type);

/* route53_xml.c */

/* The document in data[0..len), or NULL when it is not XML (no network
 * access, no entities fetched). Free with xmlFreeDoc. */
xmlDoc *r53_xml_parse(const char *data, size_t len);
/* 1 when n is an element of this local name. */
int r53_xml_is(const xmlNode *n, const char *name);
/* n's first child element of this name, or NULL (n may be NULL). */
xmlNode *r53_xml_child(const xmlNode *n, const char *name);
/* The text of n's child element name (caller frees), or NULL. */
char *r53_xml_text(const xmlNode *n, const char *name);
/* 1 when n's child element name holds "true". */
int r53_xml_true(const xmlNode *n, const char *name);

/* The code and message of an error document, either shape: <ErrorResponse>
 * or <InvalidChangeBatch> with <Messages>. "unknown" / "no message" when
 * the document has none; the message may hold line breaks. */
void r53_xml_error(const xmlNode *root, char *code, size_t code_size, char *msg,
		   size_t msg_size);

/* A <ResourceRecordSet> as *s (zeroed first). 0, or -1 when it has no
 * Name or Type (or an empty one) or memory ran out (s released then). A
 * TTL beyond 2^31 - 1 is read as 2^31 - 1 (RFC 2181 section 8). An alias set gets its
 * target as its one value. */
int r53_xml_set(const xmlNode *n, struct r53_set *s);
void r53_set_free(struct r53_set *s);

/* One <Change> of a ChangeResourceRecordSetsRequest. */
struct r53_xml_change {
	const char *action;  /* "DELETE", "CREATE" */
	const char *name;
	const char *type;
	uint32_t ttl;
	char *const *raw;    /* values as sent, NULL-terminated */
};

/* The ChangeResourceRecordSetsRequest document of these changes, in this
 * order, with this comment (caller frees); NULL on no memory. */
char *r53_xml_batch(const struct r53_xml_change *c, size_t n, const char *comment);

#endif
