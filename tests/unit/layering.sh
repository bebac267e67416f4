#!/bin/bash
# The engine's layering, checked on the sources and on the compiled objects:
#   lib/null (the null driver) -> lib/mq (the blk-mq core) -> lib (option
#   table, clock), never the other way, and no two files of lib/ depending
#   on each other, directly or round a longer cycle. Other folders of lib/
#   (lib/ctl, ...) sit above both: they may use them, nothing below uses them.
#  1. includes: a lib/mq file includes no lib/null header; a lib/null file
#     no lib/mq header (it uses include/rnull/ only); a lib/ top file neither.
#  2. calls: object A depends on object B when A uses a symbol B defines
#     (nm); every such edge must go down the layers, and the graph must
#     have no cycle (tsort). The objects of the NBD server library (server/)
#     may be given too: they sit above lib/, and among themselves the same
#     rule holds: no two files calling each other, directly or round a cycle.
#  3. includes in server/: a module (x.c with x.h) depends on the modules
#     whose headers it includes; that graph has no cycle either (a part that
#     includes the header of what calls it is a circle the linker won't see).
#  4. the core (lib/mq) names no driver's keys: it takes core parameters.
# usage: layering.sh SOURCE_DIR OBJECT_FILE...
set -u
src=$1
shift
fail=0
bad() {
  echo "layering: $*" >&2
  fail=1
}

layer() { # lib/mq/x.c -> mq, lib/null/x.h -> null, lib/x.c -> lib, else other
  case $1 in
  lib/mq/*) echo mq ;;
  lib/null/*) echo null ;;
  lib/*/*) echo other ;;
  lib/*) echo lib ;;
  *) echo other ;;
  esac
}
rank() { # a file may depend on files of its own or a lower rank
  case $1 in lib) echo 0 ;; mq) echo 1 ;; null) echo 2 ;; *) echo 9 ;; esac
}

# 1. includes, resolved as the compiler does: next to the file, then lib/
#    (what unit tests use), then include/.
cd "$src" || exit 2
for f in lib/*.[ch] lib/*/*.[ch]; do
  [ -e "$f" ] || continue
  from=$(layer "$f")
  while read -r inc; do
    to=""
    for cand in "$(dirname "$f")/$inc" "lib/$inc" "include/$inc"; do
      if [ -e "$cand" ]; then
        to=$(realpath --relative-to=. "$cand")
        break
      fi
    done
    [ -n "$to" ] || continue
    tl=$(layer "$to")
    case $to in include/*) continue ;; esac
    [ "$tl" = "$from" ] && continue
    if [ "$(rank "$tl")" -gt "$(rank "$from")" ] || { [ "$from" = null ] && [ "$tl" = mq ]; }; then
      bad "$f includes $to ($from must not include $tl headers)"
    fi
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done
cd - >/dev/null || exit 2

# 3. includes between the modules of server/ (x.c and x.h are module x)
incs=$(mktemp)
cd "$src" || exit 2
for f in server/*.[ch]; do
  [ -e "$f" ] || continue
  from=${f%.*}
  echo "$from $from" >>"$incs"
  while read -r inc; do
    [ -e "server/$inc" ] || continue
    to="server/${inc%.*}"
    [ "$to" = "$from" ] || echo "$from $to" >>"$incs"
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done
cd - >/dev/null || exit 2
if [ -s "$incs" ] && ! tsort "$incs" >/dev/null 2>"$incs.err"; then
  bad "the modules of server/ include each other in a cycle through: $(grep -v 'input contains a loop' "$incs.err" | sed 's/^tsort: //' | sort -u | tr '\n' ' ')"
fi
rm -f "$incs" "$incs.err"

# 2. symbols between objects
[ $# -gt 0 ] || { bad "no object files given"; exit 1; }
name() { # .../lib/CMakeFiles/<target>.dir/mq/disk.c.o -> lib/mq/disk.c,
  #        .../server/CMakeFiles/<target>.dir/conn.c.o -> server/conn.c
  local n=${1##*.dir/} d=${1%%/CMakeFiles/*}
  echo "${d##*/}/${n%.o}"
}
defs=$(mktemp)
edges=$(mktemp)
trap 'rm -f "$defs" "$edges"' EXIT
for o in "$@"; do
  [ -f "$o" ] || { bad "$o: no such object file"; exit 1; }
done
for o in "$@"; do
  nm --defined-only -g "$o" | awk -v f="$(name "$o")" 'NF == 3 { print $3, f }'
done | sort >"$defs"
for o in "$@"; do
  a=$(name "$o")
  echo "$a $a" >>"$edges" # every file is a node, even without edges
  while read -r sym b; do
    [ "$a" = "$b" ] && continue
    echo "$a $b" >>"$edges"
    la=$(layer "$a")
    lb=$(layer "$b")
    if [ "$(rank "$lb")" -gt "$(rank "$la")" ] || { [ "$la" = lib ] && [ "$lb" != lib ]; }; then
      bad "$a uses $sym from $b ($la must not call into $lb)"
    fi
  done < <(nm -u "$o" | awk '{ print $NF }' | sort -u | join - "$defs")
done
if ! tsort "$edges" >/dev/null 2>"$defs.err"; then
  bad "the files of lib/ or server/ depend on each other in a cycle through: $(grep -v 'input contains a loop' "$defs.err" | sed 's/^tsort: //' | sort -u | tr '\n' ' ')"
fi
rm -f "$defs.err"
while read -r a b; do
  grep -qx "$b $a" "$edges" && bad "$a and $b call each other"
done < <(sort -u "$edges" | awk '$1 != $2')
n=$(sort -u "$edges" | awk '$1 != $2' | wc -l)
[ "$n" -gt 0 ] || bad "no call between the objects found: not the library's objects?"
# 4. the core takes core parameters only: nothing in lib/mq names a
#    driver's keys (the null driver's header, its parameters, a null disk's
#    whole key set) or a front end's.
cd "$src" || exit 2
while IFS=: read -r f line text; do
  bad "$f:$line reads a driver's keys: $text"
done < <(grep -nE 'rnull/null\.h|rnull_null_|struct rnull_config\b|rnull_config_|rnull_frontend_' lib/mq/*.[ch])
cd - >/dev/null || exit 2
[ "$fail" = 0 ] && echo "layering: lib/null -> lib/mq -> lib, $(sort -u "$edges" | awk '$1 != $2' | wc -l) edges, no cycle; server/ includes: no cycle; lib/mq names no driver's keys"
exit "$fail"
