#!/usr/bin/env bash
# Makes throw-away TLS material in DIR with certtool and psktool (gnutls-bin):
#   server/          ca-cert.pem server-cert.pem server-key.pem (localhost, 127.0.0.1, ::1,
#                    and 10.0.2.100: the host as the kernel VM test's guest sees it)
#   client/          ca-cert.pem client-cert.pem client-key.pem (libnbd's layout)
#   other-client/    trusts our CA, but its client certificate is another CA's
#   wrongca/         trusts only another CA (so not our server); no client certificate
#   noclient/        trusts our CA, has no client certificate
#   expired/         server files whose certificate expired in 2021
#   wronghost/       server files whose certificate names only other.example
#   mismatch/        server-cert.pem with a key that is not its key
#   keys.psk         alice's key (psktool format); wrong.psk: alice with another key
#   bob.psk          an identity the server does not know
#   psk/keys.psk     the same keys in a directory (qemu's tls-creds-psk dir=)
# Usage: make-certs.sh DIR
set -euo pipefail
D=$1
mkdir -p "$D"/{ca,other-ca,server,client,other-client,wrongca,noclient,expired,wronghost,mismatch}
cd "$D"
ct() { certtool "$@" >/dev/null 2>&1 || { echo "certtool $* failed" >&2; certtool "$@"; exit 1; }; }

mkca() { # mkca DIR CN
  ct --generate-privkey --key-type=ecdsa --outfile "$1/ca-key.pem"
  printf 'cn = %s\nca\ncert_signing_key\nexpiration_days = 30\n' "$2" >"$1/ca.info"
  ct --generate-self-signed --load-privkey "$1/ca-key.pem" --template "$1/ca.info" \
    --outfile "$1/ca-cert.pem"
}
mkcert() { # mkcert CA_DIR OUT_CERT OUT_KEY TEMPLATE_TEXT
  ct --generate-privkey --key-type=ecdsa --outfile "$3"
  printf '%b' "$4" >"$2.info"
  ct --generate-certificate --load-privkey "$3" --load-ca-certificate "$1/ca-cert.pem" \
    --load-ca-privkey "$1/ca-key.pem" --template "$2.info" --outfile "$2"
  rm -f "$2.info"
}
mkca ca "rnull test CA"
mkca other-ca "another CA"
SERVER='cn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\nip_address = ::1\nip_address = 10.0.2.100\ntls_www_server\nencryption_key\nsigning_key\nexpiration_days = 30\n'
CLIENT='cn = rnull test client\ntls_www_client\nencryption_key\nsigning_key\nexpiration_days = 30\n'
mkcert ca server/server-cert.pem server/server-key.pem "$SERVER"
mkcert ca client/client-cert.pem client/client-key.pem "$CLIENT"
mkcert other-ca other-client/client-cert.pem other-client/client-key.pem "$CLIENT"
mkcert ca wronghost/server-cert.pem wronghost/server-key.pem \
  'cn = other.example\ndns_name = other.example\ntls_www_server\nencryption_key\nsigning_key\nexpiration_days = 30\n'
mkcert ca expired/server-cert.pem expired/server-key.pem \
  'cn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\ntls_www_server\nencryption_key\nsigning_key\nactivation_date = "2020-01-01 00:00:00"\nexpiration_date = "2021-01-01 00:00:00"\n'
cp ca/ca-cert.pem server/; cp ca/ca-cert.pem client/; cp ca/ca-cert.pem wronghost/
cp ca/ca-cert.pem expired/; cp ca/ca-cert.pem other-client/; cp ca/ca-cert.pem noclient/
cp other-ca/ca-cert.pem wrongca/
cp ca/ca-cert.pem server/server-cert.pem mismatch/
ct --generate-privkey --key-type=ecdsa --outfile mismatch/server-key.pem
psktool -u alice -p keys.psk >/dev/null
psktool -u alice -p wrong.psk >/dev/null
psktool -u bob -p bob.psk >/dev/null
mkdir -p psk && cp keys.psk psk/
chmod -R go-rwx "$D"
