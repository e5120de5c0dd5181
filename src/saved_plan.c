/*
 * saved_plan.c - a reviewed plan, applied exactly (terraform's plan -out /
 * apply PLANFILE).
 *
 * The file is the --format json document (version 1) with, per domain,
 * before_state: every record set read at its managed names (values, TTL
 * per value), and at the top saved_plan: 1, created (seconds since 1970)
 * and config_digest (SHA-256 of the configuration file's bytes and of its
 * content as libconfig reads it, @include files in). It holds
 * no secret: providers' credentials never enter a plan. It is written as a
 * temporary file beside the target, then renamed.
 *
 * apply PLAN.json refuses the whole file when it is older than --max-age
 * (default 24h) or was made with another configuration. Per domain it
 * reads the managed record sets again; where they differ from before_state
 * the domain is "drifted" (the difference shown, exit 1) and none of its
 * changes is applied; other domains proceed. Otherwise exactly the saved
 * changes are applied (after a backup, as any apply), then read back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "apply.h"
#include "commands.h"
#include "pool.h"
#include "render.h"
#include "saved_plan.h"
#include "stop.h"
#include "provision/buf.h"
#include "provision/provider.h"
#include "provision/util.h"

int config_digest(const struct config *cfg, char hex[65], struct prov_error *err)
{
	const char *file = cfg->file;
	FILE *f = fopen(file, "rb");
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char chunk[8192];
	size_t got;
	if (!f)
		return prov_errorf(err, PROV_ERR_RUNTIME, "%s: cannot read: %s", file, strerror(errno));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = cfg->content && ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
	while (ok && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
		ok = EVP_DigestUpdate(ctx, chunk, got) == 1;
	ok = ok && !ferror(f) && EVP_DigestUpdate(ctx, cfg->content, cfg->content_len) == 1 &&
	     EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
	EVP_MD_CTX_free(ctx);
	fclose(f);
	if (!ok)
		return prov_errorf(err, PROV_ERR_RUNTIME, "%s: cannot digest", file);
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

cJSON *saved_plan_new(const struct config *cfg, struct prov_error *err)
{
	char hex[65] = "";
	if (config_digest(cfg, hex, err) < 0)
		return NULL;
	cJSON *doc = render_json_envelope(1);
	if (!doc) {
		prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
		return NULL;
	}
	cJSON_AddNumberToObject(doc, "saved_plan", 1);
	cJSON_AddNumberToObject(doc, "created", (double)time(NULL));
	cJSON_AddStringToObject(doc, "config_digest", hex);
	return doc;
}

static cJSON *sets_json(const struct rrset_list *l)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; arr && i < l->n; i++) {
		const struct rrset *s = &l->v[i];
		cJSON *o = cJSON_CreateObject(), *vals;
		cJSON_AddItemToArray(arr, o);
		cJSON_AddStringToObject(o, "name", s->name);
		cJSON_AddStringToObject(o, "type", rr_type_name(s->type));
		vals = cJSON_AddArrayToObject(o, "values");
		for (size_t k = 0; vals && s->values && s->values[k]; k++) {
			cJSON *v = cJSON_CreateObject();
			cJSON_AddItemToArray(vals, v);
			cJSON_AddStringToObject(v, "value", s->values[k]);
			cJSON_AddNumberToObject(v, "ttl", rrset_value_ttl(s, s->values[k]));
		}
	}
	return arr;
}

int saved_plan_add(cJSON *doc, const struct plan *p, const struct rrset_list *existing)
{
	if (render_json_plan(doc, p) < 0)
		return -1;
	cJSON *domains = cJSON_GetObjectItemCaseSensitive(doc, "domains");
	cJSON *last = cJSON_GetArrayItem(domains, cJSON_GetArraySize(domains) - 1);
	cJSON *sets = sets_json(existing);
	return last && sets && cJSON_AddItemToObject(last, "before_state", sets) ? 0 : -1;
}

int saved_plan_write(const char *path, const cJSON *doc, struct prov_error *err)
{
	char *text = cJSON_Print(doc);
	struct buf b = BUF_INIT;
	int rc = 0;
	if (!text || buf_printf(&b, "%s\n", text) < 0)
		rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	else if (file_write_atomic(path, b.data, b.len, 0644) < 0)
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "cannot write %s: %s", path, strerror(errno));
	free(text);
	buf_release(&b);
	return rc;
}

/* ---- apply PLAN.json --------------------------------------------------- */

static int read_sets(const cJSON *arr, struct rrset_list *out)
{
	const cJSON *s, *v;
	cJSON_ArrayForEach(s, arr) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(s, "name");
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(s, "type");
		uint16_t t = cJSON_IsString(type) ? rr_type_from_name(type->valuestring) : 0;
		if (!cJSON_IsString(name) || !t)
			return -1;
		cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(s, "values")) {
			const cJSON *val = cJSON_GetObjectItemCaseSensitive(v, "value");
			const cJSON *ttl = cJSON_GetObjectItemCaseSensitive(v, "ttl");
			if (!cJSON_IsString(val) || !cJSON_IsNumber(ttl) ||
			    rrset_list_add(out, name->valuestring, t, json_ttl(ttl, 0),
					   val->valuestring) < 0)
				return -1;
		}
	}
	return cJSON_IsArray(arr) ? 0 : -1;
}

static const char *first_value(const cJSON *arr)
{
	const cJSON *v = cJSON_GetArrayItem(arr, 0);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int read_changes(const cJSON *arr, struct plan *p)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, arr) {
		const cJSON *action = cJSON_GetObjectItemCaseSensitive(c, "action");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(c, "type");
		const cJSON *ttl = cJSON_GetObjectItemCaseSensitive(c, "ttl");
		const cJSON *rec = cJSON_GetObjectItemCaseSensitive(c, "record");
		uint16_t t = cJSON_IsString(type) ? rr_type_from_name(type->valuestring) : 0;
		if (!cJSON_IsString(action) || !cJSON_IsString(name) || !t || !cJSON_IsNumber(ttl))
			return -1;
		enum change_action a = strcmp(action->valuestring, "create") == 0 ? CHANGE_CREATE
				       : strcmp(action->valuestring, "delete") == 0 ? CHANGE_DELETE
										     : CHANGE_UPDATE;
		const char *what = "spf";
		static const char *const whats[] = { "spf", "dkim", "dmarc", "tracking", "spf-chain" };
		for (size_t k = 0; cJSON_IsString(rec) && k < sizeof whats / sizeof *whats; k++)
			if (strcmp(rec->valuestring, whats[k]) == 0)
				what = whats[k];
		struct change *v = realloc(p->changes, (p->nchanges + 1) * sizeof *v);
		if (!v)
			return -1;
		p->changes = v;
		v[p->nchanges++] = (struct change){
			a, xstrdup(name->valuestring), t, json_ttl(ttl, 0),
			xstrdup(first_value(cJSON_GetObjectItemCaseSensitive(c, "before"))),
			xstrdup(first_value(cJSON_GetObjectItemCaseSensitive(c, "after"))), what };
	}
	return cJSON_IsArray(arr) ? 0 : -1;
}

static int has(const struct rrset *s, const char *v)
{
	for (size_t i = 0; v && s && s->values && s->values[i]; i++)
		if (strcmp(s->values[i], v) == 0)
			return 1;
	return 0;
}

/* One domain of the plan file: check, then apply its saved changes. */
static void apply_domain(const struct options *o, struct config *cfg, void **handles,
			 const cJSON *dj, struct plan *p)
{
	struct prov_error err = PROV_ERROR_INIT;
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(dj, "domain");
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(dj, "status");
	struct rrset_list was = { 0 }, now = { 0 }, after = { 0 };
	struct domain_config *d = cJSON_IsString(name) ? config_find_domain(cfg, name->valuestring)
						       : NULL;
	p->domain = dname_fqdn(cJSON_IsString(name) ? name->valuestring : "?");
	p->status = PLAN_ERROR;
	if (!d) {
		plan_diag(p, DIAG_ERROR, 1, "not-configured", "the plan's domain %s is not in %s",
			  p->domain, cfg->file);
		return;
	}
	p->provider = d->provider;
	if (read_sets(cJSON_GetObjectItemCaseSensitive(dj, "before_state"), &was) < 0 ||
	    read_changes(cJSON_GetObjectItemCaseSensitive(dj, "changes"), p) < 0 ||
	    !cJSON_IsString(status)) {
		plan_diag(p, DIAG_ERROR, 1, "bad-plan", "the plan file's entry for %s is not valid",
			  p->domain);
		goto out;
	}
	size_t i = (size_t)(d->prov - cfg->providers);
	if (!handles[i] && d->prov->ops->open(d->prov, &handles[i], &err) < 0)
		handles[i] = NULL;
	if (!handles[i] || domain_list(d, handles[i], NULL, &now, &err) < 0) {
		plan_diag(p, DIAG_ERROR, 1, "provider-error", "%s", err.msg);
		goto out;
	}
	if (plan_drift(p, &was, &now))
		goto out_drifted;
	if (strcmp(status->valuestring, "changes") != 0) {
		p->status = strcmp(status->valuestring, "in_sync") == 0 ? PLAN_IN_SYNC : PLAN_REFUSED;
		if (p->status == PLAN_REFUSED)
			plan_diag(p, DIAG_ERROR, 3, "planned-refused", "the reviewed plan was %s for "
				  "this domain: nothing to apply", status->valuestring);
		goto out;
	}
	/* just read and compared: no second read before the write */
	if (plan_write(cfg->backup_dir, d, handles[i], p, &now, NULL, 0, o->verbose) < 0)
		goto out;
	if (domain_list(d, handles[i], NULL, &after, &err) < 0) {
		plan_diag(p, DIAG_ERROR, 1, "confirm-failed", "%s", err.msg);
		goto out;
	}
	p->status = PLAN_APPLIED;
	for (size_t k = 0; k < p->nchanges; k++) {
		const struct change *c = &p->changes[k];
		const struct rrset *s = rrset_list_find(&after, c->name, c->type);
		if ((c->after && !has(s, c->after)) ||
		    (c->before && (!c->after || strcmp(c->before, c->after) != 0) && has(s, c->before))) {
			plan_diag(p, DIAG_ERROR, 1, "confirm-failed", "after applying, %s %s does not "
				  "hold what the plan wrote", c->name, rr_type_name(c->type));
			p->status = PLAN_ERROR;
		}
	}
	goto out;
out_drifted:
	p->status = PLAN_DRIFTED;
out:
	rrset_list_release(&was);
	rrset_list_release(&now);
	rrset_list_release(&after);
}

/* The plan file's domains, worked on at once as the main job's are
 * (pool.h): each provider block's concurrency, at most -j. */
struct applying {
	const struct options *o;
	struct config *cfg;
	const cJSON **entries;
	struct plan *plans;
	size_t *class_of;   /* entry -> provider block; nproviders: none */
	unsigned *limits;
	void **handles;     /* [worker * nproviders + block] */
	cJSON *env;
	unsigned workers;
	int rc;
};

static void apply_work(void *ctx, unsigned w, size_t i)
{
	struct applying *a = ctx;
	apply_domain(a->o, a->cfg, a->handles + (size_t)w * a->cfg->nproviders, a->entries[i],
		     &a->plans[i]);
}

static void apply_emit(void *ctx, size_t i)
{
	struct applying *a = ctx;
	struct plan *p = &a->plans[i];
	if (a->env)
		render_json_plan(a->env, p);
	else
		render_text_plan(stdout, p, a->o->color);
	render_failure_line(stderr, p);
	int code = plan_exit_code(p, 0);
	if (code == 1 || (code == 3 && a->rc != 1))
		a->rc = code;
	plan_release(p);
}

static int apply_all(const struct options *o, struct config *cfg, const cJSON *domains)
{
	size_t n = (size_t)cJSON_GetArraySize(domains), np = cfg->nproviders, k = 0;
	struct applying a = { .o = o, .cfg = cfg };
	struct prov_error err = PROV_ERROR_INIT;
	const cJSON *dj;
	a.entries = calloc(n + 1, sizeof *a.entries);
	a.plans = calloc(n + 1, sizeof *a.plans);
	a.class_of = calloc(n + 1, sizeof *a.class_of);
	a.limits = calloc(np + 1, sizeof *a.limits);
	if (!a.entries || !a.plans || !a.class_of || !a.limits)
		goto nomem;
	a.limits[np] = POOL_MAX_JOBS; /* entries of no configured domain */
	for (size_t i = 0; i < np; i++) {
		struct provider_config *pc = &cfg->providers[i];
		pc->verbose = o->verbose;
		pc->wait_s = o->wait_s;
		pc->lock_timeout_s = o->lock_timeout_s;
		if (provider_concurrency(pc, &a.limits[i], &err) < 0) {
			fprintf(stderr, "provision: %s\n", err.msg);
			a.rc = 78;
			goto out;
		}
	}
	cJSON_ArrayForEach(dj, domains) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(dj, "domain");
		struct domain_config *d = cJSON_IsString(name) ?
					  config_find_domain(cfg, name->valuestring) : NULL;
		a.entries[k] = dj;
		a.class_of[k++] = d ? (size_t)(d->prov - cfg->providers) : np;
	}
	struct pool pool = { .n = n, .class_of = a.class_of, .limit = a.limits,
			     .nclasses = np + 1, .work = apply_work,
			     .emit = apply_emit, .stop = stop_requested, .ctx = &a };
	pool.workers = a.workers = pool_workers(&pool, o->jobs, POOL_MAX_JOBS);
	a.handles = calloc((size_t)a.workers * np + 1, sizeof *a.handles);
	if (!a.handles || (o->json && !(a.env = render_json_envelope(0))))
		goto nomem;
	struct stop_tally tally = { .total = n };
	stop_install();
	if (pool_run(&pool) < 0) {
		free(pool.started);
		goto nomem;
	}
	for (size_t i = 0; i < n; i++) {
		const cJSON *dn = cJSON_GetObjectItemCaseSensitive(a.entries[i], "domain");
		if (!pool.started[i])
			stop_tally_skip(&tally, cJSON_IsString(dn) ? dn->valuestring : "?");
		else
			tally.done++;
	}
	free(pool.started);
	if (stop_tally_report(&tally)) {
		if (a.env)
			cJSON_AddStringToObject(a.env, "stopped", stop_signal_name(stop_requested()));
		a.rc = 1;
	}
	if (a.env)
		render_json_print(stdout, a.env);
	goto out;
nomem:
	fprintf(stderr, "provision: out of memory\n");
	a.rc = 1;
out:
	for (size_t i = 0; a.handles && i < (size_t)a.workers * np; i++)
		if (a.handles[i])
			cfg->providers[i % np].ops->close(a.handles[i]);
	cJSON_Delete(a.env);
	free(a.handles);
	free(a.entries);
	free(a.plans);
	free(a.class_of);
	free(a.limits);
	return a.rc;
}

int cmd_apply_plan(const struct options *o, struct config *cfg)
{
	struct prov_error err = PROV_ERROR_INIT;
	char hex[65] = "";
	if (!o->domains || o->domains[1])
		return usage_error("%s", "apply takes one PLAN.json (from --dry-run --out)");
	const char *file = o->domains[0];
	cJSON *doc = json_file_read(file);
	if (!doc && errno) {
		fprintf(stderr, "provision: %s: cannot read the plan: %s\n", file, strerror(errno));
		return 1;
	}
	const cJSON *saved = cJSON_GetObjectItemCaseSensitive(doc, "saved_plan");
	const cJSON *created = cJSON_GetObjectItemCaseSensitive(doc, "created");
	const cJSON *digest = cJSON_GetObjectItemCaseSensitive(doc, "config_digest");
	const cJSON *domains = cJSON_GetObjectItemCaseSensitive(doc, "domains");
	int rc = 0;
	if (!cJSON_IsNumber(saved) || !cJSON_IsNumber(created) || !cJSON_IsString(digest) ||
	    !cJSON_IsArray(domains)) {
		fprintf(stderr, "provision: %s: not a saved plan (make one with --dry-run --out)\n",
			file);
		rc = 1;
		goto out;
	}
	double age = difftime(time(NULL), (time_t)created->valuedouble);
	if (age > (double)o->max_age_s || age < -300) {
		fprintf(stderr, "provision: %s: the plan is %.0f s old, more than --max-age %ld s: "
			"make it again\n", file, age, o->max_age_s);
		rc = 1;
		goto out;
	}
	if (config_digest(cfg, hex, &err) < 0) {
		fprintf(stderr, "provision: %s\n", err.msg);
		rc = 1;
		goto out;
	}
	if (strcmp(hex, digest->valuestring) != 0) {
		fprintf(stderr, "provision: %s: the plan was made with another configuration than "
			"%s (SHA-256 %.12s..., now %.12s...): make it again\n", file, cfg->file,
			digest->valuestring, hex);
		rc = 1;
		goto out;
	}
	rc = apply_all(o, cfg, domains);
out:
	cJSON_Delete(doc);
	return rc;
}
