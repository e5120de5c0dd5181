/*
 * error.h - how failures travel below main().
 *
 * Functions return 0 on success or a negative enum prov_err, and fill a
 * caller-owned struct prov_error with one lower-case line naming what failed
 * (provider, zone, record, file:line). The first message wins: later, vaguer
 * failures never hide the root cause (curl's failf()). Messages never hold
 * secrets. Only the commands (src/run.c, src/check/, ...) print them and
 * choose the exit status.
 */
#ifndef PROVISION_ERROR_H
#define PROVISION_ERROR_H

enum prov_err {
	PROV_OK = 0,
	PROV_ERR_RUNTIME = -1, /* network, DNS, provider API, file I/O: exit 1 */
	PROV_ERR_RULE = -3,    /* refused by a record rule: exit 3 */
	PROV_ERR_USAGE = -64,  /* bad command line: exit 64 */
	PROV_ERR_CONFIG = -78, /* configuration error: exit 78 */
	PROV_ERR_NOMEM = -12,  /* out of memory: exit 1 */
};

struct prov_error {
	int set;        /* 0 until a message is written */
	char msg[1024]; /* one line, no trailing newline */
};

#define PROV_ERROR_INIT { 0, { 0 } }

/* Write a message unless one is there already; returns code (for chaining:
 * return prov_errorf(err, PROV_ERR_RUNTIME, "...")). err may be NULL. */
int prov_errorf(struct prov_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Forget the message (to reuse the struct for the next domain). */
void prov_error_clear(struct prov_error *err);
const char *prov_strerror(int code);
/* Exit status of the contract for an error code (0 for PROV_OK). */
int prov_exit_status(int code);

#endif
