/*
 * backup.c - before an apply writes, the record sets it will change are
 * kept: each set touched by the plan (name and type), with every value and
 * TTL read from the provider (the values not managed here too), and the
 * values the plan leaves there. `provision restore` puts the "before" back
 * and refuses when the set no longer holds the "after" (someone edited it
 * since). JSON through cJSON; the file is written as a temporary file in
 * the same directory, fsync'd, mode 0600, then renamed: never half there.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "backup.h"
#include "provision/buf.h"
#include "provision/util.h"

static int touched_before(const struct plan *p, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (p->changes[j].type == p->changes[i].type &&
		    dname_equal(p->changes[j].name, p->changes[i].name))
			return 1;
	return 0;
}

static int removed(const struct plan *p, const char *name, uint16_t type, const char *v)
{
	for (size_t i = 0; i < p->nchanges; i++)
		if (p->changes[i].type == type && dname_equal(p->changes[i].name, name) &&
		    p->changes[i].before && strcmp(p->changes[i].before, v) == 0)
			return 1;
	return 0;
}

static cJSON *values_json(const struct rrset *set)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; arr && set && set->values && set->values[i]; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToArray(arr, o);
		cJSON_AddStringToObject(o, "value", set->values[i]);
		cJSON_AddNumberToObject(o, "ttl", rrset_value_ttl(set, set->values[i]));
	}
	return arr;
}

static cJSON *backup_json(const struct domain_config *d, const struct plan *p,
			  const struct rrset_list *existing, const char *when)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddNumberToObject(root, "version", 1);
	cJSON_AddStringToObject(root, "domain", p->domain);
	cJSON_AddStringToObject(root, "provider", d->provider);
	cJSON_AddStringToObject(root, "provider_type", d->prov ? d->prov->type : "");
	cJSON_AddStringToObject(root, "time", when);
	cJSON *sets = cJSON_AddArrayToObject(root, "sets");
	for (size_t i = 0; sets && i < p->nchanges; i++) {
		const struct change *c = &p->changes[i];
		if (touched_before(p, i))
			continue;
		const struct rrset *set = rrset_list_find(existing, c->name, c->type);
		struct rrset_list after = { 0 };
		for (size_t k = 0; set && set->values && set->values[k]; k++)
			if (!removed(p, c->name, c->type, set->values[k]))
				rrset_list_add(&after, c->name, c->type,
					       rrset_value_ttl(set, set->values[k]), set->values[k]);
		for (size_t j = 0; j < p->nchanges; j++)
			if (p->changes[j].after && p->changes[j].type == c->type &&
			    dname_equal(p->changes[j].name, c->name))
				rrset_list_add(&after, c->name, c->type, p->changes[j].ttl,
					       p->changes[j].after);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToArray(sets, o);
		cJSON_AddStringToObject(o, "name", c->name);
		cJSON_AddStringToObject(o, "type", rr_type_name(c->type));
		cJSON_AddItemToObject(o, "before", values_json(set));
		cJSON_AddItemToObject(o, "after", values_json(after.n ? &after.v[0] : NULL));
		rrset_list_release(&after);
	}
	return root;
}

int backup_write(const char *dir, const struct domain_config *d, const struct plan *p,
		 const struct rrset_list *existing, char **path, struct prov_error *err)
{
	char when[32], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	*path = NULL;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return prov_errorf(err, PROV_ERR_RUNTIME, "cannot make the backup directory %s: %s",
				   dir, strerror(errno));
	cJSON *root = backup_json(d, p, existing, when);
	char *text = root ? cJSON_Print(root) : NULL;
	cJSON_Delete(root);
	struct buf final = BUF_INIT, body = BUF_INIT;
	buf_printf(&final, "%s/%.*s-%s-%ld.json", dir, (int)strlen(p->domain) - 1, p->domain,
		   stamp, (long)getpid());
	int rc = 0;
	if (!text || !final.data || buf_printf(&body, "%s\n", text) < 0)
		rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	else if (file_write_atomic(final.data, body.data, body.len, 0600) < 0)
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "cannot write the backup %s: %s",
				 final.data, strerror(errno));
	else
		*path = buf_detach(&final);
	free(text);
	buf_release(&final);
	buf_release(&body);
	return rc;
}

/* ---- reading ------------------------------------------------------------ */

static int read_values(const cJSON *arr, const char *name, uint16_t type,
		       struct rrset_list *out)
{
	const cJSON *v;
	cJSON_ArrayForEach(v, arr) {
		const cJSON *value = cJSON_GetObjectItemCaseSensitive(v, "value");
		const cJSON *ttl = cJSON_GetObjectItemCaseSensitive(v, "ttl");
		if (!cJSON_IsString(value) || !cJSON_IsNumber(ttl) || ttl->valuedouble < 0 ||
		    ttl->valuedouble > 2147483647.0)
			return -1;
		if (rrset_list_add(out, name, type, json_ttl(ttl, 0), value->valuestring) < 0)
			return -1;
	}
	return cJSON_IsArray(arr) ? 0 : -1;
}

static char *dup_string(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

int backup_read(const char *file, struct backup *b, struct prov_error *err)
{
	memset(b, 0, sizeof *b);
	cJSON *root = json_file_read(file);
	if (!root && errno)
		return prov_errorf(err, PROV_ERR_RUNTIME, "%s: cannot read the backup: %s", file,
				   strerror(errno));
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
	const cJSON *sets = cJSON_GetObjectItemCaseSensitive(root, "sets"), *s;
	int rc = 0;
	if (!cJSON_IsNumber(ver) || ver->valueint != 1 || !cJSON_IsArray(sets)) {
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s: not a provision backup (version 1)",
				 file);
		goto out;
	}
	b->domain = dup_string(root, "domain");
	b->provider = dup_string(root, "provider");
	b->time = dup_string(root, "time");
	if (!b->domain || !b->provider || !b->time) {
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s: not a provision backup (no domain, "
				 "provider or time)", file);
		goto out;
	}
	size_t n = (size_t)cJSON_GetArraySize(sets), i = 0;
	b->sets = n ? calloc(n, sizeof *b->sets) : NULL;
	if (n && !b->sets) {
		rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
		goto out;
	}
	cJSON_ArrayForEach(s, sets) {
		struct backup_set *bs = &b->sets[i++];
		b->nsets = i;
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(s, "type");
		bs->name = dup_string(s, "name");
		bs->type = cJSON_IsString(type) ? rr_type_from_name(type->valuestring) : 0;
		if (!bs->name || !bs->type ||
		    read_values(cJSON_GetObjectItemCaseSensitive(s, "before"), bs->name, bs->type,
				&bs->before) < 0 ||
		    read_values(cJSON_GetObjectItemCaseSensitive(s, "after"), bs->name, bs->type,
				&bs->after) < 0) {
			rc = prov_errorf(err, PROV_ERR_RUNTIME, "%s: record set %zu is not valid", file,
					 i);
			goto out;
		}
	}
out:
	cJSON_Delete(root);
	if (rc < 0)
		backup_release(b);
	return rc;
}

void backup_release(struct backup *b)
{
	for (size_t i = 0; i < b->nsets; i++) {
		free(b->sets[i].name);
		rrset_list_release(&b->sets[i].before);
		rrset_list_release(&b->sets[i].after);
	}
	free(b->sets);
	free(b->domain);
	free(b->provider);
	free(b->time);
	memset(b, 0, sizeof *b);
}

/* ---- drift: what changed since provision last wrote ---------------------- */

/* The newest backup of each domain in a backup directory, read once per
 * run: names <domain>-<YYYYmmddTHHMMSSZ>-<pid>.json, sorted by domain. */
struct backup_index {
	char *dir;
	struct backup_newest { char *domain, *file, *stamp; long pid; } *v;
	size_t n;
};

/* Split a backup's file name; 0, or -1 when it is not one. */
static int parse_name(const char *n, size_t *dlen, const char **stamp, long *pid)
{
	size_t len = strlen(n);
	if (len < 5 + 2 + 16 + 2 || strcmp(n + len - 5, ".json") != 0)
		return -1;
	const char *end = n + len - 5, *dash = end;
	while (dash > n && dash[-1] >= '0' && dash[-1] <= '9')
		dash--;
	if (dash == end || dash - n < 18 || dash[-1] != '-' || dash[-18] != '-' || dash[-9] != 'T' ||
	    dash[-2] != 'Z')
		return -1;
	*pid = strtol(dash, NULL, 10);
	*stamp = dash - 17;
	*dlen = (size_t)(dash - 18 - n);
	return *dlen ? 0 : -1;
}

static int by_domain(const void *a, const void *b)
{
	return strcmp(((const struct backup_newest *)a)->domain,
		      ((const struct backup_newest *)b)->domain);
}

/* Domain, then time, then pid: a domain's newest backup sorts last. */
static int by_age(const void *a, const void *b)
{
	const struct backup_newest *x = a, *y = b;
	int c = strcmp(x->domain, y->domain);
	if (!c)
		c = strncmp(x->stamp, y->stamp, 16);
	return c ? c : (x->pid > y->pid) - (x->pid < y->pid);
}

struct backup_index *backup_index_load(const char *dir)
{
	struct backup_index *ix = calloc(1, sizeof *ix);
	DIR *d = ix && dir ? opendir(dir) : NULL;
	struct dirent *de;
	size_t cap = 0, keep = 0;
	if (ix)
		ix->dir = dir ? strdup(dir) : NULL;
	while (d && (de = readdir(d))) {
		const char *stamp;
		size_t dlen;
		long pid;
		if (parse_name(de->d_name, &dlen, &stamp, &pid) < 0)
			continue;
		if (ix->n == cap) {
			struct backup_newest *v = realloc(ix->v, (cap = cap ? 2 * cap : 64) * sizeof *v);
			if (!v)
				break;
			ix->v = v;
		}
		char *file = strdup(de->d_name), *domain = strndup(de->d_name, dlen);
		if (!file || !domain) {
			free(file);
			free(domain);
			break;
		}
		ix->v[ix->n++] = (struct backup_newest){ domain, file, file + (stamp - de->d_name), pid };
	}
	if (d)
		closedir(d);
	if (!ix || !ix->n)
		return ix;
	qsort(ix->v, ix->n, sizeof *ix->v, by_age);
	for (size_t i = 0; i < ix->n; i++) { /* keep each domain's last */
		if (i + 1 < ix->n && strcmp(ix->v[i].domain, ix->v[i + 1].domain) == 0) {
			free(ix->v[i].domain);
			free(ix->v[i].file);
		} else {
			ix->v[keep++] = ix->v[i];
		}
	}
	ix->n = keep;
	return ix;
}

void backup_index_free(struct backup_index *ix)
{
	for (size_t i = 0; ix && i < ix->n; i++) {
		free(ix->v[i].domain);
		free(ix->v[i].file);
	}
	if (ix) {
		free(ix->v);
		free(ix->dir);
		free(ix);
	}
}

/* The path of the newest backup of domain (no trailing dot), or NULL. */
static char *newest_backup(const struct backup_index *ix, const char *domain, size_t dlen)
{
	char *key = strndup(domain, dlen);
	struct backup_newest k = { key, NULL, NULL, 0 };
	const struct backup_newest *e = key && ix && ix->n
		? bsearch(&k, ix->v, ix->n, sizeof *ix->v, by_domain) : NULL;
	free(key);
	if (!e || !e->file)
		return NULL;
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s/%s", ix->dir, e->file);
	return buf_detach(&b);
}

static cJSON *value_list(const struct rrset *s)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; a && s && s->values && s->values[i]; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(s->values[i]));
	return a;
}

struct cJSON *backup_drift(const struct backup_index *ix, struct plan *p,
			   const struct rrset_list *existing)
{
	cJSON *arr = cJSON_CreateArray();
	size_t dlen = strlen(p->domain);
	if (dlen && p->domain[dlen - 1] == '.')
		dlen--;
	char *file = arr ? newest_backup(ix, p->domain, dlen) : NULL;
	struct backup b;
	struct prov_error err = PROV_ERROR_INIT;
	if (!file || backup_read(file, &b, &err) < 0) {
		free(file);
		return arr;
	}
	for (size_t i = 0; i < b.nsets; i++) {
		const struct backup_set *bs = &b.sets[i];
		const struct rrset *now = rrset_list_find(existing, bs->name, bs->type);
		const struct rrset *wrote = bs->after.n ? &bs->after.v[0] : NULL;
		if (rrset_same(wrote, now, 0))
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToArray(arr, o);
		cJSON_AddStringToObject(o, "name", bs->name);
		cJSON_AddStringToObject(o, "type", rr_type_name(bs->type));
		cJSON_AddStringToObject(o, "written", b.time);
		cJSON_AddItemToObject(o, "was", value_list(wrote));
		cJSON_AddItemToObject(o, "now", value_list(now));
		plan_diag(p, DIAG_WARNING, 0, "drift", "drift: %s %s is not what provision wrote on %s "
			  "(%zu value(s) then, %zu now): edited outside provision (backup %s)",
			  bs->name, rr_type_name(bs->type), b.time,
			  wrote && wrote->values ? strv_len(wrote->values) : 0,
			  now && now->values ? strv_len(now->values) : 0, file);
	}
	backup_release(&b);
	free(file);
	return arr;
}
