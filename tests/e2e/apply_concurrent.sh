#!/bin/sh
# apply PLAN.json works on the plan's domains at once (issue 12): while the
# Cloudflare fake holds one domain's write, the others' writes still come;
# with -j 1 none comes until it is let go. Reports in the plan's order.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/lib/common.sh"
. "$TOP/tests/lib/knot.sh"
. "$TOP/tests/lib/fakes.sh"

cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }
cf_seed_spf a 6 >"$T/seed.json"
export CF_TEST_TOKEN="cf-apply-conc-$$"
cf_fake_start "$T/seed.json" --token "$CF_TEST_TOKEN" || { not_ok "cloudflare fake starts"; finish; exit 1; }
{
	echo "providers: { cf = { type = \"cloudflare\"; token_env = \"CF_TEST_TOKEN\"; endpoint = \"$CF_URL\"; ca_file = \"$CF_CA\"; }; };"
	echo "backup_dir = \"$T/backups\";"
	echo 'domains = ('
	for i in 0 1 2 3 4 5; do
		[ $i -gt 0 ] && echo ','
		echo "{ name = \"a$i.example\"; provider = \"cf\"; }"
	done
	echo ');'
} >"$T/p.cfg"
zid() { cf_fake_state | python3 -c 'import json,sys; print([z["id"] for z in json.load(sys.stdin)["zones"] if z["name"] == sys.argv[1]][0])' "$1"; }
held() { fake_ctl "$CF_PORT" GET /__fake/held | python3 -c 'import json,sys; print(json.load(sys.stdin)["held"])'; }
# batches: how many batch writes of zones other than $1 the fake has seen
batches() { fake_ctl "$CF_PORT" GET /__fake/requests | python3 -c '
import json, sys
print(sum(1 for r in json.load(sys.stdin) if r["method"] == "POST" and r["path"].endswith("/batch")
          and sys.argv[1] not in r["path"]))' "$1"; }
# until COMMAND... holds, polling (at most 30 s; provision must still run)
until_true() {
	_w=0
	until "$@"; do
		[ $_w -ge 300 ] && return 1
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1; _w=$((_w + 1))
	done
}
one_held() { [ "$(held)" -ge 1 ]; }
others_written() { [ "$(batches "$Z0")" -ge 5 ]; }
order() { python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["domains"]
print(" ".join("%s=%s" % (x["domain"], x["status"]) for x in d))' "$1"; }
all_applied="a0.example.=applied a1.example.=applied a2.example.=applied a3.example.=applied a4.example.=applied a5.example.=applied"

for mode in at-once one-by-one; do
	fake_ctl "$CF_PORT" POST /__fake/state "@$T/seed.json" >/dev/null
	fake_ctl "$CF_PORT" POST /__fake/reset-calls >/dev/null
	expect_exit 2 "$mode: the plan saved" "$PROVISION" -c "$T/p.cfg" --resolver "$KNOT_ADDR" \
		--dry-run --detailed-exitcode --out "$T/plan.json"
	Z0=$(zid a0.example)
	cf_fake_fault "{\"hold\": {\"method\": \"POST\", \"path_contains\": \"zones/$Z0/dns_records/batch\"}}" ||
		not_ok "hold fault queued"
	if [ "$mode" = at-once ]; then set --; else set -- -j 1; fi
	"$PROVISION" -c "$T/p.cfg" --format json apply "$T/plan.json" "$@" >"$T/out" 2>"$T/err" &
	pid=$!
	check "$mode: a0's write is held in flight" until_true one_held
	if [ "$mode" = at-once ]; then
		check "at once: the other 5 writes arrive while a0's is held" until_true others_written
	else
		check "-j 1: no other write while a0's is held ($(batches "$Z0"))" test "$(batches "$Z0")" -eq 0
	fi
	fake_ctl "$CF_PORT" POST /__fake/release >/dev/null
	wait $pid; rc=$?
	check "$mode: apply exit 0 (got $rc)" test "$rc" -eq 0
	check "$mode: every domain applied, in the plan's order ($(order "$T/out"))" \
		test "$(order "$T/out")" = "$all_applied"
done

finish
