#!/usr/bin/env bash
# Each generated man page renders without a single groff/man warning, has the
# sections a user looks for, and a NAME line whatis/apropos can index.
# Usage: man-lint-test.sh MANDIR (the directory holding man1/)
set -u # no pipefail: "... | grep -q" may end a pipe early (SIGPIPE)
mandir=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnull-manlint.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
for tool in man groff lexgrog; do
  command -v $tool >/dev/null || { echo "FAIL: $tool not installed (packaging/deps.sh installs man-db, groff-base)"; exit 1; }
done

# Render as lintian does; anything on stderr is a warning (kept: stdout dropped).
# shellcheck disable=SC2069
lint() {
  LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$1" \
    2>&1 >/dev/null
  groff -man -ww -z -rCHECKSTYLE=3 "$1" 2>&1
}

# The check itself must see a broken page (else it proves nothing here).
printf '.TH BROKEN 1\n.SH NAME\nbroken \\- page\n.XQ bogus macro\n\\f(ZZunknown font\n' \
  >"$tmp/broken.1"
[ -n "$(lint "$tmp/broken.1")" ] || bad "the lint does not report a broken page"

pages=(rnull-server nbdkit-rnull-plugin rnull-attach rnull-ctl)
for page in "${pages[@]}"; do
  f=$mandir/man1/$page.1
  [ -s "$f" ] || { bad "$f missing"; continue; }
  w=$(lint "$f")
  [ -z "$w" ] || bad "$page.1 renders with warnings:
$w"
  grep -q '@[A-Z_]*@' "$f" && bad "$page.1 has an unreplaced @PLACEHOLDER@"
  text=$(MANWIDTH=200 man -l -Tutf8 "$f" 2>/dev/null | col -b)
  for sec in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" EXAMPLES "SEE ALSO"; do
    echo "$text" | grep -qx "$sec" || bad "$page.1: no $sec section"
  done
  echo "$text" | grep -qxE 'OPTIONS|KEYS' || bad "$page.1: neither OPTIONS nor KEYS"
  whatis=$(lexgrog "$f" 2>&1)
  echo "$whatis" | grep -q "\"$page - " || bad "$page.1: lexgrog cannot parse NAME: $whatis"
  th=$(grep -m1 '^\.TH' "$f")
  echo "$th" | grep -q '^\.TH [A-Z\\-]* 1 ' || bad "$page.1: .TH is not section 1: $th"
done
[ $fail = 0 ] && echo "PASS: ${#pages[@]} man pages render cleanly"
exit $fail
