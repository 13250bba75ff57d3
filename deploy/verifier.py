"""Contrôles hors ligne des fichiers de deploy/, appelés par deploy/verifier.sh.

Usage : python3 deploy/verifier.py VERSIONS_K8S (ex. « 1.30 1.37 »)

Une ligne par contrôle : « OK … », « ÉCHEC … » (suivie du détail, indenté) ou « IGNORÉ … ».
Le code de sortie est 1 si un contrôle a échoué. Rien n'est lu sur le réseau : les schémas
Kubernetes viennent du paquet kubernetes-validate.
"""

from __future__ import annotations

import pathlib
import json
import re
import sys

import yaml

DEPLOY = pathlib.Path(__file__).resolve().parent
RACINE = DEPLOY.parent
K8S = DEPLOY / "kubernetes"
NOM = "onde-echanges"
ETIQUETTE = "app.kubernetes.io/name"

echecs = 0


def ok(libelle: str) -> None:
    print(f"OK       {libelle}")


def echec(libelle: str, details: list[str] | str = ()) -> None:
    global echecs
    echecs += 1
    print(f"ÉCHEC    {libelle}")
    if isinstance(details, str):
        details = [details]
    for d in details:
        print(f"         {d}")


def verifier(libelle: str, problemes: list[str]) -> None:
    """OK if the list of problems is empty, ÉCHEC listing them otherwise."""
    if problemes:
        echec(libelle, problemes)
    else:
        ok(libelle)


def rel(p: pathlib.Path) -> str:
    return str(p.relative_to(RACINE))


def documents(p: pathlib.Path) -> list[dict]:
    with open(p, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


# ---------------------------------------------------------------------------------------------
# What the code reads today: the deployment files may set nothing else.


def sources_rust() -> str:
    fichiers = sorted((RACINE / "src").rglob("*.rs")) + sorted(RACINE.glob("crates/*/src/**/*.rs"))
    return "\n".join(f.read_text(encoding="utf-8") for f in fichiers)


SOURCES = sources_rust()


def variable_connue(nom: str) -> bool:
    if nom == "RUST_LOG":  # tracing_subscriber's EnvFilter default variable
        return "from_default_env" in SOURCES
    if nom == "MALLOC_ARENA_MAX":  # read by glibc's malloc, not by the code
        return True
    if nom.startswith("ONDE__"):  # ONDE__SECTION[__SOUS_SECTION]__CLE: a key of src/config*, read by figment
        parties = nom.removeprefix("ONDE__").lower().split("__")
        config = "\n".join(f.read_text(encoding="utf-8") for f in [RACINE / "src" / "config.rs", *(RACINE / "src" / "config").rglob("*.rs")])
        return (
            'Env::prefixed("ONDE__").split("__")' in config
            and len(parties) >= 2
            and all(re.search(rf"pub {p}: [\w:<>]+,", config) for p in parties[:-1])
            and f"pub {parties[-1]}:" in config
        )
    return f'"{nom}"' in SOURCES


def constante(motif: str) -> int | None:
    """Value of an integer constant of the code, e.g. `512 * 1024 * 1024`."""
    m = re.search(motif, SOURCES)
    if not m:
        return None
    valeur = 1
    for facteur in m.group(1).replace("_", "").split("*"):
        valeur *= int(facteur.strip())
    return valeur


# Default drain time of `serve` (serveur.arret_gracieux_s in src/config.rs).
DELAI_ARRET = constante(r"arret_gracieux_s:\s*([\d_]+),")
TAILLE_MAX_CORPS = constante(r"TAILLE_MAX_CORPS\s*:\s*usize\s*=\s*([\d_ *]+);")
TAILLE_MAX_IMPORT = constante(r"TAILLE_MAX_IMPORT\s*:\s*u64\s*=\s*([\d_ *]+);")


def duree_s(valeur: object) -> float | None:
    """Seconds of a systemd / compose duration ("35s", "1m30s", "35", 35)."""
    if isinstance(valeur, (int, float)):
        return float(valeur)
    total, reste = 0.0, str(valeur).strip()
    if re.fullmatch(r"\d+(\.\d+)?", reste):
        return float(reste)
    unites = {"h": 3600, "min": 60, "m": 60, "s": 1, "ms": 0.001}
    for nombre, unite in re.findall(r"(\d+(?:\.\d+)?)\s*(min|ms|h|m|s)", reste):
        total += float(nombre) * unites[unite]
    return total or None


# ---------------------------------------------------------------------------------------------
# Kubernetes


def kubernetes(versions: list[str]) -> None:
    import kubernetes_validate.utils as kv

    kustomization = K8S / "kustomization.yaml"
    manifestes = sorted(p for p in K8S.glob("*.yaml") if p.name != kustomization.name)

    # kustomization.yaml lists exactly the manifests of the folder.
    try:
        k = documents(kustomization)[0]
        listes = k.get("resources") or []
        problemes = [f"{r} : fichier absent" for r in listes if not (K8S / r).is_file()]
        problemes += [
            f"{p.name} n'est pas dans resources" for p in manifestes if p.name not in listes
        ]
        if k.get("kind") != "Kustomization":
            problemes.append("kind: Kustomization attendu")
        verifier(f"kustomization : {rel(kustomization)} liste les {len(manifestes)} manifestes", problemes)
    except (OSError, yaml.YAMLError, IndexError) as e:
        echec(f"kustomization : lecture de {rel(kustomization)}", str(e))

    objets: list[tuple[pathlib.Path, dict]] = []
    for p in manifestes:
        try:
            docs = documents(p)
        except yaml.YAMLError as e:
            echec(f"YAML : {rel(p)}", str(e).splitlines())
            continue
        for version in versions:
            problemes, noms = [], []
            for d in docs:
                nom = f"{d.get('kind')}/{(d.get('metadata') or {}).get('name')}"
                noms.append(nom)
                try:
                    kv.validate(d, version, strict=True)
                except kv.ValidationError as e:
                    chemin = ".".join(str(x) for x in e.absolute_path) or "(racine)"
                    problemes.append(f"{nom} : {chemin} : {e.message}")
                except kv.SchemaNotFoundError as e:
                    problemes.append(f"{nom} : {e.message}")
                except kv.VersionNotSupportedError as e:
                    problemes.append(e.message)
            if not docs:
                problemes.append("aucun objet")
            verifier(f"schéma Kubernetes {version} (strict) : {rel(p)} ({', '.join(noms)})", problemes)
        objets += [(p, d) for d in docs]

    coherence_kubernetes(objets)


def par_type(objets: list[tuple[pathlib.Path, dict]], kind: str) -> list[dict]:
    return [d for _, d in objets if d.get("kind") == kind]


def securite_pod(quoi: str, spec: dict) -> list[str]:
    problemes = []
    pod = spec.get("securityContext") or {}
    if pod.get("runAsNonRoot") is not True:
        problemes.append(f"{quoi} : securityContext.runAsNonRoot: true attendu")
    if (pod.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        problemes.append(f"{quoi} : seccompProfile RuntimeDefault attendu")
    if spec.get("automountServiceAccountToken") is not False:
        problemes.append(f"{quoi} : automountServiceAccountToken: false attendu")
    for c in spec.get("containers") or []:
        sc = c.get("securityContext") or {}
        q = f"{quoi}, conteneur {c.get('name')}"
        if sc.get("readOnlyRootFilesystem") is not True:
            problemes.append(f"{q} : readOnlyRootFilesystem: true attendu")
        if sc.get("allowPrivilegeEscalation") is not False:
            problemes.append(f"{q} : allowPrivilegeEscalation: false attendu")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            problemes.append(f"{q} : capabilities.drop [ALL] attendu")
        res = c.get("resources") or {}
        for cle in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in (res.get(cle) or {}):
                    problemes.append(f"{q} : resources.{cle}.{r} manquant")
    return problemes


def selectionne(selecteur: dict, etiquettes: dict) -> bool:
    return bool(selecteur) and all(etiquettes.get(k) == v for k, v in selecteur.items())


def coherence_kubernetes(objets: list[tuple[pathlib.Path, dict]]) -> None:
    # Every object, and every pod template, carries app.kubernetes.io/name: onde-echanges.
    problemes = []
    for p, d in objets:
        nom = f"{p.name} {d.get('kind')}/{(d.get('metadata') or {}).get('name')}"
        if ((d.get("metadata") or {}).get("labels") or {}).get(ETIQUETTE) != NOM:
            problemes.append(f"{nom} : étiquette {ETIQUETTE}: {NOM} manquante")
        gabarit = (d.get("spec") or {}).get("template")
        if gabarit and ((gabarit.get("metadata") or {}).get("labels") or {}).get(ETIQUETTE) != NOM:
            problemes.append(f"{nom} : étiquette {ETIQUETTE} manquante sur le gabarit de pod")
    verifier(f"Kubernetes : étiquette {ETIQUETTE}: {NOM} partout", problemes)

    deployments = par_type(objets, "Deployment")
    jobs = par_type(objets, "Job")
    services = par_type(objets, "Service")
    configmaps = {d["metadata"]["name"]: d for d in par_type(objets, "ConfigMap")}
    secrets = {d["metadata"]["name"]: d for d in par_type(objets, "Secret")}
    if len(deployments) != 1 or len(jobs) != 1:
        echec("Kubernetes : un Deployment et un Job de migration attendus",
              f"{len(deployments)} Deployment, {len(jobs)} Job")
        return
    dep, job = deployments[0], jobs[0]
    pod = dep["spec"]["template"]["spec"]
    etiquettes_pod = dep["spec"]["template"]["metadata"].get("labels") or {}
    conteneur = pod["containers"][0]
    ports = {pt.get("name"): pt.get("containerPort") for pt in conteneur.get("ports") or []}

    # Deployment: serve, probes, graceful stop.
    problemes = []
    if conteneur.get("args") != ["serve"]:
        problemes.append(f"args {conteneur.get('args')} : [serve] attendu")
    if not selectionne(dep["spec"]["selector"].get("matchLabels") or {}, etiquettes_pod):
        problemes.append("spec.selector ne sélectionne pas le gabarit de pod")
    if 8080 not in ports.values():
        problemes.append("containerPort 8080 attendu")
    attendus = {"livenessProbe": "/health/live", "readinessProbe": "/health/ready", "startupProbe": None}
    for sonde, chemin in attendus.items():
        s = conteneur.get(sonde)
        if not s:
            problemes.append(f"{sonde} manquante")
            continue
        get = s.get("httpGet") or {}
        if chemin and get.get("path") != chemin:
            problemes.append(f"{sonde} : httpGet.path {get.get('path')!r}, {chemin} attendu")
        port = get.get("port")
        if port not in ports and port not in ports.values():
            problemes.append(f"{sonde} : port {port!r} absent des ports du conteneur")
    commande = (((conteneur.get("lifecycle") or {}).get("preStop") or {}).get("exec") or {}).get("command") or []
    pause = int(commande[1]) if len(commande) == 2 and commande[0] == "sleep" else None
    if pause is None:
        problemes.append("lifecycle.preStop: exec [sleep, N] attendu")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if DELAI_ARRET is None:
        problemes.append("shutdown_timeout(N) introuvable dans src/ : revoir terminationGracePeriodSeconds")
    elif pause is not None and grace <= pause + DELAI_ARRET:
        problemes.append(
            f"terminationGracePeriodSeconds {grace} ≤ preStop {pause} s + vidage {DELAI_ARRET} s (shutdown_timeout du code)"
        )
    montages = {m.get("mountPath"): m.get("name") for m in conteneur.get("volumeMounts") or []}
    volumes = {v.get("name"): v for v in pod.get("volumes") or []}
    if "emptyDir" not in volumes.get(montages.get("/tmp"), {}):
        problemes.append("/tmp doit être un volume emptyDir (racine en lecture seule)")
    problemes += securite_pod("Deployment", pod)
    verifier(
        f"Kubernetes : Deployment serve, sondes, arrêt en douceur (grâce {grace} s > preStop {pause} s + {DELAI_ARRET} s), sécurité",
        problemes,
    )

    # Migration Job.
    jpod = job["spec"]["template"]["spec"]
    problemes = securite_pod("Job", jpod)
    if jpod["containers"][0].get("args") != ["migrate"]:
        problemes.append(f"args {jpod['containers'][0].get('args')} : [migrate] attendu")
    if jpod.get("restartPolicy") not in ("Never", "OnFailure"):
        problemes.append("restartPolicy Never ou OnFailure attendu")
    if jpod["containers"][0].get("image") != conteneur.get("image"):
        problemes.append("le Job et le Deployment n'utilisent pas la même image")
    verifier("Kubernetes : Job de migration (onde-echanges migrate), sécurité, même image", problemes)

    # Retention CronJobs: the commands the binary knows, one at a time, same image and security.
    crons = par_type(objets, "CronJob")
    problemes = []
    attendues = {("retention",), ("changements", "purger")}
    vues = set()
    cpods = []
    for cj in crons:
        nom = cj["metadata"]["name"]
        cpod = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        cpods.append((f"CronJob {nom}", cpod))
        args = tuple(cpod["containers"][0].get("args") or [])
        commande = args[:2] if args[:1] == ("changements",) else args[:1]
        if commande not in attendues:
            problemes.append(f"{nom} : args {list(args)} : retention ou changements purger attendu")
        vues.add(commande)
        if cj["spec"].get("concurrencyPolicy") != "Forbid":
            problemes.append(f"{nom} : concurrencyPolicy Forbid attendu (deux purges à la fois)")
        if cpod.get("restartPolicy") not in ("Never", "OnFailure"):
            problemes.append(f"{nom} : restartPolicy Never ou OnFailure attendu")
        if cpod["containers"][0].get("image") != conteneur.get("image"):
            problemes.append(f"{nom} : pas la même image que le Deployment")
        gabarit = cj["spec"]["jobTemplate"]["spec"]["template"]
        if ((gabarit.get("metadata") or {}).get("labels") or {}).get(ETIQUETTE) != NOM:
            problemes.append(f"{nom} : étiquette {ETIQUETTE} manquante sur le gabarit de pod")
        if selectionne(dep["spec"]["selector"].get("matchLabels") or {}, (gabarit.get("metadata") or {}).get("labels") or {}):
            problemes.append(f"{nom} : ses pods seraient sélectionnés par le Deployment et le Service")
        problemes += securite_pod(f"CronJob {nom}", cpod)
    if vues != attendues:
        problemes.append(f"tâches de conservation attendues : {sorted(attendues)}, trouvées : {sorted(vues)}")
    verifier("Kubernetes : CronJobs de conservation (retention, changements purger), sécurité, même image", problemes)

    # References between objects.
    problemes = []
    for quoi, spec in (("Deployment", pod), ("Job", jpod), *cpods):
        for c in spec.get("containers") or []:
            for source in c.get("envFrom") or []:
                if "configMapRef" in source and source["configMapRef"]["name"] not in configmaps:
                    problemes.append(f"{quoi} : ConfigMap {source['configMapRef']['name']} absente")
                if "secretRef" in source and source["secretRef"]["name"] not in secrets:
                    problemes.append(f"{quoi} : Secret {source['secretRef']['name']} absent")
    for s in services:
        # The shared limits' Redis (redis.yaml): a StatefulSet of its own, held to the same security.
        sts = [d for d in par_type(objets, "StatefulSet") if selectionne(s["spec"].get("selector") or {}, d["spec"]["template"]["metadata"].get("labels") or {})]
        if sts:
            problemes += securite_pod(f"StatefulSet {sts[0]['metadata']['name']}", sts[0]["spec"]["template"]["spec"])
            continue
        if not selectionne(s["spec"].get("selector") or {}, etiquettes_pod):
            problemes.append(f"Service {s['metadata']['name']} : le sélecteur ne vise pas les pods du Deployment")
        for pt in s["spec"].get("ports") or []:
            cible = pt.get("targetPort", pt.get("port"))
            if cible not in ports and cible not in ports.values():
                problemes.append(f"Service {s['metadata']['name']} : targetPort {cible!r} inconnu du conteneur")
    for h in par_type(objets, "HorizontalPodAutoscaler"):
        cible = h["spec"]["scaleTargetRef"]
        if (cible.get("kind"), cible.get("name")) != ("Deployment", dep["metadata"]["name"]):
            problemes.append(f"HPA : vise {cible.get('kind')}/{cible.get('name')}")
        if h["spec"].get("minReplicas", 1) < 2:
            problemes.append("HPA : minReplicas < 2 (le PDB minAvailable 1 bloquerait tout drain)")
    for b in par_type(objets, "PodDisruptionBudget"):
        if not selectionne((b["spec"].get("selector") or {}).get("matchLabels") or {}, etiquettes_pod):
            problemes.append("PDB : le sélecteur ne vise pas les pods du Deployment")
    for nom, s in secrets.items():
        for cle, valeur in (s.get("stringData") or {}).items():
            if "A-REMPLACER" not in str(valeur):
                problemes.append(f"Secret {nom}/{cle} : valeur d'exemple attendue (« A-REMPLACER »), pas un vrai secret")
    verifier("Kubernetes : références (ConfigMap, Secret, Service, HPA, PDB) et Secret d'exemple", problemes)

    # Only settings that the code reads.
    noms = set()
    en_variables = {
        r[cle]["name"]
        for spec in (pod, jpod)
        for c in spec.get("containers") or []
        for r in c.get("envFrom") or []
        for cle in ("configMapRef", "secretRef")
        if cle in r
    }
    for nom, d in list(configmaps.items()) + list(secrets.items()):
        if nom in en_variables:  # a Secret mounted as files (the key-encryption key) is no variable
            noms |= set((d.get("data") or {}) | (d.get("stringData") or {}))
    for spec in (pod, jpod):
        for c in spec.get("containers") or []:
            noms |= {e["name"] for e in c.get("env") or []}
    inconnues = sorted(n for n in noms if not variable_connue(n))
    verifier(
        f"Kubernetes : variables d'environnement lues par le code ({', '.join(sorted(noms))})",
        [f"{n} n'apparaît pas dans src/ ni crates/*/src/" for n in inconnues],
    )


# ---------------------------------------------------------------------------------------------
# Compose


RE_URL = re.compile(
    r"postgres(?:ql)?://(?P<utilisateur>[^:@/\s\"']+):(?P<mdp>\$\(cat /run/secrets/(?P<secret>[\w.-]+)\)|[^@\s\"']+)"
    r"@(?P<hote>[\w.-]+)(?::\d+)?/(?P<base>[\w-]+)"
)


def compose() -> None:
    chemin = DEPLOY / "compose.yaml"
    try:
        c = documents(chemin)[0]
    except (OSError, yaml.YAMLError, IndexError) as e:
        echec(f"compose : lecture de {rel(chemin)}", str(e).splitlines())
        return
    services = c.get("services") or {}
    secrets = c.get("secrets") or {}
    problemes = []

    for nom, s in services.items():
        for dep in s.get("depends_on") or {}:
            if dep not in services:
                problemes.append(f"{nom} : depends_on {dep} inconnu")
        for sec in s.get("secrets") or []:
            sec = sec if isinstance(sec, str) else sec.get("source")
            if sec not in secrets:
                problemes.append(f"{nom} : secret {sec} non déclaré")
    for nom, sec in secrets.items():
        if "file" in sec and not (DEPLOY / sec["file"]).is_file():
            problemes.append(f"secret {nom} : fichier {sec['file']} absent")
    verifier("compose : dépendances et secrets déclarés", problemes)

    # The gateway's services: those built from the Containerfile.
    nos = {n: s for n, s in services.items() if "Containerfile" in str((s.get("build") or {}))}
    pg = next((s for s in services.values() if "postgres" in str(s.get("image", ""))), None)
    problemes = []
    if not nos or pg is None:
        echec("compose : services de la passerelle et PostgreSQL", "introuvables")
        return
    env_pg = pg.get("environment") or {}
    fichier_mdp = str(env_pg.get("POSTGRES_PASSWORD_FILE", ""))
    secret_pg = fichier_mdp.removeprefix("/run/secrets/") if fichier_mdp.startswith("/run/secrets/") else None
    mdp_pg = env_pg.get("POSTGRES_PASSWORD")
    if secret_pg:
        source = DEPLOY / secrets.get(secret_pg, {}).get("file", "")
        mdp_pg = source.read_text(encoding="utf-8").rstrip("\n") if source.is_file() else None
        if mdp_pg is not None and not re.fullmatch(r"[A-Za-z0-9._~-]+", mdp_pg):
            problemes.append(f"le mot de passe de {source.name} doit être encodé pour une URL")
    for nom, s in nos.items():
        texte = " ".join(str(x) for x in (s.get("entrypoint") or []) + [s.get("environment") or {}])
        texte = texte.replace("$$", "$")
        m = RE_URL.search(texte)
        if not m or "DATABASE_URL" not in texte:
            problemes.append(f"{nom} : DATABASE_URL postgres://… introuvable")
            continue
        if m["secret"]:
            if m["secret"] != secret_pg:
                problemes.append(f"{nom} : mot de passe lu dans le secret {m['secret']}, PostgreSQL utilise {secret_pg}")
            if m["secret"] not in (s.get("secrets") or []):
                problemes.append(f"{nom} : le secret {m['secret']} n'est pas monté")
        elif m["mdp"] != mdp_pg:
            problemes.append(f"{nom} : le mot de passe de DATABASE_URL diffère de celui de PostgreSQL")
        if m["utilisateur"] != env_pg.get("POSTGRES_USER", "postgres"):
            problemes.append(f"{nom} : utilisateur {m['utilisateur']} ≠ POSTGRES_USER")
        if m["base"] != env_pg.get("POSTGRES_DB", env_pg.get("POSTGRES_USER", "postgres")):
            problemes.append(f"{nom} : base {m['base']} ≠ POSTGRES_DB")
        if m["hote"] not in services:
            problemes.append(f"{nom} : hôte {m['hote']} n'est pas un service")
    verifier("compose : DATABASE_URL cohérente avec PostgreSQL (utilisateur, base, mot de passe du secret)", problemes)

    problemes = []
    for nom, s in services.items():
        if s.get("read_only") is not True:
            problemes.append(f"{nom} : read_only: true attendu")
        if not any(str(t).split(":")[0] == "/tmp" for t in s.get("tmpfs") or []):
            problemes.append(f"{nom} : tmpfs /tmp attendu")
    migrations = [n for n, s in nos.items() if s.get("command") == ["migrate"]]
    serveurs = [n for n, s in nos.items() if s.get("command") == ["serve"]]
    if len(migrations) != 1 or len(serveurs) != 1:
        problemes.append("un service `migrate` et un service `serve` attendus")
    else:
        m, p = services[migrations[0]], services[serveurs[0]]
        if str(m.get("restart", "no")) != "no":
            problemes.append(f"{migrations[0]} : restart \"no\" attendu (tâche unique)")
        cond = ((p.get("depends_on") or {}).get(migrations[0]) or {}).get("condition")
        if cond != "service_completed_successfully":
            problemes.append(f"{serveurs[0]} : doit attendre {migrations[0]} (service_completed_successfully)")
        for n in (serveurs[0],) + tuple(n for n, s in services.items() if s is pg):
            if not services[n].get("healthcheck"):
                problemes.append(f"{n} : healthcheck attendu")
            if services[n].get("restart") not in ("always", "unless-stopped", "on-failure"):
                problemes.append(f"{n} : politique restart attendue")
        arret = duree_s(p.get("stop_grace_period", "10s"))
        if DELAI_ARRET is not None and (arret or 0) <= DELAI_ARRET:
            problemes.append(f"{serveurs[0]} : stop_grace_period {arret} s ≤ vidage {DELAI_ARRET} s")
    verifier("compose : lecture seule, /tmp en tmpfs, healthchecks, redémarrage, migration unique", problemes)

    noms = set()
    for s in nos.values():
        noms |= set(s.get("environment") or {}) | {"DATABASE_URL"}
    verifier(
        f"compose : variables d'environnement lues par le code ({', '.join(sorted(noms))})",
        [f"{n} n'apparaît pas dans src/ ni crates/*/src/" for n in sorted(noms) if not variable_connue(n)],
    )


# ---------------------------------------------------------------------------------------------
# Containerfile, systemd, nginx: what the tools do not check.


def containerfile() -> None:
    texte = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
    lignes = [l.strip() for l in texte.splitlines() if l.strip() and not l.strip().startswith("#")]
    problemes = []
    if sum(1 for l in lignes if l.upper().startswith("FROM ")) < 2:
        problemes.append("construction en plusieurs étapes attendue (au moins deux FROM)")
    if "cargo build --release --locked" not in texte:
        problemes.append("cargo build --release --locked attendu")
    users = [l.split(None, 1)[1] for l in lignes if l.upper().startswith("USER ")]
    if not users or not re.fullmatch(r"[1-9]\d*(:\d+)?", users[-1]):
        problemes.append(f"dernier USER numérique et non root attendu ({users[-1] if users else 'aucun'})")
    if not re.search(r"^HEALTHCHECK\b(?:[^\n]*\\\n)*[^\n]*/health/ready", texte, re.M):
        problemes.append("HEALTHCHECK sur /health/ready attendu")
    if not any(l.upper().startswith("ENTRYPOINT") and "onde-echanges" in l for l in lignes):
        problemes.append("ENTRYPOINT onde-echanges attendu")
    ignore = RACINE / ".dockerignore"
    if not ignore.is_file():
        problemes.append(".dockerignore absent à la racine")
    else:
        motifs = {l.strip().rstrip("/") for l in ignore.read_text(encoding="utf-8").splitlines()}
        problemes += [f".dockerignore : {m} non exclu" for m in ("target", "data", ".git") if m not in motifs]
    verifier("Containerfile : plusieurs étapes, --locked, USER numérique, HEALTHCHECK ; .dockerignore", problemes)


def systemd() -> None:
    unite = DEPLOY / "systemd" / "onde-echanges.service"
    reglages: dict[str, list[str]] = {}
    for l in unite.read_text(encoding="utf-8").splitlines():
        if "=" in l and not l.lstrip().startswith(("#", ";")):
            cle, valeur = l.split("=", 1)
            reglages.setdefault(cle.strip(), []).append(valeur.strip())
    problemes = []
    attendus = {
        "NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes",
        "Restart": "on-failure", "EnvironmentFile": "/etc/onde-echanges/env",
    }
    for cle, valeur in attendus.items():
        if valeur not in reglages.get(cle, []):
            problemes.append(f"{cle}={valeur} attendu")
    if not (reglages.get("DynamicUser") == ["yes"] or reglages.get("User")):
        problemes.append("DynamicUser=yes ou User= attendu")
    if not reglages.get("StateDirectory"):
        problemes.append("StateDirectory= attendu")
    if not any(v.endswith(" migrate") for v in reglages.get("ExecStartPre", [])):
        problemes.append("ExecStartPre=… migrate attendu")
    arret = duree_s(reglages.get("TimeoutStopSec", ["90s"])[-1])
    if DELAI_ARRET is not None and (arret or 0) <= DELAI_ARRET:
        problemes.append(f"TimeoutStopSec {arret} s ≤ vidage {DELAI_ARRET} s (shutdown_timeout du code)")
    noms = set()
    for v in reglages.get("Environment", []):
        noms |= {a.split("=", 1)[0].strip('"') for a in v.split()}
    exemple = DEPLOY / "systemd" / "env.exemple"
    for l in exemple.read_text(encoding="utf-8").splitlines():
        l = l.strip().lstrip("#").strip()
        if re.fullmatch(r"[A-Z][A-Z0-9_]*=\S*", l):
            noms.add(l.split("=", 1)[0])
    problemes += [f"{n} n'apparaît pas dans src/ ni crates/*/src/" for n in sorted(noms) if not variable_connue(n)]
    verifier(f"systemd : réglages attendus, variables lues par le code ({', '.join(sorted(noms))})", problemes)


def nginx() -> None:
    texte = (DEPLOY / "nginx" / "onde-echanges.conf").read_text(encoding="utf-8")
    sans_commentaires = "\n".join(l.split("#", 1)[0] for l in texte.splitlines())
    problemes = []
    bloc = re.search(r"location\s+/v1/imports\s*\{([^}]*)\}", sans_commentaires)
    if not bloc:
        problemes.append("location /v1/imports absente")
    else:
        if "proxy_request_buffering off" not in bloc.group(1):
            problemes.append("/v1/imports : proxy_request_buffering off attendu")
        m = re.search(r"client_max_body_size\s+(\d+)m", bloc.group(1))
        if not m or (TAILLE_MAX_IMPORT and int(m.group(1)) * 1024 * 1024 != TAILLE_MAX_IMPORT):
            problemes.append(f"/v1/imports : client_max_body_size ≠ TAILLE_MAX_IMPORT du code ({TAILLE_MAX_IMPORT})")
    m = re.search(r"^\s*client_max_body_size\s+(\d+)m", sans_commentaires, re.M)
    if not m or (TAILLE_MAX_CORPS and int(m.group(1)) * 1024 * 1024 != TAILLE_MAX_CORPS):
        problemes.append(f"client_max_body_size du serveur ≠ TAILLE_MAX_CORPS du code ({TAILLE_MAX_CORPS})")
    protocoles = re.findall(r"ssl_protocols\s+([^;]+);", sans_commentaires)
    if protocoles != ["TLSv1.2 TLSv1.3"]:
        problemes.append(f"ssl_protocols TLSv1.2 TLSv1.3 attendu ({protocoles})")
    for attendu in ("Strict-Transport-Security", "server 127.0.0.1:8080", "X-Request-Id",
                    "X-Forwarded-For", "X-Forwarded-Proto", "proxy_read_timeout", "gzip off"):
        if attendu not in sans_commentaires:
            problemes.append(f"{attendu} attendu")
    # The gateway compresses (middleware/compression.rs): nginx passes Accept-Encoding on.
    if re.search(r"proxy_set_header\s+Accept-Encoding", sans_commentaires):
        problemes.append("Accept-Encoding doit parvenir tel quel à la passerelle")
    verifier("nginx : TLS 1.2/1.3, HSTS, en-têtes transmis, limites de corps, compression laissée à la passerelle", problemes)


def grafana() -> None:
    """The dashboard parses and every metric it queries is one the gateway exports."""
    chemin = RACINE / "deploy" / "grafana" / "onde-echanges.json"
    tableau = json.loads(chemin.read_text(encoding="utf-8"))
    metriques = (RACINE / "crates" / "api" / "src" / "middleware" / "metriques.rs").read_text(encoding="utf-8")
    problemes = []
    requetes = [t["expr"] for p in tableau.get("panels", []) for t in p.get("targets", [])]
    if not requetes:
        problemes.append("aucune requête dans le tableau de bord")
    for nom in sorted({n for e in requetes for n in re.findall(r"onde_[a-z_]+", e)}):
        court = re.sub(r"_(bucket|sum|count)$", "", nom)[len("onde_"):]
        if f'"{court}"' not in metriques and not court.startswith("process_"):
            problemes.append(f"{nom} : métrique inconnue de crates/api/src/middleware/metriques.rs")
    verifier(f"Grafana : {rel(chemin)} lisible, {len(requetes)} requêtes sur des métriques exportées", problemes)


def main() -> int:
    versions = (sys.argv[1] if len(sys.argv) > 1 else "1.30").split()
    etapes = {"kubernetes": lambda: kubernetes(versions), "compose": compose,
              "containerfile": containerfile, "systemd": systemd, "nginx": nginx, "grafana": grafana}
    for nom, etape in etapes.items():
        try:
            etape()
        except Exception as e:  # a broken file must give a clear line, not a traceback
            echec(f"{nom} : contrôle interrompu", f"{type(e).__name__}: {e}")
    return 1 if echecs else 0


if __name__ == "__main__":
    sys.exit(main())
