#!/usr/bin/env bash
# faults.sh BUILD_DIR — the fault-injection suite of the whole central pipeline, short version
# (the test command; about 3-5 minutes): 200 k flows at 2 k/s through checker → agent →
# poller → nats-server → both writers → ClickHouse and Iceberg, while the poller, both
# writers, the catalog and the core are each SIGKILLed and restarted twice at random
# moments, nats-server is restarted, ClickHouse is frozen (SIGSTOP) for 15 s and the
# warehouse disk is full for 10 s; mTLS on the spine and NATS. Afterwards every flow the edge kept is in ClickHouse and in
# Iceberg exactly once (per exporter, rows/bytes/packets = flowgen's totals; drops at the edge
# must be explained by a checker counter), and a report table says what was injected, how
# long each recovery took and what was found. The long version is bench/faults.sh; the
# suite itself is tests/it/lib_faults.sh. FAULTS_SEED=<seed> replays a run's schedule.
source "$(dirname "$0")/lib.sh"
source "$IT_SRC/tests/it/lib_iceberg.sh"
source "$IT_SRC/tests/it/lib_faults.sh"
# In braces, ending with exit: bash reads a script as it runs, and an edit of this file during
# a run must not make it execute something else afterwards.
{
    FAULTS_FLOWS=${FAULTS_FLOWS:-200000} FAULTS_RATE=${FAULTS_RATE:-2000} \
        FAULTS_KILLS=${FAULTS_KILLS:-2} FAULTS_CH_DOWN=${FAULTS_CH_DOWN:-15} \
        FAULTS_CH_MODE=${FAULTS_CH_MODE:-sigstop} FAULTS_DISK_FULL=${FAULTS_DISK_FULL:-10} \
        faults_run
    exit
}
