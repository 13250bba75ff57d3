#!/usr/bin/env bash
# Runs every fuzz target for a bounded time: `fuzz/run.sh [SECONDS] [TARGET...]` (20 s each by
# default; longer by hand, e.g. `fuzz/run.sh 600 dossier_json`). cargo-fuzz needs nightly
# features: on the stable toolchain RUSTC_BOOTSTRAP=1 unlocks them. Installs cargo-fuzz when
# absent. The corpus grows in target/fuzz/corpus (seeded from fuzz/graines); a crash is saved in
# target/fuzz/artefacts and fails the run: add its input as a regression test, then fix.
set -euo pipefail
cd "$(dirname "$0")"
RACINE=$(cd .. && pwd)

SECONDES="${1:-20}"
shift || true
CIBLES=("$@")
if [[ ${#CIBLES[@]} -eq 0 ]]; then
    CIBLES=(identifiants dossier_json lignes_import)
fi
# No sanitizer by default: the project forbids unsafe code, and the runs are faster (ASan with
# FUZZ_SANITIZER=address).
SANITIZER="${FUZZ_SANITIZER:-none}"

export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$RACINE/target/fuzz/build"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installation de cargo-fuzz"
    cargo install --locked cargo-fuzz@0.13.2
fi

echo "== construction des cibles ($(cargo fuzz --version))"
for cible in "${CIBLES[@]}"; do cargo fuzz build --sanitizer "$SANITIZER" "$cible" 2>&1 | tail -2; done
for cible in "${CIBLES[@]}"; do
    corpus="$RACINE/target/fuzz/corpus/$cible"
    artefacts="$RACINE/target/fuzz/artefacts/$cible"
    mkdir -p "$corpus" "$artefacts"
    echo "== $cible : $SECONDES s"
    dictionnaire=()
    [[ $cible != identifiants ]] && dictionnaire=(-dict=json.dict)
    cargo fuzz run --sanitizer "$SANITIZER" "$cible" "$corpus" "graines/$cible" -- "${dictionnaire[@]}" \
        -max_total_time="$SECONDES" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$artefacts/" -print_final_stats=1 2>&1 \
        | grep -E "^#[0-9]+ *DONE|stat::number_of_executed_units|stat::peak_rss|panicked|ERROR|SUMMARY|Test unit written|artifact" || true
    if [[ -n "$(ls -A "$artefacts")" ]]; then
        echo "$cible : entrée fautive dans $artefacts" >&2
        exit 1
    fi
done
echo "fuzz : ${#CIBLES[@]} cibles sans défaut en $SECONDES s chacune"
