#!/usr/bin/env bash
# setup.sh — install everything ServiceRadar NetFlow needs on Debian 12, idempotently.
#
# Two kinds of dependency, nothing else (ARCHITECTURE.md §6):
#   1. Debian packages (apt). Checked with dpkg first; apt-get runs only when one is missing.
#   2. libduckdb, pinned, from the npm registry: libduckdb.so from @duckdb/node-bindings-linux-x64
#      and duckdb.h from the `duckdb` package of the same release. Both tarballs are checked
#      against pinned sha512 integrity strings before anything is unpacked, and land in
#      .deps/duckdb/{lib,include} inside the checkout (ignored by git).
#   3. The JavaScript test tools' packages (tests/js: grpc-js and protobufjs for the
#      independent gRPC client; icebird, iceberg-js and avsc as independent Iceberg readers), installed with `npm ci` from the committed lockfile, whose
#      integrity hashes pin every package; reinstalled only when the lockfile changes.
#   4. The web UI (web/): chart.js and esbuild from its committed lockfile (`npm ci`, again only
#      when the lockfile changes), then the bundle web/dist (node web/build.mjs) whenever it is
#      missing or older than a file it is built from; the core serves web/dist as static_dir.
#
# Usage: scripts/setup.sh [--check]     --check: report what is missing, install nothing.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
deps="$here/.deps"

# Debian packages, one line per reason so a later issue adds its own line.
apt_packages=(
    build-essential cmake pkg-config git ca-certificates curl   # build
    clang libclang-rt-14-dev                                   # libFuzzer + sanitizers runtime
    libcmocka-dev                                              # unit tests
    libpcap-dev                                                # flowdump reads captures
    libjansson-dev                                             # JSON config and output
    libmicrohttpd-dev                                          # /metrics endpoint
    libgrpc-dev protobuf-c-compiler libprotobuf-c-dev          # gRPC (C core) + protobuf-c
    libnats-dev nats-server openssl                            # JetStream client, server, certs
    clickhouse-server clickhouse-client libcurl4-openssl-dev    # hot tier (HTTP interface)
    tshark nfdump softflowd                                    # decoding oracles, real exporter, bench baseline
    libavro-dev zlib1g-dev libsqlite3-dev libgnutls28-dev      # cold tier: Iceberg manifests, catalog (mTLS)
    libssl-dev libcrypt-dev                                    # core: HS256 tokens, bcrypt users
    jq procps                                                  # test and benchmark glue
    chromium                                                   # web UI tests (headless, driven by playwright-core)
    prometheus                                                 # install test: a real Prometheus scrapes every daemon
)

DUCKDB_VERSION=1.4.4
DUCKDB_BINDINGS_VERSION=1.4.4-r.4
DUCKDB_BINDINGS_SHA512="jBTL/WvfwxLToFa/pVHfT6elMtltJGnc3wSuxZD9OfMltit9YUdVFS37vBFQzXMT1Z8OWjtSjMh+zPKxOwHLHA=="
DUCKDB_HEADER_SHA512="hEJJ5hyVF0VLj3dmOLpsWrQR0b3d4Ykqtygm6iUXjHJDDnSqg/USKxcb5qvNrOhFYPgktayU6dXCtgPqcmmpog=="

check_only=0
[ "${1:-}" = "--check" ] && check_only=1

say() { printf 'setup: %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing_apt() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
            printf '%s\n' "$p"
    done
}

install_apt() {
    local -a missing
    mapfile -t missing < <(missing_apt "${apt_packages[@]}")
    command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
    if [ "${#missing[@]}" -eq 0 ]; then
        say "Debian packages: all present"
        return
    fi
    say "Debian packages missing: ${missing[*]}"
    [ "$check_only" -eq 1 ] && return
    export DEBIAN_FRONTEND=noninteractive
    # tshark asks whether non-root users may capture; the answer does not matter here.
    echo "wireshark-common wireshark-common/install-setuid boolean false" |
        as_root debconf-set-selections
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# npm_fetch NAME VERSION SHA512 DEST_TGZ — download one pinned tarball and verify it.
npm_fetch() {
    local name=$1 version=$2 want=$3 dest=$4 tmp got
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "$name@$version" >/dev/null)
    got=$(openssl dgst -sha512 -binary "$tmp"/*.tgz | base64 -w0)
    if [ "$got" != "$want" ]; then
        rm -rf "$tmp"
        say "integrity mismatch for $name@$version: got sha512-$got"
        exit 1
    fi
    mv "$tmp"/*.tgz "$dest"
    rm -rf "$tmp"
}

install_duckdb() {
    local dir="$deps/duckdb" stamp="$deps/duckdb/VERSION"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$DUCKDB_BINDINGS_VERSION" ] &&
        [ -f "$dir/lib/libduckdb.so" ] && [ -f "$dir/include/duckdb.h" ]; then
        say "libduckdb $DUCKDB_BINDINGS_VERSION: present in $dir"
        return
    fi
    say "libduckdb $DUCKDB_BINDINGS_VERSION: missing"
    [ "$check_only" -eq 1 ] && return
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/lib" "$dir.tmp/include"
    npm_fetch @duckdb/node-bindings-linux-x64 "$DUCKDB_BINDINGS_VERSION" \
        "$DUCKDB_BINDINGS_SHA512" "$dir.tmp/bindings.tgz"
    npm_fetch duckdb "$DUCKDB_VERSION" "$DUCKDB_HEADER_SHA512" "$dir.tmp/header.tgz"
    tar -xzf "$dir.tmp/bindings.tgz" -C "$dir.tmp/lib" --strip-components=1 package/libduckdb.so
    tar -xzf "$dir.tmp/header.tgz" -C "$dir.tmp/include" --strip-components=5 \
        package/src/duckdb/src/include/duckdb.h
    rm -f "$dir.tmp"/*.tgz
    echo "$DUCKDB_BINDINGS_VERSION" >"$dir.tmp/VERSION"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
    say "libduckdb $DUCKDB_BINDINGS_VERSION installed in $dir"
}

install_test_tools() {
    local dir="$here/tests/js" stamp="$here/tests/js/node_modules/.lock-sha256" want
    want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        say "test tools (tests/js): present"
        return
    fi
    say "test tools (tests/js): missing or outdated"
    [ "$check_only" -eq 1 ] && return
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --silent)
    echo "$want" >"$stamp"
    say "test tools installed in $dir/node_modules"
}

install_web() {
    local dir="$here/web" stamp="$here/web/node_modules/.lock-sha256" want newer
    want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        say "web UI packages (web): present"
    else
        say "web UI packages (web): missing or outdated"
        [ "$check_only" -eq 1 ] && return
        (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --silent)
        echo "$want" >"$stamp"
        say "web UI packages installed in $dir/node_modules"
    fi
    newer=""
    if [ -f "$dir/dist/index.html" ]; then
        newer=$(find "$dir/src" "$dir/index.html" "$dir/build.mjs" "$dir/package-lock.json" \
            -newer "$dir/dist/index.html" -print -quit)
    fi
    if [ -f "$dir/dist/index.html" ] && [ -z "$newer" ]; then
        say "web UI bundle (web/dist): up to date"
        return
    fi
    say "web UI bundle (web/dist): missing or older than its sources"
    [ "$check_only" -eq 1 ] && return
    node "$dir/build.mjs" >/dev/null
    say "web UI built in $dir/dist"
}

install_apt
install_duckdb
install_test_tools
install_web
