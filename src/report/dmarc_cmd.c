/*
 * dmarc_cmd.c - `provision dmarc-report`: read aggregate reports from
 * files, directories or the rua mailbox (IMAP, libcurl), print the digest,
 * and with --recommend say whether a domain may move to the next policy
 * stage.
 *
 * The mailbox is read with smtp-test's settings (smtp.imap host and port or
 * a preset, smtp.user, smtp.password_env, smtp.ca_file), over TLS always
 * verified. Messages are fetched with BODY.PEEK[], so nothing is flagged
 * or deleted unless --mark-seen is given (then \Seen, once read).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "commands.h"
#include "config.h"
#include "dmarc_digest.h"
#include "dmarc_report.h"
#include "provision/buf.h"
#include "provision/resolver.h"
#include "provision/util.h"

/* ---- IMAP ---------------------------------------------------------------- */

struct imap {
	CURL *h;
	struct buf resp;
	char errbuf[CURL_ERROR_SIZE];
	char base[600]; /* imaps://host:port/INBOX */
};

static size_t on_write(char *data, size_t size, size_t n, void *arg)
{
	struct imap *m = arg;
	size_t len = size * n;
	if (m->resp.len + len > DR_MAX_BYTES + 4096)
		return 0; /* a message larger than the cap: stop */
	return buf_add(&m->resp, data, len) < 0 ? 0 : len;
}

/* One command on the logged-in session (cmd NULL: the URL's own FETCH, whose
 * answer is the message itself); 0 or -1 with err. */
static int imap_do(struct imap *m, const char *url, const char *cmd, char *err, size_t errsz)
{
	buf_release(&m->resp);
	m->errbuf[0] = '\0';
	curl_easy_setopt(m->h, CURLOPT_URL, url ? url : m->base);
	curl_easy_setopt(m->h, CURLOPT_CUSTOMREQUEST, cmd);
	CURLcode rc = curl_easy_perform(m->h);
	if (rc == CURLE_OK)
		return 0;
	snprintf(err, errsz, "%s", m->errbuf[0] ? m->errbuf : curl_easy_strerror(rc));
	return -1;
}

/* The UIDs of "* SEARCH 3 5 9" (caller frees), count in *n. */
static long *search_uids(const char *resp, size_t *n)
{
	long *v = NULL;
	*n = 0;
	const char *p = strstr(resp ? resp : "", "* SEARCH");
	if (!p)
		return NULL;
	p += 8;
	while (*p && *p != '\r' && *p != '\n') {
		char *end;
		long uid = strtol(p, &end, 10);
		if (end == p) {
			p++;
			continue;
		}
		long *nv = realloc(v, (*n + 1) * sizeof *nv);
		if (!nv)
			break;
		v = nv;
		v[(*n)++] = uid;
		p = end;
	}
	return v;
}

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* "2026-12-01" as IMAP's "1-Dec-2026"; -1 when not a date. */
static int imap_date(const char *s, char *out, size_t n)
{
	int y, mo, d;
	char tail;
	if (!s || sscanf(s, "%4d-%2d-%2d%c", &y, &mo, &d, &tail) != 3 || mo < 1 || mo > 12 ||
	    d < 1 || d > 31)
		return -1;
	snprintf(out, n, "%d-%s-%d", d, months[mo - 1], y);
	return 0;
}

static const struct domain_config *imap_domain(const struct options *o,
					       struct config *cfg)
{
	const char *name = o->imap && *o->imap ? o->imap : o->recommend;
	if (name)
		return config_find_domain(cfg, name);
	return cfg->ndomains == 1 ? &cfg->domains[0] : NULL;
}

/* Fetch the reports of the mailbox into set; an exit status or -1. */
static int read_imap(const struct options *o, struct config *cfg, struct dr_set *set)
{
	const struct domain_config *d = imap_domain(o, cfg);
	if (!d)
		return usage_error("--imap=DOMAIN: %s has several domains; say whose smtp.imap "
				   "settings to use", cfg->file);
	const struct smtp_config *c = &d->policy.smtp;
	if (!c->imap.host || !c->user) {
		fprintf(stderr, "provision: %s:%d: domain '%s' has no IMAP settings: set "
			"smtp.preset or smtp.imap.host, and smtp.user\n", cfg->file, d->line,
			d->name);
		return 78;
	}
	const char *password = getenv(c->password_env);
	if (!password || !*password) {
		fprintf(stderr, "provision: $%s is empty or not set: it must hold the password "
			"of %s (smtp.password_env)\n", c->password_env, c->user);
		return 78;
	}
	char since[32] = "", cmd[200], err[CURL_ERROR_SIZE + 64];
	if (o->since && imap_date(o->since, since, sizeof since) < 0)
		return usage_error("--since takes a date YYYY-MM-DD, not '%s'", o->since);
	struct imap m = { .h = curl_easy_init() };
	struct buf ca = BUF_INIT;
	int rc = -1;
	if (!m.h)
		return 1;
	int v6 = strchr(c->imap.host, ':') != NULL;
	snprintf(m.base, sizeof m.base, "imaps://%s%s%s:%d/INBOX", v6 ? "[" : "", c->imap.host,
		 v6 ? "]" : "", c->imap.port);
	if (c->ca_file) {
		const char *slash = strrchr(cfg->file, '/');
		if (c->ca_file[0] != '/' && slash)
			buf_printf(&ca, "%.*s/", (int)(slash - cfg->file), cfg->file);
		buf_puts(&ca, c->ca_file);
		curl_easy_setopt(m.h, CURLOPT_CAINFO, buf_str(&ca));
	}
	curl_easy_setopt(m.h, CURLOPT_PROTOCOLS_STR, "imaps");
	curl_easy_setopt(m.h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(m.h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(m.h, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(m.h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(m.h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(m.h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(m.h, CURLOPT_USERNAME, c->user);
	curl_easy_setopt(m.h, CURLOPT_PASSWORD, password);
	curl_easy_setopt(m.h, CURLOPT_ERRORBUFFER, m.errbuf);
	curl_easy_setopt(m.h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(m.h, CURLOPT_WRITEDATA, &m);
	if (*since)
		snprintf(cmd, sizeof cmd, "UID SEARCH SINCE %s", since);
	else
		snprintf(cmd, sizeof cmd, "UID SEARCH UNSEEN");
	size_t n = 0, nunseen = 0;
	long *uids = NULL, *unseen = NULL;
	if (imap_do(&m, NULL, cmd, err, sizeof err) < 0 ||
	    !(uids = search_uids(buf_str(&m.resp), &n), 1) ||
	    imap_do(&m, NULL, "UID SEARCH UNSEEN", err, sizeof err) < 0) {
		fprintf(stderr, "provision: imap %s:%d (%s): %s\n", c->imap.host, c->imap.port,
			c->user, err);
		rc = 1;
		goto out;
	}
	unseen = search_uids(buf_str(&m.resp), &nunseen);
	if (o->verbose)
		fprintf(stderr, "provision: imap %s:%d: %zu message(s) %s\n", c->imap.host,
			c->imap.port, n, *since ? "since the date" : "not yet seen");
	for (size_t i = 0; i < n; i++) {
		char label[300], url[700];
		int was_unseen = 0;
		for (size_t j = 0; j < nunseen; j++)
			was_unseen |= unseen[j] == uids[i];
		snprintf(label, sizeof label, "imap://%s/INBOX;UID=%ld", c->imap.host, uids[i]);
		snprintf(url, sizeof url, "%s;UID=%ld", m.base, uids[i]);
		/* libcurl's FETCH is BODY[], which sets \Seen (a custom BODY.PEEK[]
		 * would lose the literal): the flag is taken back below. */
		if (imap_do(&m, url, NULL, err, sizeof err) < 0) {
			fprintf(stderr, "provision: %s: %s\n", label, err);
			set->errors++;
		} else {
			struct buf copy = BUF_INIT; /* the next command reuses the buffer */
			buf_add(&copy, buf_str(&m.resp), m.resp.len);
			dr_read_bytes(set, label, NULL, (const unsigned char *)buf_str(&copy),
				      copy.len);
			buf_release(&copy);
		}
		if (was_unseen && !o->mark_seen) {
			snprintf(cmd, sizeof cmd, "UID STORE %ld -FLAGS.SILENT (\\Seen)", uids[i]);
			if (imap_do(&m, NULL, cmd, err, sizeof err) < 0) {
				fprintf(stderr, "provision: %s: cannot leave it unseen: %s\n", label, err);
				set->errors++;
			}
		} else if (o->mark_seen) {
			snprintf(cmd, sizeof cmd, "UID STORE %ld +FLAGS.SILENT (\\Seen)", uids[i]);
			if (imap_do(&m, NULL, cmd, err, sizeof err) < 0) {
				fprintf(stderr, "provision: %s: cannot mark it seen: %s\n", label, err);
				set->errors++;
			}
		}
	}
out:
	free(uids);
	free(unseen);
	buf_release(&m.resp);
	buf_release(&ca);
	curl_easy_cleanup(m.h);
	return rc;
}

/* ---- the command ----------------------------------------------------------- */

int cmd_dmarc_report(const struct options *o)
{
	struct config cfg;
	struct prov_error err = PROV_ERROR_INIT;
	int need_cfg = o->recommend || o->imap, rc = 0;
	memset(&cfg, 0, sizeof cfg);
	if (!o->domains && !o->imap)
		return usage_error("%s", "dmarc-report needs FILE or DIR arguments, or --imap");
	if (need_cfg && (rc = config_load(o->config, &cfg, &err)) < 0) {
		fprintf(stderr, "provision: %s\n", err.msg);
		return prov_exit_status(rc);
	}
	const struct domain_config *rd = o->recommend ? config_find_domain(&cfg, o->recommend) : NULL;
	if (o->recommend && !rd) {
		fprintf(stderr, "provision: domain '%s' is not in %s\n", o->recommend, o->config);
		config_release(&cfg);
		return 64;
	}
	struct dr_set set = { .now = (long long)time(NULL), .err = stderr };
	for (char **p = o->domains; p && *p; p++)
		dr_read_path(&set, *p);
	int status = -1;
	if (o->imap)
		status = read_imap(o, &cfg, &set);
	struct resolver *res = NULL;
	if (status < 0 && o->resolve &&
	    !(res = resolver_new_dns(o->resolver, o->dns_timeout_ms ? o->dns_timeout_ms : 3000, 1,
				     &err))) {
		fprintf(stderr, "provision: %s\n", err.msg);
		status = 1;
	}
	struct dd_digest dg;
	if (status < 0 && dd_build(&set, res, &dg) < 0) {
		fprintf(stderr, "provision: out of memory\n");
		status = 1;
	}
	if (status < 0) {
		struct dd_advice adv;
		const struct dd_domain *dd = NULL;
		if (rd) {
			for (size_t i = 0; i < dg.n; i++)
				if (dname_equal(dg.v[i].domain, rd->name))
					dd = &dg.v[i];
			const struct record_policy *pol = &rd->policy;
			struct dd_stage now = { pol->dmarc.policy,
						pol->dmarc.pct < 0 ? 100 : pol->dmarc.pct };
			dd_advise(dd, now, pol->dmarc_report.min_days, pol->dmarc_report.min_aligned,
				  &adv);
		}
		if (o->json) {
			cJSON *root = dd_json(&dg);
			if (rd)
				cJSON_AddItemToObject(root, "recommendation",
						      dd_advice_json(rd->name, &adv));
			char *text = cJSON_Print(root);
			if (text)
				printf("%s\n", text);
			free(text);
			cJSON_Delete(root);
		} else {
			dd_print_text(stdout, &dg);
			if (rd)
				dd_print_advice(stdout, rd->name, &adv);
		}
		dd_release(&dg);
		status = set.errors ? 1 : 0;
	}
	resolver_free(res);
	dr_set_release(&set);
	config_release(&cfg);
	return status;
}
