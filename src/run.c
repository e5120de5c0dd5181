/*
 * run.c - the main job: plan every selected domain and, without --dry-run,
 * apply it (commands.h: cmd_run).
 *
 * For each selected domain: the provider lists the managed names, the
 * planner computes the plan, render prints it; without --dry-run apply.c
 * writes it and the zone is listed again to confirm. Every domain is
 * processed; the exit code is the worst outcome (1 over 3 over 2 over 0).
 *
 * Domains are worked on at once by pool.c's threads, at most each provider
 * block's concurrency (and -j) in flight; each worker has its own provider
 * handles, and the reports come out in configuration order.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "backup.h"
#include "commands.h"
#include "saved_plan.h"
#include "config.h"
#include "plan.h"
#include "pool.h"
#include "progress.h"
#include "render.h"
#include "stop.h"
#include "provision/util.h"

/* One domain: its work (on a worker thread), then its report (in
 * configuration order). */
struct slot {
	struct domain_config *d;
	struct plan p;
	struct rrset_list existing;
	cJSON *drift;
};

struct session {
	const struct options *o;
	struct config *cfg;
	struct resolver *resolver;  /* one DNS cache, shared by the workers */
	void **handles; /* [worker * nproviders + block], opened on first use */
	unsigned workers;
	unsigned *limits; /* per provider block: its concurrency */
	cJSON *json;
	cJSON *saved;     /* --out: the plan file being made */
	struct backup_index *backups; /* backup_dir, read before any write */
	int saved_failed;
	struct progress progress;
	int color;
	struct slot *slots; /* the selected domains, in order */
	size_t nslots;
	size_t *class_of;   /* slot -> provider block */
	int worst;
	struct stop_tally tally;
};

static void logv(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void logv(struct session *s, const char *fmt, ...)
{
	if (!s->o->verbose)
		return;
	va_list ap;
	pool_lock();
	progress_clear(&s->progress);
	va_start(ap, fmt);
	fprintf(stderr, "provision: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	pool_unlock();
}

/* Worker w's open handle of a provider block (opened on first use); *rc
 * is open()'s result. */
static void *provider_handle(struct session *s, unsigned w, struct provider_config *pc,
			     int *rc, struct prov_error *err)
{
	size_t i = (size_t)(pc - s->cfg->providers) + (size_t)w * s->cfg->nproviders;
	*rc = 0;
	if (!s->handles[i] && (*rc = pc->ops->open(pc, &s->handles[i], err)) < 0)
		s->handles[i] = NULL;
	return s->handles[i];
}

/* Open the providers of the selected domains first (worker 0's handles):
 * a setting a provider rejects is a configuration error (exit 78) before
 * anything is done. Each block's concurrency is read here too. */
static int open_providers(struct session *s)
{
	for (size_t i = 0; i < s->cfg->nproviders; i++) {
		struct provider_config *pc = &s->cfg->providers[i];
		pc->verbose = s->o->verbose;
		pc->wait_s = s->o->wait_s;
		pc->lock_timeout_s = s->o->lock_timeout_s;
	}
	for (size_t i = 0; i < s->cfg->ndomains; i++) {
		const struct domain_config *d = &s->cfg->domains[i];
		if (domain_selected(s->o, d) && d->policy.ttl < d->prov->ops->min_ttl) {
			fprintf(stderr, "provision: %s:%d: domain '%s': ttl %u is below the "
				"minimum of %u that %s accepts (provider '%s')\n", s->cfg->file,
				d->line, d->name, (unsigned)d->policy.ttl,
				(unsigned)d->prov->ops->min_ttl, d->prov->type, d->provider);
			return 78;
		}
	}
	for (size_t i = 0; i < s->cfg->ndomains; i++) {
		struct prov_error err = PROV_ERROR_INIT;
		struct provider_config *pc = s->cfg->domains[i].prov;
		int rc;
		if (!domain_selected(s->o, &s->cfg->domains[i]))
			continue;
		if (provider_concurrency(pc, &s->limits[pc - s->cfg->providers], &err) < 0 ||
		    (!provider_handle(s, 0, pc, &rc, &err) && rc == PROV_ERR_CONFIG)) {
			fprintf(stderr, "provision: %s\n", err.msg);
			return 78;
		}
	}
	return 0;
}

/* A plan that stands for a failure before planning could finish. */
static void plan_fail(struct plan *p, const struct domain_config *d,
		      const char *code, const char *msg)
{
	if (!p->domain)
		p->domain = dname_fqdn(d->name);
	p->provider = d->provider;
	p->status = PLAN_ERROR;
	plan_diag(p, DIAG_ERROR, 1, code, "%s", msg);
}

static int list_zone(struct session *s, struct domain_config *d, void *h,
		     struct rrset_list *rrs, struct prov_error *err)
{
	int rc = domain_list(d, h, NULL, rrs, err);
	logv(s, "%s: listed the managed names through provider %s", d->name, d->provider);
	return rc;
}

/* Write the plan (apply.c: checked again, backed up), then list again and
 * plan again: nothing may be pending. */
static void apply_plan(struct session *s, struct domain_config *d, void *h,
		       struct plan *p, const struct rrset_list *existing)
{
	struct prov_error err = PROV_ERROR_INIT;
	struct rrset_list after = { 0 };
	struct plan again;
	if (plan_write(s->cfg->backup_dir, d, h, p, existing, NULL, 1, s->o->verbose) < 0)
		return;
	if (list_zone(s, d, h, &after, &err) < 0) {
		plan_fail(p, d, "confirm-failed", err.msg);
		goto out;
	}
	plan_build(d, &after, s->resolver, 1, &again);
	if (again.status != PLAN_IN_SYNC) {
		char msg[256];
		snprintf(msg, sizeof msg, "after applying, provider %s still shows %zu pending change(s)",
			 d->provider, again.nchanges);
		plan_fail(p, d, "confirm-failed", msg);
	} else {
		p->status = PLAN_APPLIED;
	}
	plan_release(&again);
out:
	rrset_list_release(&after);
}

/* pool.work: list, plan, and without --dry-run apply one domain. */
static void work_domain(void *ctx, unsigned w, size_t i)
{
	struct session *s = ctx;
	struct slot *sl = &s->slots[i];
	struct domain_config *d = sl->d;
	struct prov_error err = PROV_ERROR_INIT;
	int orc;
	void *h = provider_handle(s, w, d->prov, &orc, &err);
	if (!h || list_zone(s, d, h, &sl->existing, &err) < 0)
		plan_fail(&sl->p, d, "provider-error", err.msg);
	else if (plan_build(d, &sl->existing, s->resolver, !s->o->dry_run, &sl->p) < 0)
		plan_fail(&sl->p, d, "internal", "out of memory");
	/* what changed since provision last wrote (the index was read before
	 * this run wrote anything) */
	if (sl->p.status != PLAN_ERROR)
		sl->drift = backup_drift(s->backups, &sl->p, &sl->existing);
	if (!s->o->dry_run && sl->p.status == PLAN_CHANGES)
		apply_plan(s, d, h, &sl->p, &sl->existing);
}

/* pool.done: the progress line counts it. */
static void domain_done(void *ctx, size_t i)
{
	struct session *s = ctx;
	s->tally.done++;
	progress_done(&s->progress, &s->slots[i].p);
}

static int rank(int code)
{
	return code == 1 ? 4 : code == 3 ? 3 : code == 2 ? 2 : 0;
}

/* pool.emit: the domain's report, in configuration order. */
static void emit_domain(void *ctx, size_t i)
{
	struct session *s = ctx;
	struct slot *sl = &s->slots[i];
	struct plan *p = &sl->p;
	if (s->saved && saved_plan_add(s->saved, p, &sl->existing) < 0)
		s->saved_failed = 1;
	if (s->json && render_json_plan(s->json, p) == 0) {
		cJSON *doms = cJSON_GetObjectItemCaseSensitive(s->json, "domains");
		cJSON *last = cJSON_GetArrayItem(doms, cJSON_GetArraySize(doms) - 1);
		if (last && sl->drift)
			cJSON_AddItemToObject(last, "drift", sl->drift), sl->drift = NULL;
		else if (last)
			cJSON_AddNullToObject(last, "drift");
	} else if (!s->json) {
		progress_clear(&s->progress);
		render_text_plan(stdout, p, s->color);
		fflush(stdout);
	}
	progress_clear(&s->progress);
	render_failure_line(stderr, p);
	int code = plan_exit_code(p, s->o->detailed);
	if (rank(code) > rank(s->worst))
		s->worst = code;
	cJSON_Delete(sl->drift);
	sl->drift = NULL;
	rrset_list_release(&sl->existing);
	plan_release(p);
}

static void session_release(struct session *s)
{
	for (size_t i = 0; s->handles && i < (size_t)s->workers * s->cfg->nproviders; i++)
		if (s->handles[i])
			s->cfg->providers[i % s->cfg->nproviders].ops->close(s->handles[i]);
	free(s->handles);
	free(s->limits);
	free(s->slots);
	free(s->class_of);
	resolver_free(s->resolver);
	cJSON_Delete(s->json);
	cJSON_Delete(s->saved);
	backup_index_free(s->backups);
}

/* The selected domains as slots, each with its provider block. */
static int make_slots(struct session *s)
{
	s->slots = calloc(s->cfg->ndomains + 1, sizeof *s->slots);
	s->class_of = calloc(s->cfg->ndomains + 1, sizeof *s->class_of);
	if (!s->slots || !s->class_of)
		return -1;
	for (size_t i = 0; i < s->cfg->ndomains; i++) {
		struct domain_config *d = &s->cfg->domains[i];
		if (!domain_selected(s->o, d))
			continue;
		s->class_of[s->nslots] = (size_t)(d->prov - s->cfg->providers);
		s->slots[s->nslots++].d = d;
	}
	return 0;
}

int cmd_run(const struct options *o, struct config *cfg)
{
	struct session ss = { .o = o, .cfg = cfg, .color = o->color }, *s = &ss;
	struct prov_error err = PROV_ERROR_INIT;
	int rc;
	shard_note(o, cfg);
	s->workers = 1;
	s->handles = calloc(s->cfg->nproviders + 1, sizeof *s->handles);
	s->limits = calloc(s->cfg->nproviders + 1, sizeof *s->limits);
	s->resolver = resolver_new_dns(o->resolver, o->dns_timeout_ms ? o->dns_timeout_ms : 3000, 1, &err);
	if (!s->handles || !s->limits || !s->resolver) {
		fprintf(stderr, "provision: %s\n", err.set ? err.msg : "out of memory");
		goto fail;
	}
	if ((rc = open_providers(s)) != 0) {
		s->worst = rc;
		goto out;
	}
	if (o->json && !(s->json = render_json_envelope(o->dry_run)))
		goto fail;
	if (o->out && !(s->saved = saved_plan_new(s->cfg, &err))) {
		fprintf(stderr, "provision: %s\n", err.msg);
		goto fail;
	}
	if (make_slots(s) < 0)
		goto fail;
	struct pool pool = {
		.n = s->nslots, .class_of = s->class_of, .limit = s->limits,
		.nclasses = s->cfg->nproviders, .work = work_domain, .done = domain_done,
		.emit = emit_domain, .stop = stop_requested, .ctx = s,
	};
	pool.workers = s->workers = pool_workers(&pool, o->jobs, POOL_MAX_JOBS);
	void **more = realloc(s->handles, ((size_t)s->workers * s->cfg->nproviders + 1) *
			      sizeof *more);
	if (!more)
		goto fail;
	s->handles = more;
	for (size_t i = s->cfg->nproviders; i < (size_t)s->workers * s->cfg->nproviders; i++)
		s->handles[i] = NULL;
	s->backups = backup_index_load(s->cfg->backup_dir);
	if (o->verbose && s->workers > 1)
		fprintf(stderr, "provision: %zu domains, at most %u at once\n", s->nslots,
			s->workers);
	progress_init(&s->progress, o, s->nslots);
	stop_install();
	s->tally.total = s->nslots;
	if (pool_run(&pool) < 0) {
		free(pool.started);
		goto fail;
	}
	for (size_t i = 0; i < s->nslots; i++)
		if (!pool.started[i])
			stop_tally_skip(&s->tally, s->slots[i].d->name);
	free(pool.started);
	progress_end(&s->progress);
	if (stop_tally_report(&s->tally)) {
		if (s->json)
			cJSON_AddStringToObject(s->json, "stopped", stop_signal_name(stop_requested()));
		s->worst = 1;
	}
	if (s->json && render_json_print(stdout, s->json) < 0)
		s->worst = 1;
	if (s->saved && (s->saved_failed || saved_plan_write(o->out, s->saved, &err) < 0)) {
		fprintf(stderr, "provision: %s\n", err.set ? err.msg : "out of memory");
		s->worst = 1;
	}
	if (o->verbose) {
		struct resolver_stats st;
		resolver_get_stats(s->resolver, &st);
		fprintf(stderr, "provision: dns: %lu questions, %lu sent\n", st.questions, st.sent);
	}
out:
	session_release(s);
	return s->worst;
fail:
	s->worst = 1;
	goto out;
}
