#!/bin/bash
# Builds the Apache module with apxs: scripts/build-apache.sh BUILD_DIR
# (the Makefile passes "build"). The sources are copied into BUILD_DIR/apache
# first so that apxs/libtool leave their .lo/.la/.libs out of the source
# tree. Output: BUILD_DIR/mod_twostep.so, linked with BUILD_DIR/libtwostep.a
# (the core and the store executor). --exclude-libs keeps the core's symbols
# private to the module, so another module can never bind to them.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
ROOT=$(pwd)
OUT="$ROOT/$BUILD/apache"
APXS=${APXS:-apxs}
PKGS="hiredis libqrencode openssl"

if [ ! -f "$ROOT/$BUILD/libtwostep.a" ]; then
    echo "build-apache.sh: $BUILD/libtwostep.a is missing (make $BUILD/libtwostep.a)" >&2
    exit 1
fi
rm -rf "$OUT"
mkdir -p "$OUT"
cp mod_twostep/*.c mod_twostep/*.h "$OUT/"

WARN="-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter"
CFLAGS=( -Wc,-std=gnu11 )
for w in $WARN $(pkg-config --cflags $PKGS); do CFLAGS+=( "-Wc,$w" ); done
LIBS=( "-Wl,--exclude-libs,ALL" "$ROOT/$BUILD/libtwostep.a" $(pkg-config --libs $PKGS) -lpthread )

cd "$OUT"
"$APXS" -c -o mod_twostep.la -I"$ROOT/common" -I"$ROOT/store" "${CFLAGS[@]}" \
    mod_twostep.c twostep_child.c "${LIBS[@]}"
# Apache resolves ap_*/apr_* at load time; anything else left undefined is
# a part of the core that libtwostep.a lacks: fail now, not at LoadModule.
missing=$(nm -u .libs/mod_twostep.so | awk '$2 ~ /^ts_/ {print $2}')
if [ -n "$missing" ]; then
    echo "build-apache.sh: libtwostep.a lacks:" $missing >&2
    exit 1
fi
# Replace, never overwrite in place: a running Apache maps the old file.
cp .libs/mod_twostep.so "$ROOT/$BUILD/mod_twostep.so.tmp"
mv -f "$ROOT/$BUILD/mod_twostep.so.tmp" "$ROOT/$BUILD/mod_twostep.so"
echo "built $BUILD/mod_twostep.so"
