#!/bin/sh
# The README's main job: a dry run of config/example.cfg against the example
# zone (config/zones/example.com.zone) through the zone-file provider.
#
# The SPF lookup count needs DNS. So that the example gives the same plan on
# every machine, online or not, its DNS (config/dns/: a copy of the
# service's SPF tree, and the example zone as it is live before the change)
# is served by a throw-away Knot server on a loopback
# port and passed with --resolver. Against the live tree, run
#   ./provision --dry-run -c config/example.cfg
# which asks the system's resolvers.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/tests/lib/common.sh"
. "$TOP/tests/lib/knot.sh"
cp -rL "$TOP/config/dns" "$T/dns"
knot_start "$T/dns" >/dev/null || { echo "example: knotd did not start" >&2; exit 1; }
echo "example: DNS for SPF counting from config/dns/ on $KNOT_ADDR (Knot)" >&2
"$TOP/provision" --dry-run --config "$TOP/config/example.cfg" --resolver "$KNOT_ADDR" "$@"
