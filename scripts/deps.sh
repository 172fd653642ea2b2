#!/bin/sh
# Installs the Debian 12 packages twostep needs, when any is missing.
# Idempotent and quiet when everything is there; needs root otherwise.
set -e
PKGS="build-essential pkg-config clang libclang-rt-14-dev
      nginx nginx-dev apache2 apache2-dev apache2-utils
      libhiredis-dev libssl-dev libqrencode-dev libcmocka-dev
      redis-server oathtool zbar-tools librsvg2-bin
      chromium chromium-driver python3-selenium python3-pytest python3-requests
      wrk valgrind"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "twostep: installing missing Debian packages:$missing"
if [ "$(id -u)" != 0 ]; then
    echo "twostep: run as root (or: sudo apt-get install$missing)" >&2
    exit 2
fi
export DEBIAN_FRONTEND=noninteractive
# Debian starts the system services on install (nginx and Apache would both
# want port 80); twostep runs its own private servers on high loopback ports,
# so the packages are installed without starting anything.
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
fi
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
for s in nginx apache2 redis-server; do
    systemctl disable --now "$s" >/dev/null 2>&1 || service "$s" stop >/dev/null 2>&1 || true
done
