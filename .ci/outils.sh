#!/usr/bin/env bash
# Installs the contract-check tools, pinned, into one cache folder (default: target/outils),
# from the npm registry and PyPI only. Sourced by .ci/contrat.sh and clients/generer-et-tester.sh;
# a second run with the same versions installs nothing.
#
# After sourcing: $OUTILS, $OUTILS_NODE (node_modules/.bin on PATH) and $OUTILS_PY (python of a
# virtualenv holding schemathesis and openapi-python-client).

OUTILS="${ONDE_OUTILS:-$PWD/target/outils}"

# npm packages (exact versions).
OUTILS_NPM=(
    "@stoplight/spectral-cli@6.16.3"
    "@stoplight/spectral-owasp-ruleset@2.0.1"
    "openapi-typescript@7.13.0"
    "openapi-fetch@0.17.0"
    "typescript@5.9.3"
    "@types/node@20.19.43"
    "playwright-core@1.65.1"
    "axe-core@4.14.1"
)
# PyPI packages (exact versions).
OUTILS_PIP=(
    "schemathesis==4.32.5"
    "openapi-python-client==0.29.1"
)

outils_installer() {
    mkdir -p "$OUTILS/npm" "$OUTILS/marques"
    local marque_npm="$OUTILS/marques/npm-$(printf '%s ' "${OUTILS_NPM[@]}" | sha256sum | cut -c1-16)"
    if [[ ! -e "$marque_npm" ]]; then
        echo "== installation des outils npm : ${OUTILS_NPM[*]}"
        [[ -f "$OUTILS/npm/package.json" ]] || echo '{"private": true}' > "$OUTILS/npm/package.json"
        (cd "$OUTILS/npm" && npm install --no-audit --no-fund --loglevel=error --save-exact "${OUTILS_NPM[@]}")
        touch "$marque_npm"
    fi
    local marque_pip="$OUTILS/marques/pip-$(printf '%s ' "${OUTILS_PIP[@]}" | sha256sum | cut -c1-16)"
    if [[ ! -e "$marque_pip" ]]; then
        echo "== installation des outils Python : ${OUTILS_PIP[*]}"
        [[ -x "$OUTILS/venv/bin/python" ]] || python3 -m venv "$OUTILS/venv"
        "$OUTILS/venv/bin/python" -m pip install --quiet --disable-pip-version-check "${OUTILS_PIP[@]}"
        touch "$marque_pip"
    fi
    OUTILS_NODE="$OUTILS/npm/node_modules"
    OUTILS_PY="$OUTILS/venv/bin/python"
    export PATH="$OUTILS_NODE/.bin:$OUTILS/venv/bin:$PATH"
    export NODE_PATH="$OUTILS_NODE"
}
