#!/usr/bin/env python3
"""Import throughput (docs/BENCHMARKS.md, section "Imports"): 100,000 pupils from NDJSON via the
CLI import (then re-run: all unchanged), via HTTP (POST /v1/imports until `termine`), via the
synchronous batch endpoint (1,000 per request), beside a plain COPY (PostgreSQL, psql \\copy)
or INSERT-in-one-transaction (SQLite, Python sqlite3) of the same rows into a flat table.

Usage: python3 docs/bench/imports.py postgres|sqlite   (env: N, RUNS, ONDE_BIN, BENCH_DIR;
SQL_APRES_SEED=FILE runs FILE on the PostgreSQL base once seeded, for a before/after)
Each run starts from a fresh database seeded with 10,000 pupils (seed 42, rentrée 2026) and an
editor mandated by every school (a restricted perimeter covering every school; since issue 16 a
commune's mandate cannot lend eleves:write)."""
import json, os, subprocess, sys, time, urllib.request, statistics, sqlite3, csv

import commun

B = os.environ.get("ONDE_BIN", "target/release/onde-echanges")
N = int(os.environ.get("N", "100000"))
RUNS = int(os.environ.get("RUNS", "3"))
BACKEND = sys.argv[1]  # postgres | sqlite
W = os.environ.get("BENCH_DIR", "/tmp/onde-bench") + "/" + BACKEND
os.makedirs(W, exist_ok=True)
PORT = 18080 if BACKEND == "postgres" else 18081
env = dict(os.environ)
env["RUST_LOG"] = "warn"
env["ONDE_IMPORTS_DOSSIER"] = W + "/spool"

def url():
    return "postgres://postgres@127.0.0.1:5432/onde_bench" if BACKEND == "postgres" else f"sqlite://{W}/bench.sqlite"

def run(*a, **k):
    return subprocess.run(a, check=True, capture_output=True, text=True, env={**env, "DATABASE_URL": url()}, **k).stdout

def fresh():
    if BACKEND == "postgres":
        subprocess.run(["psql", "-qU", "postgres", "-h", "127.0.0.1", "-c", "DROP DATABASE IF EXISTS onde_bench WITH (FORCE)", "-c", "CREATE DATABASE onde_bench"], check=True, capture_output=True)
    else:
        for s in ("", "-wal", "-shm"):
            try: os.remove(f"{W}/bench.sqlite{s}")
            except FileNotFoundError: pass
    run(B, "seed", "--eleves", "10000", "--seed", "42", "--rentree", "2026")
    if BACKEND == "postgres" and os.environ.get("SQL_APRES_SEED"):
        # A before/after switch, as in lots.py (e.g. the feed's triggers forced back on).
        subprocess.run(["psql", "-qU", "postgres", "-h", "127.0.0.1", "-d", "onde_bench", "-v", "ON_ERROR_STOP=1",
                        "-f", os.environ["SQL_APRES_SEED"]], check=True, capture_output=True)
    # An editor mandated by every school (UAI): a restricted perimeter covering all schools that
    # may write pupils (a commune's mandate cannot lend eleves:write since issue 16).
    if BACKEND == "postgres":
        out = subprocess.run(["psql", "-tAU", "postgres", "-h", "127.0.0.1", "-d", "onde_bench", "-c", "SELECT uai FROM ecoles"], check=True, capture_output=True, text=True).stdout
    else:
        out = subprocess.run(["sqlite3", f"{W}/bench.sqlite", "SELECT uai FROM ecoles"], check=True, capture_output=True, text=True).stdout
    return commun.editeur_de(B, {**env, "DATABASE_URL": url()}, out.split())

def serve():
    return commun.Passerelle(B, PORT, {**env, "DATABASE_URL": url()}, W + "/serve.log")

def post(path, tok, body, ctype):
    req = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", data=body, method="POST", headers={"Authorization": "Bearer " + tok, "Content-Type": ctype})
    r = urllib.request.urlopen(req, timeout=600)
    return r.status, json.load(r)

def get(path, tok):
    return json.load(urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", headers={"Authorization": "Bearer " + tok})))

res = {k: [] for k in ["cli", "cli_rerun", "http", "lots", "base"]}
fichier, fcsv = f"{W}/f.ndjson", f"{W}/f.csv"
for r in range(RUNS):
    p = fresh()
    if r == 0:
        with open(fichier, "w") as f:
            subprocess.run([B, "import", "exemple", "--eleves", str(N), "--seed", "1", "--annee", "2026-2027"], check=True, stdout=f, env={**env, "DATABASE_URL": url()})
        with open(fcsv, "w") as f:
            subprocess.run([B, "import", "exemple", "--eleves", str(N), "--seed", "1", "--annee", "2026-2027", "--format", "csv"], check=True, stdout=f, env={**env, "DATABASE_URL": url()})
    t = time.perf_counter(); out = run(B, "import", fichier, "--partenaire", p["id"]); d = time.perf_counter() - t
    print(out.strip().splitlines()[:2], flush=True); assert f"créés {N} · modifiés 0 · inchangés 0 · rejetés 0" in out, out
    res["cli"].append(N / d)
    t = time.perf_counter(); out = run(B, "import", fichier, "--partenaire", p["id"]); d = time.perf_counter() - t
    print(out.strip().splitlines()[:2], flush=True); assert f"créés 0 · modifiés 0 · inchangés {N} · rejetés 0" in out, out
    res["cli_rerun"].append(N / d)

    p = fresh(); s = serve()
    try:
        tok = s.jeton(p)
        corps = open(fichier, "rb").read()
        t = time.perf_counter()
        st, job = post("/v1/imports", tok, corps, "application/x-ndjson"); assert st == 202
        while True:
            j = get(f"/v1/imports/{job['id']}", tok)
            if j["statut"] in ("termine", "echoue"): break
            time.sleep(0.05)
        d = time.perf_counter() - t
        print("http", {k: j[k] for k in ("statut", "total", "crees", "inchanges", "rejetes")}, flush=True)
        assert j["crees"] == N
        res["http"].append(N / d)
    finally:
        s.arreter()

    p = fresh(); s = serve()
    try:
        tok = s.jeton(p)
        lignes = open(fichier).read().splitlines()
        lots = commun.lots(lignes)
        t = time.perf_counter(); crees = 0
        for l in lots:
            st, rep = post("/v1/lots/eleves", tok, l, "application/json"); crees += rep["resume"]["crees"]
        d = time.perf_counter() - t
        print("lots", crees, flush=True); assert crees == N
        res["lots"].append(N / d)
    finally:
        s.arreter()

    # Baseline: the same rows, flat, into an equivalent table of text columns.
    entete = open(fcsv).readline().strip().split(";")
    cols = ", ".join(f"{c} TEXT" for c in entete)
    if BACKEND == "postgres":
        subprocess.run(["psql", "-qU", "postgres", "-h", "127.0.0.1", "-d", "onde_bench", "-c", f"DROP TABLE IF EXISTS copie; CREATE TABLE copie ({cols})"], check=True)
        t = time.perf_counter()
        subprocess.run(["psql", "-qU", "postgres", "-h", "127.0.0.1", "-d", "onde_bench", "-c", f"\\copy copie FROM '{fcsv}' WITH (FORMAT csv, DELIMITER ';', HEADER true)"], check=True)
        d = time.perf_counter() - t
    else:
        c = sqlite3.connect(f"{W}/bench.sqlite"); c.execute("PRAGMA journal_mode=WAL"); c.execute("PRAGMA synchronous=NORMAL")
        c.execute(f"DROP TABLE IF EXISTS copie"); c.execute(f"CREATE TABLE copie ({cols})"); c.commit()
        t = time.perf_counter()
        with open(fcsv, newline="") as f:
            rd = csv.reader(f, delimiter=";"); next(rd)
            c.execute("BEGIN")
            c.executemany(f"INSERT INTO copie VALUES ({','.join('?' * len(entete))})", rd)
            c.commit()
        d = time.perf_counter() - t
        c.close()
    res["base"].append(N / d)
    print(r, {k: round(v[-1]) for k, v in res.items()}, flush=True)

med = {k: statistics.median(v) for k, v in res.items()}
print("MEDIANES", BACKEND, {k: round(v) for k, v in med.items()}, {k: round(v / med["base"], 3) for k, v in med.items()})
json.dump({"runs": res, "medianes": med}, open(f"{W}/resultats.json", "w"), indent=1)
