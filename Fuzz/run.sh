#!/usr/bin/env bash
# Builds and runs one libFuzzer target against DataPort's readers.
#
#   Fuzz/run.sh TARGET [SECONDS]     TARGET: zip bundle manifest json jsondata age (csv xml when their readers exist), or all
#   Fuzz/run.sh smoke [SECONDS]      every target for SECONDS each (default 20): the CI smoke run
#
# Exits non-zero when a target crashes, leaks a sanitizer report, runs out of memory or times out;
# the reproducer is in .build-fuzz/artifacts/TARGET/. Replay one with: .build-fuzz/bin/TARGET FILE
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scratch=.build-fuzz
target=${1:?usage: Fuzz/run.sh TARGET|all|smoke [SECONDS]}
seconds=${2:-}

declare -A sources=(
    [zip]=FuzzZipReader.swift [bundle]=FuzzBundle.swift [manifest]=FuzzManifest.swift
    [json]=FuzzJSONReader.swift [jsondata]=FuzzJSONDataFile.swift [age]=FuzzAgeHeader.swift
)
[[ -f Fuzz/FuzzCSV.swift && -f Sources/DataPortFormats/CSV/CSVFormat.swift ]] && sources[csv]=FuzzCSV.swift
[[ -f Fuzz/FuzzXML.swift && -f Sources/DataPortFormats/XML/XMLFormat.swift ]] && sources[xml]=FuzzXML.swift
all_targets=(zip bundle manifest json jsondata age)
for t in csv xml; do [[ -n ${sources[$t]:-} ]] && all_targets+=("$t"); done

# 1. The library modules, instrumented for coverage and AddressSanitizer (no executable is linked here:
#    libFuzzer supplies main()). DataPortBundle pulls in DataPortFormats, DataPortArchive, DataPortIO and DataPortModel.
build_libraries() {
    swift build -c release --scratch-path "$scratch" --target DataPortBundle -Xswiftc -sanitize=fuzzer,address >&2
    swift build -c release --scratch-path "$scratch" --target DataPortAge -Xswiftc -sanitize=fuzzer,address >&2
}

# 2. One fuzz target, linked with the modules' object files and the system libraries they use.
build_target() {
    local t=$1 lib=$scratch/release
    mkdir -p "$scratch/bin"
    rm -f "$scratch/bin/$t"
    local objects=() cflags=() shared=()
    case $t in jsondata|csv|xml) shared=(Fuzz/FuzzDatasets.swift) ;; esac
    # The C shims' headers may need pkg-config's include paths (libxml2 lives in /usr/include/libxml2).
    for f in $(pkg-config --cflags-only-I libxml-2.0 zlib libcrypto); do cflags+=(-Xcc "$f"); done
    local modules=(DataPortModel DataPortIO DataPortArchive DataPortFormats DataPortBundle)
    [[ $t == age ]] && modules+=(DataPortAge)
    # Only the objects of sources that exist now: a renamed or split file leaves its old object in
    # the scratch folder, which would be linked twice.
    local m o
    for m in "${modules[@]}"; do
        for o in "$lib/$m.build/"*.swift.o; do
            [[ -n $(find "Sources/$m" -name "$(basename "$o" .o)" -print -quit) ]] && objects+=("$o")
        done
    done
    swiftc -O -sanitize=fuzzer,address -parse-as-library -use-ld=lld \
        -I "$lib/Modules" \
        -Xcc -fmodule-map-file=Sources/CZlib/module.modulemap \
        -Xcc -fmodule-map-file=Sources/CISAL/module.modulemap \
        -Xcc -fmodule-map-file=Sources/CCrypto/module.modulemap \
        -Xcc -fmodule-map-file=Sources/CLinux/module.modulemap \
        -Xcc -fmodule-map-file=Sources/CLibXML2/module.modulemap "${cflags[@]}" \
        "Fuzz/${sources[$t]}" "${shared[@]}" "${objects[@]}" -lz -lisal -lcrypto -lxml2 \
        -o "$scratch/bin/$t" >&2 || return 1
}

# 3. Seeds, from the committed sample bundle (JSON, CSV and XML files; kept current by a test).
seed() {
    local seeds=$scratch/seeds
    [[ -f $seeds/done ]] && return 0
    rm -rf "$seeds"; mkdir -p "$seeds"
    cp Samples/ana-example.zip "$seeds/sample.zip"
    python3 Fuzz/seeds.py "$seeds/sample.zip" "$seeds"
    touch "$seeds/done"
}

# Seeds for the age target: files encrypted by the real age tool to the specification's example
# recipient (the target holds its identity), and a passphrase header.
seed_age() {
    local dir=$scratch/seeds/age
    [[ -d $dir ]] && return 0
    mkdir -p "$dir.tmp"
    local r=age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj
    printf 'age-encryption.org/v1\n-> scrypt ajMFur+EJLGaohv/dLRGnw 18\n8SHBz/ldWnjyGFQqfjat6uNBarWqqEMDS7W8X7+Xq5Q\n--- HK2NmOBN9Dpq0Gw6xMCuhFcQlQLvZ/wQUi/2scLG75s\n' >"$dir.tmp/scrypt"
    if command -v age >/dev/null; then
        printf 'x' | age -r "$r" -o "$dir.tmp/short.age"
        printf '' | age -r "$r" -r "$r" -o "$dir.tmp/empty.age"
        age -r "$r" -o "$dir.tmp/sample.zip.age" Samples/ana-example.zip
    fi
    mv "$dir.tmp" "$dir"
}

run_target() {
    local t=$1 secs=$2
    [[ -n ${sources[$t]:-} ]] || { echo "unknown target $t (known: ${all_targets[*]})" >&2; exit 2; }
    # `set -e` does not apply inside a function called from `||`, so failures are checked by hand.
    build_target "$t" || { echo "== $t: FAILED to build" >&2; return 1; }
    local corpus=$scratch/corpus/$t artifacts=$scratch/artifacts/$t
    mkdir -p "$corpus" "$artifacts"
    local max_len=65536
    case $t in zip|bundle) max_len=131072 ;; esac
    echo "== fuzzing $t for ${secs}s (corpus $corpus)" >&2
    # -rss_limit_mb and -timeout turn unbounded memory and hangs into failures too.
    local status=0
    "$scratch/bin/$t" "$corpus" "$scratch/seeds/$t" -max_total_time="$secs" -max_len="$max_len" \
        -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/" \
        >"$scratch/$t.log" 2>&1 || status=$?
    grep -v '^#[0-9]*[[:space:]]*\(NEW\|REDUCE\|pulse\|RELOAD\)' "$scratch/$t.log" | tail -n 40 >&2
    echo "== $t: $([[ $status == 0 ]] && echo ok || echo "FAILED (exit $status), see $scratch/$t.log and $artifacts/")" >&2
    return "$status"
}

build_libraries
seed
seed_age
failed=()
case $target in
    smoke|all)
        [[ $target == smoke ]] && secs=${seconds:-20} || secs=${seconds:-120}
        for t in "${all_targets[@]}"; do run_target "$t" "$secs" || failed+=("$t"); done ;;
    *) run_target "$target" "${seconds:-120}" || failed+=("$target") ;;
esac
if (( ${#failed[@]} )); then echo "fuzz targets failed: ${failed[*]}" >&2; exit 1; fi
