/*
 * dmarc_report.h - DMARC aggregate (rua) reports: one report parsed from
 * XML (RFC 7489 Appendix C, the DMARCbis urn:ietf:params:xml:ns:dmarc-2.0
 * schema, and the draft-era form), the reports found in a file, an archive
 * or an e-mail message, and the digest over many of them.
 */
#ifndef PROVISION_DMARC_REPORT_H
#define PROVISION_DMARC_REPORT_H

#include <stddef.h>
#include <stdio.h>

/* One authentication result of a record (auth_results/dkim or /spf). */
struct dr_auth {
	char *domain, *selector, *scope, *result;
};

/* One <record>: a source and how its messages fared. */
struct dr_record {
	char *source_ip;
	long long count;
	char *disposition, *dkim, *spf; /* policy_evaluated */
	char *header_from, *envelope_from;
	struct dr_auth *dkims, *spfs;
	size_t ndkims, nspfs;
};

struct dr_report {
	int bis; /* the DMARCbis (dmarc-2.0) namespace */
	char *org, *email, *report_id;
	long long begin, end;
	char *domain, *adkim, *aspf, *p, *sp, *np, *pct, *testing;
	struct dr_record *recs;
	size_t nrecs;
};

/* Caps on what one input may expand to. */
#define DR_MAX_BYTES (50u * 1024 * 1024) /* uncompressed, per part */
#define DR_MAX_RATIO 1000                /* uncompressed / compressed */
#define DR_MAX_PARTS 100                 /* members of an archive, parts of a message */
#define DR_MAX_COUNT 1000000000LL        /* messages in one record */

/* Parse one report of len bytes; now: the time against which a date range
 * "in the future" is judged. 0, or -1 with why (one line: "line 7: ...",
 * "not a DMARC aggregate report: ..."). */
int dr_parse(const char *data, size_t len, long long now, struct dr_report *out,
	     char *why, size_t whysz);
void dr_release(struct dr_report *r);

/* The reports found, and how many inputs failed. */
struct dr_set {
	struct dr_report *v;
	size_t n;
	size_t duplicates; /* same org and report_id again: counted once */
	size_t errors;     /* inputs refused (each said on stderr) */
	long long now;
	FILE *err;         /* where each refusal is said (stderr) */
};

/* Read one input of len bytes, named file (and part, inside a message or
 * an archive, or NULL): plain XML, gzip, zip, or an e-mail message whose
 * parts are any of these (base64 or quoted-printable). Each report found
 * goes into set; each part refused is one line on set->err and counted. */
void dr_read_bytes(struct dr_set *set, const char *file, const char *part,
		   const unsigned char *data, size_t len);
/* The same for a file, or each regular file of a directory (sorted). */
void dr_read_path(struct dr_set *set, const char *path);
void dr_set_release(struct dr_set *set);

#endif
