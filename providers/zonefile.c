/*
 * zonefile.c - the BIND zone-file provider: zone example.com. lives in
 * <directory>/example.com.zone (RFC 1035 §5 master file format).
 *
 * ldns reads the file one entry at a time while we note each entry's byte
 * span, so an apply rewrites only the records it manages and the SOA serial
 * token (RFC 1982 serial arithmetic; YYYYMMDDnn kept as a date); every other
 * byte, comments included, stays. New records are appended with FQDN owners,
 * explicit TTL and class, TXT split into 255-byte strings (RFC 1035 §3.3).
 * The new text is re-read and must hold exactly the intended records before
 * it replaces the file atomically, the old bytes kept as <file>.bak.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "dnsrr.h"
#include "provision/provider.h"
#include "provision/util.h"

struct zf_handle {
	char *dir;     /* directory as used for I/O */
	char *display; /* directory as configured, for messages */
	long lock_timeout_s; /* --lock-timeout */
	int lock_fd;   /* the lock held, or -1 */
	char *lock_zone;
};

/* The zone's file: where it is, and its bytes and records once read. */
struct zf_file {
	char *path, *bak, *shown, *shown_bak;
	char *text;
	size_t len;
	struct stat st;
};

/* One record entry of the text, or one record to append. */
struct entry {
	size_t start, end; /* its own lines: [start, end) */
	int line;          /* first line, 1-based */
	int blank_owner;   /* the entry inherits the previous owner */
	int appended, deleted;
	ldns_rr *rr;       /* as read (NULL when appended) */
	ldns_rr *repl_rr;  /* what replaces it, or the appended record */
	char *repl;        /* its text, ending in a newline */
};

struct zone_text {
	struct entry *v;
	size_t n, cap;
};

static void zone_text_release(struct zone_text *zt)
{
	for (size_t i = 0; i < zt->n; i++) {
		ldns_rr_free(zt->v[i].rr);
		ldns_rr_free(zt->v[i].repl_rr);
		free(zt->v[i].repl);
	}
	free(zt->v);
	zt->v = NULL;
	zt->n = zt->cap = 0;
}

static struct entry *zone_text_push(struct zone_text *zt)
{
	if (zt->n == zt->cap) {
		size_t cap = zt->cap ? zt->cap * 2 : 32;
		struct entry *v = realloc(zt->v, cap * sizeof *v);
		if (!v)
			return NULL;
		zt->v = v;
		zt->cap = cap;
	}
	memset(&zt->v[zt->n], 0, sizeof zt->v[0]);
	return &zt->v[zt->n++];
}

static void zf_file_release(struct zf_file *f)
{
	free(f->path);
	free(f->bak);
	free(f->shown);
	free(f->shown_bak);
	free(f->text);
	memset(f, 0, sizeof *f);
}

/* "dir/name" without a doubled slash; NULL on no memory. */
static char *path_join(const char *dir, const char *name)
{
	struct buf b = BUF_INIT;
	size_t n = strlen(dir);
	if (buf_printf(&b, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/",
		       name) < 0)
		return NULL;
	return buf_detach(&b);
}

static int zf_paths(const struct zf_handle *h, const char *zone,
		    struct zf_file *f, struct prov_error *err)
{
	char base[300];
	size_t n = strlen(zone);
	if (n && zone[n - 1] == '.')
		n--;
	if (n == 0 || n > 255 || memchr(zone, '/', n) || zone[0] == '.')
		return prov_errorf(err, PROV_ERR_RUNTIME,
				   "zonefile: invalid zone name '%s'", zone);
	snprintf(base, sizeof base, "%.*s.zone", (int)n, zone);
	for (char *p = base; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	f->path = path_join(h->dir, base);
	f->shown = path_join(h->display, base);
	if (f->path && f->shown) {
		struct buf b1 = BUF_INIT, b2 = BUF_INIT;
		if (buf_printf(&b1, "%s.bak", f->path) == 0)
			f->bak = buf_detach(&b1);
		if (buf_printf(&b2, "%s.bak", f->shown) == 0)
			f->shown_bak = buf_detach(&b2);
	}
	if (!f->path || !f->shown || !f->bak || !f->shown_bak)
		return prov_errorf(err, PROV_ERR_NOMEM, "zonefile: out of memory");
	return 0;
}

/* Read the whole file into f->text. */
static int zf_read(struct zf_file *f, struct prov_error *err)
{
	int rc = 0, fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return prov_errorf(err, PROV_ERR_RUNTIME,
					   "zonefile: zone file '%s' not found",
					   f->shown);
		goto fail;
	}
	if (fstat(fd, &f->st) < 0)
		goto fail;
	if (!S_ISREG(f->st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if (!(f->text = malloc((size_t)f->st.st_size + 1)))
		goto fail;
	while (f->len < (size_t)f->st.st_size) {
		ssize_t k = read(fd, f->text + f->len, (size_t)f->st.st_size - f->len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			goto fail;
		f->len += (size_t)k;
	}
	f->text[f->len] = '\0';
	goto out;
fail:
	rc = prov_errorf(err, PROV_ERR_RUNTIME, "zonefile: cannot read %s: %s",
			 f->shown, errno ? strerror(errno) : "short read");
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ldns hands us leading blank and comment lines with the entry after them:
 * they belong to the text before, so skip them. */
static size_t entry_start(const char *t, size_t a, size_t b)
{
	while (a < b) {
		size_t q = a;
		while (q < b && (t[q] == ' ' || t[q] == '\t' || t[q] == '\r'))
			q++;
		if (q < b && t[q] != ';' && t[q] != '\n')
			return a;
		while (q < b && t[q] != '\n')
			q++;
		a = q < b ? q + 1 : b;
	}
	return b;
}

static int count_lines(const char *t, size_t from, size_t to, int line)
{
	for (size_t i = from; i < to; i++)
		if (t[i] == '\n')
			line++;
	return line;
}

/* One ldns step: 1 for a record (in *rr), 0 for a directive, blank or
 * comment, -1 with *s set on an error. */
static int read_entry(FILE *fp, ldns_rr **rr, uint32_t *ttl, ldns_rdf **origin,
		      ldns_rdf **prev, ldns_status *s)
{
	int line = 1;
	*rr = NULL;
	*s = ldns_rr_new_frm_fp_l(rr, fp, ttl, origin, prev, &line);
	if (*s == LDNS_STATUS_OK)
		return 1;
	if (*s == LDNS_STATUS_SYNTAX_EMPTY || *s == LDNS_STATUS_SYNTAX_TTL ||
	    *s == LDNS_STATUS_SYNTAX_ORIGIN)
		return 0;
	return -1;
}

static int parse_error(const char *shown, int line, ldns_status s,
		       struct prov_error *err)
{
	if (s == LDNS_STATUS_SYNTAX_INCLUDE)
		return prov_errorf(err, PROV_ERR_RUNTIME,
				   "zonefile: %s:%d: $INCLUDE is not supported",
				   shown, line);
	return prov_errorf(err, PROV_ERR_RUNTIME, "zonefile: %s:%d: %s", shown,
			   line, ldns_get_errorstr_by_id(s));
}

/* Read every record entry of text with its byte span. */
static int parse_text(char *text, size_t len, const char *zone,
		      const char *shown, struct zone_text *zt,
		      struct prov_error *err)
{
	uint32_t ttl = LDNS_DEFAULT_TTL;
	ldns_rdf *origin = ldns_dname_new_frm_str(zone), *prev = NULL;
	FILE *fp = len ? fmemopen(text, len, "r") : NULL;
	size_t seen = 0;
	int rc = 0, line = 1;
	if (!origin || (len && !fp)) {
		rc = prov_errorf(err, PROV_ERR_NOMEM, "zonefile: out of memory");
		goto out;
	}
	for (long a = 0; fp && !feof(fp); ) {
		ldns_rr *rr;
		ldns_status s;
		int k = read_entry(fp, &rr, &ttl, &origin, &prev, &s);
		long b = ftell(fp);
		if (b < a) {
			ldns_rr_free(rr);
			rc = prov_errorf(err, PROV_ERR_RUNTIME, "zonefile: "
					 "cannot read %s", shown);
			goto out;
		}
		size_t start = entry_start(text, (size_t)a, (size_t)b);
		line = count_lines(text, seen, start, line);
		seen = start;
		if (k < 0) {
			rc = parse_error(shown, line, s, err);
			goto out;
		}
		struct entry *e = k ? zone_text_push(zt) : NULL;
		if (k && !e) {
			ldns_rr_free(rr);
			rc = prov_errorf(err, PROV_ERR_NOMEM, "zonefile: out of memory");
			goto out;
		}
		if (e) {
			e->start = start;
			e->end = (size_t)b;
			e->line = line;
			e->blank_owner = text[start] == ' ' || text[start] == '\t';
			e->rr = rr;
		}
		if (b <= a)
			break;
		a = b;
	}
out:
	if (fp)
		fclose(fp);
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	return rc;
}

static int name_wanted(const char *owner, char *const *names)
{
	if (!names)
		return 1;
	for (size_t i = 0; names[i]; i++)
		if (dname_equal(owner, names[i]))
			return 1;
	return 0;
}

static int list_entries(const struct zone_text *zt, char *const *names,
			struct rrset_list *out, struct prov_error *err)
{
	for (size_t i = 0; i < zt->n; i++) {
		const ldns_rr *rr = zt->v[i].rr;
		char *owner = ldns_rdf2str(ldns_rr_owner(rr)), *value = NULL;
		int wanted = owner && name_wanted(owner, names), r = !owner;
		if (wanted)
			r = !(value = dnsrr_value(rr)) ||
			    rrset_list_add(out, owner, ldns_rr_get_type(rr),
					   ldns_rr_ttl(rr), value) < 0;
		free(owner);
		free(value);
		if (r)
			return prov_errorf(err, PROV_ERR_NOMEM,
					   "zonefile: out of memory");
	}
	return 0;
}

/* ---- the zone's lock: <file>.lock, flock(2) exclusive ---------------- */

/* Wait up to timeout_s for the lock another process holds: tries spaced
 * 10 ms, doubling to 250 ms. (Not alarm(2): worker threads of one run may
 * wait for different zones at once.) 0, or -1 with errno. */
static int lock_wait(int fd, long timeout_s)
{
	double end = monotonic_s() + (double)timeout_s, pause = 0.01;
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		double left = end - monotonic_s();
		if (left <= 0) {
			errno = EWOULDBLOCK;
			return -1;
		}
		double w = pause < left ? pause : left;
		struct timespec ts = { (time_t)w, (long)((w - (double)(time_t)w) * 1e9) };
		nanosleep(&ts, NULL);
		pause = pause * 2 < 0.25 ? pause * 2 : 0.25;
	}
}

static void zf_unlock(struct zf_handle *h)
{
	if (h->lock_fd >= 0) {
		int ignored = ftruncate(h->lock_fd, 0); /* the pid is only a hint */
		(void)ignored;
		close(h->lock_fd); /* releases the lock */
	}
	h->lock_fd = -1;
	free(h->lock_zone);
	h->lock_zone = NULL;
}

/* 1 when name is prefix followed by exactly mkstemp's six characters. */
static int is_temp_of(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(name, prefix, n) != 0 || strlen(name + n) != 6)
		return 0;
	for (const char *c = name + n; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
			return 0;
	return 1;
}

/* Temporaries are made only under the zone's lock (write_temp): with the
 * lock held, one of ours that is there was left by a run that was killed
 * (zf_lock sweeps only when the lock file still names a holder, so a
 * directory of thousands of zones is not read once per zone). Remove them (".<zone file>.XXXXXX" and ".<zone file>.bak.XXXXXX" beside
 * the file, and beside a symbolic link's target), saying so on stderr. */
static void sweep_temps(const char *path, const char *shown)
{
	char *real = realpath(path, NULL);
	const char *where[2] = { path, real && strcmp(real, path) != 0 ? real : NULL };
	for (int w = 0; w < 2 && where[w]; w++) {
		char *dir = strdup(where[w]);
		char *slash = dir ? strrchr(dir, '/') : NULL;
		const char *base = slash ? slash + 1 : dir;
		struct buf t = BUF_INIT, tb = BUF_INIT;
		if (!dir || buf_printf(&t, ".%s.", base) < 0 || buf_printf(&tb, ".%s.bak.", base) < 0)
			goto next;
		if (slash)
			*slash = '\0';
		DIR *d = opendir(slash ? (*dir ? dir : "/") : ".");
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (!is_temp_of(de->d_name, buf_str(&t)) && !is_temp_of(de->d_name, buf_str(&tb)))
				continue;
			struct buf full = BUF_INIT;
			buf_printf(&full, "%s/%s", slash ? (*dir ? dir : "") : ".", de->d_name);
			struct stat st;
			if (lstat(buf_str(&full), &st) == 0 && S_ISREG(st.st_mode) &&
			    unlink(buf_str(&full)) == 0)
				fprintf(stderr, "provision: zonefile: %s: removed %s, a temporary file "
					"left by a run that was stopped\n", shown, de->d_name);
			buf_release(&full);
		}
		if (d)
			closedir(d);
next:
		buf_release(&t);
		buf_release(&tb);
		free(dir);
	}
	free(real);
}

/* Hold the zone's lock from its read to the end of its write, so two runs
 * never plan on the same text: one waits up to lock_timeout_s for the
 * other (lock_wait), then fails naming the
 * holder's pid, which each holder writes into the lock file. One zone's
 * lock at a time: taking another releases the last. */
static int zf_lock(struct zf_handle *h, const char *zone, const struct zf_file *f,
		   struct prov_error *err)
{
	if (h->lock_fd >= 0 && h->lock_zone && dname_equal(h->lock_zone, zone))
		return 0;
	zf_unlock(h);
	struct buf path = BUF_INIT, shown = BUF_INIT;
	int rc = 0, fd = -1;
	buf_printf(&path, "%s.lock", f->path);
	buf_printf(&shown, "%s.lock", f->shown);
	fd = open(buf_str(&path), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM))
		fd = open(buf_str(&path), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM || errno == ENOENT))
		goto out; /* a directory this run may not write: it can only read,
			   * and a write fails on its own with a clear message */
	if (fd < 0) {
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "zonefile: cannot open the lock file %s: %s",
				 buf_str(&shown), strerror(errno));
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno, got = -1;
		if (e == EWOULDBLOCK && h->lock_timeout_s > 0) {
			got = lock_wait(fd, h->lock_timeout_s);
			e = errno;
		}
		if (got < 0) {
			char pid[32] = "";
			ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
			pid[n > 0 ? n : 0] = '\0';
			pid[strcspn(pid, "\n")] = '\0';
			if (e == EWOULDBLOCK || e == EINTR)
				rc = prov_errorf(err, PROV_ERR_RUNTIME, "zonefile: %s is locked by "
						 "process %s (another run on this zone); waited %ld s "
						 "(--lock-timeout)", f->shown, *pid ? pid : "unknown",
						 h->lock_timeout_s);
			else
				rc = prov_errorf(err, PROV_ERR_RUNTIME, "zonefile: cannot lock %s: %s",
						 buf_str(&shown), strerror(e));
			close(fd);
			goto out;
		}
	}
	char pid[32], prev;
	/* a holder empties the file when it lets go: a pid still there is one
	 * of a run that was killed holding the lock, maybe mid-write */
	int dirty = pread(fd, &prev, 1, 0) == 1;
	int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	int hint = ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)len, 0) == len;
	(void)hint; /* the pid is only a hint for a waiting run */
	h->lock_fd = fd;
	h->lock_zone = strdup(zone);
	if (dirty)
		sweep_temps(f->path, f->shown);
out:
	buf_release(&path);
	buf_release(&shown);
	return rc;
}

static int zf_load(struct zf_handle *h, const char *zone,
		   struct zf_file *f, struct zone_text *zt,
		   struct prov_error *err)
{
	int rc = zf_paths(h, zone, f, err);
	if (rc == 0)
		rc = zf_lock(h, zone, f, err);
	if (rc == 0)
		rc = zf_read(f, err);
	if (rc == 0)
		rc = parse_text(f->text, f->len, zone, f->shown, zt, err);
	return rc;
}

static int zf_list(void *handle, const struct zone *z, char *const *names,
		   struct rrset_list *out, struct prov_error *err)
{
	const char *zone = z->name;
	struct zf_file f = { 0 };
	struct zone_text zt = { 0 };
	int rc = zf_load(handle, zone, &f, &zt, err);
	if (rc == 0)
		rc = list_entries(&zt, names, out, err);
	zone_text_release(&zt);
	zf_file_release(&f);
	return rc;
}

/* ---- apply: the text of one record, and finding records ---- */

/* Build the record text and the record ldns reads from it. */
static int make_rr(const char *zone, const struct change *c,
		   const char *value, ldns_rr **rr, char **text,
		   struct prov_error *err)
{
	struct buf b = BUF_INIT;
	struct zone_text one = { 0 };
	struct prov_error e2 = PROV_ERROR_INIT;
	int rc = 0;
	if (dnsrr_text(&b, c->name, c->type, c->ttl, value, 1) < 0) {
		rc = prov_errorf(err, PROV_ERR_NOMEM, "zonefile: out of memory");
		goto out;
	}
	if (parse_text(b.data, b.len, zone, "record", &one, &e2) < 0 ||
	    one.n != 1) {
		rc = prov_errorf(err, PROV_ERR_RUNTIME,
				 "zonefile: cannot write %s value '%s' at %s: %s",
				 rr_type_name(c->type), value, c->name,
				 e2.set ? e2.msg : "not one record");
		goto out;
	}
	*rr = one.v[0].rr;
	one.v[0].rr = NULL;
	if (text)
		*text = buf_detach(&b);
out:
	zone_text_release(&one);
	buf_release(&b);
	return rc;
}

static const ldns_rr *entry_rr(const struct entry *e)
{
	return e->repl_rr ? e->repl_rr : e->rr;
}

/* Same owner, type and value (TXT: the same logical text). */
static int same_value(const ldns_rr *a, const ldns_rr *b)
{
	if (ldns_rr_compare_no_rdata(a, b) != 0)
		return 0;
	if (ldns_rr_get_type(a) != LDNS_RR_TYPE_TXT)
		return ldns_rr_compare(a, b) == 0;
	char *va = dnsrr_value(a), *vb = dnsrr_value(b);
	int same = va && vb && strcmp(va, vb) == 0;
	free(va);
	free(vb);
	return same;
}

/* Index of a live record equal to want, other than skip; -1 if none. */
static long find_entry(const struct zone_text *zt, const ldns_rr *want,
		       long skip)
{
	for (size_t i = 0; i < zt->n; i++)
		if ((long)i != skip && !zt->v[i].deleted &&
		    same_value(entry_rr(&zt->v[i]), want))
			return (long)i;
	return -1;
}

/* Record one change in zt; *changed is set when the text must change. */
static int apply_change(struct zone_text *zt, const char *zone,
			const struct change *c, const char *shown,
			int *changed, struct prov_error *err)
{
	ldns_rr *before = NULL, *after = NULL;
	char *text = NULL;
	long bi = -1;
	int rc = 0;
	if (!dname_in_zone(c->name, zone)) {
		rc = prov_errorf(err, PROV_ERR_RUNTIME,
				 "zonefile: %s: '%s' is outside zone %s",
				 shown, c->name, zone);
		goto out;
	}
	if ((c->before && (rc = make_rr(zone, c, c->before, &before, NULL, err))) ||
	    (c->after && (rc = make_rr(zone, c, c->after, &after, &text, err))))
		goto out;
	if (before && (bi = find_entry(zt, before, -1)) < 0) {
		rc = prov_errorf(err, PROV_ERR_RUNTIME,
				 "zonefile: %s: %s value '%s' at %s not found "
				 "(the file changed since it was read?)",
				 shown, rr_type_name(c->type), c->before, c->name);
		goto out;
	}
	if (after && find_entry(zt, after, bi) >= 0) {
		ldns_rr_free(after); /* never a second identical value */
		after = NULL;
	}
	struct entry *e = bi >= 0 ? &zt->v[bi] : NULL;
	if (e && after && same_value(entry_rr(e), after) &&
	    ldns_rr_ttl(entry_rr(e)) == ldns_rr_ttl(after))
		goto out; /* already as wanted */
	if (!e && after && !(e = zone_text_push(zt))) {
		rc = prov_errorf(err, PROV_ERR_NOMEM, "zonefile: out of memory");
		goto out;
	}
	if (!e)
		goto out;
	if (bi < 0)
		e->appended = 1;
	ldns_rr_free(e->repl_rr);
	free(e->repl);
	e->repl_rr = after;
	e->repl = text;
	e->deleted = after == NULL;
	after = NULL;
	text = NULL;
	*changed = 1;
out:
	ldns_rr_free(before);
	ldns_rr_free(after);
	free(text);
	return rc;
}

/* ---- the SOA serial ---- */

static int is_sep(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '(' ||
	       c == ')' || c == ';' || c == '\0';
}

/* The next token of t[*p, end): comments and parentheses skipped. */
static int next_token(const char *t, size_t *p, size_t end, size_t *ts,
		      size_t *te)
{
	size_t i = *p;
	for (;;) {
		while (i < end && t[i] != ';' && is_sep(t[i]))
			i++;
		if (i >= end || t[i] != ';')
			break;
		while (i < end && t[i] != '\n')
			i++;
	}
	if (i >= end)
		return -1;
	*ts = i;
	int quoted = t[i] == '"';
	for (i += quoted; i < end && (quoted ? t[i] != '"' : !is_sep(t[i])); i++)
		if (t[i] == '\\')
			i++;
	i += quoted;
	*te = *p = i < end ? i : end;
	return 0;
}

static int is_class_or_ttl(const char *t, size_t n)
{
	if (n && t[0] >= '0' && t[0] <= '9')
		return 1;
	return (n == 2 && (!strncasecmp(t, "IN", 2) || !strncasecmp(t, "CH", 2) ||
			   !strncasecmp(t, "HS", 2) || !strncasecmp(t, "CS", 2))) ||
	       (n > 5 && !strncasecmp(t, "CLASS", 5));
}

/* Where the rdata of the entry t[from, end) begins (after its owner, TTL,
 * class and type, and the blanks after them), or (size_t)-1. */
static size_t rdata_at(const char *t, size_t from, size_t end, int blank_owner)
{
	size_t p = from, a, b;
	int k = 0;
	if (!blank_owner && next_token(t, &p, end, &a, &b) < 0)
		return (size_t)-1;
	do {
		if (next_token(t, &p, end, &a, &b) < 0 || k++ > 2)
			return (size_t)-1;
	} while (is_class_or_ttl(t + a, b - a));
	while (p < end && (t[p] == ' ' || t[p] == '\t'))
		p++;
	return p < end && t[p] != '\n' && t[p] != ';' ? p : (size_t)-1;
}

/* An entry replaced in place keeps its own owner, TTL, class and type text
 * when its owner, TTL and type stay: only the rdata is new. So a value put
 * back (provision restore) gives back the line's original bytes. Not when
 * that text holds a '(' or a '"' (a bare quote in an owner, which ldns
 * reads as the start of a string): then the whole new entry is written. */
static int put_replacement(struct buf *out, const char *t, const struct entry *e)
{
	size_t ro = e->blank_owner ? (size_t)-1 : rdata_at(t, e->start, e->end, 0);
	size_t rn = rdata_at(e->repl, 0, strlen(e->repl), 0);
	if (ro == (size_t)-1 || rn == (size_t)-1 || memchr(t + e->start, '(', ro - e->start) ||
	    memchr(t + e->start, '"', ro - e->start) ||
	    ldns_rr_ttl(e->rr) != ldns_rr_ttl(e->repl_rr) ||
	    ldns_rr_get_type(e->rr) != ldns_rr_get_type(e->repl_rr) ||
	    ldns_dname_compare(ldns_rr_owner(e->rr), ldns_rr_owner(e->repl_rr)) != 0)
		return buf_puts(out, e->repl);
	return buf_add(out, t + e->start, ro - e->start) || buf_puts(out, e->repl + rn) ? -1 : 0;
}

/* Byte span of the serial token in the SOA entry's text. */
static int soa_serial_span(const char *t, const struct entry *e, size_t *s0,
			   size_t *s1)
{
	size_t p = e->start, a, b;
	int k = 0;
	if (!e->blank_owner && next_token(t, &p, e->end, &a, &b) < 0)
		return -1;
	do {
		if (next_token(t, &p, e->end, &a, &b) < 0 || k++ > 2)
			return -1;
	} while (is_class_or_ttl(t + a, b - a));
	if (b - a != 3 || strncasecmp(t + a, "SOA", 3) != 0)
		return -1;
	for (k = 0; k < 3; k++)
		if (next_token(t, &p, e->end, &a, &b) < 0)
			return -1;
	char num[16];
	if (b - a == 0 || b - a >= sizeof num || strspn(t + a, "0123456789") < b - a)
		return -1;
	memcpy(num, t + a, b - a);
	num[b - a] = '\0';
	if (strtoul(num, NULL, 10) != ldns_rdf2native_int32(ldns_rr_rdf(e->rr, 2)))
		return -1;
	*s0 = a;
	*s1 = b;
	return 0;
}

/* RFC 1982: add one, modulo 2^32. A serial that reads as YYYYMMDDnn moves
 * to today's first (today*100) when that is ahead. */
static uint32_t serial_next(uint32_t s)
{
	uint32_t y = s / 1000000, m = s / 10000 % 100, d = s / 100 % 100;
	time_t now = time(NULL);
	struct tm tm;
	if (y >= 1970 && y <= 2999 && m >= 1 && m <= 12 && d >= 1 && d <= 31 &&
	    gmtime_r(&now, &tm)) {
		uint32_t today = (uint32_t)(tm.tm_year + 1900) * 1000000u +
				 (uint32_t)(tm.tm_mon + 1) * 10000u +
				 (uint32_t)tm.tm_mday * 100u;
		if (today > s)
			return today;
	}
	return s + 1u;
}

static long find_soa(const struct zone_text *zt, const char *zone)
{
	ldns_rdf *apex = ldns_dname_new_frm_str(zone);
	long found = -1;
	for (size_t i = 0; apex && found < 0 && i < zt->n; i++)
		if (zt->v[i].rr &&
		    ldns_rr_get_type(zt->v[i].rr) == LDNS_RR_TYPE_SOA &&
		    ldns_dname_compare(ldns_rr_owner(zt->v[i].rr), apex) == 0)
			found = (long)i;
	ldns_rdf_deep_free(apex);
	return found;
}

/* ---- the new text ---- */

struct soa_edit {
	long idx;      /* the SOA entry */
	size_t s0, s1; /* its serial token */
	uint32_t serial;
	ldns_rr *rr;   /* the SOA with the new serial */
};

static int put_entry(struct buf *out, const char *t, const struct entry *e,
		     const ldns_rdf *last_owner, const struct soa_edit *soa,
		     int is_soa)
{
	int rc = 0;
	if (e->blank_owner && (!last_owner ||
	    ldns_dname_compare(last_owner, ldns_rr_owner(e->rr)) != 0)) {
		/* the owner it inherited is gone: state it */
		char *o = ldns_rdf2str(ldns_rr_owner(e->rr));
		rc = o ? buf_puts(out, o) : -1;
		free(o);
	}
	if (rc == 0 && is_soa)
		rc = buf_add(out, t + e->start, soa->s0 - e->start) ||
		     buf_printf(out, "%u", (unsigned)soa->serial) ||
		     buf_add(out, t + soa->s1, e->end - soa->s1) ? -1 : 0;
	else if (rc == 0)
		rc = buf_add(out, t + e->start, e->end - e->start);
	return rc;
}

/* The original bytes with managed entries cut out or replaced, the serial
 * bumped and new records appended. */
static int build_text(const struct zf_file *f, const struct zone_text *zt,
		      const struct soa_edit *soa, struct buf *out)
{
	const ldns_rdf *last_owner = NULL;
	size_t cur = 0;
	for (size_t i = 0; i < zt->n; i++) {
		const struct entry *e = &zt->v[i];
		if (e->appended)
			continue;
		if (buf_add(out, f->text + cur, e->start - cur) < 0)
			return -1;
		cur = e->end;
		if (e->deleted)
			continue;
		if (e->repl ? put_replacement(out, f->text, e) :
		    put_entry(out, f->text, e, last_owner, soa,
			      (long)i == soa->idx))
			return -1;
		last_owner = ldns_rr_owner(entry_rr(e));
	}
	if (buf_add(out, f->text + cur, f->len - cur) < 0)
		return -1;
	for (size_t i = 0; i < zt->n; i++) {
		const struct entry *e = &zt->v[i];
		if (!e->appended || e->deleted)
			continue;
		if ((out->len && out->data[out->len - 1] != '\n' &&
		     buf_putc(out, '\n') < 0) || buf_puts(out, e->repl) < 0)
			return -1;
	}
	return 0;
}

/* ---- checking and writing ---- */

static int cmp_rr(const void *a, const void *b)
{
	const ldns_rr *x = *(const ldns_rr *const *)a;
	const ldns_rr *y = *(const ldns_rr *const *)b;
	int c = ldns_rr_compare(x, y);
	if (c)
		return c;
	return ldns_rr_ttl(x) < ldns_rr_ttl(y) ? -1 : ldns_rr_ttl(x) > ldns_rr_ttl(y);
}

/* 1 when the records of got are those of want (order aside), TTLs too. */
static int same_records(const ldns_rr **want, size_t nw, const ldns_rr **got,
			size_t ng)
{
	if (nw != ng)
		return 0;
	qsort(want, nw, sizeof *want, cmp_rr);
	qsort(got, ng, sizeof *got, cmp_rr);
	for (size_t i = 0; i < nw; i++)
		if (cmp_rr(&want[i], &got[i]) != 0)
			return 0;
	return 1;
}

/* Re-read the new text: it must parse and hold exactly the intended
 * records, or the file is left alone. */
static int verify_text(const struct zf_file *f, const char *zone,
		       const struct zone_text *zt, const struct soa_edit *soa,
		       struct buf *nt, struct prov_error *err)
{
	struct zone_text back = { 0 };
	struct prov_error e2 = PROV_ERROR_INIT;
	const ldns_rr **want = calloc(zt->n + 1, sizeof *want), **got = NULL;
	size_t nw = 0;
	int rc = 0;
	if (!want) {
		rc = prov_errorf(err, PROV_ERR_NOMEM, "zonefile: out of memory");
		goto out;
	}
	for (size_t i = 0; i < zt->n; i++)
		if (!zt->v[i].deleted)
			want[nw++] = (long)i == soa->idx ? soa->rr :
				     entry_rr(&zt->v[i]);
	if (parse_text(nt->data, nt->len, zone, f->shown, &back, &e2) < 0) {
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "zonefile: refusing to "
				 "write %s: the new text does not parse (%s)",
				 f->shown, e2.msg);
		goto out;
	}
	if (!(got = calloc(back.n + 1, sizeof *got))) {
		rc = prov_errorf(err, PROV_ERR_NOMEM, "zonefile: out of memory");
		goto out;
	}
	for (size_t i = 0; i < back.n; i++)
		got[i] = back.v[i].rr;
	if (!same_records(want, nw, got, back.n))
		rc = prov_errorf(err, PROV_ERR_RUNTIME, "zonefile: refusing to "
				 "write %s: the new text does not read back as "
				 "intended", f->shown);
out:
	free(want);
	free(got);
	zone_text_release(&back);
	return rc;
}

/* A temporary file next to path holding data, synced, with the mode (and,
 * where allowed, the owner) of the original. Its name in *tmp. */
static int write_temp(const char *path, const char *data, size_t len,
		      const struct stat *st, char **tmp)
{
	struct buf name = BUF_INIT;
	const char *slash = strrchr(path, '/');
	size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
	if (buf_printf(&name, "%.*s.%s.XXXXXX", (int)dl, path, path + dl) < 0)
		return -1;
	int fd = mkstemp(name.data);
	if (fd < 0)
		goto fail;
	*tmp = name.data;
	for (size_t off = 0; off < len; ) {
		ssize_t k = write(fd, data + off, len - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			goto fail_fd;
		off += (size_t)k;
	}
	if (fchown(fd, st->st_uid, st->st_gid) < 0 && errno != EPERM)
		goto fail_fd;
	if (fchmod(fd, st->st_mode & 07777) < 0 || fsync(fd) < 0)
		goto fail_fd;
	return close(fd);
fail_fd:;
	int saved = errno;
	close(fd);
	errno = saved;
fail:
	if (!*tmp)
		buf_release(&name);
	return -1;
}

static int write_error(const char *shown, struct prov_error *err)
{
	return prov_errorf(err, PROV_ERR_RUNTIME, "zonefile: cannot write %s: %s",
			   shown, strerror(errno));
}

/* Keep the old bytes as .bak, then put the new text in place: each by a
 * rename, so neither file is ever half-written. */
static int commit(const struct zf_file *f, const struct buf *nt,
		  struct prov_error *err)
{
	char *tnew = NULL, *tbak = NULL, *link = NULL;
	const char *target = f->path;
	struct stat lst;
	int rc = 0;
	/* a symbolic link stays one: write where it points */
	if (lstat(f->path, &lst) == 0 && S_ISLNK(lst.st_mode) &&
	    (link = realpath(f->path, NULL)))
		target = link;
	if (write_temp(target, nt->data, nt->len, &f->st, &tnew) < 0)
		rc = write_error(f->shown, err);
	else if (write_temp(f->bak, f->text, f->len, &f->st, &tbak) < 0 ||
		 rename(tbak, f->bak) < 0)
		rc = write_error(f->shown_bak, err);
	else if (rename(tnew, target) < 0)
		rc = write_error(f->shown, err);
	if (rc == 0) {
		char *dir = strdup(target), *slash = dir ? strrchr(dir, '/') : NULL;
		if (slash)
			*slash = '\0';
		int dfd = dir ? open(slash ? dir : ".", O_RDONLY | O_DIRECTORY) : -1;
		if (dfd >= 0) {
			fsync(dfd); /* best effort: the renames are done */
			close(dfd);
		}
		free(dir);
	} else {
		if (tnew)
			unlink(tnew);
		if (tbak)
			unlink(tbak);
	}
	free(tnew);
	free(tbak);
	free(link);
	return rc;
}

/* Find the SOA and its serial token; the SOA record with the next serial. */
static int soa_prepare(const struct zf_file *f, const struct zone_text *zt,
		       const char *zone, struct soa_edit *soa,
		       struct prov_error *err)
{
	if ((soa->idx = find_soa(zt, zone)) < 0)
		return prov_errorf(err, PROV_ERR_RUNTIME,
				   "zonefile: %s: no SOA record for %s",
				   f->shown, zone);
	const struct entry *e = &zt->v[soa->idx];
	if (e->deleted || e->repl || soa_serial_span(f->text, e, &soa->s0,
						     &soa->s1) < 0)
		return prov_errorf(err, PROV_ERR_RUNTIME, "zonefile: %s:%d: "
				   "cannot find the SOA serial", f->shown,
				   e->line);
	soa->serial = serial_next(ldns_rdf2native_int32(ldns_rr_rdf(e->rr, 2)));
	ldns_rdf *num = ldns_native2rdf_int32(LDNS_RDF_TYPE_INT32, soa->serial);
	if (!num || !(soa->rr = ldns_rr_clone(e->rr))) {
		ldns_rdf_deep_free(num);
		return prov_errorf(err, PROV_ERR_NOMEM, "zonefile: out of memory");
	}
	ldns_rdf_deep_free(ldns_rr_set_rdf(soa->rr, num, 2));
	return 0;
}

static int zf_apply(void *handle, const struct zone *z, const struct change *changes,
		    size_t n, size_t *applied, struct prov_error *err)
{
	const char *zone = z->name;
	struct zf_file f = { 0 };
	struct zone_text zt = { 0 };
	struct soa_edit soa = { -1, 0, 0, 0, NULL };
	struct buf nt = BUF_INIT;
	int changed = 0;
	int rc = zf_load(handle, zone, &f, &zt, err);
	*applied = 0;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = apply_change(&zt, zone, &changes[i], f.shown, &changed, err);
	if (rc || !changed)
		goto out;
	if ((rc = soa_prepare(&f, &zt, zone, &soa, err)))
		goto out;
	if (build_text(&f, &zt, &soa, &nt) < 0) {
		rc = prov_errorf(err, PROV_ERR_NOMEM, "zonefile: out of memory");
		goto out;
	}
	if ((rc = verify_text(&f, zone, &zt, &soa, &nt, err)) == 0)
		rc = commit(&f, &nt, err);
out:
	if (rc == 0)
		*applied = n;
	zf_unlock(handle); /* read, planned and written: the next run may go */
	buf_release(&nt);
	ldns_rr_free(soa.rr);
	zone_text_release(&zt);
	zf_file_release(&f);
	return rc;
}

static void zf_close(void *handle)
{
	struct zf_handle *h = handle;
	if (!h)
		return;
	zf_unlock(h);
	free(h->dir);
	free(h->display);
	free(h);
}

/* directory: default "zones", relative to the configuration's directory. */
static int zf_open(const struct provider_config *cfg, void **handle,
		   struct prov_error *err)
{
	const char *dir = provider_setting(cfg, "directory");
	const char *base = cfg ? cfg->base_dir : NULL;
	struct zf_handle *h = calloc(1, sizeof *h);
	*handle = NULL;
	if (!dir)
		dir = "zones";
	if (!*dir) {
		free(h);
		return prov_errorf(err, PROV_ERR_CONFIG, "%s:%d: zonefile: "
				   "directory must not be empty",
				   cfg && cfg->file ? cfg->file : "config",
				   cfg ? cfg->line : 0);
	}
	if (h) {
		h->lock_fd = -1;
		h->lock_timeout_s = cfg ? cfg->lock_timeout_s : 0;
		h->display = strdup(dir);
		h->dir = dir[0] != '/' && base && *base ? path_join(base, dir) :
			 strdup(dir);
	}
	if (!h || !h->display || !h->dir) {
		zf_close(h);
		return prov_errorf(err, PROV_ERR_NOMEM, "zonefile: out of memory");
	}
	*handle = h;
	return 0;
}

static const char *const zf_keys[] = { "directory", "concurrency", NULL };

const struct provider_ops provider_zonefile = {
	.name = "zonefile",
	.keys = zf_keys,
	.conditional_writes = 1, /* the lock is held from list() to apply() */
	.open = zf_open,
	.list = zf_list,
	.apply = zf_apply,
	.close = zf_close,
};
