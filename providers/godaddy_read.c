/*
 * godaddy_read.c - reading GoDaddy Domains API v1 answers (see
 * godaddy_read.h): records as the core holds them (host names absolute,
 * "@" the zone, TXT unquoted when someone typed quotes), error bodies, and
 * how long a 429 or 409 asks to wait.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "godaddy_read.h"
#include "provision/record.h"
#include "provision/util.h"

#define GD_WAIT_ROUNDS 10   /* 429 waited out this many times (409: 4) */
#define GD_WAIT_MAX 300     /* a longer retryAfterSec is an error */

void gd_rec_free(struct gd_rec *r)
{
	free(r->type);
	free(r->name);
	free(r->data);
	free(r->value);
	cJSON_Delete(r->extra);
}

void gd_recs_free(struct gd_rec *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		gd_rec_free(&v[i]);
	free(v);
}

char *gd_absolute(const char *rel, const char *zone)
{
	struct buf b = BUF_INIT;
	if (strcmp(rel, "@") == 0)
		buf_printf(&b, "%s.", zone);
	else
		buf_printf(&b, "%s.%s.", rel, zone);
	char *s = buf_detach(&b), *f = s ? dname_fqdn(s) : NULL;
	free(s);
	return f;
}

static int host_type(const char *type)
{
	return strcmp(type, "CNAME") == 0 || strcmp(type, "MX") == 0 ||
	       strcmp(type, "NS") == 0 || strcmp(type, "SRV") == 0;
}

/* GoDaddy's data -> the core's value: host names absolute, "@" the zone;
 * TXT as is (GoDaddy keeps it unquoted), unless someone typed it in quotes. */
static char *core_value(const char *type, const char *data, const char *zone)
{
	size_t n = strlen(data);
	if (strcmp(type, "TXT") == 0 && n >= 2 && data[0] == '"' && data[n - 1] == '"') {
		char *v = txt_unquote(data);
		return v ? v : strdup(data);
	}
	if (!host_type(type))
		return strdup(data);
	if (strcmp(data, "@") == 0)
		return gd_absolute("@", zone);
	return dname_fqdn(data);
}

cJSON *gd_answer(const char *data, size_t len)
{
	return len ? cJSON_ParseWithLength(data, len) : NULL;
}

/* One record of an answer; -1 when it is not as documented. dtype and
 * dname stand in for a type or name the answer leaves out (a set's GET). */
static int rec_parse(const cJSON *r, const char *zone, const char *dtype,
		     const char *dname, struct gd_rec *out)
{
	static const char *const extras[] = { "priority", "port", "weight",
					      "protocol", "service", NULL };
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(r, "type");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(r, "name");
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(r, "data");
	const cJSON *ttl = cJSON_GetObjectItemCaseSensitive(r, "ttl");
	memset(out, 0, sizeof *out);
	const char *t = cJSON_IsString(type) ? type->valuestring : dtype;
	const char *nm = cJSON_IsString(name) ? name->valuestring : dname;
	if (!t || !nm || !*nm || !cJSON_IsString(data))
		return -1;
	out->type = strdup(t);
	out->name = dname_fqdn(nm); /* lower case ... */
	if (out->name && strlen(out->name) > 1)
		out->name[strlen(out->name) - 1] = '\0'; /* ... without the dot */
	out->data = strdup(data->valuestring);
	for (char *p = out->type; p && *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	out->value = out->type ? core_value(out->type, data->valuestring, zone) : NULL;
	out->ttl = json_ttl(ttl, 3600);
	for (size_t i = 0; extras[i]; i++) {
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(r, extras[i]);
		if (!x)
			continue;
		if (!out->extra)
			out->extra = cJSON_CreateObject();
		cJSON_AddItemToObject(out->extra, extras[i], cJSON_Duplicate(x, 1));
	}
	if (!out->type || !out->name || !out->data || !out->value) {
		gd_rec_free(out);
		return -1;
	}
	return 0;
}

int gd_recs_parse(const cJSON *arr, const char *zone, const char *dtype,
		      const char *dname, struct gd_rec **v, size_t *n)
{
	const cJSON *r;
	*v = NULL;
	*n = 0;
	if (!cJSON_IsArray(arr))
		return -1;
	size_t cap = (size_t)cJSON_GetArraySize(arr);
	*v = calloc(cap ? cap : 1, sizeof **v);
	if (!*v)
		return -1;
	cJSON_ArrayForEach(r, arr) {
		if (rec_parse(r, zone, dtype, dname, &(*v)[*n]) < 0) {
			gd_recs_free(*v, *n);
			*v = NULL;
			*n = 0;
			return -1;
		}
		(*n)++;
	}
	return 0;
}

void gd_error_text(const cJSON *j, char *const *labels, struct buf *out)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "code");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
	const cJSON *fields = cJSON_GetObjectItemCaseSensitive(j, "fields");
	const cJSON *errors = cJSON_GetObjectItemCaseSensitive(j, "errors");
	const cJSON *f;
	buf_printf(out, "%s: %s", cJSON_IsString(code) ? code->valuestring : "(no code)",
		   cJSON_IsString(msg) ? msg->valuestring : "(no message)");
	cJSON_ArrayForEach(f, fields) {
		const cJSON *fp = cJSON_GetObjectItemCaseSensitive(f, "path");
		const cJSON *fm = cJSON_GetObjectItemCaseSensitive(f, "message");
		const cJSON *fc = cJSON_GetObjectItemCaseSensitive(f, "code");
		unsigned long k;
		int at = 0;
		buf_printf(out, "; %s", cJSON_IsString(fp) ? fp->valuestring : "");
		if (cJSON_IsString(fp) && labels &&
		    sscanf(fp->valuestring, "records[%lu]%n", &k, &at) == 1 && at > 0 &&
		    k < strv_len(labels))
			buf_printf(out, " (%s)", labels[k]);
		buf_printf(out, "%s%s", cJSON_IsString(fp) ? ": " : "",
			   cJSON_IsString(fm) ? fm->valuestring : "?");
		if (cJSON_IsString(fc))
			buf_printf(out, " (%s)", fc->valuestring);
	}
	cJSON_ArrayForEach(f, errors)
		if (cJSON_IsString(f))
			buf_printf(out, "; %s", f->valuestring);
}

int gd_code_is(const cJSON *j, const char *code)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "code");
	return cJSON_IsString(c) && strcmp(c->valuestring, code) == 0;
}

double gd_wait(long status, const cJSON *j, int round)
{
	if (round >= GD_WAIT_ROUNDS)
		return -1;
	if (status == 409) /* the zone is busy right after a write: 1, 2, 4, 8 s */
		return round < 4 ? (double)(1 << round) : -1;
	if (status != 429 || (j && gd_code_is(j, "QUOTA_EXCEEDED")))
		return -1;
	const cJSON *ra = j ? cJSON_GetObjectItemCaseSensitive(j, "retryAfterSec") : NULL;
	if (cJSON_IsNumber(ra) && ra->valuedouble > GD_WAIT_MAX)
		return -1;
	if (cJSON_IsNumber(ra) && ra->valuedouble >= 0)
		return ra->valuedouble + 0.5;
	return round < 4 ? (double)(2 << round) : 30; /* no hint: 2, 4, 8, 16, 30 s */
}
