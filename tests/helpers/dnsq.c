/*
 * dnsq.c - ask one DNS question through resolver_new_dns(), for the tests.
 *
 *   dnsq [-v] [-r] [-t TIMEOUT_MS] SERVER NAME TYPE
 *
 * SERVER is "HOST", "HOST:PORT", "[v6]:PORT" or "-" for the system's
 * resolvers (never used by the tests). Prints "status: OK (N answers)",
 * "status: NXDOMAIN" or "status: TEMPFAIL: why", then one line per answer:
 * TXT as its joined text (bytes outside printable ASCII as \DDD), MX as
 * "pref host", the others as their text. -v prefixes each answer with
 * "TYPE ttl=N" and, for TXT, "strings=K len=L". -r sets recursion desired.
 * Exit: 0 OK, 3 NXDOMAIN, 1 TEMPFAIL, 2 unusable server, 64 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provision/error.h"
#include "provision/record.h"
#include "provision/resolver.h"

static void print_text(const struct dns_rr *rr)
{
	for (size_t i = 0; i < rr->text_len; i++) {
		unsigned char ch = (unsigned char)rr->text[i];
		if (ch < 0x20 || ch > 0x7e || ch == '\\')
			printf("\\%03u", ch);
		else
			putchar(ch);
	}
}

static void print_rr(const struct dns_rr *rr, int verbose)
{
	if (verbose) {
		printf("%s ttl=%lu ", rr_type_name(rr->type),
		       (unsigned long)rr->ttl);
		if (rr->type == RR_TXT)
			printf("strings=%zu len=%zu ", rr->nstrings,
			       rr->text_len);
	}
	if (rr->type == RR_MX)
		printf("%u ", rr->pref);
	print_text(rr);
	putchar('\n');
}

static int usage(void)
{
	fprintf(stderr,
		"usage: dnsq [-v] [-r] [-t TIMEOUT_MS] SERVER NAME TYPE\n");
	return 64;
}

int main(int argc, char **argv)
{
	struct prov_error err = PROV_ERROR_INIT;
	int verbose = 0, recursion = 0, timeout_ms = 2000, opt;
	struct resolver *r;
	const struct dns_answer *a;
	uint16_t type;
	int status;

	while ((opt = getopt(argc, argv, "vrt:")) != -1) {
		if (opt == 'v')
			verbose = 1;
		else if (opt == 'r')
			recursion = 1;
		else if (opt == 't')
			timeout_ms = atoi(optarg);
		else
			return usage();
	}
	if (argc - optind != 3)
		return usage();
	type = rr_type_from_name(argv[optind + 2]);
	if (type == 0) {
		fprintf(stderr, "dnsq: unknown type '%s'\n", argv[optind + 2]);
		return 64;
	}
	r = resolver_new_dns(strcmp(argv[optind], "-") ? argv[optind] : NULL,
			     timeout_ms, recursion, &err);
	if (!r) {
		fprintf(stderr, "dnsq: %s\n", err.msg);
		return 2;
	}
	a = resolver_query(r, argv[optind + 1], type);
	if (a->status == DNS_OK) {
		printf("status: OK (%zu answers)\n", a->n);
		for (size_t i = 0; i < a->n; i++)
			print_rr(&a->rr[i], verbose);
		status = 0;
	} else if (a->status == DNS_NXDOMAIN) {
		printf("status: NXDOMAIN\n");
		status = 3;
	} else {
		printf("status: TEMPFAIL: %s\n", a->why);
		status = 1;
	}
	resolver_free(r);
	return status;
}
