#!/usr/bin/env bash
# Generates a Python client (openapi-python-client) and a TypeScript client (openapi-typescript
# types for openapi-fetch) from api-spec/openapi.json into target/clients (ignored by git), then
# runs each one's smoke script (clients/python/fumee.py, clients/typescript/fumee.mts) against a
# running demo: token, inscriptions page by page, a batch pushed with an Idempotency-Key, the
# change feed. The TypeScript smoke script is type-checked (tsc --strict) against the generated
# types before it runs.
#
# usage: ONDE_URL=http://127.0.0.1:8080 ONDE_IDENTIFIANTS=data/demo-credentials.json clients/generer-et-tester.sh
# (.ci/contrat.sh sets both and starts the demo). Tools: .ci/outils.sh (pinned, from npm and PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
RACINE=$PWD
URL="${ONDE_URL:-http://127.0.0.1:8080}"
IDENTIFIANTS=$(realpath "${ONDE_IDENTIFIANTS:-data/demo-credentials.json}")
SORTIE="$RACINE/target/clients"

source .ci/outils.sh
outils_installer >/dev/null

echo "== client Python (openapi-python-client $("$OUTILS_PY" -m pip show openapi-python-client | sed -n 's/^Version: //p'))"
rm -rf "$SORTIE/python"
mkdir -p "$SORTIE/python"
openapi-python-client generate --path api-spec/openapi.json --config clients/python/config.yaml \
    --meta none --output-path "$SORTIE/python/onde_echanges_client" --overwrite >"$SORTIE/python-generation.log" 2>&1 \
    || { cat "$SORTIE/python-generation.log"; exit 1; }
grep -i "warning" "$SORTIE/python-generation.log" | head -5 || true
PYTHONPATH="$SORTIE/python" "$OUTILS_PY" clients/python/fumee.py "$URL" "$IDENTIFIANTS"

echo "== client TypeScript (openapi-typescript $(openapi-typescript --version 2>/dev/null | tr -d '\n'), openapi-fetch)"
rm -rf "$SORTIE/typescript"
mkdir -p "$SORTIE/typescript"
ln -s "$OUTILS_NODE" "$SORTIE/typescript/node_modules"
openapi-typescript api-spec/openapi.json -o "$SORTIE/typescript/onde.ts" >/dev/null
cp clients/typescript/fumee.mts "$SORTIE/typescript/"
cat >"$SORTIE/typescript/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "strict": true,
    "target": "es2022",
    "module": "nodenext",
    "moduleResolution": "nodenext",
    "skipLibCheck": true,
    "outDir": "dist",
    "types": ["node"]
  },
  "files": ["fumee.mts", "onde.ts"]
}
JSON
(cd "$SORTIE/typescript" && tsc -p tsconfig.json)
node "$SORTIE/typescript/dist/fumee.mjs" "$URL" "$IDENTIFIANTS"
