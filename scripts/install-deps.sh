#!/bin/sh
# Install the Debian packages provision needs to build and test, when they
# are missing. Debian 12, as root (or with sudo). Quiet when all are there.
set -eu
PKGS="gcc make pkg-config libcurl4-openssl-dev libcjson-dev libconfig-dev
libldns-dev libssl-dev libpsl-dev libxml2-dev libcmocka-dev
libarchive-dev libgmime-3.0-dev
knot knot-dnsutils bind9-utils python3 python3-yaml openssl clang
python3-aiosmtpd dovecot-imapd python3-spf python3-dns
bind9 faketime
libclang-rt-14-dev"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
