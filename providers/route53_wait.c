/*
 * route53_wait.c - waiting for a change to be INSYNC (wait = true, or
 * --wait): GetChange from 1 s, doubling to 10 s, until wait_timeout. The
 * progress shows on a terminal (one line, rewritten) or with --verbose.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "route53_internal.h"
#include "provision/util.h"

int r53_wait_insync(struct r53 *r, const char *change_id, struct prov_error *err)
{
	double start = monotonic_s(), delay = 1;
	int tty = isatty(STDERR_FILENO), rc = 0, shown = 0;
	struct buf path = BUF_INIT, what = BUF_INIT;
	buf_printf(&path, R53_API "/change/%s", change_id);
	buf_printf(&what, "zone %s: waiting for change %s (GetChange)", r->zone_bare, change_id);
	for (;;) {
		double elapsed = monotonic_s() - start;
		if (elapsed + delay > (double)r->wait_timeout) {
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "route53: zone %s: the changes were applied, but change %s "
					 "was not INSYNC after %ld s (wait_timeout)", r->zone_bare,
					 change_id, r->wait_timeout);
			break;
		}
		r53_sleep(delay);
		struct r53_answer a;
		rc = r53_call(r, "GET", buf_str(&path), NULL, buf_str(&what), &a, NULL, err);
		if (rc == CALL_AWS)
			rc = r53_aws_error(r, buf_str(&what), &a, err);
		char *status = rc == 0 ? r53_xml_text(r53_xml_child(a.root, "ChangeInfo"), "Status") : NULL;
		if (rc == 0 && !status)
			rc = prov_errorf(err, PROV_ERR_RUNTIME,
					 "route53: %s: the answer has no ChangeInfo/Status",
					 buf_str(&what));
		r53_answer_release(&a);
		int done = status && strcmp(status, "INSYNC") == 0;
		if (rc == 0 && (tty || r->verbose))
			fprintf(stderr, "%sprovision: route53: zone %s: change %s %s (%.0f s)%s",
				tty ? "\r" : "", r->zone_bare, change_id, status,
				monotonic_s() - start, tty && !done ? "" : "\n");
		shown |= tty && !done;
		free(status);
		if (rc < 0 || done)
			break;
		delay = delay * 2 < 10 ? delay * 2 : 10;
	}
	if (rc < 0 && shown)
		fputc('\n', stderr);
	buf_release(&path);
	buf_release(&what);
	return rc;
}
