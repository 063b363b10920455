#!/usr/bin/env bash
# faults.sh BUILD_DIR — the long fault-injection run of the whole central pipeline (issue 8
# item 3; the short version is tests/it/faults.sh in the test command, the suite itself
# tests/it/lib_faults.sh): 1 M flows at 5 k/s (200 s of traffic) from flowgen through
# checker → agent → poller → nats-server → both writers → ClickHouse and Iceberg, while
#   - the poller, the ClickHouse writer, the Parquet writer, the catalog and the core are each
#     SIGKILLed 5 times at random moments and restarted at once,
#   - nats-server is restarted once (SIGTERM by PID, same port and store),
#   - ClickHouse is stopped for 60 s (SIGTERM by PID, started again on its ports and data),
#   - the warehouse tmpfs is full for 30 s (remounted to the size it holds, then grown back);
# afterwards every flow is checked exactly once in both tiers, per exporter, and a report
# table is printed (fault, times, recovery, what was found). mTLS on the spine and NATS
# (FAULTS_TLS=0: off); catalog and core plain HTTP. Needs root for the tmpfs (else
# the disk fault is skipped, said so). Run with a Release build:
#   cmake -S . -B build-faults-rel -DCMAKE_BUILD_TYPE=Release && cmake --build build-faults-rel -j2
#   bench/faults.sh build-faults-rel
# FAULTS_* variables (tests/it/lib_faults.sh) override every number; FAULTS_SEED replays a run.
source "$(dirname "$0")/../tests/it/lib.sh" "${1:?usage: bench/faults.sh BUILD_DIR}"
source "$IT_SRC/tests/it/lib_iceberg.sh"
source "$IT_SRC/tests/it/lib_faults.sh"
# In braces, ending with exit: bash reads a script as it runs, and an edit of this file during
# a run must not make it execute something else afterwards.
{
    FAULTS_FLOWS=${FAULTS_FLOWS:-1000000} FAULTS_RATE=${FAULTS_RATE:-5000} \
        FAULTS_KILLS=${FAULTS_KILLS:-5} FAULTS_CH_DOWN=${FAULTS_CH_DOWN:-60} \
        FAULTS_CH_MODE=${FAULTS_CH_MODE:-stop} FAULTS_DISK_FULL=${FAULTS_DISK_FULL:-30} \
        FAULTS_WH_SIZE=${FAULTS_WH_SIZE:-1g} FAULTS_CATCHUP=${FAULTS_CATCHUP:-600} \
        faults_run
    exit
}
