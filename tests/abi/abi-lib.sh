# shellcheck shell=bash
# Sourced by tests/abi/*.sh and packaging/abi-update.sh: the one definition
# of a library's public symbols, of its version script's symbols and of how
# its ABI is dumped, so the check and the update cannot disagree.

# declared HEADER...: the functions the headers declare RNULL_API, sorted
# (the declaration's first line names the function, as clang-format puts it;
# tests/packaging/install-test.sh reads them the same way).
declared() {
  sed -n 's/^RNULL_API .*\b\(rnull_[a-z0-9_]*\)(.*/\1/p' "$@" | sort -u
}

# headers_of LIB INCLUDE_DIR: the headers whose functions LIB exports:
# librnull-nbd nbd_server.h, librnull every other one.
headers_of() {
  case $1 in
  librnull-nbd) echo "$2/nbd_server.h" ;;
  *) for h in "$2"/*.h; do [ "${h##*/}" = nbd_server.h ] || echo "$h"; done ;;
  esac
}

# map_symbols MAP: "NODE SYMBOL" lines of a version script, in file order
# (comments, "global:" and the "local: *;" catch-all left out).
map_symbols() {
  sed 's|/\*.*\*/||; s|#.*||' "$1" | awk '
    /^[A-Za-z_][A-Za-z0-9_.]* *\{/ { node = $1; sub(/\{.*/, "", node); next }
    /^ *}/ { node = ""; next }
    /:/ { local = ($0 ~ /local:/); next }
    node != "" && !local { gsub(/[ \t;]/, ""); if ($0 != "") print node, $0 }'
}

# map_nodes MAP: the version nodes, oldest first.
map_nodes() {
  sed 's|/\*.*\*/||; s|#.*||' "$1" | sed -n 's/^\([A-Za-z_][A-Za-z0-9_.]*\) *{.*/\1/p'
}

# exported SO: the functions and variables SO defines in .dynsym, without
# their @VERSION and without the version nodes' own (absolute) symbols.
exported() {
  nm -D --defined-only "$1" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u
}

# has_debug_info SO: DWARF is there (without it abidw sees symbol names only
# and no struct layout).
has_debug_info() {
  # (grep -c reads it all: no SIGPIPE for readelf under pipefail)
  [ "$(readelf -S "$1" 2>/dev/null | grep -c '\.debug_info')" != 0 ]
}

# abi_dump SO SOURCE_DIR OUT: the ABI as abidiff compares it. The source
# locations stay (abidiff --headers-dir needs them to tell public types from
# private ones) with SOURCE_DIR cut off, so a dump does not depend on where
# the tree was built; no build paths.
abi_dump() {
  abidw --no-corpus-path --no-comp-dir-path --out-file "$3.tmp" "$1" || return 1
  sed "s|path='$2/|path='|g" "$3.tmp" >"$3" && rm -f "$3.tmp"
}

# abi_compare BASELINE CURRENT HEADERS_DIR: abidiff's report on stdout; its
# exit status (bit 2: any change, additions included; bit 3: incompatible).
# Types not defined in HEADERS_DIR (the opaque structs' private layouts) are
# left out.
abi_compare() {
  abidiff --headers-dir1 "$3" --headers-dir2 "$3" "$1" "$2"
}
