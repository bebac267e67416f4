#!/usr/bin/env bash
# The EXAMPLES of the server's and the plugin's man pages really serve: each
# rnull-server / nbdkit rnull command shown is run with its disk keys on a
# Unix socket in a temp dir and nbdinfo must read the disk; the installed
# example config file is run the same way.
# Usage: man-examples-test.sh MANDIR SERVER PLUGIN EXAMPLES_DIR
set -u # no pipefail: "... | grep -q" may end a pipe early (SIGPIPE)
mandir=$1 server=$2 plugin=$3 examples=$4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnull-manex.XXXXXX") || exit 1
pid=
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$(dirname "$0")/proc.sh" # fail, bad, wait_bounded

# The example commands of a page, one a line, continuation lines joined.
commands() {
  MANWIDTH=250 man -l -Tutf8 "$mandir/man1/$1.1" 2>/dev/null | col -b |
    awk '/^[A-Z][A-Z ]*$/ { on = ($0 == "EXAMPLES") ; next } on' |
    sed -E 's/^ +//' | awk '/\\$/ { sub(/\\$/, ""); buf = buf $0; next } { print buf $0; buf = "" }'
}

# Serve keys with rnull-server on a Unix socket; nbdinfo must read the size.
serve_server() { # expected-size-or-empty keys...
  local want=$1 sock=$tmp/s.sock size
  shift
  rm -f "$sock"
  "$server" -f --unix "$sock" "$@" 2>"$tmp/server.log" &
  pid=$!
  for _ in $(seq 100); do [ -S "$sock" ] && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  size=$(timeout 30 nbdinfo --size "nbd+unix:///?socket=$sock" 2>&1)
  kill -TERM $pid 2>/dev/null
  wait_bounded $pid
  local rc=$?
  pid=
  [ -n "$want" ] && [ "$size" != "$want" ] && { bad "rnull-server $*: size '$size', expected $want"; return; }
  [[ $size =~ ^[0-9]+$ ]] || { bad "rnull-server $*: nbdinfo: $size $(cat "$tmp/server.log")"; return; }
  [ $rc = 0 ] || bad "rnull-server $*: exit status $rc after SIGTERM"
}

ran=0
while read -r line; do
  read -ra w <<<"$line"
  keys=()
  for t in "${w[@]:1}"; do [[ $t =~ ^[a-z_]+= ]] && keys+=("$t"); done
  [[ " $line " == *" --config "* ]] && continue # its file is a here-document
  echo "example: $line"
  serve_server "" "${keys[@]}"
  ran=$((ran + 1))
done < <(commands rnull-server | grep '^rnull-server ')
[ $ran -ge 3 ] || bad "only $ran rnull-server examples found"

ran=0
while read -r line; do
  read -ra w <<<"$line"
  args=() after=0
  for t in "${w[@]}"; do
    if [ $after = 1 ] && [[ $t != -* ]]; then args+=("$t"); fi
    [ "$t" = rnull ] && after=1
  done
  opts=()
  [[ " $line " == *" --threads=1 "* ]] && opts+=(--threads=1)
  echo "example: $line"
  out=$(timeout 30 nbdkit "${opts[@]}" -U - "$plugin" "${args[@]}" --run 'nbdinfo --size "$uri"' 2>"$tmp/nbdkit.log" </dev/null)
  [[ $out =~ ^[0-9]+$ ]] || bad "nbdkit rnull ${args[*]}: $out $(cat "$tmp/nbdkit.log")"
  ran=$((ran + 1))
done < <(commands nbdkit-rnull-plugin | grep -E '^nbdkit .*\brnull\b' | grep -v -- '--help')
[ $ran -ge 3 ] || bad "only $ran nbdkit examples found"

# The installed examples: a --config file and the unit's environment file.
echo "example: --config $examples/disk.conf"
serve_server 1073741824 --config "$examples/disk.conf"
(
  set -e
  . "$examples/rnull-server.default"
  [ -z "$RNULL_SERVER_ARGS" ]
) || bad "rnull-server.default does not set an empty RNULL_SERVER_ARGS"
commented=$(sed -n 's/^#RNULL_SERVER_ARGS="\(.*\)"$/\1/p' "$examples/rnull-server.default")
[ -n "$commented" ] || bad "rnull-server.default has no commented example"
# shellcheck disable=SC2046 # word-split as systemd splits $RNULL_SERVER_ARGS
serve_server 17179869184 $(sed "s|/run/rnull-server/|$tmp/|g" <<<"$commented")

[ $fail = 0 ] && echo "PASS: the man pages' examples serve"
exit $fail
