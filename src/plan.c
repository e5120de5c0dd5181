/*
 * plan.c - the plan and its pieces: diagnostics, changes, the value put in
 * place of another in a set, its status and exit code. The planner
 * (planner.c, planner_spf.c) builds plans from these; apply, backup,
 * render and saved plans read them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "planner_internal.h"
#include "provision/buf.h"
#include "provision/util.h"

int plan_diag(struct plan *p, enum diag_severity sev, int exit_code,
	      const char *code, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int rc = buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	struct diag *v = rc == 0 ? realloc(p->diags, (p->ndiags + 1) * sizeof *v) : NULL;
	if (!v) {
		buf_release(&msg);
		return -1;
	}
	p->diags = v;
	v[p->ndiags] = (struct diag){ sev, strdup(code), buf_detach(&msg), exit_code };
	p->ndiags++;
	return 0;
}

int plan_add_change(struct plan *p, const char *what, const char *name,
		      uint16_t type, uint32_t ttl, const char *before,
		      const char *after)
{
	struct change *v = realloc(p->changes, (p->nchanges + 1) * sizeof *v);
	if (!v)
		return -1;
	p->changes = v;
	struct change *c = &v[p->nchanges++];
	c->action = !before ? CHANGE_CREATE : !after ? CHANGE_DELETE : CHANGE_UPDATE;
	c->name = strdup(name);
	c->type = type;
	c->ttl = ttl;
	c->before = xstrdup(before);
	c->after = xstrdup(after);
	c->what = what;
	return 0;
}

/* The TTL a set shares: that of its first value we do not manage, or 0
 * when we manage all of it. */
static uint32_t shared_ttl(const struct rrset *set, const char *managed, int *shared)
{
	*shared = 0;
	for (size_t i = 0; set && set->values[i]; i++)
		if (!managed || strcmp(set->values[i], managed) != 0) {
			*shared = 1;
			return rrset_value_ttl(set, set->values[i]);
		}
	return 0;
}

/*
 * Put `want` in place of `have` (NULL: nothing yet) in the set at name.
 * Where the store keeps a TTL per record, the managed value gets the
 * configured ttl and the others keep theirs. Where it keeps one per set, a
 * set shared with values we do not manage keeps its TTL (all records of a
 * set share one, RFC 2181 §5.2), and the plan says so when that is not the
 * configured one.
 */
int plan_value(struct plan *p, const char *what, const char *name,
		      uint16_t type, const struct rrset *set, const char *have,
		      const char *want, uint32_t ttl)
{
	int shared = 0;
	uint32_t t = ttl, st = p->ttl_per_record ? 0 : shared_ttl(set, have, &shared);
	if (shared)
		t = st;
	/* a shared set's TTL is not ours to change: in sync whatever it is */
	if (have && strcmp(have, want) == 0 && (shared || rrset_value_ttl(set, have) == t))
		return 0;
	if (shared && t != ttl)
		plan_diag(p, DIAG_INFO, 0, "ttl-shared-set",
			  "%s: %s %s keeps TTL %u, the TTL of the record set it shares with "
			  "records not managed here (one TTL per set, RFC 2181 section 5.2), "
			  "not the configured %u", what, name, rr_type_name(type),
			  (unsigned)t, (unsigned)ttl);
	return plan_add_change(p, what, name, type, t, have, want);
}

/* A CNAME at name blocks any other data there (RFC 1034 §3.6.2). */
int plan_cname_blocks(struct plan *p, const struct rrset_list *ex,
			const char *name, const char *what)
{
	const struct rrset *c = rrset_list_find(ex, name, RR_CNAME);
	if (!c)
		return 0;
	plan_diag(p, DIAG_ERROR, 3, "cname-conflict",
		  "%s: %s is a CNAME to %s, so it cannot also hold the %s TXT record",
		  what, name, c->values[0], what);
	return 1;
}

/* Collect the values of a TXT set for which pick() is true. */
size_t plan_txt_pick(const struct rrset *set, int (*pick)(const char *),
		       const char **first)
{
	size_t n = 0;
	*first = NULL;
	for (char **v = set ? set->values : NULL; v && *v; v++)
		if (pick(*v) && n++ == 0)
			*first = *v;
	return n;
}

void plan_release(struct plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nchanges; i++) {
		free(p->changes[i].name);
		free(p->changes[i].before);
		free(p->changes[i].after);
	}
	for (size_t i = 0; i < p->ndiags; i++) {
		free(p->diags[i].code);
		free(p->diags[i].message);
	}
	free(p->changes);
	free(p->diags);
	free(p->domain);
	free(p->spf_record);
	free(p->verdict_ip);
	if (p->spf_counted)
		spf_cost_release(&p->spf);
	memset(p, 0, sizeof *p);
}

int plan_exit_code(const struct plan *p, int detailed)
{
	switch (p->status) {
	case PLAN_ERROR: return 1;
	case PLAN_DRIFTED: return 1;
	case PLAN_REFUSED: return 3;
	case PLAN_CHANGES: return detailed ? 2 : 0;
	default: return 0;
	}
}

const char *plan_status_name(enum plan_status s)
{
	static const char *const names[] = { "in_sync", "changes", "applied",
					     "refused", "error", "drifted" };
	return names[s];
}
