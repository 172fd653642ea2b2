#!/bin/bash
# Runs cmocka test binaries; prints one summary line a binary and a total.
# usage: run-unit.sh LABELDIR BIN...
dir=$1; shift
pass=0; fail=0; failed=()
for t in "$@"; do
    out=$("$t" 2>&1); rc=$?
    n=$(grep -c '^\[       OK \]' <<<"$out")
    f=$(grep -c '^\[  FAILED  \]' <<<"$out" || true)
    if [ $rc -ne 0 ]; then
        echo "$out"; failed+=("$t"); fail=$((fail + (f > 0 ? f : 1)))
    fi
    pass=$((pass + n))
    printf '%-40s %s\n' "$(basename "$t")" "$([ $rc -eq 0 ] && echo "ok ($n)" || echo FAILED)"
done
echo "unit ($dir): $pass passed, $fail failed"
[ ${#failed[@]} -eq 0 ]
