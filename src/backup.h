/*
 * backup.h - the record sets an apply is about to change, kept before it
 * writes (one JSON file per domain and run), and read back by
 * `provision restore`.
 */
#ifndef PROVISION_BACKUP_H
#define PROVISION_BACKUP_H

#include "config.h"
#include "plan.h"
#include "provision/error.h"
#include "provision/record.h"

/* Write the sets plan p changes, as read (existing) and as the plan leaves
 * them, to dir/<domain>-<UTC time>-<pid>.json: made as a temporary file in
 * dir (created 0700 when missing), mode 0600, then renamed. 0 and *path
 * (caller frees), or PROV_ERR_RUNTIME with err. */
int backup_write(const char *dir, const struct domain_config *d, const struct plan *p,
		 const struct rrset_list *existing, char **path, struct prov_error *err);

/* One backed-up record set: its values before the apply, and after. */
struct backup_set {
	char *name;
	uint16_t type;
	struct rrset_list before, after; /* one set each, or none: absent */
};

struct backup {
	char *domain, *provider, *time;
	struct backup_set *sets;
	size_t nsets;
};

/* The newest backup of each domain in dir (NULL or missing: none), read
 * once per run so that thousands of domains do not each read the directory.
 * NULL on no memory. */
struct backup_index;
struct backup_index *backup_index_load(const char *dir);
void backup_index_free(struct backup_index *ix);

/* The managed sets that differ from what provision itself last wrote for
 * p's domain (the "after" of its newest backup in ix): a JSON array of
 * { name, type, written, was, now }, also each a warning "drift" in p. An
 * empty array when nothing differs or no backup is known; NULL on no
 * memory. */
struct cJSON *backup_drift(const struct backup_index *ix, struct plan *p,
			   const struct rrset_list *existing);

/* Read a backup file; PROV_ERR_RUNTIME with err naming the file. */
int backup_read(const char *file, struct backup *b, struct prov_error *err);
void backup_release(struct backup *b);

#endif
