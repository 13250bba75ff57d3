#!/usr/bin/env bash
# Contract checks of the partner API, against a demo server this script starts and stops:
#   1. the document the binary serves is the committed api-spec/openapi.json;
#   1b. the perimeter integrity sequence of issue 16 (tests/demo/integrite.py): the two-call
#      exploit yields no pupil data and no inscription, a formula-like name leaves the CSV as text;
#   2. Spectral with the OpenAPI and OWASP API security rules (.spectral.yaml): zero errors;
#   3. generated Python and TypeScript clients, each running its smoke script
#      (clients/generer-et-tester.sh);
#   4. the /docs page in headless Chromium (tests/navigateur/docs.mjs), screenshot in
#      target/captures/docs.png;
#   5. schemathesis against the running demo with valid tokens (.ci/schemathesis.toml):
#      no 5xx, responses conform to the document, negative inputs rejected (last: it writes);
#   6. a short run of each fuzz target (fuzz/run.sh).
#
# Tools come from npm and PyPI at pinned versions (.ci/outils.sh, cached in target/outils);
# Chromium from Debian (apt-get install chromium when absent).
#
# Settings (environment):
#   ONDE_BINAIRE         the onde-echanges binary (default: target/release, else target/debug;
#                        built in debug mode when neither exists)
#   ONDE_CONTRAT_PORT    port of the demo server (default: a free port)
#   ONDE_ST_EXEMPLES     schemathesis examples per operation (default 15)
#   ONDE_FUZZ_SECONDES   seconds per fuzz target, 0 to skip the fuzzing (default 10)
#   ONDE_CONTRAT_ETAPES  steps to run, among spec,integrite,spectral,schemathesis,clients,navigateur,fuzz
#                        (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
RACINE=$PWD
export CARGO_TERM_COLOR=never

# A free port unless one is given: another run (or another server) may hold any fixed one.
libre() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT="${ONDE_CONTRAT_PORT:-$(libre)}"
URL="http://127.0.0.1:$PORT"
if curl -s -o /dev/null "$URL/" 2>/dev/null; then
    echo "le port $PORT est déjà pris : choisir ONDE_CONTRAT_PORT" >&2
    exit 1
fi
ST_EXEMPLES="${ONDE_ST_EXEMPLES:-15}"
FUZZ_SECONDES="${ONDE_FUZZ_SECONDES:-10}"
ETAPES="${ONDE_CONTRAT_ETAPES:-spec,integrite,spectral,schemathesis,clients,navigateur,fuzz}"

etape() { [[ ",$ETAPES," == *",$1,"* ]]; }

DEBUT_TOTAL=$SECONDS
declare -a BILAN=()
chrono() { # NAME COMMAND... : runs, records the duration
    local nom=$1 debut=$SECONDS
    shift
    echo "== $nom"
    "$@"
    BILAN+=("$(printf '%-14s %4d s' "$nom" $((SECONDS - debut)))")
}

# --- the binary -------------------------------------------------------------------------------
BINAIRE="${ONDE_BINAIRE:-}"
if [[ -z "$BINAIRE" ]]; then
    for candidat in "${CARGO_TARGET_DIR:-target}/release/onde-echanges" "${CARGO_TARGET_DIR:-target}/debug/onde-echanges"; do
        if [[ -x "$candidat" ]]; then BINAIRE=$candidat; break; fi
    done
fi
if [[ -z "$BINAIRE" ]]; then
    echo "== aucun binaire construit : cargo build --bin onde-echanges"
    cargo build --bin onde-echanges
    BINAIRE="${CARGO_TARGET_DIR:-target}/debug/onde-echanges"
fi
BINAIRE=$(realpath "$BINAIRE")
echo "== binaire : $BINAIRE"

# --- tools ------------------------------------------------------------------------------------
source .ci/outils.sh
chrono outils outils_installer
if etape navigateur && ! command -v chromium >/dev/null; then
    echo "== installation de Chromium (Debian)"
    apt-get install -y -qq chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
fi

# --- the demo server --------------------------------------------------------------------------
TEMP=$(mktemp -d)
PID_SERVEUR=""
arreter() {
    if [[ -n "$PID_SERVEUR" ]] && kill -0 "$PID_SERVEUR" 2>/dev/null; then
        kill "$PID_SERVEUR" 2>/dev/null || true
        wait "$PID_SERVEUR" 2>/dev/null || true
    fi
    rm -rf "$TEMP"
}
trap arreter EXIT

demarrer() {
    # Rate limits raised for the run: schemathesis sends a few hundred requests a second with
    # one token (the RateLimit headers are still there; tests/suite/limites.rs covers the 429s).
    (cd "$TEMP" && exec env DATABASE_URL="sqlite://$TEMP/onde.sqlite" ONDE_BIND="127.0.0.1:$PORT" \
        ONDE_WORKERS=2 ONDE__LIMITES__PAR_SECONDE=2000 ONDE__LIMITES__RAFALE=4000 RUST_LOG=warn \
        "$BINAIRE" serve --demo >"$TEMP/serveur.log" 2>&1) &
    PID_SERVEUR=$!
    for _ in $(seq 1 300); do
        if curl -fsS "$URL/health/ready" >/dev/null 2>&1; then return 0; fi
        if ! kill -0 "$PID_SERVEUR" 2>/dev/null; then
            cat "$TEMP/serveur.log" >&2
            echo "le serveur de démonstration s'est arrêté" >&2
            return 1
        fi
        sleep 1
    done
    echo "le serveur de démonstration ne répond pas sur $URL" >&2
    return 1
}
chrono demarrage demarrer
echo "   démo prête sur $URL (données dans $TEMP)"
IDENTIFIANTS="$TEMP/demo-credentials.json"
export ONDE_URL="$URL" ONDE_IDENTIFIANTS="$IDENTIFIANTS"

# --- 1. served document = committed document --------------------------------------------------
verifier_spec() {
    curl -fsS "$URL/openapi.json" -o "$TEMP/servie.json"
    python3 - "$TEMP/servie.json" api-spec/openapi.json <<'PY'
import json, sys
servie, commitee = (json.load(open(f, encoding="utf-8")) for f in sys.argv[1:3])
if servie != commitee:
    sys.exit("le document servi sur /openapi.json diffère de api-spec/openapi.json (binaire à reconstruire ?)")
print("   /openapi.json = api-spec/openapi.json")
PY
}
etape spec && chrono spec verifier_spec

# --- 1b. perimeter integrity, as an attacker would chain the calls -----------------------------
etape integrite && chrono integrite python3 tests/demo/integrite.py "$URL" "$IDENTIFIANTS"

# --- 2. Spectral ------------------------------------------------------------------------------
spectral_() {
    # Errors fail the run (and are listed); warnings are counted.
    spectral lint api-spec/openapi.json --ruleset .spectral.yaml --fail-severity error \
        --display-only-failures -f text
    local avertissements
    avertissements=$(spectral lint api-spec/openapi.json --ruleset .spectral.yaml --fail-severity error -f json 2>/dev/null \
        | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["severity"] == 1))')
    echo "   0 erreur, $avertissements avertissements (string-restricted : texte libre sans motif)"
}
etape spectral && chrono spectral spectral_

# --- 3. generated clients ---------------------------------------------------------------------
etape clients && chrono clients bash clients/generer-et-tester.sh

# --- 4. the /docs page in a browser -----------------------------------------------------------
etape navigateur && chrono navigateur node tests/navigateur/docs.mjs "$URL"

# --- 5. schemathesis, last against the server (it writes, revokes, rotates) ------------------
schemathesis_() {
    eval "$(python3 .ci/demo.py "$URL" "$IDENTIFIANTS")"
    export JETON_ECOLE JETON_ADMIN UAI_ECOLE INE_ECOLE INSCRIPTION_ECOLE PARTENAIRE_ESSAI
    mkdir -p target/contrat
    (cd .ci && PYTHONPATH=. timeout 900 schemathesis --no-color --config-file schemathesis.toml run "$RACINE/api-spec/openapi.json" \
        --max-examples "$ST_EXEMPLES" --seed "${ONDE_ST_GRAINE:-8}" \
        --report junit --report-dir "$RACINE/target/contrat" \
        --suppress-health-check all --warnings off)
}
etape schemathesis && chrono schemathesis schemathesis_

arreter
trap - EXIT

# --- 6. fuzzing -------------------------------------------------------------------------------
if etape fuzz && [[ "$FUZZ_SECONDES" != 0 ]]; then
    chrono fuzz bash fuzz/run.sh "$FUZZ_SECONDES"
fi

echo "== bilan des contrôles de contrat"
printf '   %s\n' "${BILAN[@]}"
echo "   total          $((SECONDS - DEBUT_TOTAL)) s"
echo "contrat : 1 passed, 0 failed"
