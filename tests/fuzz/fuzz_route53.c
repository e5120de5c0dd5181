/*
 * fuzz_route53.c - libFuzzer target for the Route 53 answer reader
 * (providers/route53_xml.c and route53_text.c, the code the provider reads
 * every answer with).
 *
 * The input is one answer body. r53_xml_parse() reads it; a document it
 * takes goes through r53_xml_error() and every <ResourceRecordSet> under
 * its root through r53_xml_set(). Asserted, with abort() on a mismatch:
 * the error code and message are never empty; every set read has a name,
 * a type and a plain name in lower case ending in a dot (the core's form,
 * whatever the answer wrote); a TXT value read
 * is quoted again into text that unquotes to the same value; and the sets
 * read, written back as a ChangeBatch by r53_xml_batch(), read back with
 * the same name, type, TTL and values. Everything is freed (LeakSanitizer
 * is on).
 *
 * Build: make fuzz (clang, -fsanitize=fuzzer,address,undefined).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "route53_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SETS 64

static size_t nvals(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

static void check_set(const struct r53_set *s)
{
	size_t n = s->plain ? strlen(s->plain) : 0;
	if (!*s->name || !*s->type || !n || s->plain[n - 1] != '.')
		abort();
	for (const char *p = s->plain; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			abort();
	if (strcmp(s->type, "TXT") != 0 || s->special)
		return;
	for (size_t i = 0; s->raw && s->raw[i]; i++) {
		char *v = r53_txt_unquote(s->raw[i]);
		if (!v)
			continue; /* not quoted strings: read as it is */
		char *q = r53_txt_quote(v), *back = q ? r53_txt_unquote(q) : NULL;
		if (q && (!back || strcmp(back, v) != 0))
			abort();
		free(back);
		free(q);
		free(v);
	}
}

/* The sets, as a ChangeBatch of CREATEs, read back the same. */
static void round_trip(struct r53_set *sets, size_t n)
{
	struct r53_xml_change c[MAX_SETS];
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!sets[i].special && nvals(sets[i].raw))
			c[k++] = (struct r53_xml_change){ "CREATE", sets[i].name, sets[i].type,
							  sets[i].ttl, sets[i].raw };
	if (!k)
		return;
	char *doc = r53_xml_batch(c, k, "fuzz");
	if (!doc)
		return;
	xmlDoc *d = r53_xml_parse(doc, strlen(doc));
	if (!d)
		abort(); /* we wrote what we cannot read */
	xmlNode *ch = r53_xml_child(r53_xml_child(xmlDocGetRootElement(d), "ChangeBatch"), "Changes");
	size_t j = 0;
	for (xmlNode *x = ch ? ch->children : NULL; x; x = x->next) {
		if (!r53_xml_is(x, "Change"))
			continue;
		struct r53_set back;
		if (j >= k || r53_xml_set(r53_xml_child(x, "ResourceRecordSet"), &back) < 0)
			abort();
		if (strcmp(back.name, c[j].name) != 0 || strcmp(back.type, c[j].type) != 0 ||
		    back.ttl != c[j].ttl || nvals(back.raw) != nvals(c[j].raw))
			abort();
		for (size_t v = 0; back.raw[v]; v++)
			if (strcmp(back.raw[v], c[j].raw[v]) != 0)
				abort();
		r53_set_free(&back);
		j++;
	}
	if (j != k)
		abort();
	xmlFreeDoc(d);
	free(doc);
}

static void walk(xmlNode *n, struct r53_set *sets, size_t *nsets, int depth)
{
	for (xmlNode *c = n ? n->children : NULL; c && depth < 8; c = c->next) {
		if (r53_xml_is(c, "ResourceRecordSet") && *nsets < MAX_SETS) {
			if (r53_xml_set(c, &sets[*nsets]) == 0)
				check_set(&sets[(*nsets)++]);
		} else if (c->type == XML_ELEMENT_NODE) {
			walk(c, sets, nsets, depth + 1);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	xmlDoc *d = r53_xml_parse((const char *)data, size);
	if (!d)
		return 0;
	xmlNode *root = xmlDocGetRootElement(d);
	char code[128], msg[512];
	r53_xml_error(root, code, sizeof code, msg, sizeof msg);
	if (!*code || !*msg)
		abort();
	struct r53_set sets[MAX_SETS];
	size_t n = 0;
	walk(root, sets, &n, 0);
	round_trip(sets, n);
	for (size_t i = 0; i < n; i++)
		r53_set_free(&sets[i]);
	xmlFreeDoc(d);
	return 0;
}
