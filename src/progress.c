/*
 * progress.c - the progress line (progress.h). Only counts and times are
 * printed, never a record or a secret.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "progress.h"
#include "provision/buf.h"
#include "provision/http.h"
#include "provision/util.h"

#define TTY_FIRST_S 1.0  /* a run shorter than this shows no line */
#define TTY_EVERY_S 0.1  /* redraw at most this often */
#define LINES_EVERY_S 5.0

void progress_init(struct progress *p, const struct options *o, size_t total)
{
	const char *term = getenv("TERM");
	memset(p, 0, sizeof *p);
	p->total = total;
	p->dry_run = o->dry_run;
	p->start = p->last = monotonic_s();
	p->requests0 = http_requests_total();
	if (o->quiet)
		p->mode = PROGRESS_NONE;
	else if (isatty(STDERR_FILENO) && !(term && strcmp(term, "dumb") == 0))
		p->mode = PROGRESS_TTY;
	else if (o->progress)
		p->mode = PROGRESS_LINES;
}

static void duration(struct buf *b, double s)
{
	long t = (long)(s + 0.5);
	if (t >= 3600)
		buf_printf(b, "%ldh%02ldm", t / 3600, t / 60 % 60);
	else if (t >= 60)
		buf_printf(b, "%ldm%02lds", t / 60, t % 60);
	else
		buf_printf(b, "%lds", t);
}

static void draw(struct progress *p, double now, int last)
{
	struct buf b = BUF_INIT;
	double took = now - p->start;
	unsigned long req = http_requests_total() - p->requests0;
	buf_printf(&b, "provision: %zu/%zu domains, %zu change%s %s, %zu error%s", p->done,
		   p->total, p->changes, p->changes == 1 ? "" : "s",
		   p->dry_run ? "pending" : "applied", p->errors, p->errors == 1 ? "" : "s");
	if (p->refused)
		buf_printf(&b, ", %zu refused", p->refused);
	buf_printf(&b, ", %.1f requests/s", took > 0 ? (double)req / took : 0.0);
	if (last) {
		buf_puts(&b, ", took ");
		duration(&b, took);
	} else if (p->done && p->done < p->total) {
		buf_puts(&b, ", ETA ");
		duration(&b, took / (double)p->done * (double)(p->total - p->done));
	}
	if (p->mode == PROGRESS_TTY)
		fprintf(stderr, "\r\033[K%s", buf_str(&b));
	else
		fprintf(stderr, "%s\n", buf_str(&b));
	fflush(stderr);
	buf_release(&b);
	p->drawn = p->mode == PROGRESS_TTY;
	p->last = now;
}

void progress_clear(struct progress *p)
{
	if (p->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		p->drawn = 0;
	}
}

void progress_done(struct progress *p, const struct plan *pl)
{
	p->done++;
	if (pl->status == PLAN_APPLIED || (p->dry_run && pl->status == PLAN_CHANGES))
		p->changes += pl->nchanges;
	else if (pl->status == PLAN_ERROR || pl->status == PLAN_DRIFTED)
		p->errors++;
	else if (pl->status == PLAN_REFUSED)
		p->refused++;
	double now = monotonic_s();
	if ((p->mode == PROGRESS_TTY && now - p->start >= TTY_FIRST_S &&
	     now - p->last >= TTY_EVERY_S) ||
	    (p->mode == PROGRESS_LINES && now - p->last >= LINES_EVERY_S))
		draw(p, now, 0);
}

void progress_end(struct progress *p)
{
	if (p->mode == PROGRESS_LINES)
		draw(p, monotonic_s(), 1);
	progress_clear(p);
}
