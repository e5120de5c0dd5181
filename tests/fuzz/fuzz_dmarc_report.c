/*
 * fuzz_dmarc_report.c - libFuzzer target for the DMARC aggregate report
 * reader: the input is one file as `provision dmarc-report` would read it,
 * sniffed as XML, gzip, zip or an e-mail message (libarchive, GMime,
 * libxml2), every report found parsed and checked, then digested (totals,
 * sources, the next-stage advice) and rendered as JSON. Refusals go to
 * /dev/null; everything is freed (LeakSanitizer is on).
 *
 * Build: make fuzz (clang, -fsanitize=fuzzer,address,undefined).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "report/dmarc_digest.h"
#include "report/dmarc_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	if (!null && !(null = fopen("/dev/null", "w")))
		return 0;
	struct dr_set set = { .now = 1800000000LL, .err = null };
	dr_read_bytes(&set, "fuzz", NULL, data, size);
	struct dd_digest d;
	if (dd_build(&set, NULL, &d) == 0) {
		cJSON *j = dd_json(&d);
		char *text = cJSON_PrintUnformatted(j);
		free(text);
		cJSON_Delete(j);
		for (size_t i = 0; i < d.n; i++) {
			struct dd_advice a;
			dd_advise(&d.v[i], (struct dd_stage){ "quarantine", 10 }, 14, 98, &a);
			cJSON_Delete(dd_advice_json(d.v[i].domain, &a));
		}
		dd_print_text(null, &d);
		dd_release(&d);
	}
	dr_set_release(&set);
	return 0;
}
