/*
 * check.c - `provision check`: every managed record read back from each
 * authoritative server, asked directly without recursion (caches keep old
 * answers for their TTL, RFC 1034 §3.6, RFC 2308 §5). Servers: --nameserver,
 * else the domain's `nameservers`, else the zone's NS and their A/AAAA
 * through the --resolver. --wait repeats the check with back-off, each round
 * with fresh (empty) caches. Prints, like run.c: exit 0, 3 fail, 1 DNS.
 *
 * Domains are checked at once by pool.c's threads (-j, default 32), each
 * domain's questions one after another on its thread, so at most that
 * many questions are in flight; each distinct question is asked once per
 * server and round (resolver.c), whichever domain asks it first.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "commands.h"
#include "pool.h"
#include "render.h"
#include "provision/buf.h"
#include "provision/record.h"
#include "provision/util.h"

#define CHECK_TIMEOUT_MS 2000 /* per question, with one retry */

struct auth {
	char *label;
	struct resolver *r; /* NULL when it could not be set up */
	char *error;
};

struct run {
	const struct options *o;
	struct config *cfg;
	struct resolver *rec;  /* the --resolver, recursive */
	struct auth **auths;   /* authoritative servers met this round */
	size_t nauths;
	pthread_mutex_t lock;  /* auths, between the workers */
	struct check_domain *res; /* this round's results, by slot */
	const struct domain_config **sel; /* the selected domains */
	unsigned long questions, sent; /* over every round */
};

/* "HOST:PORT" as asked: port 53 added when none is given. */
static char *server_label(const char *s)
{
	struct buf b = BUF_INIT;
	const char *colon = strchr(s, ':');
	if (s[0] == '[')
		buf_printf(&b, strstr(s, "]:") ? "%s" : "%s:53", s);
	else if (!colon)
		buf_printf(&b, "%s:53", s);
	else if (strchr(colon + 1, ':'))
		buf_printf(&b, "[%s]:53", s);
	else
		buf_puts(&b, s);
	return buf_detach(&b);
}

static int push_unique(char ***v, const char *label)
{
	for (char **p = *v; p && *p; p++)
		if (strcmp(*p, label) == 0)
			return 0;
	return strv_push(v, label);
}

/* The zone's servers from its NS records, through the resolver. */
static int servers_from_ns(struct run *run, const char *zone, char ***out,
			   struct prov_error *err)
{
	const struct dns_answer *ns = resolver_query(run->rec, zone, RR_NS);
	if (ns->status == DNS_TEMPFAIL)
		return prov_errorf(err, PROV_ERR_RUNTIME, "cannot find the name servers of %s "
				   "through the resolver: %s", zone, ns->why);
	if (ns->status != DNS_OK || ns->n == 0)
		return prov_errorf(err, PROV_ERR_RUNTIME, "%s has no NS records in public DNS; "
				   "name its servers with --nameserver or `nameservers`", zone);
	for (size_t i = 0; i < ns->n; i++)
		for (int t = 0; t < 2; t++) {
			const struct dns_answer *a = resolver_query(run->rec, ns->rr[i].text,
								    t ? RR_AAAA : RR_A);
			for (size_t j = 0; a->status == DNS_OK && j < a->n; j++) {
				struct buf b = BUF_INIT;
				buf_printf(&b, t ? "[%s]:53" : "%s:53", a->rr[j].text);
				int rc = push_unique(out, buf_str(&b));
				buf_release(&b);
				if (rc < 0)
					return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
			}
		}
	if (!*out)
		return prov_errorf(err, PROV_ERR_RUNTIME, "no address found for the name "
				   "servers of %s (%s...)", zone, ns->rr[0].text);
	return 0;
}

static int domain_servers(struct run *run, const struct domain_config *d,
			  const char *zone, char ***out, struct prov_error *err)
{
	char *const *src = run->o->nameservers;
	if (!src && d->nameservers && *d->nameservers)
		src = d->nameservers;
	*out = NULL;
	if (!src)
		return servers_from_ns(run, zone, out, err);
	for (; *src; src++) {
		char *label = server_label(*src);
		int rc = label ? push_unique(out, label) : -1;
		free(label);
		if (rc < 0)
			return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	}
	return 0;
}

/* The resolver of one authoritative server, set up once per round. */
static struct auth *auth_find(struct run *run, const char *label)
{
	for (size_t i = 0; i < run->nauths; i++)
		if (strcmp(run->auths[i]->label, label) == 0)
			return run->auths[i];
	struct auth **v = realloc(run->auths, (run->nauths + 1) * sizeof *v);
	if (!v)
		return NULL;
	run->auths = v;
	struct auth *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	v[run->nauths++] = a;
	struct prov_error err = PROV_ERROR_INIT;
	a->label = strdup(label);
	a->r = resolver_new_dns(label, run->o->dns_timeout_ms ? run->o->dns_timeout_ms :
				 CHECK_TIMEOUT_MS, 0, &err);
	a->error = a->r ? NULL : strdup(err.msg);
	return a;
}

static struct auth *auth_get(struct run *run, const char *label)
{
	pthread_mutex_lock(&run->lock);
	struct auth *a = auth_find(run, label);
	pthread_mutex_unlock(&run->lock);
	return a;
}

static void run_stats(const struct run *run, unsigned long *q, unsigned long *s)
{
	struct resolver_stats st;
	*q = *s = 0;
	for (size_t i = 0; i < run->nauths; i++)
		if (run->auths[i]->r) {
			resolver_get_stats(run->auths[i]->r, &st);
			*q += st.questions;
			*s += st.sent;
		}
	if (run->rec) {
		resolver_get_stats(run->rec, &st);
		*q += st.questions;
		*s += st.sent;
	}
}

/* The SOA serial of each server; a server that does not answer is an error
 * of the domain (exit 1) and is not asked again. */
static int ask_servers(struct run *run, struct check_domain *cd, char **labels)
{
	cd->nservers = strv_len(labels);
	cd->servers = calloc(cd->nservers + 1, sizeof *cd->servers);
	if (!cd->servers)
		return PROV_ERR_NOMEM;
	for (size_t i = 0; i < cd->nservers; i++) {
		struct check_server *s = &cd->servers[i];
		struct prov_error err = PROV_ERROR_INIT;
		struct auth *a = auth_get(run, labels[i]);
		s->label = strdup(labels[i]);
		s->serial = -1;
		if (!a || !s->label)
			return PROV_ERR_NOMEM;
		if (!a->r)
			prov_errorf(&err, PROV_ERR_RUNTIME, "%s", a->error ? a->error : "no memory");
		else
			check_soa_serial(a->r, cd->domain, &s->serial, &err);
		if (err.set) {
			struct buf b = BUF_INIT;
			buf_printf(&b, "server %s could not be asked: %s", s->label, err.msg);
			s->error = buf_detach(&b);
		}
	}
	return 0;
}

static int judge_item(struct run *run, const struct domain_config *d,
		      struct check_domain *cd, enum check_record r)
{
	struct check_item *it = &cd->items[r];
	struct prov_error err = PROV_ERROR_INIT;
	it->record = r;
	if (d->policy.omit & (1u << r)) { /* REC_* in check_record order */
		it->omitted = 1;
		it->status = CHECK_PASS;
		return 0;
	}
	it->name = check_record_owner(d, r, &err);
	it->per = calloc(cd->nservers + 1, sizeof *it->per);
	if (!it->per)
		return PROV_ERR_NOMEM;
	it->nper = cd->nservers;
	for (size_t i = 0; i < cd->nservers; i++) {
		const struct check_server *s = &cd->servers[i];
		struct check_ctx c = { d, cd->domain, NULL, run->rec };
		if (s->error) {
			it->per[i].status = CHECK_ERROR;
			it->per[i].message = strdup(s->error);
			continue;
		}
		c.auth = auth_get(run, s->label)->r;
		if (check_judge(&c, r, &it->per[i]) < 0)
			return PROV_ERR_NOMEM;
	}
	return check_item_combine(it, cd->servers, cd->nservers);
}

static void check_domain(struct run *run, const struct domain_config *d,
			 struct check_domain *cd)
{
	struct prov_error err = PROV_ERROR_INIT;
	char **labels = NULL;
	struct resolver_stats st0, st1; /* this thread's: this domain's */
	int rc = 0;
	memset(cd, 0, sizeof *cd);
	resolver_thread_stats(&st0);
	cd->domain = dname_fqdn(d->name);
	cd->provider = d->provider;
	if (!cd->domain || domain_servers(run, d, cd->domain, &labels, &err) < 0)
		cd->error = strdup(err.set ? err.msg : "out of memory");
	else
		rc = ask_servers(run, cd, labels);
	for (int r = 0; rc == 0 && cd->domain && r < CHECK_NRECORDS; r++)
		rc = judge_item(run, d, cd, (enum check_record)r);
	if (rc < 0 && !cd->error)
		cd->error = strdup("out of memory");
	check_domain_finish(cd);
	resolver_thread_stats(&st1);
	cd->questions = st1.questions - st0.questions;
	cd->sent = st1.sent - st0.sent;
	strv_free(labels);
}

static void round_release(struct run *run)
{
	unsigned long q, s;
	run_stats(run, &q, &s);
	run->questions += q;
	run->sent += s;
	for (size_t i = 0; i < run->nauths; i++) {
		free(run->auths[i]->label);
		free(run->auths[i]->error);
		resolver_free(run->auths[i]->r);
		free(run->auths[i]);
	}
	free(run->auths);
	run->auths = NULL;
	run->nauths = 0;
	resolver_free(run->rec);
	run->rec = NULL;
}

static void check_work(void *ctx, unsigned w, size_t i)
{
	struct run *run = ctx;
	(void)w;
	check_domain(run, run->sel[i], &run->res[i]);
}

/* One round over every selected domain, with fresh resolvers, -j (32)
 * domains at once. Returns the worst exit status, or -1 when the resolver
 * cannot be set up. */
static int check_round(struct run *run, struct check_domain *res, size_t *nres)
{
	struct prov_error err = PROV_ERROR_INIT;
	int worst = 0;
	*nres = 0;
	run->rec = resolver_new_dns(run->o->resolver, run->o->dns_timeout_ms ?
				    run->o->dns_timeout_ms : 3000, 1, &err);
	if (!run->rec) {
		fprintf(stderr, "provision: %s\n", err.msg);
		return -1;
	}
	for (size_t i = 0; i < run->cfg->ndomains; i++)
		if (domain_selected(run->o, &run->cfg->domains[i]))
			run->sel[(*nres)++] = &run->cfg->domains[i];
	run->res = res;
	struct pool pool = { .n = *nres, .workers = run->o->jobs ? run->o->jobs : CHECK_JOBS,
			     .limit = (const unsigned[]){ POOL_MAX_JOBS }, .nclasses = 1,
			     .work = check_work, .ctx = run };
	if (pool_run(&pool) < 0) {
		fprintf(stderr, "provision: out of memory\n");
		free(pool.started);
		return -1;
	}
	free(pool.started);
	for (size_t i = 0; i < *nres; i++) {
		int code = check_domain_exit(&res[i]);
		if (code == 1 || (code == 3 && worst == 0))
			worst = code;
	}
	return worst;
}

/* The progress of --wait on stderr: one line rewritten on a terminal,
 * plain log lines otherwise. */
static void progress(const struct check_domain *res, size_t nres, long pause,
		     long left, int tty)
{
	size_t bad = 0, all = 0;
	const struct check_item *first = NULL;
	const char *first_domain = "";
	for (size_t i = 0; i < nres; i++)
		for (int r = 0; r < CHECK_NRECORDS; r++) {
			all += !res[i].items[r].omitted;
			if (res[i].items[r].status != CHECK_PASS && bad++ == 0) {
				first = &res[i].items[r];
				first_domain = res[i].domain;
			}
		}
	fprintf(stderr, "%sprovision: waiting: %zu of %zu records not passing",
		tty ? "\r\033[K" : "", bad, all);
	if (first)
		fprintf(stderr, " (%s %s %s)", first_domain, check_record_name(first->record),
			check_status_name(first->status));
	else
		fprintf(stderr, " (a server could not be asked)");
	fprintf(stderr, "; next check in %lds, %lds left%s", pause, left, tty ? "" : "\n");
	fflush(stderr);
}

static void sleep_s(long s)
{
	struct timespec ts = { s, 0 };
	while (nanosleep(&ts, &ts) != 0)
		;
}

static int output(const struct options *o, const struct check_domain *res, size_t nres)
{
	if (!o->json) {
		for (size_t i = 0; i < nres; i++)
			check_render_text(stdout, &res[i], o->color);
		return 0;
	}
	cJSON *env = render_json_envelope(0);
	int rc = env ? 0 : -1;
	for (size_t i = 0; rc == 0 && i < nres; i++)
		rc = check_render_json(env, &res[i]);
	if (rc == 0)
		rc = render_json_print(stdout, env);
	cJSON_Delete(env);
	return rc;
}

int cmd_check(const struct options *o, struct config *cfg)
{
	struct run run = { .o = o, .cfg = cfg };
	struct check_domain *res = calloc(cfg->ndomains + 1, sizeof *res);
	run.sel = calloc(cfg->ndomains + 1, sizeof *run.sel);
	pthread_mutex_init(&run.lock, NULL);
	long wait = o->wait ? o->wait_s : 0;
	double deadline = monotonic_s() + (double)wait;
	int tty = isatty(STDERR_FILENO), code = 1;
	size_t nres = 0;
	if (!res || !run.sel) {
		free(res);
		free(run.sel);
		return 1;
	}
	shard_note(o, cfg);
	for (int round = 0;; round++) {
		code = check_round(&run, res, &nres);
		long left = (long)(deadline - monotonic_s() + 0.5);
		if (code <= 0 || !o->wait || left <= 0)
			break;
		long pause = check_backoff(round, left);
		progress(res, nres, pause, left, tty);
		round_release(&run);
		for (size_t i = 0; i < nres; i++)
			check_domain_release(&res[i]);
		sleep_s(pause);
	}
	if (o->wait && tty)
		fprintf(stderr, "\r\033[K");
	if (o->wait && code > 0)
		fprintf(stderr, "provision: --wait %s ran out before every record passed\n", o->wait);
	if (code >= 0 && output(o, res, nres) < 0)
		code = 1;
	for (size_t i = 0; i < nres; i++)
		check_render_failure(stderr, &res[i]);
	for (size_t i = 0; o->verbose && i < nres; i++)
		fprintf(stderr, "provision: dns: %s %lu questions, %lu sent, %zu server%s\n",
			res[i].domain, res[i].questions, res[i].sent, res[i].nservers,
			res[i].nservers == 1 ? "" : "s");
	round_release(&run);
	if (o->verbose)
		fprintf(stderr, "provision: dns: %lu questions, %lu sent\n", run.questions, run.sent);
	for (size_t i = 0; i < nres; i++)
		check_domain_release(&res[i]);
	free(res);
	free(run.sel);
	pthread_mutex_destroy(&run.lock);
	return code < 0 ? 1 : code;
}
