/*
 * render.c - the plan as a text diff or as the JSON document of contract.md.
 *
 * JSON is built with cJSON: an item added to an object belongs to it, so
 * only the envelope is deleted. TXT values are shown as their logical text
 * (already joined from 255-byte strings); names are FQDNs with a dot.
 */
#include <string.h>

#include "render.h"
#include "provision/record.h"

#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_BOLD "\033[1m"
#define C_OFF "\033[0m"

static const char *action_name(enum change_action a)
{
	return a == CHANGE_CREATE ? "create" : a == CHANGE_UPDATE ? "update" : "delete";
}

static const char *severity_name(enum diag_severity s)
{
	return s == DIAG_ERROR ? "error" : s == DIAG_WARNING ? "warning" : "info";
}

static void print_value(FILE *out, char mark, const char *color_on, int color,
			const struct change *c, const char *value)
{
	const char *on = color ? color_on : "", *off = color ? C_OFF : "";
	if (c->type == RR_TXT)
		fprintf(out, "%s      %c \"%s\"%s\n", on, mark, value, off);
	else
		fprintf(out, "%s      %c %s%s\n", on, mark, value, off);
}

static void print_change(FILE *out, const struct change *c, int color)
{
	static const char marks[] = { '+', '~', '-' };
	const char *col = c->action == CHANGE_CREATE ? C_GREEN :
			  c->action == CHANGE_UPDATE ? C_YELLOW : C_RED;
	fprintf(out, "%s  %c %s %s %u (%s)%s\n", color ? col : "",
		marks[c->action], c->name, rr_type_name(c->type), (unsigned)c->ttl,
		c->what, color ? C_OFF : "");
	if (c->before && !(c->after && strcmp(c->before, c->after) == 0))
		print_value(out, '-', C_RED, color, c, c->before);
	if (c->after)
		print_value(out, '+', C_GREEN, color, c, c->after);
}

static void print_terms(FILE *out, const struct spf_term *t, size_t n, int depth)
{
	for (size_t i = 0; i < n; i++) {
		int w = 40 - 2 * depth;
		fprintf(out, "    %*s%-*s %3d%s%s%s\n", 2 * depth, "", w < 8 ? 8 : w,
			t[i].term, t[i].lookups, t[i].known ? "" : "+",
			t[i].note ? "  " : "", t[i].note ? t[i].note : "");
		print_terms(out, t[i].children, t[i].nchildren, depth + 1);
	}
}

void render_text_plan(FILE *out, const struct plan *p, int color)
{
	const char *b = color ? C_BOLD : "", *off = color ? C_OFF : "";
	fprintf(out, "%s%s%s (provider %s): ", b, p->domain, off,
		p->provider ? p->provider : "?");
	switch (p->status) {
	case PLAN_IN_SYNC: fprintf(out, "in sync\n"); break;
	case PLAN_CHANGES: fprintf(out, "%zu change%s\n", p->nchanges, p->nchanges == 1 ? "" : "s"); break;
	case PLAN_APPLIED: fprintf(out, "applied %zu change%s\n", p->nchanges, p->nchanges == 1 ? "" : "s"); break;
	case PLAN_REFUSED: fprintf(out, "refused\n"); break;
	case PLAN_ERROR: fprintf(out, "error\n"); break;
	case PLAN_DRIFTED: fprintf(out, "drifted\n"); break;
	}
	for (size_t i = 0; i < p->nchanges; i++)
		print_change(out, &p->changes[i], color);
	if (p->spf_counted) {
		if (p->spf.dns_failed)
			fprintf(out, "  spf lookups: unknown (DNS failed)\n");
		else
			fprintf(out, "  spf lookups: %d%s of %d, void lookups: %d of %d\n",
				p->spf.lookups, p->spf.known ? "" : "+", SPF_LOOKUP_LIMIT,
				p->spf.void_lookups, SPF_VOID_LIMIT);
		print_terms(out, p->spf.terms, p->spf.nterms, 0);
	}
	if (p->verdict_ip)
		fprintf(out, "  spf verdict for %s: %s\n", p->verdict_ip,
			spf_result_name(p->verdict));
	for (size_t i = 0; i < p->ndiags; i++) {
		const struct diag *d = &p->diags[i];
		const char *col = d->severity == DIAG_ERROR ? C_RED : C_YELLOW;
		fprintf(out, "  %s%s%s: %s [%s]\n", color ? col : "",
			severity_name(d->severity), off, d->message, d->code);
	}
}

void render_failure_line(FILE *out, const struct plan *p)
{
	if (p->status != PLAN_ERROR && p->status != PLAN_REFUSED && p->status != PLAN_DRIFTED)
		return;
	size_t n = strlen(p->domain);
	if (n > 1 && p->domain[n - 1] == '.')
		n--;
	fprintf(out, "provision: %.*s: ", (int)n, p->domain);
	const char *sep = "";
	for (size_t i = 0; i < p->ndiags; i++)
		if (p->diags[i].severity == DIAG_ERROR) {
			fputs(sep, out);
			for (const char *c = p->diags[i].message; *c; c++)
				fputc((unsigned char)*c >= 0x20 ? *c : ' ', out);
			sep = "; ";
		}
	fprintf(out, "%s\n", *sep ? "" : plan_status_name(p->status));
}

cJSON *render_json_envelope(int dry_run)
{
	cJSON *env = cJSON_CreateObject();
	if (!env || !cJSON_AddNumberToObject(env, "version", 1) ||
	    !cJSON_AddBoolToObject(env, "dry_run", dry_run) ||
	    !cJSON_AddArrayToObject(env, "domains")) {
		cJSON_Delete(env);
		return NULL;
	}
	return env;
}

static cJSON *value_array(const char *v)
{
	if (!v)
		return cJSON_CreateNull();
	cJSON *a = cJSON_CreateArray();
	if (a)
		cJSON_AddItemToArray(a, cJSON_CreateString(v));
	return a;
}

static cJSON *json_terms(const struct spf_term *t, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; arr && i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToArray(arr, o);
		cJSON_AddStringToObject(o, "term", t[i].term);
		cJSON_AddStringToObject(o, "domain", t[i].domain);
		cJSON_AddNumberToObject(o, "lookups", t[i].lookups);
		cJSON_AddNumberToObject(o, "void_lookups", t[i].void_lookups);
		cJSON_AddBoolToObject(o, "known", t[i].known);
		if (t[i].note)
			cJSON_AddStringToObject(o, "note", t[i].note);
		cJSON_AddItemToObject(o, "children", json_terms(t[i].children, t[i].nchildren));
	}
	return arr;
}

static cJSON *json_spf(const struct plan *p)
{
	if (!p->spf_record)
		return cJSON_CreateNull();
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "record", p->spf_record);
	if (p->spf_counted && !p->spf.dns_failed) {
		cJSON_AddNumberToObject(o, "lookups", p->spf.lookups);
		cJSON_AddNumberToObject(o, "void_lookups", p->spf.void_lookups);
	} else {
		cJSON_AddNullToObject(o, "lookups");
		cJSON_AddNullToObject(o, "void_lookups");
	}
	cJSON_AddBoolToObject(o, "known", p->spf_counted && p->spf.known);
	cJSON_AddNumberToObject(o, "limit", SPF_LOOKUP_LIMIT);
	cJSON_AddNumberToObject(o, "void_limit", SPF_VOID_LIMIT);
	cJSON_AddItemToObject(o, "terms", p->spf_counted ?
			      json_terms(p->spf.terms, p->spf.nterms) : cJSON_CreateArray());
	if (p->verdict_ip) {
		cJSON *v = cJSON_AddObjectToObject(o, "verdict");
		cJSON_AddStringToObject(v, "ip", p->verdict_ip);
		cJSON_AddStringToObject(v, "result", spf_result_name(p->verdict));
	} else {
		cJSON_AddNullToObject(o, "verdict");
	}
	return o;
}

int render_json_plan(cJSON *envelope, const struct plan *p)
{
	cJSON *domains = cJSON_GetObjectItemCaseSensitive(envelope, "domains");
	cJSON *d = cJSON_CreateObject();
	if (!d || !domains)
		return -1;
	cJSON_AddItemToArray(domains, d);
	cJSON_AddStringToObject(d, "domain", p->domain);
	cJSON_AddStringToObject(d, "provider", p->provider ? p->provider : "");
	cJSON_AddStringToObject(d, "status", plan_status_name(p->status));
	cJSON *changes = cJSON_AddArrayToObject(d, "changes");
	for (size_t i = 0; changes && i < p->nchanges; i++) {
		const struct change *c = &p->changes[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToArray(changes, o);
		cJSON_AddStringToObject(o, "action", action_name(c->action));
		cJSON_AddStringToObject(o, "record", c->what);
		cJSON_AddStringToObject(o, "name", c->name);
		cJSON_AddStringToObject(o, "type", rr_type_name(c->type));
		cJSON_AddNumberToObject(o, "ttl", c->ttl);
		cJSON_AddItemToObject(o, "before", value_array(c->before));
		cJSON_AddItemToObject(o, "after", value_array(c->after));
	}
	cJSON_AddItemToObject(d, "spf", json_spf(p));
	cJSON *diags = cJSON_AddArrayToObject(d, "diagnostics");
	for (size_t i = 0; diags && i < p->ndiags; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToArray(diags, o);
		cJSON_AddStringToObject(o, "severity", severity_name(p->diags[i].severity));
		cJSON_AddStringToObject(o, "code", p->diags[i].code);
		cJSON_AddStringToObject(o, "message", p->diags[i].message);
	}
	return 0;
}

int render_json_print(FILE *out, const cJSON *envelope)
{
	char *s = cJSON_Print(envelope);
	if (!s)
		return -1;
	int rc = fprintf(out, "%s\n", s) < 0 ? -1 : 0;
	cJSON_free(s);
	return rc;
}
