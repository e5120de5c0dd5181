/*
 * run.c - the main job: plan every selected domain and, without --dry-run,
 * apply it (commands.h: cmd_run).
 *
 * For each selected domain: the provider lists the managed names, the
 * planner computes the plan, render prints it; without --dry-run apply.c
 * writes it and the zone is listed again to confirm. Every domain is
 * processed; the exit code is the worst outcome (1 over 3 over 2 over 0).
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
#include "progress.h"
#include "render.h"
#include "stop.h"
#include "provision/util.h"

struct session {
	const struct options *o;
	struct config *cfg;
	struct resolver *resolver;
	void **handles; /* per provider block, opened on first use */
	cJSON *json;
	cJSON *saved;     /* --out: the plan file being made */
	struct backup_index *backups; /* backup_dir, read on first use */
	int saved_failed;
	struct progress progress;
	int color;
};

static void logv(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void logv(struct session *s, const char *fmt, ...)
{
	if (!s->o->verbose)
		return;
	va_list ap;
	progress_clear(&s->progress);
	va_start(ap, fmt);
	fprintf(stderr, "provision: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* The open handle of a domain's provider (opened on first use); *rc is
 * open()'s result. */
static void *provider_handle(struct session *s, struct provider_config *pc,
			     int *rc, struct prov_error *err)
{
	size_t i = (size_t)(pc - s->cfg->providers);
	*rc = 0;
	if (!s->handles[i]) {
		pc->verbose = s->o->verbose;
		pc->wait_s = s->o->wait_s;
		pc->lock_timeout_s = s->o->lock_timeout_s;
		if ((*rc = pc->ops->open(pc, &s->handles[i], err)) < 0)
			s->handles[i] = NULL;
	}
	return s->handles[i];
}

/* Open the providers of the selected domains first: a setting a provider
 * rejects is a configuration error (exit 78) before anything is done. */
static int open_providers(struct session *s)
{
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
		int rc;
		if (domain_selected(s->o, &s->cfg->domains[i]) &&
		    !provider_handle(s, s->cfg->domains[i].prov, &rc, &err) &&
		    rc == PROV_ERR_CONFIG) {
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

static int process_domain(struct session *s, struct domain_config *d)
{
	struct prov_error err = PROV_ERROR_INIT;
	struct rrset_list existing = { 0 };
	struct plan p = { 0 };
	int orc;
	void *h = provider_handle(s, d->prov, &orc, &err);
	if (!h || list_zone(s, d, h, &existing, &err) < 0)
		plan_fail(&p, d, "provider-error", err.msg);
	else if (plan_build(d, &existing, s->resolver, !s->o->dry_run, &p) < 0)
		plan_fail(&p, d, "internal", "out of memory");
	/* what changed since provision last wrote: before this run writes */
	if (p.status != PLAN_ERROR && !s->backups)
		s->backups = backup_index_load(s->cfg->backup_dir);
	cJSON *drift = p.status == PLAN_ERROR ? NULL : backup_drift(s->backups, &p, &existing);
	if (!s->o->dry_run && p.status == PLAN_CHANGES)
		apply_plan(s, d, h, &p, &existing);
	if (s->saved && saved_plan_add(s->saved, &p, &existing) < 0)
		s->saved_failed = 1;
	if (s->json && render_json_plan(s->json, &p) == 0) {
		cJSON *doms = cJSON_GetObjectItemCaseSensitive(s->json, "domains");
		cJSON *last = cJSON_GetArrayItem(doms, cJSON_GetArraySize(doms) - 1);
		if (last && drift)
			cJSON_AddItemToObject(last, "drift", drift), drift = NULL;
		else if (last)
			cJSON_AddNullToObject(last, "drift");
	} else if (!s->json) {
		progress_clear(&s->progress);
		render_text_plan(stdout, &p, s->color);
		fflush(stdout);
	}
	cJSON_Delete(drift);
	progress_clear(&s->progress);
	render_failure_line(stderr, &p);
	int code = plan_exit_code(&p, s->o->detailed);
	progress_done(&s->progress, &p);
	rrset_list_release(&existing);
	plan_release(&p);
	return code;
}

static int rank(int code)
{
	return code == 1 ? 4 : code == 3 ? 3 : code == 2 ? 2 : 0;
}

static void session_release(struct session *s)
{
	for (size_t i = 0; s->handles && i < s->cfg->nproviders; i++)
		if (s->handles[i])
			s->cfg->providers[i].ops->close(s->handles[i]);
	free(s->handles);
	resolver_free(s->resolver);
	cJSON_Delete(s->json);
	cJSON_Delete(s->saved);
	backup_index_free(s->backups);
}

int cmd_run(const struct options *o, struct config *cfg)
{
	struct session ss = { .o = o, .cfg = cfg, .color = o->color }, *s = &ss;
	struct prov_error err = PROV_ERROR_INIT;
	int worst = 0, rc;
	shard_note(o, cfg);
	s->handles = calloc(s->cfg->nproviders + 1, sizeof *s->handles);
	s->resolver = resolver_new_dns(o->resolver, 3000, 1, &err);
	if (!s->handles || !s->resolver) {
		fprintf(stderr, "provision: %s\n", err.set ? err.msg : "out of memory");
		goto fail;
	}
	if ((rc = open_providers(s)) != 0) {
		worst = rc;
		goto out;
	}
	if (o->json && !(s->json = render_json_envelope(o->dry_run)))
		goto fail;
	if (o->out && !(s->saved = saved_plan_new(s->cfg, &err))) {
		fprintf(stderr, "provision: %s\n", err.msg);
		goto fail;
	}
	size_t total = 0;
	for (size_t i = 0; i < s->cfg->ndomains; i++)
		total += (size_t)domain_selected(o, &s->cfg->domains[i]);
	progress_init(&s->progress, o, total);
	stop_install();
	struct stop_tally tally = { .total = total };
	for (size_t i = 0; i < s->cfg->ndomains; i++) {
		struct domain_config *d = &s->cfg->domains[i];
		if (!domain_selected(o, d))
			continue;
		if (stop_requested()) {
			stop_tally_skip(&tally, d->name);
			continue;
		}
		int code = process_domain(s, d);
		tally.done++;
		if (rank(code) > rank(worst))
			worst = code;
	}
	progress_end(&s->progress);
	if (stop_tally_report(&tally)) {
		if (s->json)
			cJSON_AddStringToObject(s->json, "stopped", stop_signal_name(stop_requested()));
		worst = 1;
	}
	if (s->json && render_json_print(stdout, s->json) < 0)
		worst = 1;
	if (s->saved && (s->saved_failed || saved_plan_write(o->out, s->saved, &err) < 0)) {
		fprintf(stderr, "provision: %s\n", err.set ? err.msg : "out of memory");
		worst = 1;
	}
	if (o->verbose) {
		struct resolver_stats st;
		resolver_get_stats(s->resolver, &st);
		fprintf(stderr, "provision: dns: %lu questions, %lu sent\n", st.questions, st.sent);
	}
out:
	session_release(s);
	return worst;
fail:
	worst = 1;
	goto out;
}

