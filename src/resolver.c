/*
 * resolver.c - one cache per run in front of a DNS backend.
 *
 * Every question the planner and the SPF engine ask goes through
 * resolver_query(); an answer is kept for the whole run, so a tree shared by
 * many domains (mailgun.org's) is asked once. Backends: resolver_dns.c (real
 * DNS through ldns) and in-memory data in the tests.
 *
 * Threads may ask at once: the cache is under one mutex, never held while
 * a backend waits on the network. A question asked while the same one is
 * in flight waits for that answer instead of being sent again, so each
 * distinct (name, type) reaches the backend once per resolver.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "provision/record.h"
#include "provision/resolver.h"
#include "provision/util.h"

struct cache_entry {
	char *name; /* FQDN, lower case */
	uint16_t type;
	struct dns_answer ans;
	int ready;  /* ans is filled (0: a thread is asking) */
	struct cache_entry *next;
};

#define CACHE_BUCKETS 1024

struct resolver {
	const struct resolver_backend *backend;
	void *ctx;
	struct cache_entry *buckets[CACHE_BUCKETS];
	struct resolver_stats stats;
	struct dns_answer nomem;
	pthread_mutex_t lock;
	pthread_cond_t answered; /* an entry became ready */
};

/* What this thread asked, over every resolver (resolver_thread_stats). */
static _Thread_local struct resolver_stats thread_stats;

struct resolver *resolver_new(const struct resolver_backend *backend,
			      void *ctx)
{
	struct resolver *r = calloc(1, sizeof *r);
	if (!r) {
		if (backend->free)
			backend->free(ctx);
		return NULL;
	}
	r->backend = backend;
	r->ctx = ctx;
	r->nomem.status = DNS_TEMPFAIL;
	strcpy(r->nomem.why, "out of memory");
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->answered, NULL);
	return r;
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < CACHE_BUCKETS; i++) {
		struct cache_entry *e = r->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			free(e->name);
			dns_answer_release(&e->ans);
			free(e);
		}
	}
	if (r->backend->free)
		r->backend->free(r->ctx);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->answered);
	free(r);
}

static size_t hash(const char *name, uint16_t type)
{
	size_t h = 5381 + type;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = h * 33 + *p;
	return h % CACHE_BUCKETS;
}

const struct dns_answer *resolver_query(struct resolver *r, const char *name,
					uint16_t type)
{
	char *fqdn = dname_fqdn(name);
	pthread_mutex_lock(&r->lock);
	r->stats.questions++;
	thread_stats.questions++;
	if (!fqdn) {
		pthread_mutex_unlock(&r->lock);
		return &r->nomem;
	}
	size_t h = hash(fqdn, type);
	for (struct cache_entry *e = r->buckets[h]; e; e = e->next)
		if (e->type == type && strcmp(e->name, fqdn) == 0) {
			while (!e->ready) /* asked by another thread right now */
				pthread_cond_wait(&r->answered, &r->lock);
			pthread_mutex_unlock(&r->lock);
			free(fqdn);
			return &e->ans;
		}
	struct cache_entry *e = calloc(1, sizeof *e);
	if (!e) {
		pthread_mutex_unlock(&r->lock);
		free(fqdn);
		return &r->nomem;
	}
	e->name = fqdn;
	e->type = type;
	e->next = r->buckets[h];
	r->buckets[h] = e;
	r->stats.sent++;
	thread_stats.sent++;
	pthread_mutex_unlock(&r->lock);
	struct dns_answer ans = { 0 };
	if (r->backend->query(r->ctx, fqdn, type, &ans) < 0) {
		dns_answer_release(&ans);
		memset(&ans, 0, sizeof ans);
		ans.status = DNS_TEMPFAIL;
		strcpy(ans.why, "out of memory");
	}
	pthread_mutex_lock(&r->lock);
	e->ans = ans;
	e->ready = 1;
	pthread_cond_broadcast(&r->answered);
	pthread_mutex_unlock(&r->lock);
	return &e->ans;
}

void resolver_get_stats(struct resolver *r, struct resolver_stats *st)
{
	pthread_mutex_lock(&r->lock);
	*st = r->stats;
	pthread_mutex_unlock(&r->lock);
}

void resolver_thread_stats(struct resolver_stats *st)
{
	*st = thread_stats;
}

void dns_answer_release(struct dns_answer *ans)
{
	for (size_t i = 0; i < ans->n; i++)
		free(ans->rr[i].text);
	free(ans->rr);
	ans->rr = NULL;
	ans->n = 0;
}

int dns_answer_add(struct dns_answer *ans, const struct dns_rr *rr)
{
	struct dns_rr *v = realloc(ans->rr, (ans->n + 1) * sizeof *v);
	if (!v)
		return -1;
	ans->rr = v;
	v[ans->n] = *rr;
	if (rr->text) {
		v[ans->n].text = malloc(rr->text_len + 1);
		if (!v[ans->n].text)
			return -1;
		memcpy(v[ans->n].text, rr->text, rr->text_len);
		v[ans->n].text[rr->text_len] = '\0';
	}
	ans->n++;
	return 0;
}
