#!/usr/bin/env bash
# The man pages cannot drift from the programs: every key of a null disk's
# tables (rnull_config_tables(), as both front ends' --help print them) has an entry in the server's
# and the plugin's pages and no entry names a key that does not exist; every
# option, signal and environment variable --help mentions is documented; the
# plugin page documents nbdkit 1.32.5's abort and its workaround.
# Usage: man-keys-test.sh MANDIR SERVER PLUGIN ATTACH LIST_KEYS
set -u # no pipefail: "... | grep -q" may end a pipe early (SIGPIPE)
mandir=$1 server=$2 plugin=$3 attach=$4 list_keys=$5
fail=0
bad() { echo "FAIL: $*"; fail=1; }
render() { MANWIDTH=250 man -l -Tutf8 "$mandir/man1/$1.1" 2>/dev/null | col -b; }
section() { # page-text section-title: the lines of that section
  awk -v s="$2" '/^[A-Z][A-Z ]*$/ { on = ($0 == s) } on' <<<"$1"
}
keys_of() { sed -n 's/^\([a-z_][a-z_0-9]*\)=  .*/\1/p'; }

server_keys=$("$server" --help | keys_of | sort)
plugin_keys=$(nbdkit "$plugin" --help 2>&1 | keys_of | sort)
n=$(echo "$server_keys" | grep -c .)
[ "$n" -ge 10 ] && echo "$server_keys" | grep -qx size ||
  { echo "FAIL: could not read the key table from rnull-server --help ($n keys)"; exit 1; }
table_keys=$("$list_keys" | sort)
[ "$server_keys" = "$table_keys" ] ||
  bad "rnull-server --help and the engine's table list different keys: $(diff <(echo "$server_keys") <(echo "$table_keys") | tr '\n' ' ')"
# the plugin lists a disk's keys as rnull-server does, and its own table's
# (control, nr_devices: front-end keys, in its RUN-TIME DISKS prose)
plugin_own=$(comm -13 <(echo "$server_keys") <(echo "$plugin_keys"))
[ "$(echo "$plugin_own" | tr '\n' ' ')" = "control nr_devices " ] ||
  bad "the plugin's own keys are not control and nr_devices: '$(echo "$plugin_own" | tr '\n' ' ')'"
[ -z "$(comm -23 <(echo "$server_keys") <(echo "$plugin_keys"))" ] ||
  bad "rnull-server lists keys the plugin does not: $(comm -23 <(echo "$server_keys") <(echo "$plugin_keys") | tr '\n' ' ')"
ptext=$(render nbdkit-rnull-plugin)
for k in $plugin_own; do
  echo "$ptext" | grep -q "$k=" || bad "nbdkit-rnull-plugin.1: the plugin's key $k not documented"
done
refused=$("$server" --help | sed -n 's/^\([a-z_0-9]*\)=  (refused: .*/\1/p' | sort)

for page in rnull-server nbdkit-rnull-plugin; do
  text=$(render $page)
  keys=$(section "$text" KEYS)
  # Each key: an entry ("key=value" tag; refused keys: "key=" then "Refused:").
  for k in $server_keys; do
    if echo "$refused" | grep -qx "$k"; then
      echo "$keys" | grep -qE "^ +$k= *(Refused:|$)" || bad "$page.1: no entry for refused key $k"
    else
      echo "$keys" | grep -qE "^ +$k=value$" || bad "$page.1: no KEYS entry for $k"
    fi
  done
  # Each entry is a key of the table.
  for k in $(echo "$keys" | sed -nE 's/^ +([a-z_0-9]+)=(value)?( .*)?$/\1/p'); do
    echo "$server_keys" | grep -qx "$k" || bad "$page.1: entry for $k, which is not a key"
  done
  # Any key=... written in the prose or examples is a real key (URIs' ?socket=,
  # --opt=, VAR= and the placeholders key= / rnull_key= aside).
  for k in $(echo "$text" | grep -oE '(^|[ ([,])[a-z_][a-z_0-9]*=' | sed -E 's/^[ ([,]//; s/=$//' | sort -u); do
    case $k in key | rnull_key | control | nr_devices) continue ;; esac # (the front ends' own keys)
    echo "$server_keys" | grep -qx "$k" || bad "$page.1 mentions $k=, which is not a key"
  done
done

# rnull-server: every option, signal and default its --help states.
stext=$(render rnull-server)
sopts=$(section "$stext" OPTIONS)
for o in $("$server" --help | sed -n '/^Server options:/,/^$/p' | grep -oE '(^| )--?[a-zA-Z][a-z-]*' | sort -u); do
  echo "$sopts" | grep -qE "^ +(.*, )?$o( |,|$)" || bad "rnull-server.1: option $o not in OPTIONS"
done
for s in $("$server" --help | grep -oE 'SIG[A-Z0-9]+' | sort -u); do
  section "$stext" SIGNALS | grep -qE "^ +(.*, )?$s(,|$)" || bad "rnull-server.1: signal $s not in SIGNALS"
done
for v in $("$server" --help | grep -oE 'LISTEN_[A-Z]+' | sort -u); do
  echo "$stext" | grep -q "$v" || bad "rnull-server.1: $v not documented"
done
for d in 10809 127.0.0.1 1024; do
  echo "$sopts" | grep -q "default $d" || bad "rnull-server.1: default $d not stated in OPTIONS"
done

# rnull-attach: its own options and environment.
atext=$(render rnull-attach)
for o in $("$attach" --help | grep -oE '(^| |,)--[a-z][a-z-]*' | tr -d ' ,' | sort -u); do
  echo "$atext" | grep -qE -- "(^| |\[)$o( |\]|$)" || bad "rnull-attach.1: option $o not documented"
done
for v in $("$attach" --help | grep -oE '\$[A-Z_]+' | tr -d '$' | sort -u); do
  section "$atext" ENVIRONMENT | grep -qE "^ +$v$" || bad "rnull-attach.1: $v not in ENVIRONMENT"
done

# rnull-ctl: every command its --help lists has an entry in COMMANDS.
ctl_bin=$(dirname "$server")/rnull-ctl
if [ -x "$ctl_bin" ]; then
  ctext=$(render rnull-ctl)
  for c in $("$ctl_bin" --help | sed -n 's/^  \([a-z]\+\) .*/\1/p'); do
    section "$ctext" COMMANDS | grep -qE "^ +$c( |$)" || bad "rnull-ctl.1: command $c not in COMMANDS"
  done
fi

# nbdkit 1.32.5's abort, where it is fixed, and the workaround.
ptext=$(render nbdkit-rnull-plugin | tr -s ' \n' ' ')
for s in "raw_send_socket: Assertion 'sock >= 0'" "1.32.5" "1.33.10" "--threads=1"; do
  echo "$ptext" | grep -qF -- "$s" || bad "nbdkit-rnull-plugin.1 does not mention \"$s\""
done

[ $fail = 0 ] && echo "PASS: $n keys documented in both pages; options, signals, environment documented"
exit $fail
