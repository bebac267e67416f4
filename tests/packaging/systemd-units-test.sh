#!/usr/bin/env bash
# The systemd units pass `systemd-analyze verify` without a single message
# (unknown keys, missing man pages, a non-executable ExecStart all print one),
# keep their sandbox (`systemd-analyze security --offline` exposure), and say
# what the packaging promises: loopback-only default socket, socket-activated
# foreground server of Type=simple.
# Usage: systemd-units-test.sh UNITDIR MANDIR SERVER
set -u # no pipefail: "... | grep -q" may end a pipe early (SIGPIPE)
unitdir=$1 mandir=$2 server=$3
if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze not installed (Debian package systemd): units not verified"
  exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnull-units.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# The units run the installed server; here, the one just built. Templates
# are verified through an instance.
cp "$unitdir"/*.socket "$unitdir"/*.service "$tmp"/
sed -i "s|^ExecStart=[^ ]*|ExecStart=$server|" "$tmp"/*.service
ln -s rnull-server@.socket "$tmp/rnull-server@disk1.socket"
ln -s rnull-server@.service "$tmp/rnull-server@disk1.service"
cd "$tmp" || exit 1

verify() {
  local out
  out=$(MANPATH=$mandir systemd-analyze verify --man=yes "$@" 2>&1)
  local rc=$?
  [ $rc = 0 ] && [ -z "$out" ] || bad "systemd-analyze verify $* (status $rc): $out"
}
verify ./rnull-server.socket ./rnull-server.service
verify ./rnull-server@disk1.socket ./rnull-server@disk1.service

# The check must see a broken unit (else it proves nothing here).
sed 's/^DynamicUser=/DynamicUsr=/' rnull-server.service >broken.service
out=$(MANPATH=$mandir systemd-analyze verify ./broken.service 2>&1)
[ -n "$out" ] || bad "systemd-analyze verify does not report an unknown key"
rm -f broken.service

# Sandbox: exposure at most 2.0 of 10 ("SAFE" is below 2.0).
for u in rnull-server.service rnull-server@disk1.service; do
  if ! systemd-analyze security --offline=yes --threshold=20 --no-pager "./$u" >"$tmp/sec" 2>&1; then
    grep -E '^✗|Overall' "$tmp/sec"
    bad "$u: sandbox exposure above 2.0"
  fi
done

# What the packaging promises.
grep -qx 'ListenStream=127.0.0.1:10809' rnull-server.socket || bad "socket: not 127.0.0.1:10809"
[ "$(grep -c '^ListenStream=' rnull-server.socket)" = 1 ] || bad "socket: more than one ListenStream"
grep -qx 'ListenStream=/run/rnull/%i.sock' rnull-server@.socket || bad "template socket: not /run/rnull/%i.sock"
for u in rnull-server.service rnull-server@.service; do
  grep -qx 'Type=simple' "$u" || bad "$u: not Type=simple"
  grep -q '^ExecStart=.* --foreground' "$u" || bad "$u: server not run with --foreground"
  for k in DynamicUser=yes ProtectSystem=strict NoNewPrivileges=yes PrivateNetwork=yes; do
    grep -qx "$k" "$u" || bad "$u: no $k"
  done
done
grep -q '^ExecStart=.*\$RNULL_SERVER_ARGS' rnull-server.service || bad "service: ignores RNULL_SERVER_ARGS"
grep -qx 'EnvironmentFile=-/etc/default/rnull-server' rnull-server.service || bad "service: no optional environment file"
grep -q '^ExecStart=.*--config /etc/rnull/%i.conf' rnull-server@.service || bad "template: no --config /etc/rnull/%i.conf"

[ $fail = 0 ] && echo "PASS: systemd units verify, sandboxed"
exit $fail
