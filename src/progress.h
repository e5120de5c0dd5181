/*
 * progress.h - the progress line of a run over many domains, on stderr:
 * domains done of total, changes applied (pending in a dry run), errors,
 * refusals, requests per second and the time left.
 *
 * On a terminal (stderr a tty, TERM not dumb) it is one line redrawn in
 * place, first drawn once the run has lasted a second; with --progress and
 * stderr not a terminal, a plain line every 5 seconds and one at the end;
 * with --quiet, nothing. The report on stdout is never mixed into it: the
 * line is wiped before each domain's report and drawn again after.
 */
#ifndef PROVISION_PROGRESS_H
#define PROVISION_PROGRESS_H

#include <stddef.h>

#include "commands.h"
#include "plan.h"

enum progress_mode { PROGRESS_NONE, PROGRESS_TTY, PROGRESS_LINES };

struct progress {
	enum progress_mode mode;
	int dry_run, drawn;
	size_t total, done, changes, errors, refused;
	double start, last;
	unsigned long requests0;
};

/* Set up for total domains; the mode from --quiet, --progress and stderr. */
void progress_init(struct progress *p, const struct options *o, size_t total);
/* Wipe the line from the terminal before something else is printed. */
void progress_clear(struct progress *p);
/* One domain finished with this plan; draws the line when due. */
void progress_done(struct progress *p, const struct plan *pl);
/* The run ended: the terminal line is wiped, --progress prints a last line. */
void progress_end(struct progress *p);

#endif
