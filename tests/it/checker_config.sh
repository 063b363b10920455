#!/usr/bin/env bash
# checker_config.sh BUILD_DIR — a bad config stops the checker before it opens a socket,
# with a message that names the file and the key; an unknown key is only a warning.
source "$(dirname "$0")/lib.sh"
cd "$IT_WORK"

# expect_refused NAME JSON KEY... — the checker must exit 1 and mention every KEY.
expect_refused() {
    local name=$1 json=$2
    shift 2
    printf '%s\n' "$json" >"$name.json"
    local rc=0
    "$CHECKER" -c "$name.json" >/dev/null 2>"$name.err" || rc=$?
    [ "$rc" = 1 ] || it_fail "$name: exit status $rc, expected 1"
    grep -q "$name.json" "$name.err" || it_fail "$name: message does not name the file: $(cat "$name.err")"
    local k
    for k in "$@"; do
        grep -qF -- "$k" "$name.err" || it_fail "$name: message lacks '$k': $(cat "$name.err")"
    done
    it_note "$name: $(grep -o 'error.*' "$name.err" | head -1)"
}

expect_refused bad-number '{"max_records": "lots"}' "'max_records'"
expect_refused zero-records '{"max_records": 0}' "'max_records'" "outside"
expect_refused bad-duration '{"retention_time": "1x"}' "'retention_time'" '"1x"'
expect_refused number-duration '{"retention_time": 3600}' "'retention_time'" "duration"
expect_refused bad-size '{"receive_buffer": "big"}' "'receive_buffer'"
expect_refused bad-mode '{"security": {"mode": "tls-maybe"}}' "'security.mode'"
expect_refused bad-nested '{"security": {"tls": {"cert_file": 7}}}' "'security.tls.cert_file'"
expect_refused bad-level '{"log_level": "loud"}' "'log_level'"
expect_refused bad-json '{"max_records": 10,}' ":1:"
expect_refused not-object '[1, 2]' "top level"
expect_refused duplicate '{"max_records": 1, "max_records": 2}' "max_records"
expect_refused bad-listen '{"listen_addr": "nowhere", "metrics_addr": ""}' "nowhere"
rc=0
"$CHECKER" -c missing.json 2>missing.err || rc=$?
[ "$rc" = 1 ] && grep -q "missing.json" missing.err || it_fail "a missing -c file must be an error"

# An unknown key (a typo) is named in a warning and the checker runs.
udp=$(it_free_port udp)
metrics=$(it_free_port tcp)
it_checker_config typo.json "$udp" "$metrics" '"max_record": 5'
it_start_checker typo.json typo.log
grep -q "unknown key 'max_record'" typo.log || it_fail "no warning for the unknown key"
# A second checker on the same UDP port must refuse to start (SO_REUSEPORT would otherwise
# let it quietly take part of the traffic).
metrics2=$(it_free_port tcp)
it_checker_config second.json "$udp" "$metrics2"
rc=0
"$CHECKER" -c second.json 2>second.err || rc=$?
[ "$rc" = 1 ] && grep -q "already in use" second.err ||
    it_fail "a second checker on a busy port started (rc $rc): $(cat second.err)"
it_stop "$CHECKER_PID"

# --help-config lists every key.
"$CHECKER" --help-config >keys.txt
for k in listen_addr retention_time max_records receive_sockets state_file metrics_addr \
    decoder.backlog_max_age security.tls.cert_file; do
    grep -q "^$k " keys.txt || it_fail "--help-config lacks $k"
done
echo "PASS checker_config"
