/*
 * stop.h - a clean stop on SIGINT or SIGTERM: the commands that write
 * start no new domain once one arrived, let the one in flight finish, and
 * say what was done. A second signal stops at once (the default action).
 */
#ifndef PROVISION_STOP_H
#define PROVISION_STOP_H

#include <stddef.h>

#include "provision/buf.h"

/* Catch SIGINT and SIGTERM from now on. */
void stop_install(void);
/* The signal that asked to stop (SIGINT, SIGTERM), or 0. */
int stop_requested(void);
/* "SIGINT", "SIGTERM". */
const char *stop_signal_name(int sig);

/* What a loop over domains did and left out when asked to stop. */
struct stop_tally {
	size_t done, total, nleft;
	struct buf left; /* the first 20 names left out, ", " between */
};
/* Count a domain not started because of a stop. */
void stop_tally_skip(struct stop_tally *t, const char *name);
/* When a stop was asked, one line on stderr: "provision: stopped by
 * SIGINT: D of T domains done (in the report), N not started: a, b, ...";
 * returns 1 then (the run's exit status is 1), else 0. Releases t. */
int stop_tally_report(struct stop_tally *t);

#endif
