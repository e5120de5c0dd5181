/*
 * restore.c - `provision restore BACKUP.json [--dry-run]`: put back the
 * record sets an apply replaced, through the same provider, as a plan like
 * any other (a diff, dry-runnable, JSON or text).
 *
 * Each set must still hold what the apply left there (its "after" values),
 * or already what it held before: otherwise someone changed it since, and
 * the domain is refused (drifted, exit 1) with the difference shown,
 * nothing written. Then the changes
 * that make each set hold its "before" values again (and TTLs) are applied,
 * and the sets are read back to confirm.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "apply.h"
#include "backup.h"
#include "commands.h"
#include "render.h"
#include "provision/buf.h"
#include "provision/provider.h"
#include "provision/util.h"

static int has_value(const struct rrset *s, const char *v)
{
	for (size_t i = 0; s && s->values && s->values[i]; i++)
		if (strcmp(s->values[i], v) == 0)
			return 1;
	return 0;
}

static const struct rrset *first(const struct rrset_list *l)
{
	return l->n ? &l->v[0] : NULL;
}

static int push(struct plan *p, enum change_action a, const char *name, uint16_t type,
		uint32_t ttl, const char *before, const char *after)
{
	struct change *v = realloc(p->changes, (p->nchanges + 1) * sizeof *v);
	if (!v)
		return -1;
	p->changes = v;
	v[p->nchanges++] = (struct change){ a, xstrdup(name), type, ttl, xstrdup(before),
					    xstrdup(after), "restore" };
	return 0;
}

/* The changes that make the current set hold the backed-up one. */
static int restore_set(struct plan *p, const struct backup_set *bs, const struct rrset *cur)
{
	const struct rrset *want = first(&bs->before);
	size_t ng = 0, nb = 0, k;
	size_t ncur = cur && cur->values ? strv_len(cur->values) : 0;
	size_t nwant = want && want->values ? strv_len(want->values) : 0;
	const char **gone = calloc(ncur + 1, sizeof *gone), **back = calloc(nwant + 1, sizeof *back);
	int rc = gone && back ? 0 : -1;
	for (size_t i = 0; rc == 0 && i < ncur; i++)
		if (!has_value(want, cur->values[i]))
			gone[ng++] = cur->values[i];
	for (size_t i = 0; rc == 0 && i < nwant; i++) {
		const char *v = want->values[i];
		uint32_t ttl = rrset_value_ttl(want, v);
		if (!has_value(cur, v))
			back[nb++] = v;
		else if (rrset_value_ttl(cur, v) != ttl)
			rc = push(p, CHANGE_UPDATE, bs->name, bs->type, ttl, v, v);
	}
	/* a value the apply replaced goes back in its place (an update), so a
	 * zone file gets its own line back */
	for (k = 0; rc == 0 && k < ng && k < nb; k++)
		rc = push(p, CHANGE_UPDATE, bs->name, bs->type, rrset_value_ttl(want, back[k]),
			  gone[k], back[k]);
	for (size_t i = k; rc == 0 && i < ng; i++)
		rc = push(p, CHANGE_DELETE, bs->name, bs->type, rrset_value_ttl(cur, gone[i]),
			  gone[i], NULL);
	for (size_t i = k; rc == 0 && i < nb; i++)
		rc = push(p, CHANGE_CREATE, bs->name, bs->type, rrset_value_ttl(want, back[i]),
			  NULL, back[i]);
	free(gone);
	free(back);
	return rc;
}

/* The backup's names, each once; NULL on no memory. */
static char **backup_names(const struct backup *b)
{
	char **names = NULL;
	for (size_t i = 0; i < b->nsets; i++) {
		int seen = 0;
		for (char **n = names; n && *n && !seen; n++)
			seen = dname_equal(*n, b->sets[i].name);
		if (!seen && strv_push(&names, b->sets[i].name) < 0) {
			strv_free(names);
			return NULL;
		}
	}
	return names;
}

int cmd_restore(const struct options *o, struct config *cfg)
{
	struct prov_error err = PROV_ERROR_INIT;
	struct backup b;
	if (!o->domains || o->domains[1])
		return usage_error("%s", "restore takes one BACKUP.json");
	if (backup_read(o->domains[0], &b, &err) < 0) {
		fprintf(stderr, "provision: %s\n", err.msg);
		return 1;
	}
	struct domain_config *d = config_find_domain(cfg, b.domain);
	int code = 0;
	if (!d || strcmp(d->provider, b.provider) != 0) {
		fprintf(stderr, "provision: %s: domain %s %s in %s\n", o->domains[0], b.domain,
			d ? "now uses another provider than the backup's" : "is not", cfg->file);
		backup_release(&b);
		return d ? 1 : 64;
	}
	struct plan p = { 0 };
	struct rrset_list cur = { 0 }, again = { 0 };
	void *h = NULL;
	char **names = backup_names(&b);
	p.domain = dname_fqdn(b.domain);
	p.provider = d->provider;
	p.status = PLAN_IN_SYNC;
	d->prov->verbose = o->verbose;
	d->prov->wait_s = o->wait_s;
	d->prov->lock_timeout_s = o->lock_timeout_s;
	if (!names)
		prov_errorf(&err, PROV_ERR_NOMEM, "out of memory");
	if (!names || d->prov->ops->open(d->prov, &h, &err) < 0 ||
	    domain_list(d, h, names, &cur, &err) < 0) {
		plan_diag(&p, DIAG_ERROR, 1, "provider-error", "%s", err.msg);
		p.status = PLAN_ERROR;
	}
	size_t drifted = 0;
	for (size_t i = 0; p.status != PLAN_ERROR && i < b.nsets; i++) {
		const struct backup_set *bs = &b.sets[i];
		const struct rrset *now = rrset_list_find(&cur, bs->name, bs->type);
		/* still as the apply left it, or already put back: else drifted */
		if (!rrset_same(first(&bs->after), now, 0) && !rrset_same(first(&bs->before), now, 0)) {
			struct buf m = BUF_INIT;
			buf_printf(&m, "restore: %s %s changed since the apply of %s: it holds ",
				   bs->name, rr_type_name(bs->type), b.time);
			rrset_text(&m, now, 0);
			buf_puts(&m, ", the apply left ");
			rrset_text(&m, first(&bs->after), 0);
			buf_puts(&m, "; nothing is restored (edit the backup or the zone first)");
			plan_diag(&p, DIAG_ERROR, 1, "drifted", "%s", buf_str(&m));
			buf_release(&m);
			drifted++;
		}
	}
	if (drifted) /* every set that changed is named, as apply PLAN.json does */
		p.status = PLAN_DRIFTED;
	for (size_t i = 0; p.status == PLAN_IN_SYNC && i < b.nsets; i++)
		if (restore_set(&p, &b.sets[i], rrset_list_find(&cur, b.sets[i].name, b.sets[i].type)) < 0) {
			plan_diag(&p, DIAG_ERROR, 1, "internal", "out of memory");
			p.status = PLAN_ERROR;
		}
	if (p.status == PLAN_IN_SYNC && p.nchanges)
		p.status = PLAN_CHANGES;
	if (p.status == PLAN_CHANGES && !o->dry_run) {
		/* just read and compared: backed up (a restore can be undone too),
		 * then written */
		if (plan_write(cfg->backup_dir, d, h, &p, &cur, names, 0, o->verbose) < 0)
			p.status = PLAN_ERROR;
		else if (domain_list(d, h, names, &again, &err) < 0) {
			plan_diag(&p, DIAG_ERROR, 1, "confirm-failed", "%s", err.msg);
			p.status = PLAN_ERROR;
		} else {
			p.status = PLAN_APPLIED;
			for (size_t i = 0; i < b.nsets; i++)
				if (!rrset_same(first(&b.sets[i].before),
						rrset_list_find(&again, b.sets[i].name, b.sets[i].type), 0))
					p.status = PLAN_ERROR;
			if (p.status == PLAN_ERROR)
				plan_diag(&p, DIAG_ERROR, 1, "confirm-failed", "after restoring, "
					  "provider %s does not hold the backed-up records", d->provider);
		}
	}
	if (o->json) {
		cJSON *env = render_json_envelope(o->dry_run);
		if (env && render_json_plan(env, &p) == 0)
			render_json_print(stdout, env);
		cJSON_Delete(env);
	} else {
		render_text_plan(stdout, &p, o->color);
	}
	render_failure_line(stderr, &p);
	code = plan_exit_code(&p, o->detailed);
	if (h)
		d->prov->ops->close(h);
	rrset_list_release(&cur);
	rrset_list_release(&again);
	strv_free(names);
	plan_release(&p);
	backup_release(&b);
	return code;
}
