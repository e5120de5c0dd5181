/*
 * commands.h - the command line's options, and the commands. main.c
 * parses, loads the configuration and dispatches; each command returns the process's exit status (contract.md).
 */
#ifndef PROVISION_COMMANDS_H
#define PROVISION_COMMANDS_H

#include "config.h"

#define POOL_MAX_JOBS 256 /* -j's largest */
#define CHECK_JOBS 32     /* check: domains (so questions) in flight */

struct options {
	const char *config;
	int dry_run, json, detailed, verbose;
	int quiet, progress;  /* --quiet, --progress (progress.h) */
	int color;           /* text output may use ANSI colours */
	const char *resolver;
	const char *wait;    /* a checked duration: "90s", "30m", "1h30m" */
	long wait_s;         /* the same in seconds; 0 without --wait */
	long lock_timeout_s; /* --lock-timeout in seconds (default 30) */
	int dns_timeout_ms;  /* --dns-timeout; 0: each command's default */
	const char *out;     /* --dry-run --out PLAN.json */
	long max_age_s;      /* apply PLAN.json: --max-age (default 24h) */
	char **nameservers;  /* --nameserver, NULL-terminated or NULL */
	const char *command; /* NULL (apply/dry run), "check", "smtp-test" */
	char **domains;      /* NULL-terminated, or NULL for all */
	unsigned shard_k, shard_n; /* --shard K/N (1 <= K <= N); 0/0 without */
	unsigned jobs;       /* -j/--jobs N: domains at once; 0: the default */
	const char *to;      /* smtp-test --to */
	int confirm;         /* smtp-test --confirm */
	int resolve;         /* dmarc-report --resolve */
	const char *recommend; /* dmarc-report --recommend DOMAIN */
	const char *imap;    /* dmarc-report --imap[=DOMAIN]: "" or the domain */
	const char *since;   /* dmarc-report --since YYYY-MM-DD */
	int mark_seen;       /* dmarc-report --mark-seen */
};

/* Print "provision: <message>" and the --help hint on stderr; returns 64. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "90s", "30m", "2h", "1h30m" in seconds; -1 when not a duration. */
long duration_seconds(const char *s);

/* The shard (1..n) a domain's name falls in: FNV-1a (32 bits) of the name
 * in lower case without its trailing dot, modulo n, plus one. Stable
 * across runs, machines and versions; documented in the README. */
unsigned domain_shard(const char *name, unsigned n);
/* 1 when the command line selects domain d: named (or no name given) and,
 * with --shard K/N, in shard K. */
int domain_selected(const struct options *o, const struct domain_config *d);
/* With --shard and --verbose: "provision: shard K/N: M of T domains". */
void shard_note(const struct options *o, const struct config *cfg);
/* "K/N" into *k, *n; -1 unless 1 <= K <= N <= 100000. */
int shard_parse(const char *s, unsigned *k, unsigned *n);

/* provision [--dry-run] [DOMAIN...]: plan every selected domain and,
 * without --dry-run, apply it (run.c). */
int cmd_run(const struct options *o, struct config *cfg);
/* provision check: read live DNS back and judge every record. */
int cmd_check(const struct options *o, struct config *cfg);
/* provision smtp-test: test SMTP/IMAP settings, send a test message. */
int cmd_smtp_test(const struct options *o, struct config *cfg);
/* provision dmarc-report: the digest of aggregate reports (o->domains are
 * the files and directories), the next policy stage with --recommend. */
int cmd_dmarc_report(const struct options *o);
/* provision restore BACKUP.json [--dry-run]: put back what an apply
 * replaced (o->domains[0] is the file). */
int cmd_restore(const struct options *o, struct config *cfg);

#endif
