/*
 * route53_xml.c - Route 53's XML with libxml2: the answer documents read
 * (elements by local name, record sets, both shapes of error document) and
 * the ChangeResourceRecordSetsRequest written. The parser never touches
 * the network and takes bytes, so it can be fuzzed on its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "provision/buf.h"
#include "provision/util.h"
#include "route53_xml.h"

static pthread_once_t parser_once = PTHREAD_ONCE_INIT;

static void parser_init(void)
{
	xmlInitParser(); /* before threads parse (libxml2: "not reentrant") */
}

xmlDoc *r53_xml_parse(const char *data, size_t len)
{
	pthread_once(&parser_once, parser_init);
	if (!len || len > (size_t)0x7fffffff)
		return NULL;
	return xmlReadMemory(data, (int)len, "route53.xml", NULL,
			     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
			     XML_PARSE_NOBLANKS);
}

int r53_xml_is(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

xmlNode *r53_xml_child(const xmlNode *n, const char *name)
{
	for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (r53_xml_is(c, name))
			return c;
	return NULL;
}

char *r53_xml_text(const xmlNode *n, const char *name)
{
	xmlNode *c = r53_xml_child(n, name);
	if (!c)
		return NULL;
	xmlChar *t = xmlNodeGetContent(c);
	char *s = strdup(t ? (const char *)t : "");
	xmlFree(t);
	return s;
}

int r53_xml_true(const xmlNode *n, const char *name)
{
	char *t = r53_xml_text(n, name);
	int yes = t && strcmp(t, "true") == 0;
	free(t);
	return yes;
}

void r53_xml_error(const xmlNode *root, char *code_out, size_t code_size, char *msg_out,
		   size_t msg_size)
{
	char *code = NULL, *msg = NULL;
	if (r53_xml_is(root, "ErrorResponse")) {
		xmlNode *e = r53_xml_child(root, "Error");
		code = r53_xml_text(e, "Code");
		msg = r53_xml_text(e, "Message");
	} else if (r53_xml_is(root, "InvalidChangeBatch")) {
		struct buf b = BUF_INIT;
		code = strdup("InvalidChangeBatch");
		for (xmlNode *m = r53_xml_child(r53_xml_child(root, "Messages"), "Message"); m;
		     m = m->next) {
			if (!r53_xml_is(m, "Message"))
				continue;
			xmlChar *t = xmlNodeGetContent(m);
			buf_printf(&b, "%s%s", b.len ? ", " : "[", t ? (const char *)t : "");
			xmlFree(t);
		}
		if (b.len)
			buf_putc(&b, ']');
		msg = buf_detach(&b);
	}
	snprintf(code_out, code_size, "%s", code && *code ? code : "unknown");
	snprintf(msg_out, msg_size, "%s", msg && *msg ? msg : "no message");
	free(code);
	free(msg);
}

void r53_set_free(struct r53_set *s)
{
	free(s->name);
	free(s->plain);
	free(s->type);
	strv_free(s->raw);
	strv_free(s->vals);
	memset(s, 0, sizeof *s);
}

int r53_xml_set(const xmlNode *n, struct r53_set *s)
{
	int rc = 0;
	memset(s, 0, sizeof *s);
	s->name = r53_xml_text(n, "Name");
	s->type = r53_xml_text(n, "Type");
	s->plain = s->name && *s->name ? r53_name_unescape(s->name) : NULL;
	if (!s->name || !s->type || !*s->type || !s->plain) {
		r53_set_free(s);
		return -1;
	}
	char *ttl = r53_xml_text(n, "TTL"), *setid = r53_xml_text(n, "SetIdentifier");
	xmlNode *alias = r53_xml_child(n, "AliasTarget");
	/* RFC 2181 section 8: a TTL is at most 2^31 - 1; more (or a sign)
	 * is read as that, never wrapped to a small number */
	unsigned long long t = ttl && *ttl != '-' ? strtoull(ttl, NULL, 10) : 0;
	s->ttl = t > 2147483647ULL ? 2147483647u : (uint32_t)t;
	s->special = setid || alias;
	free(ttl);
	free(setid);
	if (alias) {
		char *dns = r53_xml_text(alias, "DNSName");
		char *v = dns ? r53_name_unescape(dns) : NULL;
		if (!v || strv_push(&s->vals, v) < 0)
			rc = -1;
		free(dns);
		free(v);
	}
	for (xmlNode *rr = r53_xml_child(r53_xml_child(n, "ResourceRecords"), "ResourceRecord");
	     rr && rc == 0; rr = rr->next) {
		if (!r53_xml_is(rr, "ResourceRecord"))
			continue;
		char *raw = r53_xml_text(rr, "Value");
		char *v = raw ? r53_value_in(s->type, raw) : NULL;
		if (!raw || !v || strv_push(&s->raw, raw) < 0 || strv_push(&s->vals, v) < 0)
			rc = -1;
		free(raw);
		free(v);
	}
	if (rc < 0)
		r53_set_free(s);
	return rc;
}

static void add_set_xml(xmlNode *changes, xmlNs *ns, const struct r53_xml_change *c)
{
	char num[16];
	xmlNode *ch = xmlNewChild(changes, ns, BAD_CAST "Change", NULL);
	xmlNewTextChild(ch, ns, BAD_CAST "Action", BAD_CAST c->action);
	xmlNode *rs = xmlNewChild(ch, ns, BAD_CAST "ResourceRecordSet", NULL);
	xmlNewTextChild(rs, ns, BAD_CAST "Name", BAD_CAST c->name);
	xmlNewTextChild(rs, ns, BAD_CAST "Type", BAD_CAST c->type);
	snprintf(num, sizeof num, "%u", (unsigned)c->ttl);
	xmlNewTextChild(rs, ns, BAD_CAST "TTL", BAD_CAST num);
	xmlNode *rrs = xmlNewChild(rs, ns, BAD_CAST "ResourceRecords", NULL);
	for (size_t i = 0; c->raw && c->raw[i]; i++) {
		xmlNode *rr = xmlNewChild(rrs, ns, BAD_CAST "ResourceRecord", NULL);
		xmlNewTextChild(rr, ns, BAD_CAST "Value", BAD_CAST c->raw[i]);
	}
}

char *r53_xml_batch(const struct r53_xml_change *c, size_t n, const char *comment)
{
	xmlDoc *doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNode *root = doc ? xmlNewNode(NULL, BAD_CAST "ChangeResourceRecordSetsRequest") : NULL;
	char *out = NULL;
	if (!root) {
		xmlFreeDoc(doc);
		return NULL;
	}
	xmlDocSetRootElement(doc, root);
	xmlNs *ns = xmlNewNs(root, BAD_CAST R53_NS, NULL);
	xmlSetNs(root, ns);
	/* members in the API model's order, as the SDKs send them */
	xmlNode *cb = xmlNewChild(root, ns, BAD_CAST "ChangeBatch", NULL);
	xmlNode *changes = xmlNewChild(cb, ns, BAD_CAST "Changes", NULL);
	for (size_t i = 0; i < n; i++)
		add_set_xml(changes, ns, &c[i]);
	xmlNewTextChild(cb, ns, BAD_CAST "Comment", BAD_CAST comment);
	xmlChar *mem = NULL;
	int len = 0;
	xmlDocDumpMemoryEnc(doc, &mem, &len, "UTF-8");
	if (mem)
		out = strndup((const char *)mem, (size_t)len);
	xmlFree(mem);
	xmlFreeDoc(doc);
	return out;
}
