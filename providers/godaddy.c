/*
 * godaddy.c - the GoDaddy Domains API v1 provider (provider-apis.md §2).
 *
 * GoDaddy keeps records without ids and writes record sets: a PUT on
 * /records/{type}/{name} replaces every value of that type at that name, a
 * PATCH on /records appends records, a DELETE removes a whole set. So the
 * provider never writes a value alone. list() reads the whole zone in one
 * call (GET /records); apply() computes each touched set as it is minus the
 * managed value `before` plus `after`, and writes only what differs:
 *
 *   - pure additions (a new value, the set's TTL unchanged) go in ONE PATCH
 *     for the whole zone: the other values of a set are not even resent;
 *   - a set that loses or changes a value (or its TTL) is read again
 *     (GET /records/{type}/{name}) and PUT back whole right after, with
 *     every value the tool does not manage kept as read: a verification
 *     string added since the listing survives, and a managed value changed
 *     meanwhile stops the run instead of being overwritten;
 *   - a set left empty is DELETEd (an empty PUT does not delete).
 *
 * Order: additions first (nothing points at a record before it exists),
 * then rewrites (SPF, DKIM, tracking, DMARC last), then removals; a removal
 * that makes room for a CNAME goes first. GoDaddy has no multi-set
 * transaction: when a write fails the message lists what is in place and
 * what is not (read back when a write's outcome is unknown); a write whose
 * answer was lost is never resent blindly: the zone is read again and only
 * what is still missing is sent.
 *
 * Requests per domain: a dry run, or an apply in sync, 1; an apply 3 (the
 * listing, the listing again that the core makes right before the write
 * (apply.c), and one PATCH) plus 2 per set rewritten (GET, PUT); the listing
 * that confirms an apply is answered from what was written. A token bucket
 * keeps under GoDaddy's 60 requests a minute per key; 429 answers
 * (Retry-After, or the body's retryAfterSec) and 409 (zone busy right after
 * a write) are waited out and resent: GoDaddy did not apply them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "godaddy_read.h"
#include "provision/http.h"
#include "provision/provider.h"
#include "provision/util.h"

#define GD_PRODUCTION "https://api.godaddy.com"
#define GD_OTE "https://api.ote-godaddy.com"
#define GD_MIN_TTL 600
#define GD_LIMIT_N 60       /* requests ... */
#define GD_LIMIT_W 60.0     /* ... per this many seconds, per key */
#define GD_RATE_ENV "PROVISION_GODADDY_RATE_LIMIT" /* "N/SECONDS", tests */
#define GD_WRITE_TRIES 3    /* re-read-then-decide rounds after a lost answer */

struct gd {
	struct http_client *http;
	char *base;        /* endpoint without trailing slash */
	char *auth[3];     /* Authorization, Accept, NULL */
	char *key_var, *secret_var; /* the variables' names, for messages */
	int ote, verbose;
	char *zone;        /* bare name of the zone the cache holds */
	struct gd_rec *recs;
	size_t nrecs;
	int have;          /* recs hold the zone */
	int confirmed;     /* recs were just written: the next list() trusts them */
};

static const char *const gd_keys[] = {
	"key_env", "secret_env", "environment", "endpoint", "ca_file", "rate", "concurrency", NULL,
};

/* ---- records ---------------------------------------------------------- */

static void gd_forget(struct gd *gd)
{
	gd_recs_free(gd->recs, gd->nrecs);
	gd->recs = NULL;
	gd->nrecs = 0;
	gd->have = 0;
	gd->confirmed = 0;
}

static void gd_close(void *handle)
{
	struct gd *gd = handle;
	if (!gd)
		return;
	gd_forget(gd);
	http_client_free(gd->http);
	free(gd->base);
	for (size_t i = 0; i < 2; i++) {
		if (gd->auth[i]) /* do not leave the secret in freed memory */
			memset(gd->auth[i], 0, strlen(gd->auth[i]));
		free(gd->auth[i]);
	}
	free(gd->key_var);
	free(gd->secret_var);
	free(gd->zone);
	free(gd);
}

static char *bare(const char *fqdn) /* "example.com." -> "example.com" */
{
	char *s = dname_fqdn(fqdn);
	if (s && strlen(s) > 1)
		s[strlen(s) - 1] = '\0';
	return s;
}

/* The name relative to the zone ("@" for the apex); NULL outside it. */
static char *relative(const char *fqdn, const char *zone)
{
	char *n = bare(fqdn);
	if (!n)
		return NULL;
	size_t ln = strlen(n), lz = strlen(zone);
	if (strcmp(n, zone) == 0) {
		free(n);
		return strdup("@");
	}
	if (ln > lz + 1 && n[ln - lz - 1] == '.' && strcmp(n + ln - lz, zone) == 0) {
		n[ln - lz - 1] = '\0';
		return n;
	}
	free(n);
	return NULL;
}

/* The core's value -> GoDaddy's data: host names without the dot, the
 * zone itself as "@". */
static char *gd_data(uint16_t type, const char *value, const char *zone)
{
	if (type != RR_CNAME && type != RR_MX && type != RR_NS)
		return strdup(value);
	char *b = bare(value);
	if (b && strcmp(b, zone) == 0) {
		free(b);
		return strdup("@");
	}
	return b;
}

/* ---- settings --------------------------------------------------------- */

/* A path relative to the configuration file's directory. */
static int gd_auth(struct gd *gd, const struct provider_config *cfg,
		   struct prov_error *err)
{
	const char *kv = provider_setting(cfg, "key_env");
	const char *sv = provider_setting(cfg, "secret_env");
	gd->key_var = strdup(kv ? kv : "GODADDY_API_KEY");
	gd->secret_var = strdup(sv ? sv : "GODADDY_API_SECRET");
	if (!gd->key_var || !gd->secret_var)
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	const char *key = getenv(gd->key_var), *secret = getenv(gd->secret_var);
	if (!key || !*key || !secret || !*secret)
		return prov_errorf(err, PROV_ERR_RUNTIME,
				   "godaddy: provider '%s': no credentials: set %s and %s to "
				   "an API key and its secret (developer.godaddy.com/keys)",
				   cfg->name, gd->key_var, gd->secret_var);
	if (strpbrk(key, ": \t\r\n") || strpbrk(secret, " \t\r\n"))
		return prov_errorf(err, PROV_ERR_RUNTIME,
				   "godaddy: provider '%s': %s or %s holds a blank, a line "
				   "break or (in the key) a colon: not a GoDaddy key pair",
				   cfg->name, gd->key_var, gd->secret_var);
	struct buf b = BUF_INIT;
	buf_printf(&b, "Authorization: sso-key %s:%s", key, secret);
	gd->auth[0] = buf_detach(&b);
	gd->auth[1] = strdup("Accept: application/json");
	if (!gd->auth[0] || !gd->auth[1])
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	return 0;
}

/*
 * The limiter: the rate setting ("60/m"), else PROVISION_GODADDY_RATE_LIMIT
 * ("N/SECONDS", for tests), else GoDaddy's 60 requests a minute; a token
 * bucket that never allows more than that in any window (provider_bucket).
 */
static int gd_rate(const struct provider_config *cfg, double *rate, int *burst,
		   struct prov_error *err)
{
	const char *spec = getenv(GD_RATE_ENV);
	double n = GD_LIMIT_N, w = GD_LIMIT_W;
	int rc = provider_rate(cfg, &n, &w, err);
	if (rc < 0)
		return rc;
	if (rc == 0 && spec && *spec) {
		char *end;
		n = strtod(spec, &end);
		if (*end == '/')
			w = strtod(end + 1, &end);
		if (*end || n < 1 || n > 100000 || w <= 0 || w > 86400)
			return provider_config_error(cfg, NULL, err,
						     "%s must be N/SECONDS (GoDaddy's limit: "
						     "60/60), not '%s'", GD_RATE_ENV, spec);
	}
	provider_bucket(n, w, rate, burst);
	return 0;
}

static int gd_open(const struct provider_config *cfg, void **handle,
		   struct prov_error *err)
{
	struct gd *gd = calloc(1, sizeof *gd);
	const char *env = provider_setting(cfg, "environment");
	double rate = 0;
	int burst = 1, rc;
	*handle = NULL;
	if (!gd)
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	if (env && strcmp(env, "production") != 0 && strcmp(env, "ote") != 0) {
		rc = provider_config_error(cfg, "environment", err,
					   "environment must be \"production\" or \"ote\" "
					   "(GoDaddy's test environment), not \"%s\"", env);
		goto fail;
	}
	gd->ote = env && strcmp(env, "ote") == 0;
	if ((rc = provider_endpoint(cfg, gd->ote ? GD_OTE : GD_PRODUCTION, &gd->base, err)) < 0)
		goto fail;
	if ((rc = gd_rate(cfg, &rate, &burst, err)) < 0)
		goto fail;
	gd->verbose = cfg->verbose;
	if ((rc = gd_auth(gd, cfg, err)) < 0)
		goto fail;
	/* 3 quick retries, then the wait GoDaddy asks for (gd_call); one
	 * limiter for every provider block with this key */
	char account[160];
	provider_account(gd->auth[0], gd->base, account, sizeof account);
	const struct http_config hc = {
		.provider = "godaddy", .connect_timeout_ms = 10000, .timeout_ms = 60000,
		.max_retries = 3, .rate = rate, .burst = burst, .max_backoff_s = 30,
		.account = account,
	};
	gd->http = provider_http(cfg, &hc, err);
	if (!gd->http) {
		rc = PROV_ERR_RUNTIME;
		goto fail;
	}
	*handle = gd;
	return 0;
fail:
	gd_close(gd);
	return rc;
}

/* ---- calls ------------------------------------------------------------ */

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (s > 0 && nanosleep(&ts, &ts) != 0)
		;
}

/* The one-line error for an answer that is not a success. */
static int gd_fail(struct gd *gd, const char *what, long status, const cJSON *j,
		   char *const *labels, int waited, struct prov_error *err)
{
	struct buf d = BUF_INIT;
	const char *hint = "";
	char more[512] = "";
	if (j && cJSON_IsObject(j))
		gd_error_text(j, labels, &d);
	else
		buf_puts(&d, "the answer is not GoDaddy's JSON");
	if (status == 401 || (status == 403 && !gd->ote)) {
		/* the reason first: a pipeline shows only the start of a long line */
		if (status == 401)
			snprintf(more, sizeof more, "authentication failed: GoDaddy refused "
				 "the key in %s with the secret in %s (production and OTE keys "
				 "are separate pairs)", gd->key_var, gd->secret_var);
		else
			snprintf(more, sizeof more, "the account is not allowed to use "
				 "GoDaddy's production API: GoDaddy limits API access by account "
				 "size or plan (10 or more domains, or a Domain Pro plan); the "
				 "OTE test environment api.ote-godaddy.com (environment = \"ote\") "
				 "is open to every account. Or the domain is another account's");
		int rc = prov_errorf(err, PROV_ERR_RUNTIME, "godaddy: %s: %s (HTTP %ld, %s)",
				     what, more, status, buf_str(&d));
		buf_release(&d);
		return rc;
	} else if (status == 403) {
		hint = " (the OTE account of this key does not hold the domain)";
	} else if (status == 404) {
		hint = " (the domain is not in this GoDaddy account, or its DNS is not "
		       "hosted at GoDaddy)";
	} else if (status == 429) {
		hint = waited ? " (still refused after waiting; is another client using this "
				"key?)" : "";
		if (j && gd_code_is(j, "QUOTA_EXCEEDED"))
			hint = " (the key's quota is used up; try again later)";
	}
	int rc = prov_errorf(err, PROV_ERR_RUNTIME, "godaddy: %s: HTTP %ld, %s%s", what,
			     status, buf_str(&d), hint);
	buf_release(&d);
	return rc;
}

/*
 * One call; 429 and 409 answers (not applied) are waited out and resent.
 * Returns 0 with *out the parsed answer (NULL for an empty body), or
 * PROV_ERR_RUNTIME with err "godaddy: <what>: HTTP ..., CODE: message"
 * (labels name the body's records for GoDaddy's fields[].path). *unknown is
 * set for a write whose outcome is unknown (no answer, or a 5xx).
 */
static int gd_call(struct gd *gd, const char *method, const char *path,
		   const char *body, char *const *labels, const char *what, cJSON **out,
		   int *unknown, struct prov_error *err)
{
	struct buf url = BUF_INIT;
	int write = strcmp(method, "GET") != 0, rc = 0;
	buf_printf(&url, "%s%s", gd->base, path);
	*out = NULL;
	if (unknown)
		*unknown = 0;
	for (int round = 0;; round++) {
		struct http_response rs;
		struct prov_error e2 = PROV_ERROR_INIT;
		const struct http_request rq = {
			.method = method, .url = buf_str(&url), .body = body,
			.headers = (const char *const *)gd->auth, .write = write,
		};
		rc = http_send(gd->http, &rq, &rs, &e2);
		if (rc < 0) {
			if (unknown)
				*unknown = rs.outcome_unknown;
			const char *m = strncmp(e2.msg, "godaddy: ", 9) == 0 ? e2.msg + 9 : e2.msg;
			prov_errorf(err, rc, "godaddy: %s: %s", what, m);
			http_response_release(&rs);
			break;
		}
		cJSON *j = gd_answer(rs.body.data, rs.body.len);
		long st = rs.status;
		int empty = rs.body.len == 0;
		http_response_release(&rs);
		if (st >= 200 && st < 300) {
			if (!write && !j) {
				rc = prov_errorf(err, PROV_ERR_RUNTIME,
						 "godaddy: %s: the answer is not GoDaddy's JSON "
						 "(HTTP %ld%s)", what, st, empty ? ", empty" : "");
			}
			*out = write ? NULL : j;
			if (write)
				cJSON_Delete(j);
			break;
		}
		double w = gd_wait(st, j, round);
		if (w < 0) {
			if (unknown)
				*unknown = write && st >= 500;
			rc = gd_fail(gd, what, st, j, labels, round > 0, err);
			cJSON_Delete(j);
			break;
		}
		if (gd->verbose)
			fprintf(stderr, "provision: godaddy: %s: HTTP %ld, waiting %.1f s, then "
				"sending it again (not applied)\n", what, st, w);
		cJSON_Delete(j);
		sleep_s(w);
	}
	buf_release(&url);
	return rc;
}

static char *records_path(const struct gd *gd, const char *type, const char *rel)
{
	struct buf b = BUF_INIT;
	char *d = http_escape(gd->zone);
	buf_printf(&b, "/v1/domains/%s/records", d ? d : "");
	if (type) {
		char *n = strcmp(rel, "@") == 0 ? strdup("@") : http_escape(rel);
		buf_printf(&b, "/%s/%s", type, n ? n : "");
		free(n);
	}
	free(d);
	return buf_detach(&b);
}

/* Read every record of the zone into the cache. */
static int gd_read(struct gd *gd, struct prov_error *err)
{
	char *path = records_path(gd, NULL, NULL);
	struct buf what = BUF_INIT;
	cJSON *j = NULL;
	buf_printf(&what, "%s: listing records", gd->zone);
	int rc = gd_call(gd, "GET", path, NULL, NULL, buf_str(&what), &j, NULL, err);
	if (rc == 0) {
		struct gd_rec *v;
		size_t n;
		if (gd_recs_parse(j, gd->zone, NULL, NULL, &v, &n) < 0) {
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "godaddy: %s: the listing is not an array of records "
					 "{type, name, data, ttl}", gd->zone);
		} else {
			gd_forget(gd);
			gd->recs = v;
			gd->nrecs = n;
			gd->have = 1;
		}
	}
	cJSON_Delete(j);
	free(path);
	buf_release(&what);
	return rc;
}

static int cache_put(struct gd *gd, const char *type, const char *rel,
		     const struct gd_rec *want, size_t nwant);

/* Read one set (GET /records/{type}/{name}) into the cache. */
static int gd_read_set(struct gd *gd, const char *type, const char *rel,
		       struct prov_error *err)
{
	char *path = records_path(gd, type, rel);
	struct buf what = BUF_INIT;
	cJSON *j = NULL;
	buf_printf(&what, "%s: %s %s: reading the set", gd->zone, type, rel);
	int rc = gd_call(gd, "GET", path, NULL, NULL, buf_str(&what), &j, NULL, err);
	if (rc == 0) {
		struct gd_rec *v;
		size_t n, k = 0;
		if (gd_recs_parse(j, gd->zone, type, rel, &v, &n) < 0) {
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "godaddy: %s: the answer is not an array of records "
					 "{data, ttl}", buf_str(&what));
		} else {
			for (size_t i = 0; i < n; i++) /* only the set asked for */
				if (strcmp(v[i].type, type) == 0 && strcmp(v[i].name, rel) == 0)
					v[k++] = v[i];
				else
					gd_rec_free(&v[i]);
			if (cache_put(gd, type, rel, v, k) < 0)
				rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
			gd_recs_free(v, k);
		}
	}
	cJSON_Delete(j);
	free(path);
	buf_release(&what);
	return rc;
}

static int gd_zone(struct gd *gd, const struct zone *z, struct prov_error *err)
{
	char *name = bare(z->name);
	if (!name)
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	if (gd->zone && strcmp(gd->zone, name) == 0) {
		free(name);
		return 0;
	}
	gd_forget(gd);
	free(gd->zone);
	gd->zone = name;
	return 0;
}

static int gd_list(void *handle, const struct zone *z, char *const *names,
		   struct rrset_list *out, struct prov_error *err)
{
	struct gd *gd = handle;
	int rc = gd_zone(gd, z, err);
	/* Right after our writes (answered 200), the cache is what GoDaddy holds. */
	if (rc == 0 && !(gd->have && gd->confirmed))
		rc = gd_read(gd, err);
	gd->confirmed = 0;
	for (size_t i = 0; rc == 0 && i < gd->nrecs; i++) {
		const struct gd_rec *r = &gd->recs[i];
		uint16_t type = rr_type_from_name(r->type);
		char *fq = gd_absolute(r->name, gd->zone);
		if (!fq)
			rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
		for (size_t k = 0; rc == 0 && type && names[k]; k++)
			if (dname_equal(names[k], fq) &&
			    rrset_list_add(out, fq, type, r->ttl, r->value) < 0)
				rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
		free(fq);
	}
	return rc;
}

/* ---- apply ------------------------------------------------------------ */

enum gd_mode { GD_KEEP, GD_ADD, GD_PUT, GD_DELETE };

/* The changes of one record set (name, type). */
struct gd_set {
	char *type;       /* "TXT" */
	uint16_t rtype;
	char *rel;        /* relative name */
	size_t *idx;      /* indices into the changes */
	size_t nidx;
	int rank;         /* spf 0, dkim 1, tracking 2, dmarc 3 */
	/* filled by gd_classify() from the cache: */
	enum gd_mode mode;
	struct gd_rec *want; /* the set as it must be */
	size_t nwant;
	size_t nadd;      /* GD_ADD: want[nwant - nadd ...] are new */
};

static int rank_of(const char *what)
{
	if (!what)
		return 2;
	return strcmp(what, "spf") == 0 ? 0 : strcmp(what, "dkim") == 0 ? 1 :
	       strcmp(what, "dmarc") == 0 ? 3 : 2;
}

static void sets_free(struct gd_set *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].type);
		free(s[i].rel);
		free(s[i].idx);
		gd_recs_free(s[i].want, s[i].nwant);
	}
	free(s);
}

/* Group the changes by set. */
static int sets_build(const struct gd *gd, const struct change *c, size_t n,
		      struct gd_set **out, size_t *nout, struct prov_error *err)
{
	struct gd_set *s = calloc(n ? n : 1, sizeof *s);
	size_t ns = 0;
	*out = NULL;
	*nout = 0;
	if (!s)
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		char *rel = relative(c[i].name, gd->zone);
		if (!rel) {
			sets_free(s, ns);
			return prov_errorf(err, PROV_ERR_RUNTIME,
					   "godaddy: %s: %s is outside the zone", gd->zone,
					   c[i].name);
		}
		size_t k = 0;
		while (k < ns && !(s[k].rtype == c[i].type && strcmp(s[k].rel, rel) == 0))
			k++;
		if (k == ns) {
			s[ns].rtype = c[i].type;
			s[ns].type = strdup(rr_type_name(c[i].type));
			s[ns].rel = rel;
			s[ns].rank = rank_of(c[i].what);
			s[ns].idx = calloc(n, sizeof *s[ns].idx);
			ns++;
			if (!s[k].idx || !s[k].type) {
				sets_free(s, ns);
				return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
			}
		} else {
			free(rel);
		}
		s[k].idx[s[k].nidx++] = i;
	}
	*out = s;
	*nout = ns;
	return 0;
}

static int rec_copy(struct gd_rec *d, const struct gd_rec *r, uint32_t ttl)
{
	*d = (struct gd_rec){ strdup(r->type), strdup(r->name), strdup(r->data),
			      strdup(r->value), ttl,
			      r->extra ? cJSON_Duplicate(r->extra, 1) : NULL };
	return d->type && d->name && d->data && d->value ? 0 : -1;
}

/* The values of the set (type, rel) in the cache, in order. */
static size_t cache_find(const struct gd *gd, const char *type, const char *rel,
			 const char *value)
{
	for (size_t i = 0; i < gd->nrecs; i++)
		if (strcmp(gd->recs[i].type, type) == 0 && strcmp(gd->recs[i].name, rel) == 0 &&
		    (!value || strcmp(gd->recs[i].value, value) == 0))
			return i;
	return (size_t)-1;
}

/*
 * What the set must become, from the cache: its values minus each change's
 * `before`, plus each `after`. Sets s->mode (GD_KEEP when already so).
 * Returns -1 with err when a value to replace is gone and its replacement is
 * not there (someone changed it since the plan was made: writing the plan's
 * value would leave two SPF records, or undo their change).
 */
static int gd_classify(const struct gd *gd, const struct change *c, struct gd_set *s,
		       struct prov_error *err)
{
	gd_recs_free(s->want, s->nwant);
	s->want = NULL;
	s->nwant = s->nadd = 0;
	size_t have = 0;
	int pure_add = 1, retimed = 0;
	for (size_t i = 0; i < gd->nrecs; i++)
		have += strcmp(gd->recs[i].type, s->type) == 0 &&
			strcmp(gd->recs[i].name, s->rel) == 0;
	for (size_t k = 0; k < s->nidx; k++) {
		const struct change *ch = &c[s->idx[k]];
		if (ch->before)
			pure_add = 0;
		if (ch->before && ch->after && strcmp(ch->before, ch->after) != 0 &&
		    cache_find(gd, s->type, s->rel, ch->before) == (size_t)-1 &&
		    cache_find(gd, s->type, s->rel, ch->after) == (size_t)-1)
			return prov_errorf(err, PROV_ERR_RUNTIME,
					   "godaddy: %s: %s %s: the %s value to replace changed since "
					   "it was read; nothing more was written: run provision again",
					   gd->zone, s->type, s->rel, ch->what ? ch->what : "managed");
	}
	s->want = calloc(have + s->nidx + 1, sizeof *s->want);
	if (!s->want)
		return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	/* the values kept, in GoDaddy's order, each with its own TTL (GoDaddy
	 * keeps one per record): only a managed value gets the change's */
	for (size_t i = 0; i < gd->nrecs; i++) {
		const struct gd_rec *r = &gd->recs[i];
		if (strcmp(r->type, s->type) != 0 || strcmp(r->name, s->rel) != 0)
			continue;
		int drop = 0;
		uint32_t ttl = r->ttl;
		for (size_t k = 0; k < s->nidx; k++) {
			const struct change *ch = &c[s->idx[k]];
			drop |= ch->before && strcmp(r->value, ch->before) == 0 &&
				!(ch->after && strcmp(ch->after, ch->before) == 0);
			if (ch->after && strcmp(r->value, ch->after) == 0)
				ttl = ch->ttl;
		}
		retimed |= !drop && ttl != r->ttl;
		if (!drop && rec_copy(&s->want[s->nwant++], r, ttl) < 0)
			return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	}
	size_t kept = s->nwant;
	/* the values added */
	for (size_t k = 0; k < s->nidx; k++) {
		const struct change *ch = &c[s->idx[k]];
		int there = 0;
		for (size_t j = 0; ch->after && j < s->nwant; j++)
			there |= strcmp(s->want[j].value, ch->after) == 0;
		if (!ch->after || there)
			continue;
		struct gd_rec *w = &s->want[s->nwant++];
		w->type = strdup(s->type);
		w->name = strdup(s->rel);
		w->data = gd_data(s->rtype, ch->after, gd->zone);
		w->value = strdup(ch->after);
		w->ttl = ch->ttl;
		if (!w->type || !w->name || !w->data || !w->value)
			return prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	}
	s->nadd = s->nwant - kept;
	if (s->nwant == 0)
		s->mode = have ? GD_DELETE : GD_KEEP;
	else if (kept == have && !retimed && s->nadd == 0)
		s->mode = GD_KEEP;
	else if (kept == have && !retimed && pure_add)
		s->mode = GD_ADD;
	else
		s->mode = GD_PUT;
	return 0;
}

/* Replace the set (type, rel) of the cache by want (nwant records). */
static int cache_put(struct gd *gd, const char *type, const char *rel,
		     const struct gd_rec *want, size_t nwant)
{
	size_t j = 0;
	for (size_t i = 0; i < gd->nrecs; i++) {
		if (strcmp(gd->recs[i].type, type) == 0 && strcmp(gd->recs[i].name, rel) == 0)
			gd_rec_free(&gd->recs[i]);
		else
			gd->recs[j++] = gd->recs[i];
	}
	gd->nrecs = j;
	struct gd_rec *v = realloc(gd->recs, (gd->nrecs + nwant + 1) * sizeof *v);
	if (!v)
		return -1;
	gd->recs = v;
	for (size_t i = 0; i < nwant; i++)
		if (rec_copy(&gd->recs[gd->nrecs++], &want[i], want[i].ttl) < 0)
			return -1;
	return 0;
}

static cJSON *rec_json(const struct gd_rec *r, int full)
{
	cJSON *o = cJSON_CreateObject();
	const cJSON *x;
	if (full) {
		cJSON_AddStringToObject(o, "type", r->type);
		cJSON_AddStringToObject(o, "name", r->name);
	}
	cJSON_AddStringToObject(o, "data", r->data);
	cJSON_AddNumberToObject(o, "ttl", r->ttl);
	cJSON_ArrayForEach(x, r->extra)
		cJSON_AddItemToObject(o, x->string, cJSON_Duplicate(x, 1));
	return o;
}

/* "spf (TXT @), dkim (TXT pic._domainkey)" for the sets whose flag is v. */
static void sets_names(const struct change *c, const struct gd_set *s, size_t ns,
		       const int *flag, int v, struct buf *out)
{
	int first = 1;
	for (size_t i = 0; i < ns; i++) {
		if (flag[i] != v)
			continue;
		buf_printf(out, "%s%s (%s %s)", first ? "" : ", ",
			   c[s[i].idx[0]].what ? c[s[i].idx[0]].what : "record", s[i].type,
			   s[i].rel);
		first = 0;
	}
	if (first)
		buf_puts(out, "none");
}

/*
 * One write: the PATCH of every GD_ADD set (when s is NULL) or the PUT /
 * DELETE of set s. The cache follows on success.
 */
static int gd_write(struct gd *gd, struct gd_set *sets, size_t ns, struct gd_set *s,
		    int *unknown, struct prov_error *err)
{
	struct buf what = BUF_INIT;
	char *path = records_path(gd, s && s->mode != GD_ADD ? s->type : NULL,
				  s ? s->rel : NULL);
	char *body = NULL;
	cJSON *arr = NULL, *j = NULL;
	char **labels = NULL;
	const char *method;
	int rc;
	if (!s) {
		method = "PATCH";
		arr = cJSON_CreateArray();
		buf_printf(&what, "%s: adding", gd->zone);
		for (size_t i = 0, first = 1; i < ns; i++) {
			if (sets[i].mode != GD_ADD)
				continue;
			buf_printf(&what, "%s %s %s", first ? "" : ",", sets[i].type, sets[i].rel);
			first = 0;
			for (size_t k = sets[i].nwant - sets[i].nadd; k < sets[i].nwant; k++) {
				struct buf l = BUF_INIT;
				buf_printf(&l, "%s %s", sets[i].type, sets[i].rel);
				strv_push(&labels, buf_str(&l));
				buf_release(&l);
				cJSON_AddItemToArray(arr, rec_json(&sets[i].want[k], 1));
			}
		}
	} else if (s->mode == GD_DELETE) {
		method = "DELETE";
		buf_printf(&what, "%s: %s %s: deleting the set", gd->zone, s->type, s->rel);
	} else {
		method = "PUT";
		arr = cJSON_CreateArray();
		buf_printf(&what, "%s: %s %s: writing the set", gd->zone, s->type, s->rel);
		for (size_t k = 0; k < s->nwant; k++)
			cJSON_AddItemToArray(arr, rec_json(&s->want[k], 0));
	}
	body = arr ? cJSON_PrintUnformatted(arr) : NULL;
	if (arr && !body)
		rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
	else
		rc = gd_call(gd, method, path, body, labels, buf_str(&what), &j, unknown, err);
	for (size_t i = 0; rc == 0 && i < ns; i++) {
		struct gd_set *t = &sets[i];
		if ((s && t != s) || (!s && t->mode != GD_ADD))
			continue;
		if (cache_put(gd, t->type, t->rel, t->want, t->nwant) < 0)
			rc = prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
		t->mode = GD_KEEP;
	}
	strv_free(labels);
	cJSON_Delete(j);
	cJSON_Delete(arr);
	free(body);
	free(path);
	buf_release(&what);
	return rc;
}

/* Phase of a set's write: 0 a removal making room for a CNAME, 1 the
 * additions (one PATCH), 2 rewrites, 3 other removals. */
static int phase_of(const struct gd_set *s, const struct gd_set *sets, size_t ns)
{
	if (s->mode == GD_ADD)
		return 1;
	if (s->mode == GD_PUT)
		return 2;
	for (size_t i = 0; i < ns; i++)
		if (sets[i].rtype == RR_CNAME && sets[i].mode != GD_KEEP &&
		    sets[i].mode != GD_DELETE && strcmp(sets[i].rel, s->rel) == 0)
			return 0;
	return 3;
}

/* Send what the sets still need, in order. */
static int gd_send(struct gd *gd, const struct change *c, struct gd_set *sets,
		   size_t ns, int *unknown, struct prov_error *err)
{
	for (size_t i = 0; i < ns; i++) {
		int rc = gd_classify(gd, c, &sets[i], err);
		if (rc < 0)
			return rc;
	}
	for (int phase = 0; phase < 4; phase++)
		for (int rank = 0; rank < 4; rank++)
			for (size_t i = 0; i < ns; i++) {
				struct gd_set *s = &sets[i];
				if (s->mode == GD_KEEP || s->rank != rank ||
				    phase_of(s, sets, ns) != phase)
					continue;
				int rc;
				/* A PUT replaces the whole set: read it right before, so
				 * a value added since the listing is kept. */
				if (s->mode != GD_ADD) {
					if ((rc = gd_read_set(gd, s->type, s->rel, err)) < 0 ||
					    (rc = gd_classify(gd, c, s, err)) < 0)
						return rc;
					if (s->mode == GD_KEEP)
						continue;
					if (s->mode == GD_ADD)
						s->mode = GD_PUT;
				}
				if ((rc = gd_write(gd, sets, ns, s->mode == GD_ADD ? NULL : s,
						   unknown, err)) < 0)
					return rc;
			}
	return 0;
}

/* 1 when the change is in place in the cache. */
static int gd_in_place(const struct gd *gd, const struct change *c)
{
	char *rel = relative(c->name, gd->zone);
	const char *type = rr_type_name(c->type);
	int ok = rel != NULL;
	if (ok && c->before && (!c->after || strcmp(c->before, c->after) != 0))
		ok = cache_find(gd, type, rel, c->before) == (size_t)-1;
	if (ok && c->after) {
		size_t i = cache_find(gd, type, rel, c->after);
		ok = i != (size_t)-1 && gd->recs[i].ttl == c->ttl;
	}
	free(rel);
	return ok;
}

static int gd_apply(void *handle, const struct zone *z, const struct change *changes,
		    size_t n, size_t *applied, struct prov_error *err)
{
	struct gd *gd = handle;
	struct gd_set *sets = NULL;
	size_t ns = 0;
	int rc = gd_zone(gd, z, err), unknown = 0;
	struct prov_error e1 = PROV_ERROR_INIT;
	*applied = 0;
	if (rc < 0)
		return rc;
	/* GoDaddy refuses a TTL under 600: say so before anything is written
	 * (run.c already refuses a configured ttl under .min_ttl; this keeps
	 * any other caller from half-applying a plan). */
	for (size_t i = 0; i < n; i++)
		if (changes[i].after && changes[i].ttl < GD_MIN_TTL) {
			char *rel = relative(changes[i].name, gd->zone);
			rc = prov_errorf(err, PROV_ERR_CONFIG,
					 "godaddy: %s: TTL %u of the %s record (%s %s) is below "
					 "%d seconds, the smallest TTL GoDaddy accepts: set ttl = %d "
					 "or more for this domain (nothing was written)", gd->zone,
					 (unsigned)changes[i].ttl, changes[i].what ? changes[i].what : "",
					 rr_type_name(changes[i].type), rel ? rel : changes[i].name,
					 GD_MIN_TTL, GD_MIN_TTL);
			free(rel);
			return rc;
		}
	if (n == 0)
		return 0;
	if ((rc = sets_build(gd, changes, n, &sets, &ns, err)) < 0)
		return rc;
	/* The plan was made from list()'s reading, which the cache holds. */
	if (!gd->have)
		rc = gd_read(gd, &e1);
	for (int attempt = 0; rc == 0; attempt++) {
		unknown = 0;
		rc = gd_send(gd, changes, sets, ns, &unknown, &e1);
		if (rc == 0 || !unknown || attempt + 1 >= GD_WRITE_TRIES)
			break;
		/* The answer was lost: read what GoDaddy holds, then send only
		 * what is still missing. */
		if (gd->verbose)
			fprintf(stderr, "provision: godaddy: %s: %s; reading the zone back\n",
				gd->zone, e1.msg);
		prov_error_clear(&e1);
		rc = gd_read(gd, &e1);
	}
	if (rc == 0) {
		for (size_t i = 0; i < n; i++)
			*applied += gd_in_place(gd, &changes[i]);
		gd->confirmed = 1;
		sets_free(sets, ns);
		if (*applied == n)
			return 0;
		return prov_errorf(err, PROV_ERR_RUNTIME,
				   "godaddy: %s: %zu of %zu changes are not in place after "
				   "writing", gd->zone, n - *applied, n);
	}
	/* Failed: say exactly what is in place, read back when a write's
	 * outcome is unknown (the cache is exact otherwise). */
	struct prov_error e2 = PROV_ERROR_INIT;
	int exact = !unknown || gd_read(gd, &e2) == 0;
	int *flag = calloc(ns ? ns : 1, sizeof *flag);
	for (size_t i = 0; i < n; i++)
		*applied += gd_in_place(gd, &changes[i]);
	for (size_t i = 0; flag && i < ns; i++) {
		flag[i] = 1;
		for (size_t k = 0; k < sets[i].nidx; k++)
			flag[i] &= gd_in_place(gd, &changes[sets[i].idx[k]]);
	}
	struct buf m = BUF_INIT;
	if (flag) {
		buf_puts(&m, unknown && exact ? "; read back: in place: " : "; in place: ");
		sets_names(changes, sets, ns, flag, 1, &m);
		buf_puts(&m, "; not applied: ");
		sets_names(changes, sets, ns, flag, 0, &m);
	}
	if (!exact)
		buf_printf(&m, " (as far as known: reading back failed: %s)", e2.msg);
	rc = prov_errorf(err, rc, "%s%s", e1.msg, buf_str(&m));
	buf_release(&m);
	free(flag);
	sets_free(sets, ns);
	gd_forget(gd);
	return rc;
}

const struct provider_ops provider_godaddy = {
	.name = "godaddy",
	.keys = gd_keys,
	.min_ttl = GD_MIN_TTL,
	.ttl_per_record = 1,
	.open = gd_open,
	.list = gd_list,
	.apply = gd_apply,
	.close = gd_close,
};
