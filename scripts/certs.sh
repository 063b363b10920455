#!/usr/bin/env bash
# certs.sh DIR [COMPONENT...] — a private CA and per-component certificates for local runs
# and tests, in the layout ServiceRadar's security blocks expect:
#
#   DIR/root.pem, DIR/root-key.pem           the CA (ECDSA P-256, 10 years)
#   DIR/<component>.pem, <component>-key.pem  CN <component>.serviceradar, ECDSA P-256,
#                                            serverAuth + clientAuth, SANs: DNS
#                                            <component>.serviceradar, localhost,
#                                            IP 127.0.0.1 and ::1 (plus $NF_CERT_IPS)
#
# Default components: checker agent poller core nats clickhouse-writer parquet-writer
# catalog. Existing files are kept (idempotent), so a second run adds missing components
# only. NF_CERT_IPS="10.0.0.5 192.0.2.7" adds IP SANs. Needs openssl.
set -euo pipefail
dir=${1:?usage: certs.sh DIR [COMPONENT...]}
shift
components=("$@")
[ "${#components[@]}" -gt 0 ] ||
    components=(checker agent poller core nats clickhouse-writer parquet-writer catalog)
mkdir -p "$dir"
umask 077

if [ ! -f "$dir/root.pem" ] || [ ! -f "$dir/root-key.pem" ]; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$dir/root-key.pem"
    openssl req -x509 -new -key "$dir/root-key.pem" -sha256 -days 3650 \
        -subj "/O=ServiceRadar/CN=ServiceRadar Root CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$dir/root.pem" 2>/dev/null
fi

for c in "${components[@]}"; do
    [ -f "$dir/$c.pem" ] && [ -f "$dir/$c-key.pem" ] && continue
    sans="DNS:$c.serviceradar,DNS:localhost,IP:127.0.0.1,IP:::1"
    for ip in ${NF_CERT_IPS:-}; do sans="$sans,IP:$ip"; done
    ext=$(mktemp)
    cat >"$ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyAgreement
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$sans
EXT
    openssl ecparam -name prime256v1 -genkey -noout -out "$dir/$c-key.pem"
    openssl req -new -key "$dir/$c-key.pem" -subj "/O=ServiceRadar/CN=$c.serviceradar" \
        -out "$dir/$c.csr" 2>/dev/null
    openssl x509 -req -in "$dir/$c.csr" -CA "$dir/root.pem" -CAkey "$dir/root-key.pem" \
        -CAcreateserial -days 825 -sha256 -extfile "$ext" -out "$dir/$c.pem" 2>/dev/null
    rm -f "$dir/$c.csr" "$ext"
done
rm -f "$dir/root.srl"
chmod 644 "$dir"/*.pem
chmod 600 "$dir"/*-key.pem
