#!/bin/bash
# Runs a pytest suite with Debian's python3 (the python3 on PATH may be a
# build without python3-requests/selenium). Exit 5 (no tests) is a failure.
cd "$(dirname "$0")/.."
/usr/bin/python3 -m pytest -q -p no:cacheprovider "$@"
