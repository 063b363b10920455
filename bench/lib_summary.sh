# bench/lib_summary.sh — the rows of bench/run.sh's closing table. Sourced by every benchmark
# script; each figure it measures is also written as one tab-separated row to $BENCH_SUMMARY
# (when set), so run.sh can print every figure of the project next to its baseline and target
# in one table, while each script keeps printing its own detailed table.
#
#   bench_row SECTION FIGURE VALUE BASELINE TARGET VERDICT
#     SECTION   the benchmark (decode, ingest, spine, clickhouse, iceberg, core, load, faults)
#     FIGURE    what was measured, with its unit ("ingest, flows/s")
#     VALUE     the measurement as printed
#     BASELINE  what it is compared with, measured in the same run ("nfcapd 1.21 M"), or "-"
#     TARGET    the target ("≥ 100 k/s", "< 10 ms"), or "-"
#     VERDICT   met, missed, or "-" when there is no target
# Tabs and newlines inside a field become spaces.
bench_row() {
    [ -n "${BENCH_SUMMARY:-}" ] || return 0
    local f out=
    for f in "$@"; do
        f=${f//$'\t'/ }
        out+=${out:+$'\t'}${f//$'\n'/ }
    done
    printf '%s\n' "$out" >>"$BENCH_SUMMARY"
}

# bench_verdict OK — "met" when OK is 1 (an awk comparison's result), else "missed".
bench_verdict() { [ "$1" = 1 ] && echo met || echo missed; }
