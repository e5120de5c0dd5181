/*
 * check_render.c - the result of `provision check` for people and programs.
 *
 * Text: per domain its servers with their SOA serials, then one line per
 * record with a mark per server (+ pass, x fail, - missing, ? no answer),
 * the record's message and its notes; colour only when asked. JSON: the
 * envelope of contract.md with a `checks` array per domain. TXT values are
 * their logical text (strings joined, RFC 7208 §3.3).
 */
#include <string.h>

#include "check.h"
#include "provision/buf.h"

#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_BOLD "\033[1m"
#define C_OFF "\033[0m"
#define VALUE_MAX 64

static const char *dstatus_name(enum check_dstatus s)
{
	return s == CHECK_D_PASS ? "pass" : s == CHECK_D_FAIL ? "fail" : "error";
}

static const char *status_color(enum check_status s)
{
	return s == CHECK_PASS ? C_GREEN : s == CHECK_MISSING ? C_YELLOW : C_RED;
}

static char mark(enum check_status s)
{
	static const char marks[] = { '+', 'x', '-', '?' };
	return marks[s];
}

/* value made printable and cut to VALUE_MAX characters. */
static void print_value(FILE *out, const char *value)
{
	size_t n = strlen(value);
	for (size_t i = 0; i < n && i < VALUE_MAX; i++) {
		unsigned char ch = (unsigned char)value[i];
		fputc(ch >= 0x20 && ch < 0x7f ? ch : '?', out);
	}
	if (n > VALUE_MAX)
		fputs("...", out);
}

static const char *first_value(const struct check_item *it)
{
	for (size_t i = 0; i < it->nper; i++)
		if (it->per[i].value)
			return it->per[i].value;
	return NULL;
}

static void print_item(FILE *out, const struct check_item *it, int width, int color)
{
	const char *on = color ? status_color(it->status) : "", *off = color ? C_OFF : "";
	const char *value = first_value(it);
	fprintf(out, "  %-9s %s%-8s%s ", check_record_name(it->record), on,
		check_status_name(it->status), off);
	for (size_t i = 0; i < it->nper; i++)
		fprintf(out, "%*c ", width, mark(it->per[i].status));
	fputc(' ', out);
	if (it->record == CHECK_TRACKING && value)
		fprintf(out, "%s CNAME %s", it->name ? it->name : "", value);
	else if (value)
		print_value(out, value);
	else
		fputs(it->name ? it->name : "", out);
	fputc('\n', out);
	fprintf(out, "%14s%s\n", "", it->message ? it->message : "");
	for (size_t i = 0; i < it->nnotes; i++) {
		const struct check_note *n = &it->notes[i];
		fprintf(out, "%14s%s%s%s: %s\n", "", color && n->sev == NOTE_WARNING ? C_YELLOW : "",
			n->sev == NOTE_WARNING ? "warning" : "note",
			color && n->sev == NOTE_WARNING ? C_OFF : "", n->message);
	}
}

void check_render_text(FILE *out, const struct check_domain *cd, int color)
{
	const char *b = color ? C_BOLD : "", *off = color ? C_OFF : "";
	int width = cd->nservers >= 10 ? 2 : 1;
	fprintf(out, "%s%s%s (check, %zu server%s): %s%s%s\n", b, cd->domain, off,
		cd->nservers, cd->nservers == 1 ? "" : "s",
		color ? (cd->status == CHECK_D_PASS ? C_GREEN : C_RED) : "",
		dstatus_name(cd->status), off);
	if (cd->error)
		fprintf(out, "  %serror%s: %s\n", color ? C_RED : "", off, cd->error);
	for (size_t i = 0; i < cd->nservers; i++) {
		const struct check_server *s = &cd->servers[i];
		fprintf(out, "  server %zu: %s", i + 1, s->label);
		if (s->serial >= 0)
			fprintf(out, " serial %lld", s->serial);
		if (s->error)
			fprintf(out, "  %sno answer%s: %s", color ? C_RED : "", off, s->error);
		fputc('\n', out);
	}
	fprintf(out, "  %-9s %-8s ", "record", "status");
	for (size_t i = 0; i < cd->nservers; i++)
		fprintf(out, "%*zu ", width, i + 1);
	fprintf(out, " value\n");
	for (int r = 0; r < CHECK_NRECORDS; r++)
		if (cd->items[r].omitted)
			fprintf(out, "  %-9s %-8s %s = false in the configuration: not managed\n",
				check_record_name((enum check_record)r), "-",
				check_record_name((enum check_record)r));
		else
			print_item(out, &cd->items[r], width, color);
	fprintf(out, "  (per server: + pass, x fail, - missing, ? no answer)\n");
}

/* ---- JSON --------------------------------------------------------------- */

static void json_notes(cJSON *o, const struct check_note *n, size_t nn)
{
	cJSON *arr = cJSON_AddArrayToObject(o, "notes");
	for (size_t i = 0; arr && i < nn; i++) {
		cJSON *x = cJSON_CreateObject();
		cJSON_AddItemToArray(arr, x);
		cJSON_AddStringToObject(x, "severity", n[i].sev == NOTE_WARNING ? "warning" : "info");
		if (n[i].code)
			cJSON_AddStringToObject(x, "code", n[i].code);
		cJSON_AddStringToObject(x, "message", n[i].message);
	}
}

static void json_serial(cJSON *o, long long serial)
{
	if (serial >= 0)
		cJSON_AddNumberToObject(o, "serial", (double)serial);
	else
		cJSON_AddNullToObject(o, "serial");
}

static void json_spf(cJSON *o, const struct check_item *it)
{
	const struct check_verdict *v = NULL;
	for (size_t i = 0; !v && i < it->nper; i++)
		if (it->per[i].spf_counted)
			v = &it->per[i];
	if (!v) {
		cJSON_AddNullToObject(o, "lookups");
		cJSON_AddNullToObject(o, "void_lookups");
		cJSON_AddNullToObject(o, "verdict");
		return;
	}
	cJSON_AddNumberToObject(o, "lookups", v->lookups);
	cJSON_AddNumberToObject(o, "void_lookups", v->void_lookups);
	cJSON_AddNumberToObject(o, "limit", SPF_LOOKUP_LIMIT);
	cJSON_AddBoolToObject(o, "known", v->known);
	if (v->verdict_ip) {
		cJSON *x = cJSON_AddObjectToObject(o, "verdict");
		cJSON_AddStringToObject(x, "ip", v->verdict_ip);
		cJSON_AddStringToObject(x, "result", spf_result_name(v->verdict));
	} else {
		cJSON_AddNullToObject(o, "verdict");
	}
}

static cJSON *json_item(const struct check_item *it, const struct check_server *sv)
{
	cJSON *o = cJSON_CreateObject();
	const char *value = first_value(it);
	cJSON_AddStringToObject(o, "record", check_record_name(it->record));
	if (it->name)
		cJSON_AddStringToObject(o, "name", it->name);
	else
		cJSON_AddNullToObject(o, "name");
	cJSON_AddStringToObject(o, "status", check_status_name(it->status));
	cJSON_AddStringToObject(o, "message", it->message ? it->message : "");
	if (value)
		cJSON_AddStringToObject(o, "value", value);
	else
		cJSON_AddNullToObject(o, "value");
	json_notes(o, it->notes, it->nnotes);
	cJSON *servers = cJSON_AddArrayToObject(o, "servers");
	for (size_t i = 0; servers && i < it->nper; i++) {
		const struct check_verdict *v = &it->per[i];
		cJSON *s = cJSON_CreateObject();
		cJSON_AddItemToArray(servers, s);
		cJSON_AddStringToObject(s, "server", sv[i].label);
		cJSON_AddStringToObject(s, "status", check_status_name(v->status));
		json_serial(s, sv[i].serial);
		if (v->value)
			cJSON_AddStringToObject(s, "value", v->value);
		else
			cJSON_AddNullToObject(s, "value");
		cJSON_AddStringToObject(s, "message", v->message ? v->message : "");
	}
	if (it->record == CHECK_SPF)
		json_spf(o, it);
	return o;
}

static void json_diag(cJSON *arr, const char *code, const char *msg)
{
	cJSON *x = cJSON_CreateObject();
	cJSON_AddItemToArray(arr, x);
	cJSON_AddStringToObject(x, "severity", "error");
	cJSON_AddStringToObject(x, "code", code);
	cJSON_AddStringToObject(x, "message", msg);
}

int check_render_json(cJSON *envelope, const struct check_domain *cd)
{
	cJSON *domains = cJSON_GetObjectItemCaseSensitive(envelope, "domains");
	cJSON *d = cJSON_CreateObject();
	if (!d || !domains) {
		cJSON_Delete(d);
		return -1;
	}
	cJSON_AddItemToArray(domains, d);
	cJSON_AddStringToObject(d, "domain", cd->domain ? cd->domain : "");
	cJSON_AddStringToObject(d, "provider", cd->provider ? cd->provider : "");
	cJSON_AddStringToObject(d, "status", dstatus_name(cd->status));
	cJSON *servers = cJSON_AddArrayToObject(d, "servers");
	for (size_t i = 0; servers && i < cd->nservers; i++) {
		cJSON *s = cJSON_CreateObject();
		cJSON_AddItemToArray(servers, s);
		cJSON_AddStringToObject(s, "server", cd->servers[i].label);
		json_serial(s, cd->servers[i].serial);
		cJSON_AddStringToObject(s, "status", cd->servers[i].error ? "error" : "ok");
		if (cd->servers[i].error)
			cJSON_AddStringToObject(s, "error", cd->servers[i].error);
	}
	cJSON *checks = cJSON_AddArrayToObject(d, "checks");
	for (int r = 0; checks && r < CHECK_NRECORDS; r++)
		if (!cd->items[r].omitted)
			cJSON_AddItemToArray(checks, json_item(&cd->items[r], cd->servers));
	cJSON *diags = cJSON_AddArrayToObject(d, "diagnostics");
	if (diags && cd->error)
		json_diag(diags, "dns-error", cd->error);
	for (size_t i = 0; diags && i < cd->nservers; i++)
		if (cd->servers[i].error)
			json_diag(diags, "server-unreachable", cd->servers[i].error);
	cJSON *dns = cJSON_AddObjectToObject(d, "dns");
	cJSON_AddNumberToObject(dns, "questions", (double)cd->questions);
	cJSON_AddNumberToObject(dns, "sent", (double)cd->sent);
	return 0;
}

/* One part of a failure line, "LABEL: TEXT" (or TEXT) made printable, after
 * "; " when not the first. */
static void failure_part(FILE *out, int *n, const char *label, const char *text)
{
	fputs((*n)++ ? "; " : "", out);
	if (label)
		fprintf(out, "%s: ", label);
	for (const char *c = text ? text : ""; *c; c++)
		fputc((unsigned char)*c >= 0x20 ? *c : ' ', out);
}

void check_render_failure(FILE *out, const struct check_domain *cd)
{
	if (cd->status == CHECK_D_PASS)
		return;
	size_t len = strlen(cd->domain);
	int n = 0;
	if (len > 1 && cd->domain[len - 1] == '.')
		len--;
	fprintf(out, "provision: %.*s: ", (int)len, cd->domain);
	if (cd->error)
		failure_part(out, &n, NULL, cd->error);
	for (size_t i = 0; i < cd->nservers; i++)
		if (cd->servers[i].error) {
			char label[300];
			snprintf(label, sizeof label, "server %s", cd->servers[i].label);
			failure_part(out, &n, label, cd->servers[i].error);
		}
	for (int r = 0; r < CHECK_NRECORDS && cd->status == CHECK_D_FAIL; r++) {
		const struct check_item *it = &cd->items[r];
		if (it->status != CHECK_PASS)
			failure_part(out, &n, check_record_name(it->record),
				     it->message ? it->message : check_status_name(it->status));
	}
	for (int r = 0; r < CHECK_NRECORDS && cd->status == CHECK_D_ERROR; r++)
		for (size_t i = 0; i < cd->items[r].nper && i < cd->nservers; i++)
			if (cd->items[r].per[i].status == CHECK_ERROR && !cd->servers[i].error)
				failure_part(out, &n, check_record_name(cd->items[r].record),
					     cd->items[r].per[i].message);
	if (!n)
		fputs(dstatus_name(cd->status), out);
	fputc('\n', out);
}
