#!/usr/bin/env bash
# softflowd_tshark.sh BUILD_DIR — a real exporter's output, decoded by flowdump, must agree
# field by field with tshark's decode of the same capture and with the traffic it was made
# from.
#
# 1. trafficgen writes a capture of 300 TCP/UDP/ICMP flows (IPv4 and IPv6) and the truth
#    of each flow; 2. softflowd (Debian) reads it and exports NetFlow v5, v9 and IPFIX (with
#    sysUptime-relative and absolute ms/µs/ns times) to udp2pcap, which records the export
#    datagrams; 3. flowdump decodes that recording; tshark decodes it too.
# Checks, per export format: flowdump's flows == tshark's flows (addresses, ports, protocol,
# bytes, packets, TCP flags, ToS, interfaces) as multisets; flowdump's flows == the truth
# (the same plus start and end time in ms; v9 within its 1-second header resolution); no
# decode errors, no sequence loss.
source "$(dirname "$0")/lib.sh"
build=$IT_BUILD
tools=$build/tests/tools
flowdump=$build/cmd/flowdump/serviceradar-flowdump
command -v softflowd >/dev/null || it_fail "softflowd missing (run scripts/setup.sh)"
command -v tshark >/dev/null || it_fail "tshark missing (run scripts/setup.sh)"
cd "$IT_WORK"

"$tools/trafficgen" traffic.pcap 300 7 truth.tsv >totals.json

# flows.json (flowdump) → sorted TSV of the columns tshark shows.
ours_tsv() {
    jq -r '[.src_addr, .dst_addr, .src_port, .dst_port, .protocol, .bytes, .packets,
            .tcp_flags, .tos, .in_if, .out_if] | @tsv' "$1" | sort
}

# tshark JSON of the export capture → the same TSV. tshark lists ICMP type/code apart from
# the ports; NetFlow collectors (and flowdump) report them as dst_port = type*256+code.
tshark_tsv() {
    tshark -r "$1" -d "udp.port==$2,cflow" -T json --no-duplicate-keys 2>/dev/null | jq -r '
      [.. | objects | to_entries[] | select(.key | test("^(Flow [0-9]+|pdu [0-9]+/[0-9]+)$"))
       | .value | if type == "array" then .[] else . end
       | select(has("cflow.octets"))] | .[] |
      def n(k): (.[k] // "0") | if startswith("0x") then
          (ltrimstr("0x") | explode | map(if . >= 97 then . - 87 elif . >= 65 then . - 55
                                          else . - 48 end) | reduce .[] as $d (0; . * 16 + $d))
        else tonumber end;
      (if has("cflow.icmp_type_code_ipv4") then n("cflow.icmp_type_code_ipv4")
       else n("cflow.icmp_type") * 256 + n("cflow.icmp_code") end) as $icmp4 |
      (n("cflow.icmp_ipv6_type") * 256 + n("cflow.icmp_ipv6_code")) as $icmp6 |
      [(.["cflow.srcaddr"] // .["cflow.srcaddrv6"]), (.["cflow.dstaddr"] // .["cflow.dstaddrv6"]),
       n("cflow.srcport"),
       (if n("cflow.dstport") != 0 then n("cflow.dstport") elif $icmp4 != 0 then $icmp4
        else $icmp6 end),
       n("cflow.protocol"), n("cflow.octets"), n("cflow.packets"), n("cflow.tcpflags"),
       n("cflow.tos"), n("cflow.inputint"), n("cflow.outputint")] | @tsv' | sort
}

# Truth, restricted to what a format can carry, as the same columns plus times.
truth_tsv() {
    awk -F'\t' -v v4only="$1" 'v4only == 0 || $11 == 4' truth.tsv |
        awk -F'\t' -v OFS='\t' '{print $1, $2, $3, $4, $5, $6, $7, $8, $9, $10}' | sort
}
ours_truth_tsv() {
    jq -r '[.src_addr, .dst_addr, .src_port, .dst_port, .protocol, .bytes, .packets,
            .tcp_flags, .first_ms, .last_ms] | @tsv' "$1" | sort
}

run_format() {
    local name=$1 version=$2
    shift 2
    local port
    "$tools/udp2pcap" 127.0.0.1:0 "$name.pcap" 1000 >"$name.port" 2>/dev/null &
    IT_PIDS+=($!)
    local rec=$!
    it_wait_for test -s "$name.port" || it_fail "$name: recorder did not start"
    port=$(cat "$name.port")
    # -a: take flow times from the capture, not the clock, so they can be checked.
    softflowd -r traffic.pcap -n "127.0.0.1:$port" -v "$version" -a -d "$@" >/dev/null 2>&1 ||
        it_fail "$name: softflowd failed"
    wait "$rec" || true

    "$flowdump" "$name.pcap" >"$name.flows.json" 2>"$name.summary.json" ||
        it_fail "$name: flowdump failed"
    local errors lost
    errors=$(jq '[.decoder.errors[]] | add' "$name.summary.json")
    lost=$(jq '.decoder.seq_lost_packets + .decoder.seq_lost_flows' "$name.summary.json")
    [ "$errors" = 0 ] || it_fail "$name: $errors decode errors: $(jq -c .decoder.errors "$name.summary.json")"
    [ "$lost" = 0 ] || it_fail "$name: sequence loss $lost on loopback"

    ours_tsv "$name.flows.json" >"$name.ours.tsv"
    tshark_tsv "$name.pcap" "$port" >"$name.tshark.tsv"
    [ -s "$name.ours.tsv" ] || it_fail "$name: flowdump decoded no flows"
    diff -u "$name.tshark.tsv" "$name.ours.tsv" >"$name.tshark.diff" ||
        it_fail "$name: flowdump and tshark disagree:$(head -20 "$name.tshark.diff")"

    local v4only=0
    [ "$version" = 5 ] && v4only=1
    truth_tsv "$v4only" >"$name.truth.tsv"
    ours_truth_tsv "$name.flows.json" >"$name.ours-truth.tsv"
    # v9 headers carry the export time in whole seconds, so every v9 decoder (nfcapd, tshark,
    # this one) places a flow up to 999 ms early, by the same amount for start and end.
    local slack=0
    [ "$version" = 9 ] && slack=999
    cut -f1-8 "$name.truth.tsv" >"$name.truth.keys"
    cut -f1-8 "$name.ours-truth.tsv" >"$name.ours.keys"
    diff -u "$name.truth.keys" "$name.ours.keys" >"$name.truth.diff" ||
        it_fail "$name: flowdump and the generated traffic disagree:$(head -20 "$name.truth.diff")"
    paste "$name.truth.tsv" "$name.ours-truth.tsv" | awk -F'\t' -v slack="$slack" '
        { d1 = $9 - $19; d2 = $10 - $20
          if (d1 < 0 || d1 > slack || d1 != d2) { print "time off: " $0; bad = 1 } }
        END { exit bad }' >"$name.time.diff" ||
        it_fail "$name: flow times disagree with the traffic:$(head -5 "$name.time.diff")"
    it_note "$name: $(wc -l <"$name.ours.tsv") flows agree with tshark and with the traffic"
}

run_format v5 5
run_format v9 9
run_format ipfix-uptime 10
run_format ipfix-ms 10 -A milli
run_format ipfix-us 10 -A micro
run_format ipfix-ns 10 -A nano
echo "PASS softflowd_tshark"
