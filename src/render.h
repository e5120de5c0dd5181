/*
 * render.h - plans to people (a text diff) and to programs (JSON version 1,
 * contract.md). Only render and main print.
 */
#ifndef PROVISION_RENDER_H
#define PROVISION_RENDER_H

#include <stdio.h>

#include <cJSON.h>

#include "plan.h"

/* One domain's plan as a diff: "+" create, "~" update, "-" delete, the SPF
 * lookup tree and the diagnostics. color: ANSI colours. */
void render_text_plan(FILE *out, const struct plan *p, int color);

/* For a plan that ended "error" or "refused": one line on out (stderr),
 * "provision: DOMAIN: reason", the reason being the error diagnostics'
 * messages joined by "; ". Nothing for any other status. */
void render_failure_line(FILE *out, const struct plan *p);

/* The envelope {"version":1,"dry_run":..,"domains":[]}; NULL on no memory. */
cJSON *render_json_envelope(int dry_run);
/* Append one domain's plan to the envelope's "domains". 0 or -1. */
int render_json_plan(cJSON *envelope, const struct plan *p);
/* Print the document and a newline. 0 or -1. */
int render_json_print(FILE *out, const cJSON *envelope);

#endif
