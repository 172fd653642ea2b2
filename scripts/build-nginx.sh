#!/bin/bash
# Builds the nginx dynamic module against Debian's nginx-dev.
#   scripts/build-nginx.sh BUILD_DIR      (the Makefile: "build")
# Output: BUILD_DIR/ngx_http_twostep_module.so
#
# NGX_TWOSTEP_ASAN=1 builds an ASan/UBSan variant instead into
# BUILD_DIR/asan-nginx/ngx_http_twostep_module.so, linked against
# BUILD_DIR/libtwostep-asan.a (made here through the top-level Makefile).
# nginx itself is not instrumented: run it with
#   LD_PRELOAD=$(gcc -print-file-name=libasan.so)
# (tests/integration/server_nginx.py does this when TWOSTEP_NGINX_ASAN=1).
#
# nginx's configure is slow, so it runs only when its output is missing or
# older than ngx_twostep/config; `make modules` then rebuilds what changed.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-build}"
[ "${build#/}" != "$build" ] || build="$root/$build"
src=/usr/share/nginx/src

if [ ! -f "$src/conf_flags" ]; then
    echo "build-nginx.sh: $src/conf_flags missing: install nginx-dev" >&2
    exit 2
fi
# shellcheck disable=SC1091
. "$src/conf_flags"

if [ "${NGX_TWOSTEP_ASAN:-0}" = 1 ]; then
    builddir="$build/asan-nginx/obj"
    out="$build/asan-nginx/ngx_http_twostep_module.so"
    lib="$build/libtwostep-asan.a"
    make --no-print-directory -C "$root" "${lib#$root/}" >/dev/null
    asan="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
    cc_opt=(--with-cc-opt="-g -O1 $asan" --with-ld-opt="$asan")
else
    builddir="$build/nginx"
    out="$build/ngx_http_twostep_module.so"
    lib="$build/libtwostep.a"
    cc_opt=(--with-cc-opt="-g -O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIC")
fi
[ -f "$lib" ] || { echo "build-nginx.sh: $lib missing (make ${lib#$root/})" >&2; exit 2; }

stamp="$builddir/twostep.configured"
if [ ! -f "$builddir/Makefile" ] || [ ! -f "$stamp" ] \
   || [ "$root/ngx_twostep/config" -nt "$stamp" ] \
   || [ "$(cat "$stamp")" != "$lib" ]; then
    mkdir -p "$builddir"
    (cd "$src" && NGX_TWOSTEP_LIB="$lib" ./configure "${NGX_CONF_FLAGS[@]}" \
        "${cc_opt[@]}" \
        --add-dynamic-module="$root/ngx_twostep" --builddir="$builddir") \
        > "$builddir/configure.log" 2>&1 \
        || { cat "$builddir/configure.log" >&2; exit 1; }
    echo "$lib" > "$stamp"
fi

# The core library is not a make dependency of nginx's Makefile: relink when
# it is newer than the module.
so="$builddir/ngx_http_twostep_module.so"
if [ -f "$so" ] && [ "$lib" -nt "$so" ]; then rm -f "$so"; fi

make -f "$builddir/Makefile" -C "$src" modules
mkdir -p "$(dirname "$out")"
# Replace, never overwrite in place: a running nginx maps the old file, and
# writing into it crashes its workers.
cp "$so" "$out.tmp" && mv -f "$out.tmp" "$out"
echo "built $out"
