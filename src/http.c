/*
 * http.c - libcurl for every HTTP provider (see http.h).
 *
 * Retries: 429 and 5xx answers to reads are retried with exponential
 * back-off plus jitter, or after Retry-After when the server says; a read
 * that got no answer is retried the same way. A write is retried only on
 * 429 (the server refused it unprocessed); any other failure of a write
 * leaves its outcome unknown and goes back to the caller, which re-reads.
 * Writes go on a fresh connection: curl 7.88 would otherwise silently resend
 * a POST whose reused connection died (provider-apis.md §4).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/rand.h>

#include "provision/http.h"
#include "provision/util.h"

#define BODY_MAX (64L << 20) /* an answer larger than this is refused */
#define TRACE_BODY_MAX 2048

/* A token bucket: one per client, or one shared by every client of the
 * same provider and account (http_config.account). */
struct bucket {
	char key[128];    /* "provider account"; "" for a client's own */
	int burst, refs;
	double rate, tokens;
	double last;      /* monotonic seconds of the last take; <0: none */
	double hold;      /* no request before this (a 429's Retry-After) */
	struct bucket *next;
};

static struct bucket *shared_buckets;
/* Guards shared_buckets and every bucket's fields: clients of one account
 * in several threads take from one bucket. */
static pthread_mutex_t buckets_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT); /* not thread-safe: once */
}

struct http_client {
	CURL *curl;
	char provider[32];
	char *ca_file;
	long connect_timeout_ms, timeout_ms;
	int max_retries, verbose;
	double max_backoff;
	struct bucket *bucket;
	unsigned long requests;
	double retry_after; /* of the last answer, seconds; <0: none */
};

static unsigned long requests_total; /* every client of the process */

unsigned long http_requests_total(void)
{
	return __atomic_load_n(&requests_total, __ATOMIC_RELAXED);
}

static void sleep_s(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) != 0)
		;
}

static double jitter(void)
{
	unsigned char b[2] = { 0, 0 };
	RAND_bytes(b, sizeof b);
	return (double)((b[0] << 8) | b[1]) / 65535.0; /* 0..1 */
}

/* The bucket of a new client: the account's shared one (made on first
 * use; the lowest rate and burst of the clients sharing it win), or its
 * own. NULL on no memory. */
static struct bucket *bucket_find(const struct http_config *cfg)
{
	int burst = cfg->burst > 0 ? cfg->burst : 1;
	char key[128] = "";
	if (cfg->account && *cfg->account)
		snprintf(key, sizeof key, "%s %s", cfg->provider, cfg->account);
	for (struct bucket *b = *key ? shared_buckets : NULL; b; b = b->next) {
		if (strcmp(b->key, key) != 0)
			continue;
		if (cfg->rate > 0 && (b->rate <= 0 || cfg->rate < b->rate))
			b->rate = cfg->rate;
		if (burst < b->burst)
			b->burst = burst;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
		b->refs++;
		return b;
	}
	struct bucket *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	snprintf(b->key, sizeof b->key, "%s", key);
	b->rate = cfg->rate;
	b->burst = burst;
	b->tokens = burst;
	b->last = -1;
	b->refs = 1;
	if (*key) {
		b->next = shared_buckets;
		shared_buckets = b;
	}
	return b;
}

static struct bucket *bucket_get(const struct http_config *cfg)
{
	pthread_mutex_lock(&buckets_lock);
	struct bucket *b = bucket_find(cfg);
	pthread_mutex_unlock(&buckets_lock);
	return b;
}

static void bucket_put(struct bucket *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&buckets_lock);
	if (--b->refs > 0) {
		pthread_mutex_unlock(&buckets_lock);
		return;
	}
	for (struct bucket **p = &shared_buckets; *p; p = &(*p)->next)
		if (*p == b) {
			*p = b->next;
			break;
		}
	pthread_mutex_unlock(&buckets_lock);
	free(b);
}

struct http_client *http_client_new(const struct http_config *cfg,
				    struct prov_error *err)
{
	pthread_once(&global_once, global_init);
	struct http_client *c = calloc(1, sizeof *c);
	if (!c || !(c->curl = curl_easy_init())) {
		free(c);
		prov_errorf(err, PROV_ERR_RUNTIME, "%s: cannot set up libcurl", cfg->provider);
		return NULL;
	}
	snprintf(c->provider, sizeof c->provider, "%s", cfg->provider);
	c->ca_file = cfg->ca_file ? strdup(cfg->ca_file) : NULL;
	c->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 10000;
	c->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 60000;
	c->max_retries = cfg->max_retries ? cfg->max_retries : 5;
	c->max_backoff = cfg->max_backoff_s > 0 ? cfg->max_backoff_s : 30;
	c->verbose = cfg->verbose;
	if (!(c->bucket = bucket_get(cfg))) {
		http_client_free(c);
		prov_errorf(err, PROV_ERR_NOMEM, "out of memory");
		return NULL;
	}
	return c;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
	bucket_put(c->bucket);
	free(c->ca_file);
	free(c);
}

unsigned long http_client_requests(const struct http_client *c)
{
	return c->requests;
}

char *http_escape(const char *s)
{
	CURL *h = curl_easy_init();
	char *e = h ? curl_easy_escape(h, s, 0) : NULL;
	char *out = e ? strdup(e) : NULL;
	curl_free(e);
	curl_easy_cleanup(h);
	return out;
}

/* Token bucket: wait until a request may go (and past a hold a 429 of the
 * same account asked for). The token is taken under the lock before the
 * wait (the bucket may go below zero: the requests queued behind), so
 * threads sharing a bucket never send more than its rate between them. */
static void rate_wait(struct http_client *c)
{
	struct bucket *b = c->bucket;
	for (;;) {
		pthread_mutex_lock(&buckets_lock);
		double t = monotonic_s(), w = 0;
		if (b->hold > t) {
			w = b->hold - t;
			pthread_mutex_unlock(&buckets_lock);
			sleep_s(w);
			continue;
		}
		if (b->rate > 0) {
			if (b->last >= 0) {
				b->tokens += (t - b->last) * b->rate;
				if (b->tokens > b->burst)
					b->tokens = b->burst;
			}
			b->last = t;
			b->tokens -= 1;
			if (b->tokens < 0)
				w = -b->tokens / b->rate;
		}
		pthread_mutex_unlock(&buckets_lock);
		sleep_s(w);
		/* a 429 to another client while this one waited holds it too */
		pthread_mutex_lock(&buckets_lock);
		int held = b->hold > monotonic_s();
		pthread_mutex_unlock(&buckets_lock);
		if (!held)
			return;
	}
}

void http_client_hold(struct http_client *c, double seconds)
{
	pthread_mutex_lock(&buckets_lock);
	double until = monotonic_s() + seconds;
	if (until > c->bucket->hold)
		c->bucket->hold = until;
	pthread_mutex_unlock(&buckets_lock);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	if (b->len + size * n > (size_t)BODY_MAX || buf_add(b, p, size * n) < 0)
		return 0;
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct http_client *c = arg;
	size_t len = size * n;
	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		char *end;
		double v = strtod(p + 12, &end);
		if (end != p + 12 && v >= 0)
			c->retry_after = v;
	}
	return len;
}

/* The value of a header that must never be shown. */
static int secret_header(const char *line, size_t len)
{
	static const char *const names[] = { "authorization:", "x-auth-key:",
		"x-auth-email:", "x-amz-security-token:", "proxy-authorization:", NULL };
	for (size_t i = 0; names[i]; i++) {
		size_t k = strlen(names[i]);
		if (len >= k && strncasecmp(line, names[i], k) == 0)
			return (int)k;
	}
	return 0;
}

/* data with every value of redact replaced (caller frees), or NULL. */
static char *redacted(const char *data, size_t size, const char *const *redact)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < size;) {
		size_t k = 0;
		for (const char *const *r = redact; r && *r && !k; r++)
			if (**r && strlen(*r) <= size - i && memcmp(data + i, *r, strlen(*r)) == 0)
				k = strlen(*r);
		if (k ? buf_puts(&b, "[redacted]") : buf_putc(&b, data[i])) {
			buf_release(&b);
			return NULL;
		}
		i += k ? k : 1;
	}
	return buf_detach(&b);
}

static void trace_lines(char mark, const char *data, size_t size)
{
	const char *p = data, *end = data + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t show = len && p[len - 1] == '\r' ? len - 1 : len;
		int k = secret_header(p, show);
		if (k)
			fprintf(stderr, "%c %.*s [redacted]\n", mark, k, p);
		else if (show)
			fprintf(stderr, "%c %.*s\n", mark, (int)show, p);
		p += len + 1;
	}
}

static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	const struct http_request *rq = arg;
	char *clean = NULL;
	(void)h;
	if (rq && rq->redact && type != CURLINFO_SSL_DATA_IN && type != CURLINFO_SSL_DATA_OUT &&
	    (clean = redacted(data, size, rq->redact)) != NULL) {
		data = clean;
		size = strlen(clean);
	}
	switch (type) {
	case CURLINFO_TEXT:
		fprintf(stderr, "* %.*s", (int)size, data);
		break;
	case CURLINFO_HEADER_OUT:
		trace_lines('>', data, size);
		break;
	case CURLINFO_HEADER_IN:
		trace_lines('<', data, size);
		break;
	case CURLINFO_DATA_OUT:
	case CURLINFO_DATA_IN:
		fprintf(stderr, "%c %.*s%s\n", type == CURLINFO_DATA_OUT ? '>' : '<',
			(int)(size > TRACE_BODY_MAX ? TRACE_BODY_MAX : size), data,
			size > TRACE_BODY_MAX ? " [...]" : "");
		break;
	default:
		break;
	}
	free(clean);
	return 0;
}

static const char *url_path(const char *url)
{
	const char *p = strstr(url, "://");
	p = p ? strchr(p + 3, '/') : NULL;
	return p ? p : url;
}

/* One attempt. Returns the curl code; rs->status and body filled. */
static CURLcode attempt(struct http_client *c, const struct http_request *rq,
			struct http_response *rs, struct curl_slist *hdrs)
{
	CURL *h = c->curl;
	curl_easy_reset(h);
	buf_release(&rs->body);
	rs->status = 0;
	c->retry_after = -1;
	curl_easy_setopt(h, CURLOPT_URL, rq->url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "provision/" PROVISION_VERSION);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &rs->body);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
	if (rq->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(rq->body));
	}
	if (rq->write) {
		curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	}
	if (rq->aws_sigv4) {
		curl_easy_setopt(h, CURLOPT_AWS_SIGV4, rq->aws_sigv4);
		curl_easy_setopt(h, CURLOPT_USERPWD, rq->userpwd);
	}
	if (c->verbose) {
		curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
		curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
		curl_easy_setopt(h, CURLOPT_DEBUGDATA, (void *)rq);
	}
	rate_wait(c);
	c->requests++;
	__atomic_fetch_add(&requests_total, 1, __ATOMIC_RELAXED);
	rs->attempts++;
	CURLcode rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rs->status);
	if (rq->userpwd) /* do not keep the secret in the handle */
		curl_easy_setopt(h, CURLOPT_USERPWD, NULL);
	return rc;
}

/* Seconds to wait before retry n (0-based). */
static double backoff(const struct http_client *c, int n)
{
	if (c->retry_after >= 0)
		return c->retry_after < c->max_backoff * 2 ? c->retry_after : c->max_backoff * 2;
	double base = 0.25 * (double)(1 << (n < 8 ? n : 8));
	double w = base + base * jitter();
	return w < c->max_backoff ? w : c->max_backoff;
}

int http_send(struct http_client *c, const struct http_request *rq,
	      struct http_response *rs, struct prov_error *err)
{
	struct curl_slist *hdrs = NULL;
	memset(rs, 0, sizeof *rs);
	for (const char *const *hp = rq->headers; hp && *hp; hp++)
		hdrs = curl_slist_append(hdrs, *hp);
	int has_type = 0;
	for (const char *const *hp = rq->headers; hp && *hp; hp++)
		has_type |= strncasecmp(*hp, "Content-Type:", 13) == 0;
	if (rq->body && !has_type) /* a caller's Content-Type wins (Route 53: XML) */
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	CURLcode rc = CURLE_OK;
	for (int n = 0;; n++) {
		rc = attempt(c, rq, rs, hdrs);
		int answered = rc == CURLE_OK && rs->status > 0;
		int retryable = answered ? (rs->status == 429 || (!rq->write && rs->status >= 500))
					 : !rq->write;
		if (!retryable || n >= c->max_retries)
			break;
		double w = backoff(c, n);
		/* a 429 slows the whole account: every client sharing the
		 * bucket holds until then */
		if (answered && rs->status == 429)
			http_client_hold(c, w);
		if (c->verbose)
			fprintf(stderr, "provision: %s: %s %s: %s, retrying in %.1f s\n",
				c->provider, rq->method, url_path(rq->url),
				answered ? "busy" : curl_easy_strerror(rc), w);
		sleep_s(w);
	}
	curl_slist_free_all(hdrs);
	if (rc == CURLE_OK && rs->status > 0)
		return 0;
	rs->outcome_unknown = rq->write && rc != CURLE_COULDNT_CONNECT &&
			      rc != CURLE_COULDNT_RESOLVE_HOST && rc != CURLE_SSL_CONNECT_ERROR &&
			      rc != CURLE_PEER_FAILED_VERIFICATION;
	return prov_errorf(err, PROV_ERR_RUNTIME, "%s: %s %s: %s%s", c->provider,
			   rq->method, url_path(rq->url), curl_easy_strerror(rc),
			   rs->outcome_unknown ? " (the request may have been applied)" : "");
}

void http_response_release(struct http_response *rs)
{
	buf_release(&rs->body);
}
