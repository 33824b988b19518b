#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Test PKI for the HTTP client tests, generated fresh in the test's scratch directory:
#   ca.pem/ca.key                   the trusted test CA
#   server.pem/server.key           signed by ca, for 127.0.0.1 / ::1 / localhost
#   other.pem/other.key             signed by ca, but for other.example only (wrong hostname)
#   wrongca.pem                     a second CA nobody trusts
#   wrong-server.pem/.key           signed by wrongca, for 127.0.0.1 / localhost
#   client.pem/client.key           client certificate signed by ca
#   wrong-client.pem/.key           client certificate signed by wrongca
#   server.pin, wrong-server.pin    "sha256//<base64>" SPKI pins of the two server keys
# Usage: mkpki.sh DIR   (EC P-256 keys; uses /usr/bin/openssl only)
set -eu

OPENSSL=/usr/bin/openssl
dir=$1
mkdir -p "$dir"
cd "$dir"

key() {
    "$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

ca() { # name subject
    key "$1.key"
    "$OPENSSL" req -x509 -new -key "$1.key" -subj "/CN=$2" -days 2 -sha256 \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.pem"
}

leaf() { # name issuer subject extensions...
    name=$1 issuer=$2 subj=$3
    shift 3
    key "$name.key"
    "$OPENSSL" req -new -key "$name.key" -subj "/CN=$subj" -out "$name.csr"
    : > "$name.ext"
    for e in "$@"; do
        printf '%s\n' "$e" >> "$name.ext"
    done
    "$OPENSSL" x509 -req -in "$name.csr" -CA "$issuer.pem" -CAkey "$issuer.key" \
        -CAcreateserial -days 2 -sha256 -extfile "$name.ext" -out "$name.pem" 2>/dev/null
    rm -f "$name.csr" "$name.ext"
}

pin() { # cert
    printf 'sha256//%s' "$("$OPENSSL" x509 -in "$1" -pubkey -noout |
        "$OPENSSL" pkey -pubin -outform der |
        "$OPENSSL" dgst -sha256 -binary | "$OPENSSL" base64 -A)"
}

server_ext="basicConstraints=CA:FALSE
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost"

ca ca "Ward Test CA"
ca wrongca "Ward Wrong CA"
leaf server ca localhost "$server_ext"
leaf wrong-server wrongca localhost "$server_ext"
leaf other ca other.example "basicConstraints=CA:FALSE" "extendedKeyUsage=serverAuth" \
    "subjectAltName=DNS:other.example"
leaf client ca ward-test-device "basicConstraints=CA:FALSE" "extendedKeyUsage=clientAuth"
leaf wrong-client wrongca ward-test-device "basicConstraints=CA:FALSE" \
    "extendedKeyUsage=clientAuth"
pin server.pem > server.pin
pin wrong-server.pem > wrong-server.pin
