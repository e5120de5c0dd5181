# Real primaries for the rfc2136 provider tests: Knot and BIND started on
# loopback ports with TSIG keys and update policies that allow exactly the
# four managed names and types. POSIX sh; source after tests/lib/common.sh.
#
#   tsig_secret          a fresh base64 secret (32 bytes)
#   dyn_zone DIR NAME [RECORDS]
#                        write DIR/NAME.zone (SOA, NS ns -> 127.0.0.1, ns2 ->
#                        127.0.0.2, and the extra master-file lines given)
#   knotp_start DIR PORT SECRET ZONES...
#                        Knot primary on 127.0.0.1@PORT for ZONES (files in
#                        DIR); key provision-key may update the managed
#                        names of every zone except those starting "denied"
#                        (served, not updatable); zone files written back
#                        at once. Exports KNOTP_PID.
#   knots_start DIR PORT PRIMARYPORT ZONES...
#                        Knot secondary on 127.0.0.2@PORT, transferring
#                        ZONES from the primary (NOTIFY). Exports KNOTS_PID.
#   bind_start DIR PORT KEYFILE ZONES...
#                        named on 127.0.0.1 PORT, same policy, key from the
#                        BIND key file KEYFILE. Exports BIND_PID.
#   dns_wait ADDR PORT ZONE
#                        until ADDR answers SOA ZONE (about 10 s at most).

tsig_secret() {
	python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())'
}

dyn_zone() {
	_dz=$1/$2.zone
	{
		echo "\$ORIGIN $2."
		echo "\$TTL 3600"
		echo "@	SOA	ns hostmaster 1 7200 3600 1209600 300"
		echo "@	NS	ns"
		echo "ns	A	127.0.0.1"
		[ -n "${3:-}" ] && printf '%s\n' "$3"
	} >"$_dz"
}

dns_wait() {
	_dw=0
	until kdig @"$1" -p "$2" +tcp +norec +timeout=1 +retry=0 SOA "$3" 2>/dev/null |
		grep -q 'status: NOERROR'; do
		_dw=$((_dw + 1))
		[ "$_dw" -ge 50 ] && return 1
		sleep 0.2
	done
}

# _knot_head DIR LISTEN: the server, log and database sections.
_knot_head() {
	mkdir -p "$1/run" "$1/db"
	echo "server:"
	echo "    rundir: \"$1/run\""
	echo "    listen: $2"
	echo "    udp-workers: 1"
	echo "    tcp-workers: 2"
	echo "    background-workers: 1"
	echo "log:"
	echo "  - target: \"$1/knot.log\""
	echo "    any: info"
	echo "database:"
	echo "    storage: \"$1/db\""
}

# _knot_run DIR ADDR PORT ZONES...: knotd on DIR/knot.conf until every zone
# answers (its pid in _KPID, killed on exit); its log on failure.
_knot_run() {
	_rd=$1 _ra=$2 _rp=$3
	shift 3
	/usr/sbin/knotd -c "$_rd/knot.conf" >>"$_rd/knot.log" 2>&1 &
	_KPID=$!
	on_exit "kill $_KPID 2>/dev/null; wait $_KPID 2>/dev/null"
	for _z in "$@"; do
		dns_wait "$_ra" "$_rp" "$_z" || { sed 's/^/#   knot: /' "$_rd/knot.log" >&2; return 1; }
	done
}

# The four managed names of a zone, relative (Knot and BIND policies).
_managed="@ _dmarc pic._domainkey email.mg3"

knotp_start() {
	_kd=$1 _kp=$2 _ks=$3
	shift 3
	{
		_knot_head "$_kd" 127.0.0.1@$_kp
		echo "key:"
		echo "  - id: provision-key"
		echo "    algorithm: hmac-sha256"
		echo "    secret: $_ks"
		echo "remote:"
		echo "  - id: secondary"
		echo "    address: 127.0.0.2@$_kp"
		echo "acl:"
		for _z in "$@"; do
			# the apex by its FQDN; the others relative to the zone
			echo "  - id: update-$_z"
			echo "    key: provision-key"
			echo "    action: update"
			echo "    update-owner: name"
			echo "    update-owner-match: equal"
			echo "    update-owner-name: [ $(echo $_managed | sed "s/@/$_z./; s/ /, /g") ]"
			echo "    update-type: [ TXT, CNAME ]"
		done
		echo "  - id: transfer"
		echo "    address: 127.0.0.2"
		echo "    action: transfer"
		echo "template:"
		echo "  - id: default"
		echo "    storage: \"$_kd\""
		echo "    zonefile-sync: 0"
		echo "    zonefile-load: whole"
		echo "    journal-content: changes"
		echo "    semantic-checks: on"
		echo "    serial-policy: increment"
		echo "zone:"
		for _z in "$@"; do
			echo "  - domain: \"$_z.\""
			echo "    file: \"$_kd/$_z.zone\""
			case $_z in
			denied*) echo "    acl: [ transfer ]" ;;
			*) echo "    acl: [ update-$_z, transfer ]"
			   echo "    notify: secondary" ;;
			esac
		done
	} >"$_kd/knot.conf"
	_knot_run "$_kd" 127.0.0.1 "$_kp" "$@" && KNOTP_PID=$_KPID
}

knots_start() {
	_kd=$1 _kp=$2 _kpp=$3
	shift 3
	{
		_knot_head "$_kd" 127.0.0.2@$_kp
		echo "remote:"
		echo "  - id: primary"
		echo "    address: 127.0.0.1@$_kpp"
		echo "    via: 127.0.0.2"
		echo "acl:"
		echo "  - id: notify"
		echo "    address: 127.0.0.1"
		echo "    action: notify"
		echo "template:"
		echo "  - id: default"
		echo "    storage: \"$_kd\""
		echo "    master: primary"
		echo "    acl: notify"
		echo "    zonefile-sync: -1"
		echo "    journal-content: changes"
		echo "zone:"
		for _z in "$@"; do
			echo "  - domain: \"$_z.\""
		done
	} >"$_kd/knot.conf"
	_knot_run "$_kd" 127.0.0.2 "$_kp" "$@" && KNOTS_PID=$_KPID
}

bind_start() {
	_bd=$1 _bp=$2 _bk=$3
	shift 3
	{
		echo "options {"
		echo "	directory \"$_bd\";"
		echo "	pid-file \"$_bd/named.pid\";"
		echo "	session-keyfile \"$_bd/session.key\";"
		echo "	managed-keys-directory \"$_bd\";"
		echo "	listen-on port $_bp { 127.0.0.1; };"
		echo "	listen-on-v6 { none; };"
		echo "	recursion no;"
		echo "	dnssec-validation no;"
		echo "	notify no;"
		echo "};"
		echo "controls { };"
		echo "include \"$_bk\";"
		for _z in "$@"; do
			echo "zone \"$_z\" {"
			echo "	type primary;"
			echo "	file \"$_bd/$_z.zone\";"
			case $_z in
			denied*) ;;
			*)	echo "	update-policy {"
				for _n in $_managed; do
					_t=TXT
					[ "$_n" = email.mg3 ] && _t=CNAME
					_o=$_n.$_z.
					[ "$_n" = @ ] && _o=$_z.
					echo "		grant provision-key name $_o $_t;"
				done
				echo "	};" ;;
			esac
			echo "};"
		done
	} >"$_bd/named.conf"
	/usr/sbin/named -g -c "$_bd/named.conf" >>"$_bd/named.log" 2>&1 &
	BIND_PID=$!
	on_exit "kill $BIND_PID 2>/dev/null; wait $BIND_PID 2>/dev/null"
	for _z in "$@"; do
		dns_wait 127.0.0.1 "$_bp" "$_z" || { sed 's/^/#   named: /' "$_bd/named.log" >&2; return 1; }
	done
}
