/*
 * main.c - the command line: parse it, load the configuration, dispatch to
 * the command (commands.h), whose result is the exit status; nothing else.
 * The main job (plan, apply) is run.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "saved_plan.h"
#include "config.h"
#include "provision/util.h"


static void usage(FILE *out)
{
	fprintf(out,
		"usage: provision [OPTIONS] [DOMAIN...]            apply the plan\n"
		"       provision --dry-run [OPTIONS] [DOMAIN...]  show the plan, change nothing\n"
		"       provision check [OPTIONS] [DOMAIN...]      read live DNS back\n"
		"       provision smtp-test [OPTIONS] [DOMAIN]     test SMTP/IMAP settings\n"
		"       provision dmarc-report [OPTIONS] FILE|DIR...  digest DMARC aggregate reports\n"
		"       provision restore [--dry-run] BACKUP.json  put back what an apply replaced\n"
		"       provision apply PLAN.json                  apply a plan saved by --dry-run --out\n"
		"       provision --help | --version\n"
		"\n"
		"options:\n"
		"  -c, --config FILE          configuration (default provision.cfg)\n"
		"  -n, --dry-run              preview only\n"
		"      --format text|json     output format (default text)\n"
		"      --detailed-exitcode    with --dry-run: exit 2 when changes are pending\n"
		"      --resolver HOST[:PORT] DNS server for SPF lookups (default: system)\n"
		"      --nameserver HOST[:PORT]  with check: ask this server (repeatable)\n"
		"      --wait DURATION        with check: keep checking up to 90s, 30m, 2h\n"
		"      --lock-timeout DURATION  wait this long for a zone file another run holds (30s)\n"
		"      --dns-timeout DURATION   wait this long for a DNS answer, then once more\n"
		"                             (default 3s; check's servers 2s)\n"
		"      --out PLAN.json        with --dry-run: save the plan for provision apply\n"
		"      --max-age DURATION     with apply: refuse an older plan (default 24h)\n"
		"      --shard K/N            only the domains of shard K of N (stable hash)\n"
		"  -j, --jobs N               at most N domains at once (default: each provider\n"
		"                             block's concurrency; check: 32)\n"
		"      --resolve              with dmarc-report: reverse names of the sources\n"
		"      --recommend DOMAIN     with dmarc-report: is DOMAIN ready for the next policy\n"
		"      --imap[=DOMAIN]        with dmarc-report: read the rua mailbox (smtp.imap)\n"
		"      --since YYYY-MM-DD     with --imap: messages since then (default: unseen)\n"
		"      --mark-seen            with --imap: flag the messages read as seen\n"
		"      --progress             a progress line on stderr even when not a terminal\n"
		"  -q, --quiet                no progress line\n"
		"  -v, --verbose              more on stderr (never secrets)\n"
		"  -h, --help                 this text\n"
		"  -V, --version              the version\n"
		"\n"
		"exit: 0 ok, 1 runtime failure, 2 changes pending (--detailed-exitcode),\n"
		"      3 refused by a record rule, 64 usage error, 78 configuration error\n");
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "format", required_argument, NULL, 'f' },
		{ "detailed-exitcode", no_argument, NULL, 'd' },
		{ "resolver", required_argument, NULL, 'r' },
		{ "nameserver", required_argument, NULL, 's' },
		{ "wait", required_argument, NULL, 'w' },
		{ "lock-timeout", required_argument, NULL, 'L' },
		{ "dns-timeout", required_argument, NULL, 'T' },
		{ "out", required_argument, NULL, 'O' },
		{ "max-age", required_argument, NULL, 'G' },
		{ "shard", required_argument, NULL, 'H' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "to", required_argument, NULL, 't' },
		{ "confirm", no_argument, NULL, 'C' },
		{ "resolve", no_argument, NULL, 'R' },
		{ "recommend", required_argument, NULL, 'A' },
		{ "imap", optional_argument, NULL, 'I' },
		{ "since", required_argument, NULL, 'S' },
		{ "mark-seen", no_argument, NULL, 'M' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "progress", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	o->config = "provision.cfg";
	o->lock_timeout_s = 30;
	o->max_age_s = 24 * 3600;
	/* GNU getopt permutes: options may come before or after the command
	 * word and the domains ("provision check -c x.cfg example.com"). */
	while ((c = getopt_long(argc, argv, "c:nj:vqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'n': o->dry_run = 1; break;
		case 'f':
			if (strcmp(optarg, "json") == 0) o->json = 1;
			else if (strcmp(optarg, "text") == 0) o->json = 0;
			else return usage_error("--format must be text or json, not '%s'", optarg);
			break;
		case 'd': o->detailed = 1; break;
		case 'r': o->resolver = optarg; break;
		case 's':
			if (strv_push(&o->nameservers, optarg) < 0)
				return 1;
			break;
		case 'w':
			if ((o->wait_s = duration_seconds(optarg)) < 0)
				return usage_error("--wait takes a duration such as 90s, 30m or 2h, not '%s'", optarg);
			o->wait = optarg;
			break;
		case 'L':
			if ((o->lock_timeout_s = duration_seconds(optarg)) < 0 &&
			    strcmp(optarg, "0") != 0)
				return usage_error("--lock-timeout takes a duration such as 30s or 2m, not '%s'",
						   optarg);
			if (o->lock_timeout_s < 0)
				o->lock_timeout_s = 0;
			break;
		case 'T': {
			long v = duration_seconds(optarg);
			if (v < 1 || v > 60)
				return usage_error("--dns-timeout takes a duration from 1s to 60s, not '%s'",
						   optarg);
			o->dns_timeout_ms = (int)v * 1000;
			break;
		}
		case 'O': o->out = optarg; break;
		case 'G':
			if ((o->max_age_s = duration_seconds(optarg)) < 0)
				return usage_error("--max-age takes a duration such as 24h, not '%s'", optarg);
			break;
		case 'H':
			if (shard_parse(optarg, &o->shard_k, &o->shard_n) < 0)
				return usage_error("--shard takes K/N with 1 <= K <= N (shard K of N), "
						   "not '%s'", optarg);
			break;
		case 'j': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || v < 1 || v > POOL_MAX_JOBS)
				return usage_error("--jobs takes a number of domains from 1 to %d, not '%s'",
						   POOL_MAX_JOBS, optarg);
			o->jobs = (unsigned)v;
			break;
		}
		case 't': o->to = optarg; break;
		case 'C': o->confirm = 1; break;
		case 'R': o->resolve = 1; break;
		case 'A': o->recommend = optarg; break;
		case 'I': o->imap = optarg ? optarg : ""; break;
		case 'S': o->since = optarg; break;
		case 'M': o->mark_seen = 1; break;
		case 'v': o->verbose++; break;
		case 'q': o->quiet = 1; break;
		case 'P': o->progress = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("provision %s\n", PROVISION_VERSION); return 0;
		default: return usage_error("%s", "invalid option");
		}
	}
	int i = optind;
	if (i < argc && (strcmp(argv[i], "check") == 0 || strcmp(argv[i], "smtp-test") == 0 ||
			 strcmp(argv[i], "dmarc-report") == 0 || strcmp(argv[i], "restore") == 0 ||
			 strcmp(argv[i], "apply") == 0))
		o->command = argv[i++];
	for (; i < argc; i++)
		if (strv_push(&o->domains, argv[i]) < 0)
			return 1;
	if (o->detailed && !o->dry_run)
		return usage_error("%s", "--detailed-exitcode goes with --dry-run");
	int check = o->command && strcmp(o->command, "check") == 0;
	int smtp = o->command && strcmp(o->command, "smtp-test") == 0;
	if (o->nameservers && !check)
		return usage_error("%s", "--nameserver goes with the check command");
	if ((o->to || o->confirm) && !smtp)
		return usage_error("%s", "--to and --confirm go with the smtp-test command");
	if (o->dry_run && o->command && strcmp(o->command, "restore") != 0)
		return usage_error("--dry-run does not go with the %s command", o->command);
	int report = o->command && strcmp(o->command, "dmarc-report") == 0;
	if ((o->resolve || o->recommend || o->imap || o->since || o->mark_seen) && !report)
		return usage_error("%s", "--resolve, --recommend, --imap, --since and --mark-seen go "
				   "with the dmarc-report command");
	if (o->out && (!o->dry_run || o->command))
		return usage_error("%s", "--out PLAN.json goes with --dry-run");
	if (o->shard_n && o->command && strcmp(o->command, "check") != 0)
		return usage_error("--shard goes with the main job and check, not %s", o->command);
	if (o->jobs && o->command && strcmp(o->command, "check") != 0 &&
	    strcmp(o->command, "apply") != 0)
		return usage_error("--jobs goes with the main job, apply and check, not %s", o->command);
	if (o->quiet && o->progress)
		return usage_error("%s", "--quiet and --progress contradict each other");
	if ((o->since || o->mark_seen) && !o->imap)
		return usage_error("%s", "--since and --mark-seen go with --imap");
	return -1;
}

static int dispatch(const struct options *o, struct config *cfg)
{
	struct prov_error err = PROV_ERROR_INIT;
	if (o->command && strcmp(o->command, "dmarc-report") == 0)
		return cmd_dmarc_report(o);
	int rc = config_load(o->config, cfg, &err);
	if (rc < 0) {
		fprintf(stderr, "provision: %s\n", err.msg);
		return prov_exit_status(rc);
	}
	if (o->command && strcmp(o->command, "restore") == 0)
		return cmd_restore(o, cfg);
	if (o->command && strcmp(o->command, "apply") == 0)
		return cmd_apply_plan(o, cfg);
	for (char **dn = o->domains; dn && *dn; dn++)
		if (!config_find_domain(cfg, *dn)) {
			fprintf(stderr, "provision: domain '%s' is not in %s\n", *dn, o->config);
			return 64;
		}
	if (o->command && strcmp(o->command, "check") == 0)
		return cmd_check(o, cfg);
	if (o->command)
		return cmd_smtp_test(o, cfg);
	return cmd_run(o, cfg);
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct config cfg = { 0 };
	int rc = parse_args(argc, argv, &o);
	if (rc >= 0)
		goto out;
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
	o.color = !o.json && isatty(STDOUT_FILENO) && !(nc && *nc) &&
		  !(term && strcmp(term, "dumb") == 0);
	rc = dispatch(&o, &cfg);
	config_release(&cfg);
out:
	strv_free(o.nameservers);
	strv_free(o.domains);
	return rc;
}
