#!/usr/bin/env bash
# run-fuzz.sh FUZZER SEEDGEN SECONDS [CAPTURE_DIR] — bounded libFuzzer run for the test suite.
#
# Builds a fresh seed corpus with SEEDGEN (which writes seeds into the directory it is given,
# reading the public captures too when CAPTURE_DIR exists), fuzzes for SECONDS, and fails if
# libFuzzer found a crash, a leak or a sanitizer report. The working corpus lives in the
# build tree, one per fuzzer (never committed); a crash input is left next to it as crash-*
# for reproduction: `FUZZER crash-...`.
set -euo pipefail
fuzzer=$(realpath "$1") seedgen=$(realpath "$2") seconds=$3 captures=${4:-}
work=$(dirname "$fuzzer")/fuzz-work/$(basename "$fuzzer")
rm -rf "$work/seeds" && mkdir -p "$work/seeds" "$work/corpus"
if [ -n "$captures" ] && [ -d "$captures" ]; then
    "$seedgen" "$work/seeds" "$captures"
else
    "$seedgen" "$work/seeds"
fi
cd "$work"
# -rss_limit_mb guards against unbounded allocation; -timeout against infinite loops.
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -max_len=8192 \
    -print_final_stats=1 corpus seeds
