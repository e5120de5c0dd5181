/*
 * stop.c - SIGINT and SIGTERM ask for a clean stop (stop.h). The handler
 * only records the signal; the run loops read it between domains, so a
 * domain's write is never cut by our own code. SA_RESTART keeps the reads
 * and writes in flight going; a second signal gets the default action
 * back, so an impatient Ctrl-C still ends the process at once.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "stop.h"

/* Read by every worker thread: an atomic (lock-free, so the handler may
 * store it), not a volatile sig_atomic_t, which only one thread may share
 * with its handler. */
static atomic_int stop_sig;

static void on_signal(int sig)
{
	int saved = errno;
	if (atomic_load(&stop_sig)) {
		signal(sig, SIG_DFL);
		raise(sig);
	} else {
		atomic_store(&stop_sig, sig);
	}
	errno = saved;
}

void stop_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int stop_requested(void)
{
	return atomic_load(&stop_sig);
}

const char *stop_signal_name(int sig)
{
	return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";
}

void stop_tally_skip(struct stop_tally *t, const char *name)
{
	if (t->nleft++ < 20)
		buf_printf(&t->left, "%s%s", t->nleft > 1 ? ", " : "", name);
}

int stop_tally_report(struct stop_tally *t)
{
	int sig = stop_requested();
	if (sig) {
		fprintf(stderr, "provision: stopped by %s: %zu of %zu domains done (in the report), "
			"%zu not started", stop_signal_name(sig), t->done, t->total, t->nleft);
		if (t->nleft)
			fprintf(stderr, ": %s%s", buf_str(&t->left), t->nleft > 20 ? ", ..." : "");
		fputc('\n', stderr);
	}
	buf_release(&t->left);
	return sig != 0;
}
