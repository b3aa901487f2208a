#!/usr/bin/env bash
# Fuzzes the parsers that read files pwdir did not necessarily write: the directory codec, the
# settings parser, the tally codec, format 2's `users` and shards, LDIF and pwdird's protocol (Fuzz/*.swift, libFuzzer through Swift's
# -sanitize=fuzzer,address).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]    SECONDS per target (default 600), one after the
#                                            other; TARGET: directory, settings, tally, manifest, totp,
#                                            ldif, pwdird (default all)
#
# Everything it makes goes to .build-fuzz/ (never .build, where SwiftPM builds): the objects and
# binaries, a scratch copy of the seed corpus per target (new inputs go there, never into
# Fuzz/corpus), logs, and the input of any crash. Exit 1 on a crash, naming the input's path.
# A crash input is replayed with: SWIFT_BACKTRACE=enable=no .build-fuzz/bin/TARGET INPUT
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
out=$root/.build-fuzz
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(directory settings tally manifest totp ldif pwdird)
case "$seconds" in '' | *[!0-9]*) echo "usage: $0 [SECONDS] [directory|settings|tally|manifest|totp|ldif|pwdird ...]" >&2; exit 64 ;; esac

export PATH=$PATH:/opt/swift/usr/bin
swiftc=$(command -v swiftc) || { echo "fuzz: swiftc not found" >&2; exit 1; }
# The clang of the Swift toolchain: its coverage instrumentation matches swiftc's.
clang=$(dirname "$(readlink -f "$swiftc")")/clang
run() { nice -n 10 "$@"; }
# Swift's own crash backtracer reads the stack from another thread, which ASan reports as a
# second error and which can hang libFuzzer; libFuzzer prints the stack itself.
export SWIFT_BACKTRACE=enable=no

source_of() {
  case "$1" in
    directory) echo Fuzz/DirectoryCodecFuzz.swift ;;
    settings) echo Fuzz/SettingsFuzz.swift ;;
    tally) echo Fuzz/TallyCodecFuzz.swift ;;
    manifest) echo Fuzz/ManifestFuzz.swift ;;
    totp) echo Fuzz/TotpCodecFuzz.swift ;;
    ldif) echo Fuzz/LDIFFuzz.swift ;;
    pwdird) echo Fuzz/PwdirdFuzz.swift ;;
    *) echo "fuzz: unknown target '$1' (directory, settings, tally, manifest, totp, ldif, pwdird)" >&2; exit 64 ;;
  esac
}
for t in "${targets[@]}"; do source_of "$t" >/dev/null; done

# PwdirCore and the C shims it imports, instrumented once for all targets.
shims=(CPwdirCrypt CPwdirSys CPwdirQuality CPwdirOath)
mkdir -p "$out/core" "$out/modules" "$out/bin" "$out/logs"
core=$out/core/PwdirCore.o
if [ ! -e "$core" ] || [ -n "$(find Sources/PwdirCore "${shims[@]/#/Sources/}" -newer "$core" -print -quit)" ]; then
  echo "fuzz: building PwdirCore with -sanitize=fuzzer,address (a few minutes)"
  objects=()
  for m in "${shims[@]}"; do
    mkdir -p "$out/modules/$m"
    printf 'module %s {\n  umbrella "%s"\n  export *\n}\n' "$m" "$root/Sources/$m/include" >"$out/modules/$m/module.modulemap"
    for c in Sources/"$m"/*.c; do
      o=$out/core/$(basename "$c" .c).o
      run "$clang" -c -O1 -g -fsanitize=fuzzer-no-link,address -ISources/"$m"/include "$c" -o "$o"
      objects+=("$o")
    done
  done
  mapfile -t sources < <(find Sources/PwdirCore -name '*.swift' | sort)
  run "$swiftc" -swift-version 6 -O -g -wmo -parse-as-library -sanitize=fuzzer,address \
    -module-name PwdirCore -I "$out/modules" \
    -emit-module -emit-module-path "$out/core/PwdirCore.swiftmodule" \
    -c "${sources[@]}" -o "$core.tmp" 2>"$out/logs/core.log" || { tail -n 40 "$out/logs/core.log" >&2; exit 1; }
  mv "$core.tmp" "$core"
  printf '%s\n' "${objects[@]}" >"$out/core/shims.list"
fi
mapfile -t shim_objects <"$out/core/shims.list"

status=0
for t in "${targets[@]}"; do
  src=$(source_of "$t")
  bin=$out/bin/$t
  if [ ! -e "$bin" ] || [ "$src" -nt "$bin" ] || [ "$core" -nt "$bin" ]; then
    echo "fuzz: linking $t"
    # The linker's thousands of warnings about the sanitizer runtime go to the log only.
    run "$swiftc" -swift-version 6 -O -g -parse-as-library -sanitize=fuzzer,address \
      -I "$out/core" -I "$out/modules" "$src" "$core" "${shim_objects[@]}" \
      -lcrypt -lpwquality -loath -o "$bin.tmp" >"$out/logs/link-$t.log" 2>&1 \
      || { grep -v ': warning: ' "$out/logs/link-$t.log" | tail -n 40 >&2; exit 1; }
    mv "$bin.tmp" "$bin"
  fi

  work=$out/run/$t
  crashes=$out/crashes/$t
  rm -rf "$work"
  mkdir -p "$work/corpus" "$crashes"
  cp Fuzz/corpus/"$t"/* "$work/corpus/"
  options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
           -artifact_prefix="$crashes/" -detect_leaks=0)
  [ -e Fuzz/"$t".dict ] && options+=(-dict=Fuzz/"$t".dict)
  case "$t" in
    directory) options+=(-max_len=8192) ;;
    settings) options+=(-max_len=4096) ;;
    tally) options+=(-max_len=4200) ;;  # a whole tally file (4096 bytes) and the mode byte
    manifest) options+=(-max_len=4096) ;;  # a whole manifest (about 1,600 bytes) or a small shard
  esac
  log=$out/logs/$t.log
  started=$SECONDS
  if run "$bin" "${options[@]}" "$work/corpus" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz: $t: clean, ${runs:-?} inputs in $((SECONDS - started)) s, corpus $(ls "$work/corpus" | wc -l) (log ${log#"$root"/})"
  else
    status=1
    # libFuzzer names the input it kept (the same name again for an input seen before).
    input=$(sed -n 's/.*Test unit written to //p' "$log" | tail -n 1)
    if [ -n "$input" ] && [ -e "$input" ]; then
      what=$(grep -a -m1 -o -E 'property broken: .*|ERROR: AddressSanitizer: [^ ]*|ERROR: libFuzzer: .*|Fatal error: .*' "$log" | cut -c1-200)
      echo "fuzz: $t: FAILED: ${what:-see the log} — input kept at ${input#"$root"/} (log ${log#"$root"/}; replay: SWIFT_BACKTRACE=enable=no .build-fuzz/bin/$t ${input#"$root"/})" >&2
    else
      echo "fuzz: $t: FAILED without a crash input; see ${log#"$root"/}" >&2
    fi
  fi
done
exit $status
