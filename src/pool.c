/*
 * pool.c - a bounded pool of worker threads over ordered items (pool.h).
 *
 * One mutex guards the schedule and the output; a condition variable wakes
 * workers waiting for a class to fall under its limit. Items of a class are
 * kept in a queue in item order; a worker takes, of the classes under their
 * limit, the queue head with the lowest index.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "pool.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

struct sched {
	struct pool *p;
	pthread_cond_t moved;   /* an item finished */
	size_t **queue, *qlen, *head; /* per class: items, count, next */
	unsigned *inflight;
	unsigned char *finished;
	size_t next_emit;
	size_t running;
};

void pool_lock(void)
{
	pthread_mutex_lock(&lock);
}

void pool_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

static size_t class_of(const struct pool *p, size_t i)
{
	return p->class_of ? p->class_of[i] : 0;
}

static unsigned limit_of(const struct pool *p, size_t c)
{
	return p->limit && p->limit[c] ? p->limit[c] : 1;
}

/* The next item to start, or (size_t)-1 when none will be (all started, or
 * a stop). Called and returns with the lock held; may wait. */
static size_t take(struct sched *s)
{
	struct pool *p = s->p;
	for (;;) {
		if (p->stop && p->stop())
			return (size_t)-1;
		size_t best = (size_t)-1, best_c = 0;
		int left = 0;
		for (size_t c = 0; c < p->nclasses; c++) {
			if (s->head[c] >= s->qlen[c])
				continue;
			left = 1;
			size_t i = s->queue[c][s->head[c]];
			if (s->inflight[c] < limit_of(p, c) && i < best) {
				best = i;
				best_c = c;
			}
		}
		if (best != (size_t)-1) {
			s->head[best_c]++;
			s->inflight[best_c]++;
			s->running++;
			p->started[best] = 1;
			return best;
		}
		if (!left)
			return (size_t)-1;
		pthread_cond_wait(&s->moved, &lock);
	}
}

static void finish(struct sched *s, size_t i)
{
	struct pool *p = s->p;
	s->finished[i] = 1;
	s->inflight[class_of(p, i)]--;
	s->running--;
	if (p->done)
		p->done(p->ctx, i);
	while (s->next_emit < p->n && s->finished[s->next_emit]) {
		if (p->emit)
			p->emit(p->ctx, s->next_emit);
		s->next_emit++;
	}
	pthread_cond_broadcast(&s->moved);
}

struct worker {
	struct sched *s;
	unsigned w;
};

static void *work_loop(void *arg)
{
	struct worker *wk = arg;
	struct sched *s = wk->s;
	pthread_mutex_lock(&lock);
	for (;;) {
		size_t i = take(s);
		if (i == (size_t)-1)
			break;
		pthread_mutex_unlock(&lock);
		s->p->work(s->p->ctx, wk->w, i);
		pthread_mutex_lock(&lock);
		finish(s, i);
	}
	/* a stop: the others may wait for a class that will not move */
	pthread_cond_broadcast(&s->moved);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void sched_free(struct sched *s)
{
	for (size_t c = 0; s->queue && c < s->p->nclasses; c++)
		free(s->queue[c]);
	free(s->queue);
	free(s->qlen);
	free(s->head);
	free(s->inflight);
	free(s->finished);
	pthread_cond_destroy(&s->moved);
}

static int sched_init(struct sched *s, struct pool *p)
{
	size_t nc = p->nclasses ? p->nclasses : 1;
	p->nclasses = nc;
	s->p = p;
	pthread_cond_init(&s->moved, NULL);
	s->queue = calloc(nc, sizeof *s->queue);
	s->qlen = calloc(nc, sizeof *s->qlen);
	s->head = calloc(nc, sizeof *s->head);
	s->inflight = calloc(nc, sizeof *s->inflight);
	s->finished = calloc(p->n + 1, 1);
	p->started = calloc(p->n + 1, 1);
	if (!s->queue || !s->qlen || !s->head || !s->inflight || !s->finished || !p->started)
		return -1;
	for (size_t i = 0; i < p->n; i++)
		s->qlen[class_of(p, i)]++;
	for (size_t c = 0; c < nc; c++)
		if (!(s->queue[c] = calloc(s->qlen[c] + 1, sizeof **s->queue)))
			return -1;
	for (size_t i = 0; i < p->n; i++) {
		size_t c = class_of(p, i);
		s->queue[c][s->head[c]++] = i;
	}
	for (size_t c = 0; c < nc; c++)
		s->head[c] = 0;
	return 0;
}

unsigned pool_workers(const struct pool *p, unsigned jobs, unsigned max)
{
	size_t nc = p->nclasses ? p->nclasses : 1, sum = 0;
	for (size_t c = 0; c < nc; c++) {
		size_t m = 0;
		for (size_t i = 0; i < p->n; i++)
			m += class_of(p, i) == c;
		sum += m < limit_of(p, c) ? m : limit_of(p, c);
	}
	if (jobs && jobs < sum)
		sum = jobs;
	if (sum > max)
		sum = max;
	return sum ? (unsigned)sum : 1;
}

int pool_run(struct pool *p)
{
	struct sched s = { 0 };
	int rc = 0;
	p->started = NULL;
	if (sched_init(&s, p) < 0) {
		sched_free(&s);
		errno = ENOMEM;
		return -1;
	}
	unsigned n = p->workers ? p->workers : 1;
	if (n > p->n)
		n = p->n ? (unsigned)p->n : 1;
	pthread_t *tids = calloc(n, sizeof *tids);
	struct worker *wk = calloc(n, sizeof *wk);
	unsigned made = 0;
	if (!tids || !wk) {
		rc = -1;
		errno = ENOMEM;
		goto out;
	}
	for (unsigned w = 0; w < n; w++)
		wk[w] = (struct worker){ &s, w };
	/* worker 0 is the calling thread; the others are made here */
	for (made = 1; made < n; made++)
		if (pthread_create(&tids[made], NULL, work_loop, &wk[made]) != 0)
			break;
	work_loop(&wk[0]);
	for (unsigned w = 1; w < made; w++)
		pthread_join(tids[w], NULL);
	pthread_mutex_lock(&lock);
	for (; s.next_emit < p->n; s.next_emit++) /* after a stop: the rest done */
		if (s.finished[s.next_emit] && p->emit)
			p->emit(p->ctx, s.next_emit);
	pthread_mutex_unlock(&lock);
out:
	free(tids);
	free(wk);
	sched_free(&s);
	return rc;
}
