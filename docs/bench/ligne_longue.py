#!/usr/bin/env python3
"""One 400 MiB import line (docs/BENCHMARKS.md, section "Token flood and hostile input"): the
gateway's peak resident memory before and after `POST /v1/imports` of a file made of a single
line of TAILLE MiB without a newline, and the job's outcome (one `ligne_trop_longue` rejection).
The upload is streamed (curl -T -) from a generator: neither side holds the file.

Usage: python3 docs/bench/ligne_longue.py   (env: ONDE_BIN, TAILLE=400, BENCH_DIR). Needs curl, psql."""
import json, os, subprocess, sys, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import commun  # noqa: E402

B = os.environ.get("ONDE_BIN", "target/release/onde-echanges")
TAILLE = int(os.environ.get("TAILLE", "400"))
W = os.environ.get("BENCH_DIR", "/tmp/onde-bench") + "/ligne_longue"
os.makedirs(W, exist_ok=True)
PORT = 18098
BASE = "onde_ligne_longue"
env = dict(os.environ, RUST_LOG="warn", DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{BASE}",
           ONDE__IMPORTS__DOSSIER=W + "/spool")

subprocess.run(["psql", "-qU", "postgres", "-h", "127.0.0.1", "-c", f"DROP DATABASE IF EXISTS {BASE} WITH (FORCE)",
                "-c", f"CREATE DATABASE {BASE}"], check=True, capture_output=True)
subprocess.run([B, "migrate"], check=True, env=env, capture_output=True)
subprocess.run([B, "seed", "--eleves", "500", "--seed", "42", "--rentree", "2026"], check=True, env=env, capture_output=True)
# Mandated by every school: a commune's mandate cannot lend eleves:write (issue 16).
ecoles = subprocess.run(["psql", "-tAqU", "postgres", "-h", "127.0.0.1", "-d", BASE, "-c",
                           "SELECT uai FROM ecoles"], check=True, capture_output=True, text=True).stdout.split()
ident = commun.editeur_de(B, env, ecoles)
g = commun.Passerelle(B, PORT, env, f"{W}/serve.log")
try:
    tok = g.jeton(ident)
    # Warm up: one small import, so that the worker, the pool and the allocator are in use.
    petit = subprocess.run(["curl", "-s", "-X", "POST", "--data-binary", "{}\n", "-H", "Content-Type: application/x-ndjson",
                            "-H", f"Authorization: Bearer {tok}", f"http://127.0.0.1:{PORT}/v1/imports"],
                           check=True, capture_output=True, text=True).stdout
    time.sleep(1)
    g.remettre_pic()
    avant = g.memoire()
    generateur = subprocess.Popen(["sh", "-c", f"head -c {TAILLE}M /dev/zero | tr '\\0' 'x'"], stdout=subprocess.PIPE)
    debut = time.time()
    reponse = json.loads(subprocess.run(
        ["curl", "-s", "-X", "POST", "-T", "-", "-H", "Content-Type: application/x-ndjson", "-H", f"Authorization: Bearer {tok}",
         f"http://127.0.0.1:{PORT}/v1/imports"], stdin=generateur.stdout, check=True, capture_output=True, text=True).stdout)
    televerse = time.time() - debut
    while True:
        req = urllib.request.Request(f"http://127.0.0.1:{PORT}/v1/imports/{reponse['id']}",
                                     headers={"Authorization": f"Bearer {tok}"})
        etat = json.load(urllib.request.urlopen(req))
        if etat["statut"] in ("termine", "echoue"):
            break
        time.sleep(0.5)
    req = urllib.request.Request(f"http://127.0.0.1:{PORT}/v1/imports/{reponse['id']}/rejets",
                                 headers={"Authorization": f"Bearer {tok}"})
    rejets = json.load(urllib.request.urlopen(req))["elements"]
    apres = g.memoire()
    print(json.dumps({
        "taille_mib": TAILLE, "televersement_s": round(televerse, 1), "total_s": round(time.time() - debut, 1),
        "statut": etat["statut"], "total": etat["total"], "rejetes": etat["rejetes"],
        "rejets": [(r["ligne"], r["code"]) for r in rejets],
        "rss_avant_mib": round(avant[0], 1), "pic_avant_mib": round(avant[1], 1),
        "rss_apres_mib": round(apres[0], 1), "pic_pendant_mib": round(apres[1], 1),
        "hausse_du_pic_mib": round(apres[1] - avant[1], 1),
    }, indent=1))
finally:
    g.arreter()
