#!/usr/bin/env bash
# test.sh — the whole test suite, from a fresh Debian 12 machine or a working tree.
#
#   ./test.sh            setup (idempotent), sanitizer build, unit + integration tests,
#                        then a bounded fuzz run of every fuzz target (60 s each)
#   NF_FUZZ_SECONDS=600 ./test.sh      fuzz longer
#   NF_SKIP_FUZZ=1 ./test.sh           skip the fuzz stage (quick local iterations)
#   ./test.sh -R decode                pass ctest arguments (selects tests; no fuzz stage)
#
# Build directories: build/test (gcc, ASan+UBSan, warnings as errors) and build/fuzz (clang,
# libFuzzer + ASan + UBSan). Test logs are printed for failures only.
set -euo pipefail
cd "$(dirname "$0")"
root=$PWD

scripts/setup.sh

jobs=$(nproc)
cmake -S . -B build/test -DCMAKE_BUILD_TYPE=Debug -DNF_SANITIZE=ON >/dev/null
cmake --build build/test -j"$jobs"

# ASan: fail on leaks too; UBSan: print a stack and stop.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

(cd build/test && ctest --output-on-failure -j"$jobs" -LE fuzz "$@")

if [ "$#" -eq 0 ] && [ "${NF_SKIP_FUZZ:-0}" != 1 ]; then
    cmake -S . -B build/fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DNF_FUZZ=ON -DNF_SANITIZE=ON -DNF_FUZZ_SECONDS="${NF_FUZZ_SECONDS:-60}" >/dev/null
    cmake --build build/fuzz -j"$jobs" --target fuzz_decode fuzz_seeds fuzz_flowbatch \
        fuzz_flowbatch_seeds fuzz_avro fuzz_avro_seeds fuzz_meta fuzz_meta_seeds fuzz_prom \
        fuzz_prom_seeds
    (cd build/fuzz && ctest --output-on-failure -j"$jobs" -L fuzz)
fi
echo "test.sh: all tests passed ($root)"
