#!/bin/sh
# Domains at once: every provider runs 50 domains (rfc2136: 12) with
# concurrency, in mixed states (fresh, in sync, an SPF to merge, a record
# to update, a clash or a lookup limit the planner refuses, two SPF
# records), with faults aimed at single domains through path_contains /
# query_contains (429 storms with Retry-After, connections dropped before
# and after a write, 5xx and drops on reads, a permanent 403, 5xx on every
# write, a malformed answer, a slow first domain); the same run with -j 1
# on an identical fresh fake with identical faults is the reference. Per
# domain: status, changes, SPF, diagnostics, stderr reason, the requests
# it made (method, path, answer) and the final records must be the same;
# the domains array stays in configuration order; same exit code. Then:
# concurrency is real (one domain held, the others go on; at most N held
# at once per block and in total) and concurrency = 1 / -j 1 stay strictly
# sequential; zone files (missing, unreadable, malformed ones among them)
# and RFC 2136 against Knot compared the same way; SIGINT with 4 in
# flight. Without concurrency in the binary the comparisons still run (one
# after another) and the checks that need real concurrency fail.
# Debugging: CONC_PROVIDERS="cloudflare" limits part 1 to those providers
# ("" skips it); CONC_KEEP=DIR keeps a copy of the test directory.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"
. "$TOP/tests/lib/fakes.sh"
. "$TOP/tests/lib/rfc2136.sh"

N=50
[ -n "${CONC_KEEP:-}" ] && on_exit "rm -rf $CONC_KEEP; cp -r $T $CONC_KEEP"
cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }
make_test_ca || { not_ok "test CA"; finish; exit 1; }
CA=$T/ca/ca.pem

# ---- does the binary know concurrency? (without it the comparisons still
# run, sequentially, and the checks that need real concurrency fail) ----
mkdir -p "$T/probe/zones"
cat >"$T/probe/p.cfg" <<'EOF'
providers: { local = { type = "zonefile"; directory = "zones"; concurrency = 2; }; };
domains = ( { name = "probe.test"; provider = "local"; } );
EOF
dyn_zone "$T/probe/zones" probe.test
"$PROVISION" -c "$T/probe/p.cfg" --resolver "$KNOT_ADDR" --dry-run --format json >"$T/probe/out" 2>"$T/probe/err"
prc=$?
"$PROVISION" -c "$T/probe/p.cfg" --resolver "$KNOT_ADDR" --dry-run -j 2 >/dev/null 2>"$T/probe/err-j"
jrc=$?
if [ $prc -eq 0 ] && [ $jrc -eq 0 ]; then
	ok "the binary takes concurrency = N and -j N"
	CONC=1
else
	not_ok "the binary takes concurrency = N (exit $prc) and -j N (exit $jrc); going on sequentially"
	sed 's/^/#   /' "$T/probe/err" "$T/probe/err-j" | head -4
	CONC=0
fi
# conc N: the setting for a provider block; J N: the option
conc() { [ $CONC = 1 ] && echo "concurrency = $1;"; }
J() { [ $CONC = 1 ] && echo "-j $1"; }
sed 's/ concurrency = 2;//' "$T/probe/p.cfg" >"$T/probe/plain.cfg"
"$PROVISION" -c "$T/probe/plain.cfg" --resolver "$KNOT_ADDR" --dry-run --format json >"$T/probe/out" 2>"$T/probe/err"
python3 - "$T/probe/out" >"$T/sync.json" <<'PY' || { not_ok "the planned values of a fresh zone"; finish; exit 1; }
import json, sys
d = json.load(open(sys.argv[1]))["domains"][0]
v = {c["record"]: c["after"][0] for c in d["changes"]}
v["dmarc"] = v["dmarc"].replace("probe.test", "@DOMAIN@")
print(json.dumps(v))
PY

# ---- the generator: seeds, faults and expected outcomes of N domains ----
cat >"$T/gen.py" <<'PY'
"""gen.py PROVIDER N OUTDIR SYNC.json: seed.json, faults.json (one fault
object a line, each aimed at one domain), expect.json (domain -> status in
the reference run), domains.txt, zones.json (zone id -> domain)."""
import hashlib, json, sys

prov, n, out, syncf = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
SYNC = json.load(open(syncf))

# kind of each domain, its faults (where, fault), and the expected status
SPEC = {
    0: ("merge", [("list", {"slow": {"seconds": 0.6}})], "applied"),
    1: ("sync", [], "in_sync"),
    2: ("fresh", [], "applied"),
    3: ("clash", [], "refused"),
    4: ("fresh", [("list", {"rate_limit": {"count": 2, "retry_after": 1}})], "applied"),
    5: ("merge", [("write", {"rate_limit": {"count": 3, "retry_after": 0}})], "applied"),
    6: ("fresh", [("write", {"drop": {"count": 1, "when": "before"}})], "applied"),
    7: ("merge", [("write", {"drop": {"count": 1, "when": "after"}})], "applied"),
    8: ("sync", [("list", {"status_500": {"count": 2}})], "in_sync"),
    9: ("overlimit", [], "refused"),
    10: ("fresh", [("write", {"drop": {"count": 3, "when": "before"}})], "error"),
    11: ("partial", [("list", {"status_500": {"count": 1, "status": 503}})], "applied"),
    12: ("fresh", [("list", {"status_500": {"count": 1, "status": 403}})], "error"),
    13: ("twospf", [], "refused"),
    14: ("merge", [("list", {"malformed": {"count": 1}})], "error"),
    15: ("fresh", [("list", {"rate_limit": {"count": 9, "retry_after": 0}})], "error"),
    16: ("fresh", [("list", {"drop": {"count": 2, "when": "before"}})], "applied"),
    17: ("fresh", [("lookup", {"rate_limit": {"count": 3, "retry_after": 0}})], "applied"),
    18: ("merge", [("write", {"status_500": {"count": 9, "status": 502}})], "error"),
    19: ("partial", [("write", {"drop": {"count": 1, "when": "after"}})], "applied"),
    20: ("fresh", [("lookup", {"status_500": {"count": 1}})], "applied"),
    21: ("merge", [("list", {"rate_limit": {"count": 3, "retry_after": 0}}),
                   ("write", {"rate_limit": {"count": 1, "retry_after": 0}})], "applied"),
}
CYCLE = ["fresh", "merge", "sync", "partial", "fresh", "merge"]


def spec(i):
    if i in SPEC:
        return SPEC[i]
    kind = CYCLE[i % len(CYCLE)]
    faults = []
    if i % 7 == 0:
        faults.append(("list", {"status_500": {"count": 1}}))
    if i % 9 == 0 and kind != "sync":
        faults.append(("write", {"drop": {"count": 1, "when": "after"}}))
    if i % 11 == 0:
        faults.append(("list", {"drop": {"count": 1, "when": "before"}}))
    return kind, faults, "in_sync" if kind == "sync" else "applied"


def records(kind, i, dom):
    """(relative name, type, [values]) sets of a zone in this state."""
    if kind == "fresh":
        return [("www", "A", ["192.0.2.80"])]
    if kind == "sync":
        return [("@", "TXT", [SYNC["spf"]]), ("pic._domainkey", "TXT", [SYNC["dkim"]]),
                ("_dmarc", "TXT", [SYNC["dmarc"].replace("@DOMAIN@", dom)]),
                ("email.mg3", "CNAME", ["mailgun.org"])]
    if kind == "merge":
        return [("@", "TXT", ["v=spf1 ip4:192.0.2.%d -all" % (i + 1), "verify-%d" % i]),
                ("www", "A", ["192.0.2.80"])]
    if kind == "partial":
        return [("pic._domainkey", "TXT", [SYNC["dkim"]]), ("_dmarc", "TXT", ["v=DMARC1; p=none"])]
    if kind == "clash":
        return [("email.mg3", "A", ["192.0.2.99"])]
    if kind == "overlimit":
        return [("@", "TXT", ["v=spf1 include:four.spf.test include:four.spf.test -all"])]
    if kind == "twospf":
        return [("@", "TXT", ["v=spf1 -all", "v=spf1 ip4:192.0.2.1 -all"])]
    raise ValueError(kind)


def q255(v):
    return " ".join('"%s"' % v[k:k + 255] for k in range(0, len(v), 255))


doms = ["d%02d.example" % i for i in range(n)]
zid = {}
for i, d in enumerate(doms):
    zid[d] = (hashlib.md5(d.encode()).hexdigest() if prov == "cloudflare"
              else "ZCONC%011d" % i)


def target(where, d):
    """method, path_contains, query_contains of a domain's look-up, listing
    or write."""
    z = zid[d]
    if prov == "cloudflare":
        return {"lookup": ("GET", "/zones", "name=" + d),
                "list": ("GET", "zones/%s/dns_records" % z, None),
                "write": ("POST", "zones/%s/dns_records/batch" % z, None)}[where]
    if prov == "godaddy":
        p = "/v1/domains/%s/records" % d
        return {"lookup": ("GET", p, None), "list": ("GET", p, None),
                "write": ("PATCH", p, None)}[where]
    p = "hostedzone/%s/rrset" % z
    return {"lookup": ("GET", "hostedzonesbyname", "dnsname=" + d),
            "list": ("GET", p, None), "write": ("POST", p, None)}[where]


zones, faults, expect = [], [], {}
for i, d in enumerate(doms):
    kind, fs, status = spec(i)
    if i == 15 and prov != "cloudflare":
        # Route 53 throttles without Retry-After (a storm this long is a
        # minute of back-off); GoDaddy waits out 10 rounds of retries
        fs = [("list", {"rate_limit": {"count": 2 if prov == "route53" else 9,
                                       "retry_after": 0}})]
        status = "applied"
    expect[d + "."] = status
    sets = records(kind, i, d)
    if prov == "cloudflare":
        recs = [{"type": t, "name": d if name == "@" else name + "." + d,
                 "ttl": 3600, "proxied": False,
                 "content": '"%s"' % v if t == "TXT" else v}
                for name, t, vals in sets for v in vals]
        zones.append({"name": d, "id": zid[d], "records": recs})
    elif prov == "godaddy":
        recs = [{"type": t, "name": name, "ttl": 3600, "data": v}
                for name, t, vals in sets for v in vals]
        zones.append({"domain": d, "records": recs})
    else:
        recs = [{"name": name, "type": t, "ttl": 3600,
                 "values": [q255(v) if t == "TXT" else
                            v + "." if not v.endswith(".") and t == "CNAME" else v
                            for v in vals]} for name, t, vals in sets]
        zones.append({"name": d, "id": zid[d], "records": recs})
    for where, f in fs:
        (kind_, body), = f.items()
        m, pc, qc = target(where, d)
        body = dict(body, method=m, path_contains=pc)
        if qc:
            body["query_contains"] = qc
        faults.append({kind_: body})

key = "domains" if prov == "godaddy" else "zones"
json.dump({key: zones}, open(out + "/seed.json", "w"))
with open(out + "/faults.json", "w") as f:
    for x in faults:
        f.write(json.dumps(x) + "\n")
json.dump(expect, open(out + "/expect.json", "w"))
open(out + "/domains.txt", "w").write("\n".join(doms) + "\n")
json.dump({z: d for d, z in zid.items()}, open(out + "/zones.json", "w"))
PY

# ---- the comparison: reference (-j 1) against the concurrent run ----
# cmp.py DIR PROVIDER: DIR/{ref,con}.{json,err,rc,state,requests,pending}
# and DIR/expect.json, DIR/domains.txt, DIR/zones.json; prints
# "PASS text" / "FAIL text" lines (details as "#" lines)
cat >"$T/cmp.py" <<'PY'
import json, re, sys
from urllib.parse import unquote

dr, prov = sys.argv[1], sys.argv[2]
res = []


def say(ok, text, details=()):
    print(("PASS " if ok else "FAIL ") + text)
    for x in list(details)[:12]:
        print("#   " + str(x))


def load(name, default=None):
    try:
        with open("%s/%s" % (dr, name)) as f:
            return f.read() if not name.endswith((".json", ".state", ".requests", ".pending")) \
                else json.load(f)
    except (OSError, ValueError) as e:
        if default is not None:
            return default
        return e


order = open(dr + "/domains.txt").read().split()
fq = [d + "." for d in order]
expect = json.load(open(dr + "/expect.json"))
rc = {k: load(k + ".rc").strip() for k in ("ref", "con")}
say(rc["ref"] == rc["con"], "%s: exit codes equal (reference %s, concurrent %s)" % (prov, rc["ref"], rc["con"]))
say(rc["ref"] == "1", "%s: the worst outcome wins: exit 1 (got %s)" % (prov, rc["ref"]))
out = {}
for k in ("ref", "con"):
    j = load(k + ".json")
    if isinstance(j, Exception):
        say(False, "%s: %s output is one JSON document: %s" % (prov, k, j))
        sys.exit(0)
    out[k] = j
got = [d["domain"] for d in out["con"]["domains"]]
say(got == fq, "%s: concurrent domains array in configuration order (%d domains)" % (prov, len(got)),
    ["position %d: %s, want %s" % (i, a, b) for i, (a, b) in enumerate(zip(got, fq)) if a != b])
say([d["domain"] for d in out["ref"]["domains"]] == fq, "%s: reference domains array in configuration order" % prov)
ref = {d["domain"]: d for d in out["ref"]["domains"]}
con = {d["domain"]: d for d in out["con"]["domains"]}
bad = ["%s: %s, want %s" % (d, ref.get(d, {}).get("status"), expect[d]) for d in fq
       if ref.get(d, {}).get("status") != expect[d]]
counts = {}
for d in fq:
    s = ref.get(d, {}).get("status")
    counts[s] = counts.get(s, 0) + 1
say(not bad, "%s: the reference has the designed outcomes (%s)" % (
    prov, ", ".join("%d %s" % (v, k) for k, v in sorted(counts.items(), key=str))), bad)
for field in ("status", "changes", "spf", "diagnostics", "drift", "provider"):
    diff = [d for d in fq if ref.get(d, {}).get(field) != con.get(d, {}).get(field)]
    det = []
    for d in diff[:4]:
        det.append("%s: reference %s" % (d, json.dumps(ref.get(d, {}).get(field))[:300]))
        det.append("%s: concurrent %s" % (d, json.dumps(con.get(d, {}).get(field))[:300]))
    say(not diff, "%s: per domain, %s the same as with -j 1%s" % (
        prov, field, "" if not diff else " (differs: %s)" % " ".join(diff[:10])), det)
top = {k: {x: v for x, v in out[k].items() if x != "domains"} for k in out}
say(top["ref"] == top["con"], "%s: the envelope is the same (%s)" % (prov, json.dumps(top["con"])))
# stderr: the reason lines, as a set (their order is not promised)
err = {}
for k in ("ref", "con"):
    err[k] = sorted(l for l in load(k + ".err", "").splitlines() if l.startswith("provision: "))
say(err["ref"] == err["con"], "%s: stderr gives the same %d reason lines" % (prov, len(err["ref"])),
    ["-" + l for l in err["ref"] if l not in err["con"]] + ["+" + l for l in err["con"] if l not in err["ref"]])
nerr = sum(1 for d in fq if expect[d] in ("error", "refused"))
say(len(err["ref"]) >= nerr, "%s: a reason line for each of the %d domains that failed or were refused" % (prov, nerr))

# the final records of every zone, ids and times left out
DROP = {"id", "created_on", "modified_on", "activated_on", "submitted", "domainId"}


def norm(x):
    if isinstance(x, dict):
        return {k: norm(v) for k, v in x.items() if k not in DROP}
    if isinstance(x, list):
        return sorted((norm(v) for v in x), key=lambda v: json.dumps(v, sort_keys=True))
    return x


state = {}
for k in ("ref", "con"):
    s = load(k + ".state")
    if isinstance(s, Exception):
        say(False, "%s: %s state dumped: %s" % (prov, k, s))
        sys.exit(0)
    zs = s.get("zones") or s.get("domains")
    state[k] = {(z.get("name") or z.get("domain")): norm(z.get("records")) for z in zs}
diff = [d for d in order if state["ref"].get(d) != state["con"].get(d)]
det = []
for d in diff[:3]:
    det.append("%s reference: %s" % (d, json.dumps(state["ref"].get(d))[:400]))
    det.append("%s concurrent: %s" % (d, json.dumps(state["con"].get(d))[:400]))
say(not diff and len(state["ref"]) == len(order),
    "%s: every zone's final records the same as with -j 1%s" % (prov, "" if not diff else
                                                                 " (differs: %s)" % " ".join(diff[:10])), det)

# the requests of each domain, in order: method, path (record ids out),
# query, answer
zones = json.load(open(dr + "/zones.json"))
HEX = re.compile(r"/[0-9a-f]{32}(?=/|$)")


def owner(e):
    p = e["path"]
    for seg in p.split("/"):
        if seg in zones:
            return zones[seg]
    m = re.match(r"^/v1/domains/([^/]+)", p)
    if m:
        return unquote(m.group(1))
    for k, v in e.get("query") or []:
        if k in ("name", "dnsname"):
            return v.rstrip(".")
    return None


seqs = {}
for k in ("ref", "con"):
    log = load(k + ".requests")
    if isinstance(log, Exception):
        say(False, "%s: %s request log: %s" % (prov, k, log))
        sys.exit(0)
    per = {}
    for e in log:
        d = owner(e)
        p = e["path"]
        for z, dn in zones.items():
            p = p.replace(z, "<%s>" % dn)
        p = HEX.sub("/:rid", p)
        per.setdefault(d, []).append("%s %s?%s %s" % (
            e["method"], p, "&".join("%s=%s" % tuple(kv) for kv in sorted(e.get("query") or [])), e["status"]))
    seqs[k] = per
diff = [d for d in order if seqs["ref"].get(d) != seqs["con"].get(d)]
det = []
for d in diff[:2]:
    det.append("%s reference:  %s" % (d, " | ".join(seqs["ref"].get(d, []))))
    det.append("%s concurrent: %s" % (d, " | ".join(seqs["con"].get(d, []))))
say(not diff, "%s: every domain made the same requests, in the same order, with the same answers "
    "(%d requests)%s" % (prov, sum(len(v) for v in seqs["ref"].values()),
                         "" if not diff else " (differs: %s)" % " ".join(diff[:10])), det)
say(None not in seqs["con"], "%s: every request belongs to one domain" % prov,
    seqs["con"].get(None, []))
faulted = sum(1 for v in seqs["ref"].values() for r in v if not r.endswith((" 200", " 204")))
say(faulted >= 30, "%s: the faults were met (%d answers not 2xx or no answer)" % (prov, faulted))
pend = {k: load(k + ".pending") for k in ("ref", "con")}
say(pend["ref"] == pend["con"], "%s: the same faults left unconsumed in both (%d)" % (
    prov, len(pend["ref"].get("pending", [])) if isinstance(pend["ref"], dict) else -1),
    [json.dumps(pend["ref"])[:300], json.dumps(pend["con"])[:300]])
PY

# verdicts FILE: count the PASS/FAIL lines of cmp.py
verdicts() {
	while IFS= read -r _l; do
		case $_l in
		"PASS "*) ok "${_l#PASS }" ;;
		"FAIL "*) not_ok "${_l#FAIL }" ;;
		*) echo "$_l" ;;
		esac
	done <"$1"
}

# ---- 1. the HTTP providers: 50 domains at once against -j 1 ----
export CF_TEST_TOKEN="cf-conc-secret-$$"
export GD_TEST_KEY="gdconckey$$" GD_TEST_SECRET="gdconcsecret$$"
export AWS_ACCESS_KEY_ID=AKIACONCURRENT000001 AWS_SECRET_ACCESS_KEY="r53-conc-secret/$$/x"
export AWS_SHARED_CREDENTIALS_FILE="$T/no-such-credentials" AWS_CONFIG_FILE="$T/no-such-config"
export AWS_EC2_METADATA_DISABLED=true
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN PROVISION_GODADDY_RATE_LIMIT

# http_fake PROVIDER NAME SEED: start a fake of that provider (FAKE_PORT)
http_fake() {
	case $1 in
	cloudflare) fake_start "$2" cloudflare.py --state "$3" --token "$CF_TEST_TOKEN" ;;
	godaddy) fake_start "$2" godaddy.py --state "$3" --credentials "$GD_TEST_KEY:$GD_TEST_SECRET" ;;
	route53) fake_start "$2" route53.py --state "$3" --insync-after 0 \
		--credentials "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" ;;
	esac
}
# http_block PROVIDER PORT NAME SETTINGS: one provider block
http_block() {
	case $1 in
	cloudflare) _auth='token_env = "CF_TEST_TOKEN";' ;;
	godaddy) _auth='key_env = "GD_TEST_KEY"; secret_env = "GD_TEST_SECRET";' ;;
	route53) _auth='' ;;
	esac
	_base=
	[ "$1" = cloudflare ] && _base=/client/v4
	printf '  %s = { type = "%s"; %s endpoint = "https://127.0.0.1:%s%s"; ca_file = "%s"; rate = "5000/s"; %s };\n' \
		"$3" "$1" "$_auth" "$2" "$_base" "$CA" "$4"
}
# http_cfg PROVIDER PORT DOMAINSFILE SETTINGS [ZONEIDS]: a configuration of
# one block "p" on stdout; with ZONEIDS (zones.json) every third domain
# gives its zone_id (no look-up)
http_cfg() {
	echo 'providers: {'
	http_block "$1" "$2" p "$4"
	echo '};'
	echo 'domains = ('
	python3 - "$3" "${5:-}" <<'PY'
import json, sys
doms = open(sys.argv[1]).read().split()
ids = {v: k for k, v in json.load(open(sys.argv[2])).items()} if sys.argv[2] else {}
print(",\n".join('  { name = "%s"; provider = "p";%s }' % (
    d, ' zone_id = "%s";' % ids[d] if ids and i % 3 == 1 and d in ids else "")
    for i, d in enumerate(doms)))
PY
	echo ');'
}
# dump PORT PREFIX: the fake's state, request log and pending faults
dump() {
	fake_ctl "$1" GET /__fake/state >"$2.state"
	fake_ctl "$1" GET /__fake/requests >"$2.requests"
	fake_ctl "$1" GET /__fake/faults >"$2.pending"
}
# run_bg PREFIX ARGS...: provision in the background, PREFIX.{json,err,rc};
# its subshell's pid appended to $bg
run_bg() {
	_rp=$1; shift
	( "$PROVISION" --resolver "$KNOT_ADDR" --format json "$@" >"$_rp.json" 2>"$_rp.err"; echo $? >"$_rp.rc" ) &
	bg="$bg $!"
}

# the three providers' six runs go at once (they mostly wait: Retry-After,
# back-off); then each pair is compared
HTTP_PROVIDERS=${CONC_PROVIDERS-cloudflare godaddy route53}
bg=
t0=$(date +%s.%N)
for prov in $HTTP_PROVIDERS; do
	D=$T/$prov
	mkdir -p "$D"
	python3 "$T/gen.py" $prov $N "$D" "$T/sync.json" || { not_ok "$prov: generator"; continue; }
	http_fake $prov $prov-ref "$D/seed.json" || { not_ok "$prov: reference fake starts"; continue; }
	echo "$FAKE_PORT" >"$D/ref.port"
	http_fake $prov $prov-con "$D/seed.json" || { not_ok "$prov: fake starts"; continue; }
	echo "$FAKE_PORT" >"$D/con.port"
	RP=$(cat "$D/ref.port") CP=$(cat "$D/con.port")
	faults=$(python3 -c 'import json,sys; print(json.dumps([json.loads(l) for l in open(sys.argv[1])]))' "$D/faults.json")
	check "$prov: $(wc -l <"$D/faults.json") faults queued on both fakes, each aimed at one domain" \
		sh -c 'fake_ctl() { curl -sS --fail-with-body --max-time 20 --cacert "$0" -X POST \
			-H "Content-Type: application/json" --data-binary "$3" "https://127.0.0.1:$1$2" >/dev/null; }
			fake_ctl "$1" /__fake/faults "$3" && fake_ctl "$2" /__fake/faults "$3"' "$CA" "$RP" "$CP" "$faults"
	# each run in a directory of its own (its backups beside its configuration)
	mkdir -p "$D/ref.d" "$D/con.d"
	http_cfg $prov "$RP" "$D/domains.txt" "$(conc 8)" "$D/zones.json" >"$D/ref.d/p.cfg"
	http_cfg $prov "$CP" "$D/domains.txt" "$(conc 8)" "$D/zones.json" >"$D/con.d/p.cfg"
	run_bg "$D/ref" -c "$D/ref.d/p.cfg" $(J 1)
	run_bg "$D/con" -c "$D/con.d/p.cfg"
done
[ -n "$bg" ] && wait $bg
t1=$(date +%s.%N)
echo "# the six runs of 50 domains took $(echo "$t1 - $t0" | bc) s"
for prov in $HTTP_PROVIDERS; do
	D=$T/$prov
	[ -f "$D/con.rc" ] || continue
	dump "$(cat "$D/ref.port")" "$D/ref"
	dump "$(cat "$D/con.port")" "$D/con"
	python3 "$T/cmp.py" "$D" $prov >"$D/verdicts" 2>&1
	verdicts "$D/verdicts"
done

# ---- 2. concurrency is real, bounded, and 1 means one after another ----
# 12 zones h0..h11 on a fake of their own; dry runs (nothing changes)
cf_seed_spf h 12 >"$T/hold-seed.json"
fake_start hold cloudflare.py --state "$T/hold-seed.json" --token "$CF_TEST_TOKEN" ||
	{ not_ok "hold fake starts"; finish; exit 1; }
HP=$FAKE_PORT
hctl() { fake_ctl "$HP" "$@"; }
hid() { hctl GET /__fake/state | python3 -c 'import json,sys; print([z["id"] for z in json.load(sys.stdin)["zones"] if z["name"] == sys.argv[1]][0])' "$1"; }
# hold_cfg FILE [BLOCK-A-SETTINGS [BLOCK-B-SETTINGS]]: h0..h11, all in block
# a, or alternating a/b when B's settings are given
hold_cfg() {
	{
		echo 'providers: {'
		http_block cloudflare "$HP" a "${2:-}"
		[ $# -ge 3 ] && http_block cloudflare "$HP" b "$3"
		echo '};'
		echo 'domains = ('
		for i in 0 1 2 3 4 5 6 7 8 9 10 11; do
			b=a
			[ $# -ge 3 ] && [ $((i % 2)) = 1 ] && b=b
			printf '  { name = "h%d.example"; provider = "%s"; }%s\n' $i $b "$([ $i -lt 11 ] && echo ,)"
		done
		echo ');'
	} >"$1"
}
held() { hctl GET /__fake/held | tr -dc 0-9; }
# started: the zones (h0 ...) that have made a request, in order of first request
started() {
	hctl GET /__fake/requests | python3 -c '
import json, re, sys
ids = {z["id"]: z["name"].split(".")[0] for z in json.load(open(sys.argv[1]))["zones"]}
seen = []
for e in json.load(sys.stdin):
    m = re.search(r"/zones/([0-9a-f]{32})", e["path"])
    d = ids.get(m.group(1)) if m else dict(e["query"]).get("name", "?").split(".")[0]
    if d not in seen:
        seen.append(d)
print(" ".join(seen))' "$T/hold-state.json"
}
# blocks: the request log as zone names, one a request, runs of one zone
# folded ("h0 h1 h2 ..." when strictly one after another)
blocks() {
	hctl GET /__fake/requests | python3 -c '
import json, re, sys
ids = {z["id"]: z["name"].split(".")[0] for z in json.load(open(sys.argv[1]))["zones"]}
out = []
for e in json.load(sys.stdin):
    m = re.search(r"/zones/([0-9a-f]{32})", e["path"])
    d = ids.get(m.group(1)) if m else dict(e["query"]).get("name", "?").split(".")[0]
    if not out or out[-1] != d:
        out.append(d)
print(" ".join(out))' "$T/hold-state.json"
}
hctl GET /__fake/state >"$T/hold-state.json"
ALL12="h0 h1 h2 h3 h4 h5 h6 h7 h8 h9 h10 h11"
# until CMD...: poll (every 0.05 s, at most 5 s) until CMD succeeds
until_ok() {
	_u=0
	until "$@"; do
		[ $_u -ge 100 ] && return 1
		sleep 0.05; _u=$((_u + 1))
	done
}
held_is() { [ "$(held)" -ge "$1" ]; }
# hstart CFG [ARGS]: a dry run in the background (pid in $hpid)
hstart() {
	_c=$1; shift
	hctl POST /__fake/reset-calls >/dev/null
	"$PROVISION" -c "$_c" --resolver "$KNOT_ADDR" --dry-run --format json "$@" >"$T/h.out" 2>"$T/h.err" &
	hpid=$!
}
# hstop: drop the pending holds, let the held go, wait; status in $hrc
hstop() {
	hctl DELETE /__fake/faults >/dev/null
	hctl POST /__fake/release >/dev/null
	wait $hpid; hrc=$?
}
in_order() { python3 -c '
import json, sys
got = [d["domain"] for d in json.load(open(sys.argv[1]))["domains"]]
want = ["h%d.example." % i for i in range(12)]
assert got == want, got' "$T/h.out"; }
others_listed() { # 11 zones (all but the held one) have been listed
	[ "$(hctl GET /__fake/calls | sed -n 's|.*"GET /zones/:id/dns_records": \([0-9]*\).*|\1|p')" -ge 11 ] 2>/dev/null
}

# one domain's read held: the others go on meanwhile
H2=$(hid h2.example)
hold_cfg "$T/h8.cfg" "$(conc 8)"
hctl POST /__fake/faults "{\"hold\": {\"method\": \"GET\", \"path_contains\": \"zones/$H2/dns_records\"}}" >/dev/null
hstart "$T/h8.cfg"
check "concurrency 8: h2's listing is held" until_ok held_is 1
check "concurrency 8: while h2 is held, the 11 other zones are listed" until_ok others_listed
hstop
check "concurrency 8: exit 0 once released (got $hrc)" test "$hrc" = 0
check "concurrency 8: the report in configuration order" in_order

# every listing held: exactly as many domains in flight as allowed
# bound CFG WANT "WHAT" [ARGS]: WANT held; WANT zones started, no more
bound() {
	_bc=$1 _bw=$2 _bd=$3
	shift 3
	hctl POST /__fake/faults '{"hold": {"count": 100, "method": "GET", "path_contains": "dns_records"}}' >/dev/null
	hstart "$_bc" "$@"
	until_ok held_is "$_bw"
	sleep 0.3 # the negative: give one more domain time to start, if it would
	_bh=$(held) _bs=$(started)
	check "$_bd: $_bw listings held at once (held $_bh)" test "$_bh" = "$_bw"
	check "$_bd: only those $_bw domains started ($_bs)" test "$(echo $_bs | wc -w)" = "$_bw"
	hstop
	check "$_bd: exit 0 once released (got $hrc)" test "$hrc" = 0
	check "$_bd: the report in configuration order" in_order
}
bound "$T/h8.cfg" 8 "concurrency = 8, 12 domains"
bound "$T/h8.cfg" 3 "concurrency = 8 with -j 3" $(J 3)
hold_cfg "$T/h23.cfg" "$(conc 2)" "$(conc 3)"
bound "$T/h23.cfg" 5 "two blocks, concurrency 2 and 3"
_s=$(echo "$_bs" | tr ' ' '\n' | sed 's/^h//' | python3 -c 'import sys; n=[int(x) for x in sys.stdin.read().split()]; print(sum(1 for x in n if x % 2 == 0), sum(1 for x in n if x % 2 == 1))')
check "two blocks: 2 of block a and 3 of block b in flight (got $_s)" test "$_s" = "2 3"

# one after another: concurrency = 1, or -j 1
seq_case() {
	_qc=$1 _qd=$2
	shift 2
	hctl POST /__fake/faults "{\"hold\": {\"method\": \"GET\", \"path_contains\": \"zones/$H2/dns_records\"}}" >/dev/null
	hstart "$_qc" "$@"
	check "$_qd: h2's listing is held" until_ok held_is 1
	sleep 0.3 # the negative: give another domain time to start, if it would
	check "$_qd: while h2 is held no later domain is asked ($(started))" test "$(started)" = "h0 h1 h2"
	hstop
	check "$_qd: exit 0 once released (got $hrc)" test "$hrc" = 0
	check "$_qd: every domain's requests in one run, in configuration order" test "$(blocks)" = "$ALL12"
}
hold_cfg "$T/h1.cfg" "$(conc 1)"
seq_case "$T/h1.cfg" "concurrency = 1"
seq_case "$T/h8.cfg" "concurrency = 8 with -j 1" $(J 1)

# ---- 4. SIGINT with 4 in flight ----
# i0 and i1 go through; the writes of i2..i5 are held (4 in flight, all
# held); SIGINT, then release: those four finish, i6..i11 never start
cf_seed_spf i 12 >"$T/int-seed.json"
fake_start int cloudflare.py --state "$T/int-seed.json" --token "$CF_TEST_TOKEN" ||
	{ not_ok "interrupt fake starts"; finish; exit 1; }
IP=$FAKE_PORT
fake_ctl "$IP" GET /__fake/state >"$T/int-state.json"
iid() { python3 -c 'import json,sys; print([z["id"] for z in json.load(open(sys.argv[2]))["zones"] if z["name"] == sys.argv[1]][0])' "$1" "$T/int-state.json"; }
{
	echo 'providers: {'
	http_block cloudflare "$IP" cf "$(conc 4)"
	echo '};'
	echo 'domains = ('
	for i in 0 1 2 3 4 5 6 7 8 9 10 11; do
		printf '  { name = "i%d.example"; provider = "cf"; }%s\n' $i "$([ $i -lt 11 ] && echo ,)"
	done
	echo ');'
} >"$T/int.cfg"
for i in 2 3 4 5; do
	fake_ctl "$IP" POST /__fake/faults "{\"hold\": {\"method\": \"POST\", \"path_contains\": \"zones/$(iid i$i.example)/dns_records/batch\"}}" >/dev/null
done
iheld() { [ "$(fake_ctl "$IP" GET /__fake/held | tr -dc 0-9)" -ge 4 ]; }
"$PROVISION" -c "$T/int.cfg" --resolver "$KNOT_ADDR" --format json >"$T/int.out" 2>"$T/int.err" &
ipid=$!
check "SIGINT: the writes of i2..i5 are held, 4 in flight" until_ok iheld
kill -INT $ipid
fake_ctl "$IP" POST /__fake/release >/dev/null
wait $ipid; irc=$?
fake_ctl "$IP" DELETE /__fake/faults >/dev/null
fake_ctl "$IP" POST /__fake/release >/dev/null
check "SIGINT: exit 1 (got $irc)" test "$irc" = 1
grep_file "^provision: stopped by SIGINT: 6 of 12 domains done (in the report), 6 not started: i6.example, i7.example, i8.example, i9.example, i10.example, i11.example$" \
	"$T/int.err" "SIGINT: stderr says 6 of 12 done and names the 6 not started"
check "SIGINT: the report holds i0..i5, all applied, in order, and says stopped" python3 - "$T/int.out" "$T/int.err" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
assert d.get("stopped") == "SIGINT", d.get("stopped")
got = [(x["domain"], x["status"]) for x in d["domains"]]
assert got == [("i%d.example." % i, "applied") for i in range(6)], got
# the stderr line agrees with the report
m = re.search(r"stopped by SIGINT: (\d+) of (\d+) domains done", open(sys.argv[2]).read())
assert m and int(m.group(1)) == len(got) and int(m.group(2)) == 12, m and m.groups()
PY
fake_ctl "$IP" GET /__fake/state >"$T/int-after.json"
check "SIGINT: the held ones finished after the release: i0..i5 merged, no other" python3 - "$T/int-after.json" <<'PY'
import json, sys
m = sorted(z["name"] for z in json.load(open(sys.argv[1]))["zones"]
           if any("include:mailgun.org" in r["content"] for r in z["records"]))
assert m == ["i%d.example" % i for i in range(6)], m
PY
for i in 6 7 8 9 10 11; do
	nogrep_file "$(iid i$i.example)\|name=i$i.example" "$T/fake-int.log" "SIGINT: i$i.example never asked"
done

# ---- 3a. zone files: 50 at once against -j 1 on an identical copy ----
Z=$T/zonefile
mkdir -p "$Z/src/zones"
python3 - "$Z/src" $N "$T/sync.json" <<'PY'
"""50 zone files in mixed states; some missing, unreadable (a directory),
malformed, with $INCLUDE; expect.json: domain -> status."""
import json, os, sys
out, n, sync = sys.argv[1], int(sys.argv[2]), json.load(open(sys.argv[3]))
KINDS = ["fresh", "merge", "sync", "partial", "fresh", "clash", "merge", "overlimit",
         "missing", "twospf", "dir", "malformed", "include", "fresh", "merge", "sync"]
STATUS = {"fresh": "applied", "merge": "applied", "sync": "in_sync", "partial": "applied",
          "clash": "refused", "overlimit": "refused", "twospf": "refused",
          "missing": "error", "dir": "error", "malformed": "error", "include": "error"}
expect, doms = {}, []
for i in range(n):
    d = "z%02d.example" % i
    k = KINDS[i % len(KINDS)]
    doms.append(d)
    expect[d + "."] = STATUS[k]
    f = "%s/zones/%s.zone" % (out, d)
    if k == "missing":
        continue
    if k == "dir":
        os.mkdir(f)
        continue
    body = ["$ORIGIN %s." % d, "$TTL 3600",
            "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300",
            "  IN NS ns1", "ns1 IN A 192.0.2.53", "www IN A 192.0.2.80 ; kept"]
    q = lambda v: " ".join('"%s"' % v[j:j + 255] for j in range(0, len(v), 255))
    if k == "merge":
        body += ['@ IN TXT "v=spf1 ip4:192.0.2.%d -all"' % (i + 1), '@ 300 IN TXT "verify-%d"' % i]
    elif k == "sync":
        body += ['@ IN TXT "%s"' % sync["spf"], "pic._domainkey IN TXT %s" % q(sync["dkim"]),
                 '_dmarc IN TXT "%s"' % sync["dmarc"].replace("@DOMAIN@", d),
                 "email.mg3 IN CNAME mailgun.org."]
    elif k == "partial":
        body += ["pic._domainkey IN TXT %s" % q(sync["dkim"]), '_dmarc IN TXT "v=DMARC1; p=none"']
    elif k == "clash":
        body += ["email.mg3 IN A 192.0.2.99"]
    elif k == "overlimit":
        body += ['@ IN TXT "v=spf1 include:four.spf.test include:four.spf.test -all"']
    elif k == "twospf":
        body += ['@ IN TXT "v=spf1 -all"', '@ IN TXT "v=spf1 ip4:192.0.2.1 -all"']
    elif k == "malformed":
        body += ["bad IN A 192.0.2.300"]
    elif k == "include":
        body += ["$INCLUDE other.zone"]
    open(f, "w").write("\n".join(body) + "\n")
json.dump(expect, open(out + "/../expect.json", "w"))
open(out + "/../domains.txt", "w").write("\n".join(doms) + "\n")
with open(out + "/p.cfg", "w") as f:
    f.write('providers: { local = { type = "zonefile"; directory = "zones"; @CONC@ }; };\n')
    f.write("domains = (\n%s\n);\n" % ",\n".join(
        '  { name = "%s"; provider = "local"; }' % d for d in doms))
PY
for x in ref con dry; do
	cp -r "$Z/src" "$Z/$x.d"
	sed -i "s|@CONC@|$(conc 8)|" "$Z/$x.d/p.cfg"
done
bg=
run_bg "$Z/ref" -c "$Z/ref.d/p.cfg" $(J 1)
run_bg "$Z/con" -c "$Z/con.d/p.cfg"
wait $bg
python3 - "$Z" >"$Z/verdicts" 2>&1 <<'PY'
import json, sys
dr = sys.argv[1]
order = [d + "." for d in open(dr + "/domains.txt").read().split()]
expect = json.load(open(dr + "/expect.json"))
rc = [open("%s/%s.rc" % (dr, k)).read().strip() for k in ("ref", "con")]
print(("PASS" if rc[0] == rc[1] == "1" else "FAIL") + " zonefile: exit 1 both (reference %s, concurrent %s)" % tuple(rc))
try:
    ref, con = (json.load(open("%s/%s.json" % (dr, k))) for k in ("ref", "con"))
except ValueError as e:
    print("FAIL zonefile: JSON output: %s" % e)
    sys.exit(0)
got = [d["domain"] for d in con["domains"]]
print(("PASS" if got == order else "FAIL") + " zonefile: concurrent domains array in configuration order")
r = {d["domain"]: d for d in ref["domains"]}
c = {d["domain"]: d for d in con["domains"]}
bad = ["%s %s want %s" % (d, r.get(d, {}).get("status"), expect[d]) for d in order if r.get(d, {}).get("status") != expect[d]]
print(("PASS" if not bad else "FAIL") + " zonefile: the reference has the designed outcomes")
for b in bad[:8]:
    print("#   " + b)
diff = [d for d in order if r.get(d) != c.get(d)]
print(("PASS" if not diff else "FAIL") + " zonefile: every domain's report (status, changes, spf, diagnostics) the same as with -j 1" +
      ("" if not diff else " (differs: %s)" % " ".join(diff[:10])))
for d in diff[:2]:
    print("#   reference  %s" % json.dumps(r.get(d))[:400])
    print("#   concurrent %s" % json.dumps(c.get(d))[:400])
e = [sorted(l for l in open("%s/%s.err" % (dr, k)).read().splitlines() if l.startswith("provision: ")) for k in ("ref", "con")]
print(("PASS" if e[0] == e[1] else "FAIL") + " zonefile: stderr gives the same %d reason lines" % len(e[0]))
for l in sorted(set(e[0]) ^ set(e[1]))[:6]:
    print("#   " + l)
PY
verdicts "$Z/verdicts"
# the files themselves: zone files, their .bak, nothing else left behind
ftree() { (cd "$1/zones" && find . | sort && find . -type f ! -name '*.lock' | sort | xargs md5sum) >"$2"; }
ftree "$Z/ref.d" "$Z/ref.tree"
ftree "$Z/con.d" "$Z/con.tree"
expect_same_file "$Z/ref.tree" "$Z/con.tree" "zonefile: the same files with the same bytes as with -j 1"
check "zonefile: zones were written ($(grep -c '\.zone$' "$Z/con.tree") zone files, $(grep -c 'zone\.bak$' "$Z/con.tree") backups)" \
	test "$(grep -c '\.bak$' "$Z/con.tree")" -ge 20
# text output keeps the order too (dry run: nothing written)
"$PROVISION" -c "$Z/dry.d/p.cfg" --resolver "$KNOT_ADDR" --dry-run $(J 1) >"$Z/dry-ref.txt" 2>"$Z/dry-ref.err"
"$PROVISION" -c "$Z/dry.d/p.cfg" --resolver "$KNOT_ADDR" --dry-run >"$Z/dry-con.txt" 2>"$Z/dry-con.err"
expect_same_file "$Z/dry-ref.txt" "$Z/dry-con.txt" "zonefile: the text report of a concurrent dry run is byte for byte the -j 1 one"
check "zonefile: ... and names the 50 domains in configuration order" test "$(sed -n 's/^\(z[0-9]*\.example\)\. (provider.*/\1/p' "$Z/dry-con.txt" | tr '\n' ' ')" = "$(tr '\n' ' ' <"$Z/domains.txt")"

# ---- 3b. RFC 2136 against Knot: 12 zones at once against -j 1 ----
SECRET=$(tsig_secret)
export PROVISION_TSIG_SECRET="$SECRET"
R=$T/rfc2136
RZ="r00.test r01.test r02.test r03.test r04.test r05.test r06.test r07.test r08.test r09.test deniedr10.test r11.test"
rzones() { # DIR: the 12 zones, in mixed states
	mkdir -p "$1"
	for z in $RZ; do
		case $z in
		r01.* | r05.* | r09.*) dyn_zone "$1" $z "@	TXT	\"v=spf1 ip4:192.0.2.10 ~all\"
@	600	TXT	\"verify-$z\"
www	A	192.0.2.80" ;;
		r03.*) dyn_zone "$1" $z "email.mg3	A	192.0.2.99" ;;
		r07.*) dyn_zone "$1" $z "@	TXT	\"v=spf1 include:four.spf.test include:four.spf.test -all\"" ;;
		*) dyn_zone "$1" $z ;;
		esac
	done
}
rzones "$R/kref"
rzones "$R/kcon"
KREF=$(free_port)
knotp_start "$R/kref" "$KREF" "$SECRET" $RZ || not_ok "rfc2136: reference Knot starts"
KCON=$(free_port)
knotp_start "$R/kcon" "$KCON" "$SECRET" $RZ || not_ok "rfc2136: Knot starts"
for x in ref con; do
	mkdir -p "$R/$x.d"
	port=$([ $x = ref ] && echo "$KREF" || echo "$KCON")
	{
		echo "providers: { knot = { type = \"rfc2136\"; server = \"127.0.0.1:$port\"; tsig_name = \"provision-key\";"
		echo "  tsig_algorithm = \"hmac-sha256\"; tsig_secret_env = \"PROVISION_TSIG_SECRET\"; $(conc 8) }; };"
		echo 'domains = ('
		for z in $RZ; do echo "  { name = \"$z\"; provider = \"knot\"; },"; done | sed '$ s/,$//'
		echo ');'
	} >"$R/$x.d/p.cfg"
done
bg=
run_bg "$R/ref" -c "$R/ref.d/p.cfg" $(J 1)
run_bg "$R/con" -c "$R/con.d/p.cfg"
wait $bg
# the managed names of every zone as the server answers them
rdump_port() { _rp=$1; for z in $RZ; do for q in SOA:$z TXT:$z TXT:pic._domainkey.$z TXT:_dmarc.$z CNAME:email.mg3.$z A:email.mg3.$z; do
	echo "${q#*:} ${q%%:*} $(kdig @127.0.0.1 -p "$_rp" +tcp +norec +short "${q%%:*}" "${q#*:}" | sort | tr '\n' ' ')"
done; done; }
rdump_port "$KREF" >"$R/ref.dns"
rdump_port "$KCON" >"$R/con.dns"
printf '%s\n' $RZ >"$R/domains.txt"
python3 - "$R" "$KREF" "$KCON" >"$R/verdicts" 2>&1 <<'PY'
import json, sys
dr = sys.argv[1]
# the two servers' ports are the only difference allowed
ports = {"ref": sys.argv[2], "con": sys.argv[3]}
order = [d + "." for d in open(dr + "/domains.txt").read().split()]
rc = [open("%s/%s.rc" % (dr, k)).read().strip() for k in ("ref", "con")]
print(("PASS" if rc[0] == rc[1] == "1" else "FAIL") + " rfc2136: exit 1 both (reference %s, concurrent %s)" % tuple(rc))
try:
    ref, con = (json.loads(open("%s/%s.json" % (dr, k)).read().replace(
        "127.0.0.1:" + ports[k], "127.0.0.1:PORT")) for k in ("ref", "con"))
except ValueError as e:
    print("FAIL rfc2136: JSON output: %s" % e)
    sys.exit(0)
print(("PASS" if [d["domain"] for d in con["domains"]] == order else "FAIL") +
      " rfc2136: concurrent domains array in configuration order")
r = {d["domain"]: d for d in ref["domains"]}
c = {d["domain"]: d for d in con["domains"]}
st = {}
for d in order:
    st[r[d]["status"]] = st.get(r[d]["status"], 0) + 1
want = {"applied": 9, "refused": 2, "error": 1}
print(("PASS" if st == want else "FAIL") + " rfc2136: the reference has the designed outcomes (%s)" % json.dumps(st))
diff = [d for d in order if r.get(d) != c.get(d)]
print(("PASS" if not diff else "FAIL") + " rfc2136: every domain's report the same as with -j 1" +
      ("" if not diff else " (differs: %s)" % " ".join(diff)))
for d in diff[:2]:
    print("#   reference  %s" % json.dumps(r.get(d))[:400])
    print("#   concurrent %s" % json.dumps(c.get(d))[:400])
PY
verdicts "$R/verdicts"
expect_same_file "$R/ref.dns" "$R/con.dns" "rfc2136: every zone's managed names (and SOA serial) the same as with -j 1"
check "rfc2136: the updates landed (9 SPF records with the include)" test "$(grep -c 'include:mailgun.org' "$R/con.dns")" -ge 9
finish
