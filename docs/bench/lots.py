#!/usr/bin/env python3
"""Batch endpoint throughput (POST /v1/lots/eleves) on PostgreSQL: N pupils pushed as batches of
1,000 over HTTP by C clients in parallel (then pushed again: all unchanged), beside a plain COPY
(psql \\copy) of the same rows into a flat table of text columns; prints records/s and the
HTTP/COPY ratio.

Usage: python3 docs/bench/lots.py   (env: N=100000, C=4, RUNS=1, ONDE_BIN, BENCH_DIR, PORT,
BENCH_BASE (the database, onde_bench_lots: two people measuring at once take two);
JOURNAL_SQL=1 logs every statement of the gateway with its duration in the server's log;
SANS_FLUX=1 suspends the change feed's triggers, to measure their share; SQL_APRES_SEED=FILE runs
FILE on the base once seeded, e.g. a migration's down.sql for a before/after)
Each run starts the gateway on a fresh database seeded with 10,000 pupils (seed 42, rentrée
2026) and an editor mandated by every commune (a restricted perimeter covering every school)."""
import json, os, statistics, subprocess, time

import commun

B = os.environ.get("ONDE_BIN", "target/release/onde-echanges")
N = int(os.environ.get("N", "100000"))
C = int(os.environ.get("C", "4"))
RUNS = int(os.environ.get("RUNS", "1"))
TAILLE = 1000
W = os.environ.get("BENCH_DIR", "/tmp/onde-bench") + "/lots"
os.makedirs(W, exist_ok=True)
PORT = int(os.environ.get("PORT", "18082"))
BASE = os.environ.get("BENCH_BASE", "onde_bench_lots")
URL = f"postgres://postgres@127.0.0.1:5432/{BASE}"
env = {**os.environ, "RUST_LOG": "warn", "DATABASE_URL": URL, "ONDE_IMPORTS_DOSSIER": W + "/spool"}
PSQL = ["psql", "-qU", "postgres", "-h", "127.0.0.1"]

def run(*a):
    return subprocess.run(a, check=True, capture_output=True, text=True, env=env).stdout

def fresh():
    subprocess.run(PSQL + ["-c", f"DROP DATABASE IF EXISTS {BASE} WITH (FORCE)", "-c", f"CREATE DATABASE {BASE}"], check=True, capture_output=True)
    run(B, "seed", "--eleves", "10000", "--seed", "42", "--rentree", "2026")
    if os.environ.get("SQL_APRES_SEED"):
        # A before/after switch: e.g. a migration's down.sql, to measure the same binary with
        # the previous trigger functions.
        subprocess.run(PSQL + ["-d", BASE, "-v", "ON_ERROR_STOP=1", "-f", os.environ["SQL_APRES_SEED"]], check=True, capture_output=True)
    out = subprocess.run(PSQL + ["-tA", "-d", BASE, "-c", "SELECT uai FROM ecoles"], check=True, capture_output=True, text=True).stdout
    return commun.editeur_de(B, env, out.split())

def pousser(g, tok, corps):
    """Sends every batch with C clients in parallel; returns (seconds, summed resume)."""
    d, total, codes = commun.pousser(g.port, tok, corps, C)
    if codes: print("rejets", codes, flush=True)
    return d, total

res = {"http": [], "http_inchange": [], "copy": []}
fichier, fcsv = f"{W}/f.ndjson", f"{W}/f.csv"
for r in range(RUNS):
    p = fresh()
    if r == 0:
        with open(fichier, "w") as f:
            subprocess.run([B, "import", "exemple", "--eleves", str(N), "--seed", "1", "--annee", "2026-2027"], check=True, stdout=f, env=env)
        with open(fcsv, "w") as f:
            subprocess.run([B, "import", "exemple", "--eleves", str(N), "--seed", "1", "--annee", "2026-2027", "--format", "csv"], check=True, stdout=f, env=env)
    lignes = open(fichier).read().splitlines()
    lots = commun.lots(lignes, TAILLE)
    if os.environ.get("SANS_FLUX"):
        # Profiling only: the change feed's triggers record nothing (what the seed does), to
        # measure their share. Never a valid measure of the gateway.
        subprocess.run(PSQL + ["-d", BASE, "-c", "INSERT INTO changements_suspendus VALUES ('mesure')"], check=True, capture_output=True)
    if os.environ.get("JOURNAL_SQL"):
        # Profiling: every statement of the gateway's sessions with its duration, in the server log.
        subprocess.run(PSQL + ["-c", f"ALTER DATABASE {BASE} SET log_min_duration_statement = 0"], check=True, capture_output=True)
    g = commun.Passerelle(B, PORT, env, W + "/serve.log")
    try:
        tok = g.jeton(p)
        d, total = pousser(g, tok, lots)
        print("lots", total, f"{d:.2f} s", flush=True); assert total["crees"] == N, total
        res["http"].append(N / d)
        d, total = pousser(g, tok, lots)
        print("lots (à nouveau)", total, f"{d:.2f} s", flush=True); assert total["inchanges"] == N, total
        res["http_inchange"].append(N / d)
    finally:
        g.arreter()

    # Baseline: the same rows, flat, into an equivalent table of text columns.
    entete = open(fcsv).readline().strip().split(";")
    cols = ", ".join(f"{c} TEXT" for c in entete)
    base = PSQL + ["-d", BASE, "-c"]
    subprocess.run(base + [f"DROP TABLE IF EXISTS copie; CREATE TABLE copie ({cols})"], check=True)
    t = time.perf_counter()
    subprocess.run(base + [f"\\copy copie FROM '{fcsv}' WITH (FORMAT csv, DELIMITER ';', HEADER true)"], check=True)
    res["copy"].append(N / (time.perf_counter() - t))
    print(r, {k: round(v[-1]) for k, v in res.items()}, flush=True)

med = {k: statistics.median(v) for k, v in res.items()}
print(f"MEDIANES N={N} C={C}", {k: round(v) for k, v in med.items()}, "HTTP/COPY", {k: round(v / med["copy"], 3) for k, v in med.items() if k != "copy"})
json.dump({"n": N, "clients": C, "runs": res, "medianes": med}, open(f"{W}/resultats.json", "w"), indent=1)
