#!/usr/bin/env bash
# checker_malformed.sh BUILD_DIR — hostile datagrams are counted by reason and never stop
# the checker; valid traffic after them is decoded in full.
source "$(dirname "$0")/lib.sh"
cd "$IT_WORK"
udp=$(it_free_port udp)
metrics=$(it_free_port tcp)
it_checker_config checker.json "$udp" "$metrics"
it_start_checker checker.json checker.log

# One datagram per call: the bytes go to a file first, then out in a single write (printf
# alone flushes at every newline byte, which would split a datagram).
send_file() { cat "$1" >"/dev/udp/127.0.0.1/$udp"; }
send() { printf "$1" >pkt.bin; send_file pkt.bin; }
send '\x00'                                        # 1 byte
send '\x00\x07hello'                               # version 7
send '\x00\x05\x00\x1f'                            # v5 header cut short
send '\x00\x05\x00\x1f\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00' # v5 count 31
send '\x00\x0a\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00' # IPFIX length > datagram
# v9: a set whose length runs past the datagram.
send '\x00\x09\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x0f\xff\xaa\xbb'
# v9: a template whose fields add up to 0 bytes (would loop forever if accepted).
send '\x00\x09\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x0c\x01\x00\x00\x01\x00\x08\x00\x00'
# v9: data for a template never sent (held, then counted when it ages out).
send '\x00\x09\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x01\x23\x00\x08\x01\x02\x03\x04'

m() { it_metric "$CHECKER_METRICS" netflow_checker_decode_errors_total "reason=\"$1\""; }
it_wait_metric "$CHECKER_METRICS" netflow_checker_udp_datagrams_total 8
it_expect short_header "$(m short_header)" 2
it_expect bad_version "$(m bad_version)" 1
it_expect v5_bad_count "$(m v5_bad_count)" 1
it_expect bad_message_length "$(m bad_message_length)" 1
it_expect bad_set_length "$(m bad_set_length)" 1
it_expect bad_template "$(m bad_template)" 1
it_expect "backlog queued" "$(it_metric "$CHECKER_METRICS" netflow_checker_backlog_sets_queued_total)" 1

# Random bytes that start like each version, then real traffic: all of it must decode.
for v in 05 09 0a; do
    for i in $(seq 1 50); do
        { printf "\x00\x$v"; head -c $((RANDOM % 1400)) /dev/urandom; } >pkt.bin
        send_file pkt.bin
    done
done
kill -0 "$CHECKER_PID" || it_fail "the checker died on random input"
"$FLOWGEN" --target "127.0.0.1:$udp" --flows 5000 --protocol mix --exporters 3 --quiet >sent.json
# Random bytes rarely make a valid flow, but they may: count from the exporters flowgen used.
it_wait_until '[ "$(curl -fsS "$CHECKER_METRICS" | awk "/^netflow_checker_exporter_flows_total.*exporter=\"127.0.0.1[0-2]\"/ { s += \$2 } END { print s + 0 }")" = 5000 ]' ||
    it_fail "valid traffic after garbage was not decoded in full"
it_stop "$CHECKER_PID"
echo "PASS checker_malformed"
