#!/usr/bin/env bash
# clickhouse-config.sh DIR HTTP_PORT TCP_PORT WRITER_PASSWORD READER_PASSWORD — renders
# etc/clickhouse/config.xml.in and users.xml.in into DIR/config.xml and DIR/users.xml and
# creates the server's directories under DIR (data/, tmp/, user_files/, format_schemas/,
# log/), so that run.sh and the tests make a ClickHouse server config one way. Then:
#
#   clickhouse-server --config-file=DIR/config.xml
#
# serves HTTP on 127.0.0.1:HTTP_PORT and the native protocol on 127.0.0.1:TCP_PORT, with the
# users netflow_writer (WRITER_PASSWORD; DDL and inserts), netflow_reader (READER_PASSWORD;
# readonly) and default (no password, readonly). Passwords are stored as SHA-256 only.
# CH_LOG_LEVEL sets the server log's level (default information; debug logs every query with
# its id). Running it again rewrites both files and keeps the data. Needs sha256sum.
set -euo pipefail
usage="usage: clickhouse-config.sh DIR HTTP_PORT TCP_PORT WRITER_PASSWORD READER_PASSWORD"
[ "$#" -eq 5 ] || { echo "$usage" >&2; exit 2; }
dir=$1 http=$2 tcp=$3 writer_pw=$4 reader_pw=$5
level=${CH_LOG_LEVEL:-information}
case "$level" in
    trace | debug | information | warning | error) ;;
    *) echo "clickhouse-config.sh: CH_LOG_LEVEL '$level' is not trace, debug, information, warning or error" >&2; exit 2 ;;
esac
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

for p in "$http" "$tcp"; do
    if ! [[ "$p" =~ ^[0-9]+$ ]] || [ "$p" -lt 1 ] || [ "$p" -gt 65535 ]; then
        echo "clickhouse-config.sh: bad port '$p'" >&2
        exit 2
    fi
done
[ "$http" != "$tcp" ] || { echo "clickhouse-config.sh: HTTP and TCP ports are equal" >&2; exit 2; }
[ -n "$writer_pw" ] && [ -n "$reader_pw" ] ||
    { echo "clickhouse-config.sh: empty password" >&2; exit 2; }

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# The directory goes into XML text and a sed replacement: refuse what would need escaping.
case "$dir" in
*[\<\>\&\"\'\|\\]*)
    echo "clickhouse-config.sh: directory '$dir' contains a character XML or sed would mangle" >&2
    exit 2
    ;;
esac
mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas" "$dir/log"

sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
writer_sha=$(sha256 "$writer_pw")
reader_sha=$(sha256 "$reader_pw")

# Written to a temporary name and renamed, so a running server never reads half a file.
render() {
    local in=$1 out=$2
    sed -e "s|@CH_DIR@|$dir|g" -e "s|@CH_HTTP_PORT@|$http|g" -e "s|@CH_TCP_PORT@|$tcp|g" \
        -e "s|@CH_WRITER_SHA256@|$writer_sha|g" -e "s|@CH_READER_SHA256@|$reader_sha|g" \
        -e "s|<level>information</level>|<level>$level</level>|" "$in" >"$out.tmp"
    if grep -q '@CH_[A-Z0-9_]*@' "$out.tmp"; then
        echo "clickhouse-config.sh: unreplaced placeholder in $out" >&2
        rm -f "$out.tmp"
        exit 1
    fi
    mv "$out.tmp" "$out"
}
umask 077
render "$src/etc/clickhouse/config.xml.in" "$dir/config.xml"
render "$src/etc/clickhouse/users.xml.in" "$dir/users.xml"
