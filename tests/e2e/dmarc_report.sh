#!/bin/sh
# provision dmarc-report: every real sample of ../shared/dmarc-reports (XML,
# gzip, zip, DMARC 1.0, DMARCbis, the draft-era form) with its digest
# checked against totals counted here with Python's own XML, gzip and zip
# readers; the same reports inside e-mail messages (base64 and
# quoted-printable); duplicates counted once; bad input (not XML, not a
# report, invalid UTF-8, negative and absurd counts, a future date range, a
# gzip bomb, a zip of many members) refused one line each, naming the file
# and part, the rest still read, exit 1; --recommend on each side of every
# threshold; --imap against Dovecot, with and without --mark-seen.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/mail.sh"
. "$TOP/tests/lib/knot.sh"

# The samples of ../shared/dmarc-reports, kept in the repository (README).
SAMPLES=${DMARC_SAMPLES:-$TOP/tests/data/dmarc-reports}
R() { "$PROVISION" dmarc-report "$@"; }

# expect_digest OUT FILES...: the JSON digest in OUT equals an independent
# count of FILES (reports deduplicated by org and report_id).
cat >"$T/count.py" <<'PY'
import gzip, io, json, sys, zipfile
import xml.etree.ElementTree as ET

def local(tag):
    return tag.rsplit("}", 1)[-1]

def find(node, *path):
    for name in path:
        if node is None:
            return None
        node = next((c for c in node if local(c.tag) == name), None)
    return node

def txt(node, *path):
    n = find(node, *path)
    return (n.text or "").strip() if n is not None else ""

def reports(data):
    if data[:2] == b"\x1f\x8b":
        yield from reports(gzip.decompress(data))
    elif data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for n in z.namelist():
                yield from reports(z.read(n))
    else:
        yield ET.fromstring(data)

doc = json.load(open(sys.argv[1]))
want, seen = {}, set()
for path in sys.argv[2:]:
    for root in reports(open(path, "rb").read()):
        key = (txt(root, "report_metadata", "org_name"), txt(root, "report_metadata", "report_id"))
        if key in seen:
            continue
        seen.add(key)
        dom = txt(root, "policy_published", "domain").lower()
        w = want.setdefault(dom, {"messages": 0, "dmarc_pass": 0, "dkim_aligned": 0,
                                  "spf_aligned": 0, "reports": 0, "none": 0})
        w["reports"] += 1
        for rec in (c for c in root if local(c.tag) == "record"):
            n = int(txt(rec, "row", "count"))
            dk = txt(rec, "row", "policy_evaluated", "dkim") == "pass"
            sp = txt(rec, "row", "policy_evaluated", "spf") == "pass"
            w["messages"] += n
            w["dkim_aligned"] += n * dk
            w["spf_aligned"] += n * sp
            w["dmarc_pass"] += n * (dk or sp)
            w["none"] += n * (txt(rec, "row", "policy_evaluated", "disposition") in ("none", "pass"))
got = {d["domain"]: d for d in doc["domains"]}
assert sorted(got) == sorted(want), (sorted(got), sorted(want))
for dom, w in want.items():
    g = got[dom]
    for k in ("messages", "dmarc_pass", "dkim_aligned", "spf_aligned", "reports"):
        assert g[k] == w[k], (dom, k, g[k], w[k])
    assert g["dmarc_fail"] == w["messages"] - w["dmarc_pass"], g
    assert g["disposition"]["none"] == w["none"], g
    assert sum(s["count"] for s in g["sources"]) == w["messages"], g["sources"]
    counts = [s["count"] for s in g["sources"]]
    assert counts == sorted(counts, reverse=True), counts
assert doc["reports"] == len(seen), (doc["reports"], len(seen))
PY
expect_digest() { _o=$1; shift; check "$DESC: digest equals the independent count" python3 "$T/count.py" "$_o" "$@"; }

# ---- every sample, one by one ----
GOOD=""
for f in "$SAMPLES"/*.xml "$SAMPLES"/*.gz "$SAMPLES"/*.zip; do
	[ -f "$f" ] || continue
	b=$(basename "$f")
	[ "$b" = invalid_xml.xml ] && continue
	GOOD="$GOOD $f"
	DESC=$b
	expect_exit 0 "$b: read" R --format json "$f"
	expect_digest "$T/out" "$f"
	check "$b: nothing on stderr" [ ! -s "$T/err" ]
done
check "the samples are there (6 readable)" [ "$(echo $GOOD | wc -w)" -eq 6 ]

# ---- all at once, the malformed one among them ----
# shellcheck disable=SC2086
expect_exit 1 "all samples and the malformed one" R --format json $GOOD "$SAMPLES/invalid_xml.xml"
DESC="all samples"
# shellcheck disable=SC2086
expect_digest "$T/out" $GOOD
grep_file "^provision: .*invalid_xml.xml: not well-formed XML: line 5: " "$T/err" "the malformed one: file and line"
check "one line on stderr" [ "$(wc -l <"$T/err")" -eq 1 ]
check "JSON counts the refusal" python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["errors"] == 1' "$T/out"
expect_exit 1 "a directory of them" R "$SAMPLES"
grep_file "^example.com: 1979-08-07 to 2018-10-01, 5 report(s)" "$T/out" "text: the domain and its span"
grep_file "DMARC pass      125 (97.7 %): aligned DKIM 123, aligned SPF 2" "$T/out" "text: alignment"
grep_file "yours-not-aligned 109.203.100.17" "$T/out" "DKIM by another domain: yours, not aligned"
grep_file "not-you           12.20.127.122" "$T/out" "nothing passing: not you"
nogrep_file "README" "$T/err" "the directory's README is not taken for a report"

# ---- duplicates ----
f=$SAMPLES/addisonfoods.com_example.com_1536105600_1536191999.xml
cp "$f" "$T/copy.xml"
expect_exit 0 "the same report twice" R --format json "$f" "$T/copy.xml"
check "counted once" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["duplicates"] == 1 and d["reports"] == 1, d' "$T/out"
DESC="duplicates"
expect_digest "$T/out" "$f"

# ---- the same reports in e-mail messages ----
"$MAIL_PYTHON" - "$T" "$SAMPLES" <<'PY'
import email.charset, email.encoders, os, sys
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
t, s = sys.argv[1], sys.argv[2]
gz = "fastmail.com_example.com_1516060800_1516147199_102675056.xml.gz"
zp = "estadocuenta1.infonacot.gob.mx_example.com_1536853302_1536939702_2940.xml.zip"
xm = "old_draft_from_wiki.xml"
def msg(name, body, subtype, qp):
    m = MIMEMultipart()
    m["From"] = "noreply-dmarc@report.test"
    m["To"] = "dmarc@example.com"
    m["Subject"] = "Report Domain: example.com Submitter: report.test"
    m.attach(MIMEText("This is an aggregate report.\n"))
    part = MIMEApplication(body, subtype, _encoder=email.encoders.encode_quopri if qp
                           else email.encoders.encode_base64)
    part.add_header("Content-Disposition", "attachment", filename=name)
    m.attach(part)
    return m.as_bytes()
open(os.path.join(t, "gz.eml"), "wb").write(msg(gz, open(os.path.join(s, gz), "rb").read(), "gzip", False))
open(os.path.join(t, "zip.eml"), "wb").write(msg(zp, open(os.path.join(s, zp), "rb").read(), "zip", False))
open(os.path.join(t, "xml.eml"), "wb").write(msg(xm, open(os.path.join(s, xm), "rb").read(), "xml", True))
PY
for k in gz zip xml; do
	case $k in
	gz) src=$SAMPLES/fastmail.com_example.com_1516060800_1516147199_102675056.xml.gz ;;
	zip) src=$SAMPLES/estadocuenta1.infonacot.gob.mx_example.com_1536853302_1536939702_2940.xml.zip ;;
	xml) src=$SAMPLES/old_draft_from_wiki.xml ;;
	esac
	DESC="$k attachment"
	expect_exit 0 "a message with a $k attachment ($( [ $k = xml ] && echo quoted-printable || echo base64))" \
		R --format json "$T/$k.eml"
	expect_digest "$T/out" "$src"
done

# ---- bad input: one line each, naming file and part; the rest read ----
"$MAIL_PYTHON" - "$T" <<'PY'
import gzip, io, os, sys, zipfile
t = sys.argv[1]
def report(count="5", begin="1700000000", end="1700086399", extra="", rid="x"):
    return ("<?xml version=\"1.0\"?><feedback><report_metadata><org_name>t</org_name>"
            "<report_id>%s%s%s</report_id><date_range><begin>%s</begin><end>%s</end></date_range>"
            "</report_metadata><policy_published><domain>bad.test</domain><p>none</p>"
            "</policy_published><record><row><source_ip>192.0.2.1</source_ip><count>%s</count>"
            "<policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf>"
            "</policy_evaluated></row><identifiers><header_from>bad.test%s</header_from>"
            "</identifiers></record></feedback>" % (rid, count, end, begin, end, count, extra))
open(os.path.join(t, "negative.xml"), "w").write(report("-3"))
open(os.path.join(t, "absurd.xml"), "w").write(report("99999999999999"))
open(os.path.join(t, "future.xml"), "w").write(report(end="4102444800"))
open(os.path.join(t, "backwards.xml"), "w").write(report(begin="1700090000"))
open(os.path.join(t, "utf8.xml"), "wb").write(report(extra="\xff").encode("latin-1"))
open(os.path.join(t, "notreport.xml"), "w").write("<?xml version=\"1.0\"?><html><body>hi</body></html>")
open(os.path.join(t, "ok.xml"), "w").write(report(rid="ok"))
open(os.path.join(t, "bomb.xml.gz"), "wb").write(gzip.compress(b"<" + b" " * (60 * 1024 * 1024)))
with zipfile.ZipFile(os.path.join(t, "many.zip"), "w") as z:
    for i in range(150):
        z.writestr("r%03d.xml" % i, report(count=str(i + 1)))
PY
expect_exit 1 "bad input among good" R --format json "$T/negative.xml" "$T/absurd.xml" "$T/future.xml" \
	"$T/backwards.xml" "$T/utf8.xml" "$T/notreport.xml" "$T/bomb.xml.gz" "$T/many.zip" "$T/ok.xml"
grep_file "negative.xml: record 1: count '-3' is not a number of messages" "$T/err" "a negative count"
grep_file "absurd.xml: record 1: count '99999999999999' is not a number of messages" "$T/err" "an absurd count"
grep_file "future.xml: the date range ends in the future (2100-01-01" "$T/err" "a future date range"
grep_file "backwards.xml: the date range ends .* before it begins" "$T/err" "a range ending before it begins"
grep_file "utf8.xml: not well-formed XML: line 1: .*UTF-8" "$T/err" "invalid UTF-8"
grep_file "notreport.xml: not a DMARC aggregate report: the root element is <html>" "$T/err" "not a report"
grep_file "bomb.xml.gz: part data: expands to more than .* refused as a likely archive bomb" "$T/err" "a gzip bomb, capped"
grep_file "many.zip: more than 100 members: the rest is not read" "$T/err" "a zip of many members"
check "one line per refusal (8)" [ "$(wc -l <"$T/err")" -eq 8 ]
check "the rest is read: ok.xml and 100 members of many.zip" python3 - "$T/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["errors"] == 8, d["errors"]
dom = {x["domain"]: x for x in d["domains"]}["bad.test"]
assert dom["reports"] == 101, dom["reports"]
assert dom["messages"] == 5 + sum(range(1, 101)), dom["messages"]
PY

# ---- --recommend: each side of each threshold ----
# mkset DIR DAYS PASS FAIL YOURS: DAYS daily reports for example.net, each
# with PASS aligned messages, FAIL from a stranger, YOURS signed by the
# service's own domain (not aligned).
mkset() {
	rm -rf "$1"
	mkdir -p "$1"
	python3 - "$@" <<'PY'
import os, sys
d, days, ok, bad, yours = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
for i in range(days):
    b = 1764547200 + 86400 * i
    recs = [("198.61.254.10", ok, "pass", "pass", "mailgun.org", "pass"),
            ("203.0.113.66", bad, "fail", "fail", "", ""),
            ("198.61.254.11", yours, "fail", "fail", "mailgun.org", "pass")]
    x = "".join("<record><row><source_ip>%s</source_ip><count>%d</count><policy_evaluated>"
                "<disposition>none</disposition><dkim>%s</dkim><spf>%s</spf></policy_evaluated>"
                "</row><identifiers><header_from>example.net</header_from></identifiers>"
                "<auth_results><dkim><domain>%s</domain><result>%s</result></dkim></auth_results>"
                "</record>" % r for r in recs if r[1])
    open(os.path.join(d, "r%02d.xml" % i), "w").write(
        "<feedback><report_metadata><org_name>google.com</org_name><report_id>%d</report_id>"
        "<date_range><begin>%d</begin><end>%d</end></date_range></report_metadata>"
        "<policy_published><domain>example.net</domain><p>none</p></policy_published>%s"
        "</feedback>" % (i, b, b + 86399, x))
PY
}
cfg() { # POLICY-SETTINGS [REPORT-SETTINGS]
	cat >"$T/r.cfg" <<EOF
providers: { local = { type = "zonefile"; directory = "zones"; }; };
domains = ( { name = "example.net"; provider = "local"; dmarc = { $1 }; ${2:-} } );
EOF
}
advice() { # FIELD VALUE: the recommendation's FIELD is VALUE (JSON)
	python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["recommendation"]; v=a[sys.argv[2]]; assert str(v) == sys.argv[3], (sys.argv[2], v, a)' "$T/out" "$1" "$2"
}
A() { R -c "$T/r.cfg" --format json --recommend example.net "$T/set"; }
cfg 'policy = "none";'
mkset "$T/set" 14 980 20 0
expect_exit 0 "14 days, 98.0 %" A
check "ready for quarantine pct 10" advice ready True
check "the change to make" advice change 'dmarc = { policy = "quarantine"; pct = 10; };'
mkset "$T/set" 13 980 20 0
expect_exit 0 "13 days" A
check "13 days: not ready" advice ready False
mkset "$T/set" 14 979 21 0
expect_exit 0 "97.9 %" A
check "97.9 %: not ready" advice ready False
mkset "$T/set" 30 9990 0 10
expect_exit 0 "a source of yours not aligned" A
check "yours not aligned (99.9 % pass): not ready" advice ready False
cfg 'policy = "none";' 'dmarc_report = { min_days = 7; min_aligned = 90; };'
mkset "$T/set" 7 90 10 0
expect_exit 0 "configured thresholds: 7 days, 90 %" A
check "at the configured thresholds: ready" advice ready True
mkset "$T/set" 7 89 11 0
expect_exit 0 "89 % under a 90 % threshold" A
check "under the configured threshold: not ready" advice ready False
mkset "$T/set" 14 1000 0 0
for st in 'policy = "quarantine"; pct = 10;|p=quarantine pct=50|dmarc = { policy = "quarantine"; pct = 50; };' \
	  'policy = "quarantine"; pct = 50;|p=quarantine|dmarc = { policy = "quarantine"; };' \
	  'policy = "quarantine";|p=reject|dmarc = { policy = "reject"; };'; do
	now=${st%%|*} rest=${st#*|}
	cfg "$now"
	expect_exit 0 "at $now" A
	check "$now: next ${rest%%|*}" advice next "${rest%%|*}"
	check "$now: the change" advice change "${rest#*|}"
done
cfg 'policy = "reject";'
expect_exit 0 "at reject" A
check "reject: the last stage" advice next None
R -c "$T/r.cfg" --recommend example.net "$T/set" >"$T/out" 2>&1
grep_file "example.net: at p=reject, the last stage" "$T/out" "text: the last stage said"
cfg 'policy = "none";'
R -c "$T/r.cfg" --recommend example.net "$T/set" >"$T/out" 2>&1
grep_file "example.net: ready for p=quarantine pct=10 (now p=none)" "$T/out" "text: ready said"
grep_file '\[x\] at least 14 days of reports: 14' "$T/out" "text: the rule shown with its figure"
grep_file 'change the domain.s configuration to: dmarc = { policy = "quarantine"; pct = 10; };' "$T/out" "text: the change"

# ---- --resolve: the sources' reverse names, from Knot ----
mkdir -p "$T/dns"
cat >"$T/dns/254.61.198.in-addr.arpa.zone" <<'ZONE'
$ORIGIN 254.61.198.in-addr.arpa.
$TTL 300
@	SOA	ns.mailgun.test. hostmaster.mailgun.test. 1 7200 3600 1209600 300
@	NS	ns.mailgun.test.
10	PTR	mta1.mailgun.test.
ZONE
mkset "$T/set" 2 10 5 0
if knot_start "$T/dns"; then
	expect_exit 0 "--resolve" R --format json --resolve --resolver "$KNOT_ADDR" "$T/set"
	check "reverse names where there is one, null elsewhere" python3 - "$T/out" <<'PY'
import json, sys
src = {s["ip"]: s for s in json.load(open(sys.argv[1]))["domains"][0]["sources"]}
assert src["198.61.254.10"]["reverse"] == "mta1.mailgun.test.", src["198.61.254.10"]
assert src["203.0.113.66"]["reverse"] is None, src["203.0.113.66"]
PY
else
	not_ok "knot starts"
fi

# ---- --imap: the rua mailbox in Dovecot ----
if mail_have_servers; then
	mail_certs && mail_start_imap || not_ok "dovecot starts"
	for k in gz zip; do
		cp "$T/$k.eml" "$MAILDIR/new/$(date +%s).$k.mail.test"
	done
	chown -R nobody: "$MAILDIR"
	chmod 644 "$MAILDIR"/new/*
	export DMARC_PW="$MAIL_PASSWORD"
	cat >"$T/i.cfg" <<EOF
providers: { local = { type = "zonefile"; directory = "zones"; }; };
domains = ( { name = "example.com"; provider = "local";
  smtp = { host = "127.0.0.1"; port = 587; user = "$MAIL_USER"; password_env = "DMARC_PW";
           ca_file = "pki/ca.pem"; imap = { host = "127.0.0.1"; port = $IMAP_PORT; }; }; } );
EOF
	I() { R -c "$T/i.cfg" --format json --imap "$@"; }
	DESC="imap"
	expect_exit 0 "imap: the unseen reports" I
	expect_digest "$T/out" "$SAMPLES/fastmail.com_example.com_1516060800_1516147199_102675056.xml.gz" \
		"$SAMPLES/estadocuenta1.infonacot.gob.mx_example.com_1536853302_1536939702_2940.xml.zip"
	check "imap: both messages read" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["reports"] == 2, d' "$T/out"
	expect_exit 0 "imap: again, without --mark-seen" I
	check "imap: still unseen, still 2" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["reports"] == 2, d' "$T/out"
	# Maildir keeps the flags in the file names: ":2,S" is \Seen
	check "imap: both messages kept" [ "$(ls "$MAILDIR/new" "$MAILDIR/cur" | grep -c 'mail.test')" -eq 2 ]
	check "imap: none flagged seen" [ "$(ls "$MAILDIR/cur" | grep -c ':2,[A-Z]*S')" -eq 0 ]
	expect_exit 0 "imap: --mark-seen" I --mark-seen
	check "imap: --mark-seen flagged both" [ "$(ls "$MAILDIR/cur" | grep -c ':2,[A-Z]*S')" -eq 2 ]
	expect_exit 0 "imap: after --mark-seen" I
	check "imap: nothing unseen is left" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["reports"] == 0, d' "$T/out"
	expect_exit 0 "imap: --since finds seen ones" I --since 2000-01-01
	check "imap: --since 2000-01-01 reads both" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["reports"] == 2, d' "$T/out"
	nogrep_file "$MAIL_PASSWORD" "$T/err" "imap: the password never printed"
	DMARC_PW=wrong expect_exit 1 "imap: a wrong password" I
	grep_file "^provision: imap 127.0.0.1:$IMAP_PORT (tester@mail.test): " "$T/err" "imap: the failure names server and user"
else
	not_ok "dovecot and aiosmtpd are needed for the --imap test (scripts/install-deps.sh)"
fi
finish
