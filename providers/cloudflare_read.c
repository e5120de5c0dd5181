/*
 * cloudflare_read.c - reading Cloudflare API v4 answers (see
 * cloudflare_read.h): TXT content in either form (quoted character-strings
 * or plain), host names made FQDNs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloudflare_read.h"
#include "provision/record.h"
#include "provision/util.h"

static void cf_record_free(struct cf_record *r)
{
	free(r->id);
	free(r->name);
	free(r->type);
	free(r->value);
}

void cf_records_release(struct cf_records *l)
{
	for (size_t i = 0; i < l->n; i++)
		cf_record_free(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

cJSON *cf_envelope(const char *data, size_t len, int *success)
{
	cJSON *j = cJSON_ParseWithLength(data ? data : "", len);
	const cJSON *ok = j ? cJSON_GetObjectItemCaseSensitive(j, "success") : NULL;
	*success = 0;
	if (!cJSON_IsBool(ok)) {
		cJSON_Delete(j);
		return NULL;
	}
	*success = cJSON_IsTrue(ok);
	return j;
}

void cf_error_text(const cJSON *root, char *out, size_t n)
{
	const cJSON *errs = cJSON_GetObjectItemCaseSensitive(root, "errors");
	const cJSON *e = cJSON_IsArray(errs) ? cJSON_GetArrayItem(errs, 0) : NULL;
	const cJSON *chain = e ? cJSON_GetObjectItemCaseSensitive(e, "error_chain") : NULL;
	if (cJSON_IsArray(chain) && cJSON_GetArraySize(chain) > 0)
		e = cJSON_GetArrayItem(chain, 0);
	const cJSON *code = e ? cJSON_GetObjectItemCaseSensitive(e, "code") : NULL;
	const cJSON *msg = e ? cJSON_GetObjectItemCaseSensitive(e, "message") : NULL;
	if (cJSON_IsNumber(code) && cJSON_IsString(msg))
		snprintf(out, n, "code %d: %s", code->valueint, msg->valuestring);
	else
		snprintf(out, n, "no error details");
}

const char *cf_zone_id(const cJSON *root)
{
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "result");
	const cJSON *zone = cJSON_IsArray(res) ? cJSON_GetArrayItem(res, 0) : NULL;
	const cJSON *id = zone ? cJSON_GetObjectItemCaseSensitive(zone, "id") : NULL;
	return cJSON_IsString(id) ? id->valuestring : NULL;
}

/* A record's content as the core holds it. */
static char *cf_value(const char *type, const char *content)
{
	if (strcmp(type, "TXT") == 0 && content[0] == '"') {
		char *v = txt_unquote(content);
		return v ? v : strdup(content);
	}
	if (strcmp(type, "CNAME") == 0 || strcmp(type, "MX") == 0 || strcmp(type, "NS") == 0)
		return dname_fqdn(content);
	return strdup(content);
}

static int cf_keep(struct cf_records *l, const cJSON *r)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(r, "name");
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(r, "type");
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(r, "content");
	const cJSON *ttl = cJSON_GetObjectItemCaseSensitive(r, "ttl");
	if (!cJSON_IsString(id) || !cJSON_IsString(name) || !cJSON_IsString(type) ||
	    !cJSON_IsString(content))
		return -1;
	struct cf_record *v = realloc(l->v, (l->n + 1) * sizeof *v);
	if (!v)
		return -1;
	l->v = v;
	v[l->n++] = (struct cf_record){
		strdup(id->valuestring), dname_fqdn(name->valuestring),
		strdup(type->valuestring), cf_value(type->valuestring, content->valuestring),
		json_ttl(ttl, 300),
	};
	return 0;
}

static void cf_drop(struct cf_records *l, const char *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].id, id) == 0) {
			cf_record_free(&l->v[i]);
			l->v[i] = l->v[--l->n];
			return;
		}
}

int cf_take_page(struct cf_records *l, const cJSON *root, int page, int *more)
{
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "result");
	const cJSON *info = cJSON_GetObjectItemCaseSensitive(root, "result_info");
	const cJSON *pages = cJSON_GetObjectItemCaseSensitive(info, "total_pages");
	const cJSON *r;
	int bad = !cJSON_IsArray(res);
	cJSON_ArrayForEach(r, res)
		bad |= cf_keep(l, r) < 0;
	*more = !bad && cJSON_GetArraySize(res) > 0 && cJSON_IsNumber(pages) &&
		page < pages->valueint;
	return bad ? -1 : 0;
}

int cf_take_result(struct cf_records *l, const cJSON *root)
{
	static const char *const lists[] = { "deletes", "patches", "puts", "posts" };
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "result");
	if (!cJSON_IsObject(res))
		return -1;
	for (size_t k = 0; k < 4; k++) {
		const cJSON *r, *arr = cJSON_GetObjectItemCaseSensitive(res, lists[k]);
		cJSON_ArrayForEach(r, arr) {
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
			if (!cJSON_IsString(id))
				return -1;
			cf_drop(l, id->valuestring);
			if (k > 0 && cf_keep(l, r) < 0)
				return -1;
		}
	}
	return 0;
}
