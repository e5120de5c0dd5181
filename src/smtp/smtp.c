/*
 * smtp.c - `provision smtp-test [DOMAIN] --to ADDRESS [--confirm]`: checks
 * a domain's SMTP settings (and IMAP's, when configured) the way the SMTP
 * setup guide's "Test SMTP Send" does: TLS required and verified, AUTH,
 * one test message with a unique Message-ID, optionally found again in
 * INBOX over IMAP. Prints the steps as text or JSON; the exit status is 0,
 * 3 (the server refused, or the message did not arrive) or 1 (not reached).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "commands.h"
#include "names.h"
#include "smtp.h"

#define DEFAULT_WAIT_S 60
#define POLL_MS 1000

static const char *const step_names[SMTP_NSTEPS] = {
	"connect", "tls", "auth", "send", "imap", "confirm" };
static const char *const status_names[] = { "skipped", "ok", "failed" };

struct ui {
	int verbose;
	int shown; /* seconds of the last progress line, -1 before any */
};

static void on_trace(void *arg, const char *proto, char dir, const char *line)
{
	const struct ui *ui = arg;
	if (ui->verbose)
		fprintf(stderr, "provision: %s %c %s\n", proto, dir, line);
}

static void on_progress(void *arg, int waited, int wait_s)
{
	struct ui *ui = arg;
	if (ui->shown >= 0 && waited < ui->shown + 5)
		return;
	ui->shown = waited;
	fprintf(stderr, "provision: confirm: waiting for the message in INBOX "
		"(%ds of %ds)\n", waited, wait_s);
}

/* The domain to test: the one named, or the only one. */
static int pick_domain(const struct options *o, struct config *cfg,
		       struct domain_config **out)
{
	if (o->domains && o->domains[0] && o->domains[1])
		return usage_error("%s", "smtp-test takes one DOMAIN");
	if (o->domains && o->domains[0])
		*out = config_find_domain(cfg, o->domains[0]);
	else if (cfg->ndomains == 1)
		*out = &cfg->domains[0];
	else
		return usage_error("smtp-test needs a DOMAIN: %s has several",
			     cfg->file);
	return *out ? -1 : 64;
}

/* A relative ca_file is taken from the configuration file's directory. */
static char *ca_path(const char *cfgfile, const char *ca)
{
	const char *slash = strrchr(cfgfile, '/');
	if (!ca)
		return NULL;
	if (ca[0] == '/' || !slash)
		return strdup(ca);
	size_t n = (size_t)(slash - cfgfile) + strlen(ca) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%.*s/%s", (int)(slash - cfgfile), cfgfile, ca);
	return p;
}

/* What the settings must hold before anything is sent; an exit status,
 * or -1 when they are complete. from and password are filled. */
static int check_settings(const struct options *o, const struct config *cfg,
			  const struct domain_config *d, const char **from,
			  const char **password)
{
	const struct smtp_config *c = &d->policy.smtp;
	const char *pre = "provision: ";
	if (!c->host) {
		fprintf(stderr, "%s%s:%d: domain '%s' has no SMTP settings: set "
			"smtp.preset or smtp.host\n", pre, cfg->file, d->line,
			d->name);
		return 78;
	}
	if (c->imap.port && !c->imap.host) {
		fprintf(stderr, "%s%s:%d: smtp.imap of domain '%s' has a port "
			"but no host\n", pre, cfg->file, d->line, d->name);
		return 78;
	}
	*from = c->from ? c->from : mail_address_valid(c->user) ? c->user : NULL;
	if (!*from) {
		fprintf(stderr, "%s%s:%d: domain '%s' needs smtp.from (smtp.user "
			"is not an address)\n", pre, cfg->file, d->line, d->name);
		return 78;
	}
	if (o->confirm && !c->imap.host)
		return usage_error("%s", "--confirm needs IMAP settings: smtp.imap or "
			     "a preset");
	*password = c->user ? getenv(c->password_env) : NULL;
	if (c->user && (!*password || !**password)) {
		fprintf(stderr, "%s$%s is empty or not set: it must hold the "
			"password of %s (smtp.password_env)\n", pre,
			c->password_env, c->user);
		return 78;
	}
	return -1;
}

static void print_text(FILE *out, const struct domain_config *d,
		       const struct smtp_job *job, const struct smtp_report *r,
		       int color)
{
	const struct smtp_config *c = job->cfg;
	static const char *const col[] = { "\033[2m", "\033[32m", "\033[31m" };
	fprintf(out, "smtp-test %s: %s port %d (%s), from %s to %s\n", d->name,
		c->host, c->port, c->security, job->from, job->to);
	for (int i = 0; i < SMTP_NSTEPS; i++) {
		const struct smtp_step_result *st = &r->steps[i];
		fprintf(out, "  %s%-8s%s %-8s %s\n", color ? col[st->status] : "",
			status_names[st->status], color ? "\033[0m" : "",
			step_names[i], st->message);
		if (st->hint[0])
			fprintf(out, "  %-8s %-8s hint: %s\n", "", "", st->hint);
	}
	fprintf(out, "smtp-test %s: %s\n", d->name, r->exit == 0 ? "passed"
		: r->exit == 3 ? "failed: refused or not delivered (exit 3)"
		: "failed: not reached or not trusted (exit 1)");
}

static cJSON *json_steps(const struct smtp_report *r)
{
	cJSON *a = cJSON_CreateArray();
	for (int i = 0; a && i < SMTP_NSTEPS; i++) {
		const struct smtp_step_result *st = &r->steps[i];
		cJSON *s = cJSON_CreateObject();
		cJSON_AddItemToArray(a, s);
		cJSON_AddStringToObject(s, "step", step_names[i]);
		cJSON_AddStringToObject(s, "status", status_names[st->status]);
		cJSON_AddStringToObject(s, "message", st->message);
		if (st->hint[0])
			cJSON_AddStringToObject(s, "hint", st->hint);
		else
			cJSON_AddNullToObject(s, "hint");
	}
	return a;
}

static int print_json(FILE *out, const struct domain_config *d,
		      const struct smtp_job *job, const struct smtp_report *r)
{
	const struct smtp_config *c = job->cfg;
	cJSON *doc = cJSON_CreateObject(), *smtp = cJSON_CreateObject();
	cJSON *imap = c->imap.host ? cJSON_CreateObject() : cJSON_CreateNull();
	char id[300];
	snprintf(id, sizeof id, "<%s>", job->msgid);
	cJSON_AddNumberToObject(doc, "version", 1);
	cJSON_AddStringToObject(doc, "command", "smtp-test");
	cJSON_AddStringToObject(doc, "domain", d->name);
	cJSON_AddStringToObject(doc, "status", r->exit == 0 ? "ok"
				: r->exit == 3 ? "failed" : "error");
	cJSON_AddItemToObject(doc, "smtp", smtp);
	cJSON_AddStringToObject(smtp, "host", c->host);
	cJSON_AddNumberToObject(smtp, "port", c->port);
	cJSON_AddStringToObject(smtp, "security", c->security);
	if (c->user)
		cJSON_AddStringToObject(smtp, "user", c->user);
	else
		cJSON_AddNullToObject(smtp, "user");
	cJSON_AddItemToObject(doc, "imap", imap);
	if (c->imap.host) {
		cJSON_AddStringToObject(imap, "host", c->imap.host);
		cJSON_AddNumberToObject(imap, "port", c->imap.port);
	}
	cJSON_AddStringToObject(doc, "from", job->from);
	cJSON_AddStringToObject(doc, "to", job->to);
	cJSON_AddStringToObject(doc, "message_id", id);
	cJSON_AddItemToObject(doc, "steps", json_steps(r));
	char *text = cJSON_PrintUnformatted(doc);
	int rc = text && fprintf(out, "%s\n", text) > 0 ? 0 : -1;
	free(text);
	cJSON_Delete(doc);
	return rc;
}

/* Send, check, report. */
static int run_test(const struct options *o, struct config *cfg,
		    const struct domain_config *d, struct smtp_job *job)
{
	struct ui ui = { o->verbose, -1 };
	struct smtp_report r;
	char msgid[300];
	char *ca = ca_path(cfg->file, job->cfg->ca_file), *msg = NULL;
	int rc = 1;
	if (job->cfg->ca_file && (!ca || access(ca, R_OK) != 0)) {
		fprintf(stderr, "provision: cannot read smtp.ca_file '%s': %s\n",
			ca ? ca : job->cfg->ca_file, strerror(errno));
		goto out;
	}
	if (smtp_message_id(msgid, sizeof msgid, strrchr(job->from, '@') + 1) < 0
	    || !(msg = smtp_message(job->from, job->to, msgid, d->name,
				    job->cfg, (long long)time(NULL)))) {
		fprintf(stderr, "provision: cannot make the test message\n");
		goto out;
	}
	job->ca_file = ca;
	job->msgid = msgid;
	job->message = msg;
	job->trace = on_trace;
	job->progress = on_progress;
	job->arg = &ui;
	rc = smtp_run(job, o->confirm, &r);
	if (o->json ? print_json(stdout, d, job, &r) < 0
		    : (print_text(stdout, d, job, &r, o->color), 0))
		rc = 1;
out:
	free(ca);
	free(msg);
	return rc;
}

int cmd_smtp_test(const struct options *o, struct config *cfg)
{
	struct domain_config *d = NULL;
	struct smtp_job job = { 0 };
	int rc = pick_domain(o, cfg, &d);
	if (rc >= 0)
		return rc;
	if (!o->to)
		return usage_error("%s", "smtp-test needs --to ADDRESS");
	if (!mail_address_valid(o->to))
		return usage_error("--to takes one address (local@domain), not '%s'",
			     o->to);
	long wait = o->wait ? o->wait_s : DEFAULT_WAIT_S;
	if (wait < 0)
		return usage_error("--wait takes a duration such as 90s, not '%s'",
			     o->wait);
	rc = check_settings(o, cfg, d, &job.from, &job.password);
	if (rc >= 0)
		return rc;
	job.cfg = &d->policy.smtp;
	job.to = o->to;
	job.wait_s = (int)wait;
	job.poll_ms = POLL_MS;
	if (o->confirm && strcasecmp(o->to, job.from) != 0
	    && (!job.cfg->user || strcasecmp(o->to, job.cfg->user) != 0))
		fprintf(stderr, "provision: note: --confirm looks for the message "
			"in %s's INBOX; --to %s may be another mailbox\n",
			job.cfg->user, o->to);
	return run_test(o, cfg, d, &job);
}
