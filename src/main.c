/*
 * main.c - command line, dispatch, exit codes; nothing else.
 *
 * For each selected domain: the provider lists the managed names, the
 * planner computes the plan, render prints it; without --dry-run the
 * provider applies it and the zone is listed again to confirm. Every domain
 * is processed; the exit code is the worst outcome (1 over 3 over 2 over 0).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply.h"
#include "backup.h"
#include "commands.h"
#include "saved_plan.h"
#include "config.h"
#include "plan.h"
#include "render.h"
#include "provision/util.h"


struct session {
	struct options *o;
	struct config cfg;
	struct resolver *resolver;
	void **handles; /* per provider block, opened on first use */
	cJSON *json;
	cJSON *saved;     /* --out: the plan file being made */
	struct backup_index *backups; /* backup_dir, read on first use */
	int saved_failed;
	int color;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: provision [OPTIONS] [DOMAIN...]            apply the plan\n"
		"       provision --dry-run [OPTIONS] [DOMAIN...]  show the plan, change nothing\n"
		"       provision check [OPTIONS] [DOMAIN...]      read live DNS back\n"
		"       provision smtp-test [OPTIONS] [DOMAIN]     test SMTP/IMAP settings\n"
		"       provision dmarc-report [OPTIONS] FILE|DIR...  digest DMARC aggregate reports\n"
		"       provision restore [--dry-run] BACKUP.json  put back what an apply replaced\n"
		"       provision apply PLAN.json                  apply a plan saved by --dry-run --out\n"
		"       provision --help | --version\n"
		"\n"
		"options:\n"
		"  -c, --config FILE          configuration (default provision.cfg)\n"
		"  -n, --dry-run              preview only\n"
		"      --format text|json     output format (default text)\n"
		"      --detailed-exitcode    with --dry-run: exit 2 when changes are pending\n"
		"      --resolver HOST[:PORT] DNS server for SPF lookups (default: system)\n"
		"      --nameserver HOST[:PORT]  with check: ask this server (repeatable)\n"
		"      --wait DURATION        with check: keep checking up to 90s, 30m, 2h\n"
		"      --lock-timeout DURATION  wait this long for a zone file another run holds (30s)\n"
		"      --out PLAN.json        with --dry-run: save the plan for provision apply\n"
		"      --max-age DURATION     with apply: refuse an older plan (default 24h)\n"
		"      --resolve              with dmarc-report: reverse names of the sources\n"
		"      --recommend DOMAIN     with dmarc-report: is DOMAIN ready for the next policy\n"
		"      --imap[=DOMAIN]        with dmarc-report: read the rua mailbox (smtp.imap)\n"
		"      --since YYYY-MM-DD     with --imap: messages since then (default: unseen)\n"
		"      --mark-seen            with --imap: flag the messages read as seen\n"
		"  -v, --verbose              more on stderr (never secrets)\n"
		"  -h, --help                 this text\n"
		"  -V, --version              the version\n"
		"\n"
		"exit: 0 ok, 1 runtime failure, 2 changes pending (--detailed-exitcode),\n"
		"      3 refused by a record rule, 64 usage error, 78 configuration error\n");
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "format", required_argument, NULL, 'f' },
		{ "detailed-exitcode", no_argument, NULL, 'd' },
		{ "resolver", required_argument, NULL, 'r' },
		{ "nameserver", required_argument, NULL, 's' },
		{ "wait", required_argument, NULL, 'w' },
		{ "lock-timeout", required_argument, NULL, 'L' },
		{ "out", required_argument, NULL, 'O' },
		{ "max-age", required_argument, NULL, 'G' },
		{ "to", required_argument, NULL, 't' },
		{ "confirm", no_argument, NULL, 'C' },
		{ "resolve", no_argument, NULL, 'R' },
		{ "recommend", required_argument, NULL, 'A' },
		{ "imap", optional_argument, NULL, 'I' },
		{ "since", required_argument, NULL, 'S' },
		{ "mark-seen", no_argument, NULL, 'M' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	o->config = "provision.cfg";
	o->lock_timeout_s = 30;
	o->max_age_s = 24 * 3600;
	/* GNU getopt permutes: options may come before or after the command
	 * word and the domains ("provision check -c x.cfg example.com"). */
	while ((c = getopt_long(argc, argv, "c:nvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'n': o->dry_run = 1; break;
		case 'f':
			if (strcmp(optarg, "json") == 0) o->json = 1;
			else if (strcmp(optarg, "text") == 0) o->json = 0;
			else return usage_error("--format must be text or json, not '%s'", optarg);
			break;
		case 'd': o->detailed = 1; break;
		case 'r': o->resolver = optarg; break;
		case 's':
			if (strv_push(&o->nameservers, optarg) < 0)
				return 1;
			break;
		case 'w':
			if ((o->wait_s = duration_seconds(optarg)) < 0)
				return usage_error("--wait takes a duration such as 90s, 30m or 2h, not '%s'", optarg);
			o->wait = optarg;
			break;
		case 'L':
			if ((o->lock_timeout_s = duration_seconds(optarg)) < 0 &&
			    strcmp(optarg, "0") != 0)
				return usage_error("--lock-timeout takes a duration such as 30s or 2m, not '%s'",
						   optarg);
			if (o->lock_timeout_s < 0)
				o->lock_timeout_s = 0;
			break;
		case 'O': o->out = optarg; break;
		case 'G':
			if ((o->max_age_s = duration_seconds(optarg)) < 0)
				return usage_error("--max-age takes a duration such as 24h, not '%s'", optarg);
			break;
		case 't': o->to = optarg; break;
		case 'C': o->confirm = 1; break;
		case 'R': o->resolve = 1; break;
		case 'A': o->recommend = optarg; break;
		case 'I': o->imap = optarg ? optarg : ""; break;
		case 'S': o->since = optarg; break;
		case 'M': o->mark_seen = 1; break;
		case 'v': o->verbose++; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("provision %s\n", PROVISION_VERSION); return 0;
		default: return usage_error("%s", "invalid option");
		}
	}
	int i = optind;
	if (i < argc && (strcmp(argv[i], "check") == 0 || strcmp(argv[i], "smtp-test") == 0 ||
			 strcmp(argv[i], "dmarc-report") == 0 || strcmp(argv[i], "restore") == 0 ||
			 strcmp(argv[i], "apply") == 0))
		o->command = argv[i++];
	for (; i < argc; i++)
		if (strv_push(&o->domains, argv[i]) < 0)
			return 1;
	if (o->detailed && !o->dry_run)
		return usage_error("%s", "--detailed-exitcode goes with --dry-run");
	int check = o->command && strcmp(o->command, "check") == 0;
	int smtp = o->command && strcmp(o->command, "smtp-test") == 0;
	if (o->nameservers && !check)
		return usage_error("%s", "--nameserver goes with the check command");
	if ((o->to || o->confirm) && !smtp)
		return usage_error("%s", "--to and --confirm go with the smtp-test command");
	if (o->dry_run && o->command && strcmp(o->command, "restore") != 0)
		return usage_error("--dry-run does not go with the %s command", o->command);
	int report = o->command && strcmp(o->command, "dmarc-report") == 0;
	if ((o->resolve || o->recommend || o->imap || o->since || o->mark_seen) && !report)
		return usage_error("%s", "--resolve, --recommend, --imap, --since and --mark-seen go "
				   "with the dmarc-report command");
	if (o->out && (!o->dry_run || o->command))
		return usage_error("%s", "--out PLAN.json goes with --dry-run");
	if ((o->since || o->mark_seen) && !o->imap)
		return usage_error("%s", "--since and --mark-seen go with --imap");
	return -1;
}

static void logv(const struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void logv(const struct session *s, const char *fmt, ...)
{
	if (!s->o->verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "provision: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int selected(const struct options *o, const struct domain_config *d)
{
	int yes = !o->domains;
	for (char **dn = o->domains; dn && *dn; dn++)
		yes |= dname_equal(*dn, d->name);
	return yes;
}

/* The open handle of a domain's provider (opened on first use); *rc is
 * open()'s result. */
static void *provider_handle(struct session *s, struct provider_config *pc,
			     int *rc, struct prov_error *err)
{
	size_t i = (size_t)(pc - s->cfg.providers);
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
	for (size_t i = 0; i < s->cfg.ndomains; i++) {
		const struct domain_config *d = &s->cfg.domains[i];
		if (selected(s->o, d) && d->policy.ttl < d->prov->ops->min_ttl) {
			fprintf(stderr, "provision: %s:%d: domain '%s': ttl %u is below the "
				"minimum of %u that %s accepts (provider '%s')\n", s->cfg.file,
				d->line, d->name, (unsigned)d->policy.ttl,
				(unsigned)d->prov->ops->min_ttl, d->prov->type, d->provider);
			return 78;
		}
	}
	for (size_t i = 0; i < s->cfg.ndomains; i++) {
		struct prov_error err = PROV_ERROR_INIT;
		int rc;
		if (selected(s->o, &s->cfg.domains[i]) &&
		    !provider_handle(s, s->cfg.domains[i].prov, &rc, &err) &&
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
	if (plan_write(s->cfg.backup_dir, d, h, p, existing, NULL, 1, s->o->verbose) < 0)
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
		s->backups = backup_index_load(s->cfg.backup_dir);
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
		render_text_plan(stdout, &p, s->color);
	}
	cJSON_Delete(drift);
	render_failure_line(stderr, &p);
	int code = plan_exit_code(&p, s->o->detailed);
	rrset_list_release(&existing);
	plan_release(&p);
	return code;
}

static int rank(int code)
{
	return code == 1 ? 4 : code == 3 ? 3 : code == 2 ? 2 : 0;
}

static int run(struct session *s)
{
	struct options *o = s->o;
	struct prov_error err = PROV_ERROR_INIT;
	if (o->command && strcmp(o->command, "dmarc-report") == 0)
		return cmd_dmarc_report(o);
	int worst = 0, rc = config_load(o->config, &s->cfg, &err);
	if (rc < 0) {
		fprintf(stderr, "provision: %s\n", err.msg);
		return prov_exit_status(rc);
	}
	if (o->command && strcmp(o->command, "restore") == 0)
		return cmd_restore(o, &s->cfg);
	if (o->command && strcmp(o->command, "apply") == 0)
		return cmd_apply_plan(o, &s->cfg);
	for (char **dn = o->domains; dn && *dn; dn++)
		if (!config_find_domain(&s->cfg, *dn)) {
			fprintf(stderr, "provision: domain '%s' is not in %s\n", *dn, o->config);
			return 64;
		}
	if (o->command && strcmp(o->command, "check") == 0)
		return cmd_check(o, &s->cfg);
	if (o->command)
		return cmd_smtp_test(o, &s->cfg);
	s->handles = calloc(s->cfg.nproviders + 1, sizeof *s->handles);
	s->resolver = resolver_new_dns(o->resolver, 3000, 1, &err);
	if (!s->handles || !s->resolver) {
		fprintf(stderr, "provision: %s\n", err.set ? err.msg : "out of memory");
		return 1;
	}
	if ((rc = open_providers(s)) != 0)
		return rc;
	if (o->json && !(s->json = render_json_envelope(o->dry_run)))
		return 1;
	if (o->out && !(s->saved = saved_plan_new(&s->cfg, &err))) {
		fprintf(stderr, "provision: %s\n", err.msg);
		return 1;
	}
	for (size_t i = 0; i < s->cfg.ndomains; i++) {
		struct domain_config *d = &s->cfg.domains[i];
		if (!selected(o, d))
			continue;
		int code = process_domain(s, d);
		if (rank(code) > rank(worst))
			worst = code;
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
	return worst;
}

static void session_release(struct session *s)
{
	for (size_t i = 0; s->handles && i < s->cfg.nproviders; i++)
		if (s->handles[i])
			s->cfg.providers[i].ops->close(s->handles[i]);
	free(s->handles);
	resolver_free(s->resolver);
	cJSON_Delete(s->json);
	cJSON_Delete(s->saved);
	backup_index_free(s->backups);
	config_release(&s->cfg);
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct session s = { 0 };
	int rc = parse_args(argc, argv, &o);
	if (rc >= 0)
		goto out;
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
	s.o = &o;
	o.color = !o.json && isatty(STDOUT_FILENO) && !(nc && *nc) &&
		  !(term && strcmp(term, "dumb") == 0);
	s.color = o.color;
	rc = run(&s);
	session_release(&s);
out:
	strv_free(o.nameservers);
	strv_free(o.domains);
	return rc;
}
