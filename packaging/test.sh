#!/usr/bin/env bash
# Run every rnull test: install dependencies, build with -Werror, run the
# sanitizer variants (ASan+UBSan over the engine, plugin, server and feature
# tests; TSan over the threaded paths: engine, server, plugin, the example driver's workers), then the whole
# CTest suite. The last line is CTest's summary of the whole suite. Usage: packaging/test.sh [ctest args]
set -uo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
bash packaging/deps.sh || exit 1

status=0
sanitizer_run() { # name cmake-flag ctest-label-regex
  local dir=build-$1
  echo "=== $1 build: tests labelled '$3' ==="
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DRNULL_WERROR=ON "$2" >"$dir.log" 2>&1 &&
    cmake --build "$dir" -j"$jobs" >>"$dir.log" 2>&1 || { cat "$dir.log"; return 1; }
  (cd "$dir" && ctest --output-on-failure -j"$jobs" -L "$3" -LE "slow|bench|valgrind|kernel|netns|interop")
}
if [ "${RNULL_SKIP_SANITIZERS:-0}" != 1 ]; then
  sanitizer_run asan -DRNULL_ASAN=ON 'unit|server|plugin|features|example' || status=1
  sanitizer_run tsan -DRNULL_TSAN=ON 'unit|server|plugin|example' || status=1
  # libFuzzer (clang) over the server's handshake and request parsers: a short bounded run
  echo "=== fuzz build: tests labelled 'fuzz' ==="
  if cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DRNULL_FUZZ=ON >build-fuzz.log 2>&1 &&
    cmake --build build-fuzz -j"$jobs" --target fuzz_handshake fuzz_request fuzz_ctl_line fuzz_key_value >>build-fuzz.log 2>&1; then
    (cd build-fuzz && ctest --output-on-failure -L fuzz) || status=1
  else
    cat build-fuzz.log
    status=1
  fi
fi

echo "=== main build: the whole suite ==="
cmake -S . -B build -DRNULL_WERROR=ON >build.log 2>&1 && cmake --build build -j"$jobs" >>build.log 2>&1 ||
  { cat build.log; echo "0 passed, 1 failed"; exit 1; }
(cd build && ctest --output-on-failure -j"$jobs" "$@") || status=1
exit $status
