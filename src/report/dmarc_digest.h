/*
 * dmarc_digest.h - what aggregate reports say, per policy domain: totals,
 * alignment, dispositions, the sources by volume, and whether the domain
 * is ready for the next policy stage.
 */
#ifndef PROVISION_DMARC_DIGEST_H
#define PROVISION_DMARC_DIGEST_H

#include <cJSON.h>
#include <stdio.h>

#include "dmarc_report.h"
#include "provision/resolver.h"

enum dd_kind { DD_PASS, DD_YOURS_UNALIGNED, DD_NOT_YOU };

/* One source: an address with the identities its messages carried. */
struct dd_source {
	char *ip, *rdns;            /* rdns: with --resolve, else NULL */
	char *header_from, *envelope_from;
	char *dkim;                 /* "d=example.com s=pic pass, ..." */
	char *spf;                  /* "example.com pass, ..." */
	char **orgs;                /* reporting organisations */
	long long count;
	enum dd_kind kind;
};

struct dd_domain {
	char *domain;
	long long begin, end;       /* the span of its reports */
	size_t reports, days;       /* days: distinct UTC days covered */
	int bis;                    /* a DMARCbis report among them */
	long long total, dkim_aligned, spf_aligned, pass, fail;
	long long disp_none, disp_quarantine, disp_reject, disp_other;
	struct dd_source *src;
	size_t nsrc;
	long long yours_unaligned;  /* messages */
};

struct dd_digest {
	struct dd_domain *v;
	size_t n;
	size_t reports, duplicates, errors;
};

/* The digest of set; with r, each source's reverse name (PTR) too. */
int dd_build(const struct dr_set *set, struct resolver *r, struct dd_digest *out);
void dd_release(struct dd_digest *d);

void dd_print_text(FILE *out, const struct dd_digest *d);
cJSON *dd_json(const struct dd_digest *d);

/* The current stage and the rule for the next one. */
struct dd_stage {
	const char *policy; /* none | quarantine | reject */
	int pct;            /* 1-100 (100 when unset) */
};
struct dd_advice {
	int ready;            /* 1 when every condition holds */
	int last;             /* already at p=reject: nothing further */
	struct dd_stage now, next;
	char rule[4][200];    /* each condition with the figure found */
	int met[4];
	size_t nrule;
	char change[200];     /* the configuration line to write */
	char note[300];       /* DMARCbis and the like, or "" */
};

/* Advice for domain dd (may be NULL: no reports) at stage now, with the
 * thresholds min_days and min_aligned (percent). */
void dd_advise(const struct dd_domain *dd, struct dd_stage now, int min_days,
	       int min_aligned, struct dd_advice *a);
void dd_print_advice(FILE *out, const char *domain, const struct dd_advice *a);
cJSON *dd_advice_json(const char *domain, const struct dd_advice *a);

#endif
