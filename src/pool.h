/*
 * pool.h - items worked on by a bounded pool of threads, their results
 * given back in the items' order.
 *
 * The main job, `apply PLAN.json` and `check` hand each domain to a worker
 * thread: the work of one domain stays as it was (one thread, one domain,
 * blocking calls), and many are in flight at once. Items belong to classes
 * (the provider blocks) with a limit of items in flight each. A worker
 * takes the first item not started whose class is under its limit, so items
 * start in order within a class. With one worker, everything runs in the
 * calling thread, one item after another, as before there were threads.
 *
 * Why threads with blocking calls and not libcurl's multi interface: the
 * work of a domain is a chain of dependent requests (list, plan, write,
 * read back, plan again) written as straight-line code in every provider,
 * and DNS questions through ldns are blocking too; an event loop would
 * turn each provider into a state machine. What threads share is small:
 * the limiter of an account (http.c), the DNS cache (resolver.c), the
 * credential chain (route53_request.c) and the output, written here in
 * order under one lock.
 */
#ifndef PROVISION_POOL_H
#define PROVISION_POOL_H

#include <stddef.h>

struct pool {
	size_t n;               /* items 0..n-1 */
	const size_t *class_of; /* item -> class (< nclasses); NULL: all 0 */
	const unsigned *limit;  /* per class: items in flight at most */
	size_t nclasses;
	unsigned workers;       /* threads (1: the caller's, no thread) */
	/* Item i on worker w (0..workers-1), outside any lock. */
	void (*work)(void *ctx, unsigned w, size_t i);
	/* Item i finished; under the pool's lock, in the order they finish. */
	void (*done)(void *ctx, size_t i);
	/* Under the lock, in item order: each finished item once every item
	 * before it is finished (or, at the end, was never started). */
	void (*emit)(void *ctx, size_t i);
	/* Start no new item once this returns nonzero (a stop was asked). */
	int (*stop)(void);
	void *ctx;
	/* set by pool_run: 1 for each item started (NULL on no memory) */
	unsigned char *started;
};

/* Run every item (or until stop), on as many of p->workers threads as
 * could be made (at least the caller's). 0, or -1 on no memory (nothing
 * run then; errno set). p->started stays the caller's to free. */
int pool_run(struct pool *p);
/* The workers worth making for p's items: each class's items, at most its
 * limit, summed; at most jobs (-j) when not 0 and at most max; at least 1.
 * More would only wait. */
unsigned pool_workers(const struct pool *p, unsigned jobs, unsigned max);
/* The pool's lock, for output outside emit/done (a -v line). */
void pool_lock(void);
void pool_unlock(void);

#endif
