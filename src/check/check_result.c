/*
 * check_result.c - per-server verdicts folded into one status per record
 * and per domain. A record passes only when it passes on every server
 * asked (contract.md); servers that answer differently are named with their
 * SOA serials, which tell incomplete propagation (different serials) from a
 * zone changed without raising its serial (RFC 1035 §3.3.13, RFC 1996).
 * Also the --wait arithmetic: durations and the back-off between rounds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "provision/buf.h"

static int str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static int notes_union(struct check_item *it)
{
	for (size_t s = 0; s < it->nper; s++)
		for (size_t i = 0; i < it->per[s].nnotes; i++) {
			const struct check_note *n = &it->per[s].notes[i];
			int seen = 0;
			for (size_t j = 0; j < it->nnotes && !seen; j++)
				seen = strcmp(it->notes[j].message, n->message) == 0;
			if (seen)
				continue;
			struct check_note *v = realloc(it->notes, (it->nnotes + 1) * sizeof *v);
			if (!v)
				return PROV_ERR_NOMEM;
			it->notes = v;
			v[it->nnotes] = (struct check_note){ n->sev, strdup(n->message), n->code };
			if (!v[it->nnotes++].message)
				return PROV_ERR_NOMEM;
		}
	return 0;
}

static int note_push(struct check_item *it, enum check_note_sev sev, const char *msg)
{
	struct check_note *v = realloc(it->notes, (it->nnotes + 1) * sizeof *v);
	if (!v)
		return PROV_ERR_NOMEM;
	it->notes = v;
	v[it->nnotes] = (struct check_note){ sev, strdup(msg), NULL };
	return v[it->nnotes++].message ? 0 : PROV_ERR_NOMEM;
}

static void serial_text(struct buf *b, const struct check_server *s)
{
	if (s->serial >= 0)
		buf_printf(b, "%s (serial %lld)", s->label, s->serial);
	else
		buf_printf(b, "%s (serial unknown)", s->label);
}

/* "servers disagree: A (serial 2) pass, B (serial 1) missing: ..." and a
 * note with each dissenting server's own message. */
static int disagree(struct check_item *it, const struct check_server *sv, size_t n)
{
	struct buf b = BUF_INIT;
	long long s0 = sv[0].serial;
	int same_serial = 1, rc = 0;
	buf_puts(&b, "the servers disagree: ");
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_puts(&b, ", ");
		serial_text(&b, &sv[i]);
		buf_printf(&b, " %s", check_status_name(it->per[i].status));
		same_serial &= sv[i].serial == s0;
	}
	if (same_serial && s0 >= 0)
		buf_printf(&b, "; they serve different data under the same serial %lld: was "
			   "the zone changed without raising its serial?", s0);
	else
		buf_puts(&b, "; propagation is incomplete: the zone has not reached every "
			 "server yet (provision check --wait 30m waits for it)");
	it->message = buf_detach(&b);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (it->per[i].status == CHECK_PASS)
			continue;
		buf_printf(&b, "%s: %s", sv[i].label, it->per[i].message ? it->per[i].message : "");
		rc = note_push(it, NOTE_INFO, buf_str(&b));
		buf_release(&b);
	}
	return it->message ? rc : PROV_ERR_NOMEM;
}

/* Every server passes but they publish different values. */
static int differ_note(struct check_item *it, const struct check_server *sv, size_t n)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "the servers publish different values: ");
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_puts(&b, "; ");
		serial_text(&b, &sv[i]);
		buf_printf(&b, " \"%s\"", it->per[i].value ? it->per[i].value : "");
	}
	int rc = note_push(it, NOTE_INFO, buf_str(&b));
	buf_release(&b);
	return rc;
}

int check_item_combine(struct check_item *it, const struct check_server *sv, size_t n)
{
	size_t npass = 0, nmiss = 0, err = n;
	int same_status = 1, same_value = 1;
	for (size_t i = 0; i < n; i++) {
		const struct check_verdict *v = &it->per[i];
		npass += v->status == CHECK_PASS;
		nmiss += v->status == CHECK_MISSING;
		if (v->status == CHECK_ERROR && err == n)
			err = i;
		same_status &= v->status == it->per[0].status;
		same_value &= str_eq(v->value, it->per[0].value);
	}
	if (notes_union(it) < 0)
		return PROV_ERR_NOMEM;
	struct buf b = BUF_INIT;
	if (n == 0) {
		it->status = CHECK_FAIL;
		buf_puts(&b, "no server could be asked");
	} else if (err < n) {
		it->status = CHECK_FAIL;
		buf_printf(&b, "could not ask %s: %s", sv[err].label,
			   it->per[err].message ? it->per[err].message : "no answer");
	} else if (same_status) {
		it->status = it->per[0].status;
		buf_puts(&b, it->per[0].message ? it->per[0].message : "");
		if (!same_value && differ_note(it, sv, n) < 0)
			return PROV_ERR_NOMEM;
	} else {
		it->status = npass == n ? CHECK_PASS : nmiss == n ? CHECK_MISSING : CHECK_FAIL;
		return disagree(it, sv, n);
	}
	it->message = buf_detach(&b);
	return it->message ? 0 : PROV_ERR_NOMEM;
}

void check_domain_finish(struct check_domain *cd)
{
	int error = cd->error != NULL, fail = 0;
	for (size_t i = 0; i < cd->nservers; i++)
		error |= cd->servers[i].error != NULL;
	for (int r = 0; r < CHECK_NRECORDS; r++) {
		const struct check_item *it = &cd->items[r];
		fail |= it->status != CHECK_PASS;
		for (size_t i = 0; i < it->nper; i++)
			error |= it->per[i].status == CHECK_ERROR;
	}
	cd->status = error ? CHECK_D_ERROR : fail ? CHECK_D_FAIL : CHECK_D_PASS;
}

int check_domain_exit(const struct check_domain *cd)
{
	return cd->status == CHECK_D_ERROR ? 1 : cd->status == CHECK_D_FAIL ? 3 : 0;
}

void check_domain_release(struct check_domain *cd)
{
	if (!cd)
		return;
	for (int r = 0; r < CHECK_NRECORDS; r++) {
		struct check_item *it = &cd->items[r];
		for (size_t i = 0; i < it->nper; i++)
			check_verdict_release(&it->per[i]);
		for (size_t i = 0; i < it->nnotes; i++)
			free(it->notes[i].message);
		free(it->per);
		free(it->notes);
		free(it->name);
		free(it->message);
	}
	for (size_t i = 0; i < cd->nservers; i++) {
		free(cd->servers[i].label);
		free(cd->servers[i].error);
	}
	free(cd->servers);
	free(cd->domain);
	free(cd->error);
	memset(cd, 0, sizeof *cd);
}


long check_backoff(int round, long left)
{
	long pause = 2;
	for (int i = 0; i < round && pause < 30; i++)
		pause *= 2;
	if (pause > 30)
		pause = 30;
	return pause < left ? pause : left > 0 ? left : 0;
}
