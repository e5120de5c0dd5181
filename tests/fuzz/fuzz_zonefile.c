/*
 * fuzz_zonefile.c - libFuzzer target for the zone-file provider's reader
 * and writer round trip (providers/zonefile.c, providers/dnsrr.c).
 *
 * The input is the file fuzz.test.zone, written into one temporary
 * directory per process (under /dev/shm when there is one; removed at
 * exit, never in the repository). The provider reads it (list(), every
 * name); when it takes it, three changes are applied: a new TXT value with
 * quotes, a backslash, control and 8-bit bytes, over 255 bytes (split on
 * the way out), at _fuzz.fuzz.test; the first TXT set's first value
 * replaced; the second TXT set's first value removed. When the apply
 * succeeds the new file is read again and asserted (abort() on a
 * mismatch): every record set is the one read before with exactly those
 * changes (TTLs of untouched sets too; the SOA aside, its serial moves),
 * and <file>.bak holds the input's bytes. Everything is freed
 * (LeakSanitizer is on).
 *
 * Build: make fuzz (clang, -fsanitize=fuzzer,address,undefined).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provision/provider.h"
#include "provision/record.h"
#include "provision/util.h"

#define FUZZ_MAX 16384
#define ZONE "fuzz.test."
#define NEW_NAME "_fuzz.fuzz.test."

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

extern const struct provider_ops provider_zonefile;

static char dir[128], zpath[200], bpath[200];

static void cleanup(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[400];
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
			unlink(p);
		}
	if (d)
		closedir(d);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	struct stat st;
	const char *tmp = getenv("TMPDIR");
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode))
		tmp = "/dev/shm";
	snprintf(dir, sizeof dir, "%s/fuzz_zonefile.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(zpath, sizeof zpath, "%s/fuzz.test.zone", dir);
	snprintf(bpath, sizeof bpath, "%s/fuzz.test.zone.bak", dir);
	atexit(cleanup);
	return 0;
}

static int put_file(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	int rc = write(fd, data, size) == (ssize_t)size ? 0 : -1;
	return close(fd) < 0 ? -1 : rc;
}

/* 1 when the file at path holds exactly data. */
static int file_is(const char *path, const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	char *got = malloc(size + 1);
	size_t n = got ? fread(got, 1, size + 1, f) : 0;
	int same = got && n == size && memcmp(got, data, size) == 0;
	free(got);
	fclose(f);
	return same;
}

static int has_dup(const struct rrset *s)
{
	for (size_t i = 0; s->values[i]; i++)
		for (size_t k = i + 1; s->values[k]; k++)
			if (strcmp(s->values[i], s->values[k]) == 0)
				return 1;
	return 0;
}

/* The changes to make, from what was read; n of them. */
static size_t plan(const struct rrset_list *l, struct change *c)
{
	static char newval[400], updval[] = "fuzz \"updated\" \\ value; (x)";
	size_t n = 0;
	const struct rrset *txt[2] = { NULL, NULL };
	if (!newval[0]) {
		memset(newval, 'a', 300);
		memcpy(newval + 10, "\"q\"\\\x01\x7f\xff;( )\t", 13);
	}
	for (size_t i = 0; i < l->n && !txt[1]; i++)
		if (l->v[i].type == RR_TXT && !has_dup(&l->v[i]) &&
		    dname_in_zone(l->v[i].name, ZONE) &&
		    !dname_equal(l->v[i].name, NEW_NAME))
			txt[txt[0] ? 1 : 0] = &l->v[i];
	if (!rrset_list_has_other(l, NEW_NAME, 0))
		c[n++] = (struct change){ CHANGE_CREATE, (char *)NEW_NAME, RR_TXT,
					  300, NULL, newval, "fuzz" };
	if (txt[0] && !strstr(txt[0]->values[0], "updated")) {
		c[n++] = (struct change){ CHANGE_UPDATE, txt[0]->name, RR_TXT,
					  rrset_value_ttl(txt[0], txt[0]->values[0]),
					  txt[0]->values[0], updval, "fuzz" };
	}
	if (txt[1]) {
		c[n++] = (struct change){ CHANGE_DELETE, txt[1]->name, RR_TXT,
					  txt[1]->ttl, txt[1]->values[0], NULL, "fuzz" };
	}
	return n;
}

/* The set as it must be after the changes c[0, n). */
static int expect(const struct rrset *set, const struct change *c, size_t n,
		  struct rrset_list *out)
{
	for (size_t i = 0; set && set->values[i]; i++) {
		const char *v = set->values[i];
		int gone = 0;
		for (size_t k = 0; k < n; k++)
			if (c[k].before && c[k].type == set->type &&
			    dname_equal(c[k].name, set->name) &&
			    strcmp(c[k].before, v) == 0)
				gone = 1;
		if (!gone && rrset_list_add(out, set->name, set->type,
					    set->ttls ? set->ttls[i] : set->ttl, v) < 0)
			return -1;
	}
	return 0;
}

static void check_after(const struct rrset_list *before,
			const struct rrset_list *after, const struct change *c,
			size_t n)
{
	struct rrset_list want = { 0 };
	for (size_t i = 0; i < before->n; i++)
		if (before->v[i].type != RR_SOA && expect(&before->v[i], c, n, &want) < 0)
			goto out;
	for (size_t k = 0; k < n; k++)
		if (c[k].after && rrset_list_add(&want, c[k].name, c[k].type,
						 c[k].ttl, c[k].after) < 0)
			goto out;
	size_t nsoa = 0;
	for (size_t i = 0; i < after->n; i++) {
		const struct rrset *got = &after->v[i];
		if (got->type == RR_SOA) {
			nsoa++;
			continue;
		}
		const struct rrset *w = rrset_list_find(&want, got->name, got->type);
		int touched = 0;
		for (size_t k = 0; k < n; k++)
			touched |= dname_equal(c[k].name, got->name) && c[k].type == got->type;
		if (!w || !rrset_same(w, got, !touched))
			abort(); /* a record set changed that should not have */
	}
	for (size_t i = 0; i < want.n; i++)
		if (!rrset_list_find(after, want.v[i].name, want.v[i].type))
			abort(); /* a record set went missing */
	for (size_t k = 0; k < n; k++) {
		const struct rrset *s = rrset_list_find(after, c[k].name, c[k].type);
		if (c[k].after && (!s || rrset_value_ttl(s, c[k].after) != c[k].ttl))
			abort(); /* the new value has the TTL it was given */
	}
	for (size_t i = 0; i < before->n; i++)
		nsoa -= before->v[i].type == RR_SOA;
	if (nsoa != 0)
		abort();
out:
	rrset_list_release(&want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX)
		return -1;
	struct provider_setting set = { (char *)"directory", dir, 1 };
	const struct provider_config cfg = {
		.name = (char *)"fuzz", .type = (char *)"zonefile",
		.ops = &provider_zonefile, .settings = &set, .nsettings = 1,
		.file = "fuzz.cfg", .line = 1, .base_dir = dir,
	};
	const struct zone z = { ZONE, NULL };
	struct prov_error err = PROV_ERROR_INIT;
	struct rrset_list before = { 0 }, after = { 0 };
	struct change c[3];
	void *h = NULL;
	size_t applied = 0;
	unlink(bpath);
	if (put_file(zpath, data, size) < 0 || provider_zonefile.open(&cfg, &h, &err) < 0)
		return 0;
	if (provider_zonefile.list(h, &z, NULL, &before, &err) != 0)
		goto out; /* not taken */
	size_t n = plan(&before, c);
	if (n == 0)
		goto out;
	if (provider_zonefile.apply(h, &z, c, n, &applied, &err) != 0) {
		if (!err.msg[0] || applied != 0)
			abort();
		goto out;
	}
	if (applied != n)
		abort();
	if (!file_is(bpath, data, size))
		abort(); /* the old bytes are kept as .bak */
	if (provider_zonefile.list(h, &z, NULL, &after, &err) != 0)
		abort(); /* what we wrote must read */
	check_after(&before, &after, c, n);
out:
	provider_zonefile.close(h);
	rrset_list_release(&before);
	rrset_list_release(&after);
	return 0;
}
