#!/bin/bash
# `make bench` (after the Makefile built everything): builds the core's
# micro-benchmark with the Makefile's flags, then runs the driver, which
# starts a private Redis, nginx and Apache and prints one table.
#   BENCH_ARGS="--rounds 3 --duration 3"   passed to tests/bench/bench.py
#   BENCH_UPDATE=1                         also rewrite the table in
#                                          BENCHMARKS.md
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS="hiredis libqrencode openssl"
mkdir -p build/bench
echo "  LD      build/bench/microbench"
cc -std=gnu11 -g -O2 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wpointer-arith \
   -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter \
   -Werror=implicit-function-declaration -Icommon -Istore \
   $(pkg-config --cflags $PKGS) tests/bench/microbench.c build/libtwostep.a \
   $(pkg-config --libs $PKGS) -lpthread -o build/bench/microbench

args=(${BENCH_ARGS:-})
if [ "${BENCH_UPDATE:-0}" = 1 ]; then
    args+=(--update-md BENCHMARKS.md)
fi
exec /usr/bin/python3 tests/bench/bench.py "${args[@]}"
