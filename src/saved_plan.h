/*
 * saved_plan.h - reviewed plans applied exactly: `provision --dry-run --out
 * PLAN.json` writes the plan with the before-state it was made from;
 * `provision apply PLAN.json` applies those changes and nothing else, and
 * refuses a domain whose record sets changed in between.
 */
#ifndef PROVISION_SAVED_PLAN_H
#define PROVISION_SAVED_PLAN_H

#include <cJSON.h>

#include "commands.h"
#include "config.h"
#include "plan.h"
#include "provision/record.h"

/* The SHA-256 of the configuration file's bytes and of its content as
 * libconfig read it (cfg->content: @include files in), in hex. 0 or -1 with err. */
int config_digest(const struct config *cfg, char hex[65], struct prov_error *err);

/* A saved plan under construction: the JSON envelope of version 1 plus
 * saved_plan, created, config_digest. NULL with err. */
cJSON *saved_plan_new(const struct config *cfg, struct prov_error *err);
/* Add one domain: its plan as --format json shows it, plus before_state:
 * every record set read at its managed names. 0 or -1. */
int saved_plan_add(cJSON *doc, const struct plan *p, const struct rrset_list *existing);
/* Write doc to path atomically (a temporary file beside it, renamed). */
int saved_plan_write(const char *path, const cJSON *doc, struct prov_error *err);

/* provision apply PLAN.json (o->domains[0]). */
int cmd_apply_plan(const struct options *o, struct config *cfg);

#endif
