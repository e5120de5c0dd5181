/*
 * godaddy_read.h - reading GoDaddy Domains API v1 answers, for
 * providers/godaddy.c: a body parsed, its records, its error, how long a
 * refusal asks to wait. No I/O (tests/fuzz/fuzz_godaddy.c feeds them).
 */
#ifndef PROVISION_GODADDY_READ_H
#define PROVISION_GODADDY_READ_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "provision/buf.h"

/* One record as GoDaddy holds it. */
struct gd_rec {
	char *type;  /* "TXT" */
	char *name;  /* relative, lower case, "@" for the apex */
	char *data;  /* as GoDaddy holds it */
	char *value; /* as the core holds it (CNAME: FQDN with dot) */
	uint32_t ttl;
	cJSON *extra; /* priority, port, weight, protocol, service; or NULL */
};

void gd_rec_free(struct gd_rec *r);
void gd_recs_free(struct gd_rec *v, size_t n);

/* The FQDN of rel ("@": the zone) in zone (bare); NULL on no memory. */
char *gd_absolute(const char *rel, const char *zone);

/* An answer's body parsed (caller frees with cJSON_Delete); NULL when it
 * is empty or not JSON. */
cJSON *gd_answer(const char *data, size_t len);

/* An answer's array of records, *v of *n (free with gd_recs_free()); zone
 * is the bare zone name; dtype and dname stand in for a type or name the
 * answer leaves out (a set's GET), or NULL. 0, or -1 when arr is not an
 * array of records {type, name, data, ttl} (nothing is kept). */
int gd_recs_parse(const cJSON *arr, const char *zone, const char *dtype,
		  const char *dname, struct gd_rec **v, size_t *n);

/* "INVALID_BODY: Request body ...; records[0].ttl (TXT _dmarc): must have a
 * minimum value of 600 (UNKNOWN_RESTRICTION)" from GoDaddy's error body j,
 * appended to out; labels name the records of the request's body, in
 * order (NULL-terminated, or NULL). */
void gd_error_text(const cJSON *j, char *const *labels, struct buf *out);

/* 1 when the error body's code is code. */
int gd_code_is(const cJSON *j, const char *code);

/* Seconds to wait before resending after a 429 (its retryAfterSec) or a
 * 409, in round `round` (from 0); -1 when it should not be resent. */
double gd_wait(long status, const cJSON *j, int round);

#endif
