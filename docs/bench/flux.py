#!/usr/bin/env python3
"""Change feed latency (docs/BENCHMARKS.md, section "Flux de changements"): one page of 1,000
changes read by a mairie from a PostgreSQL base of 100,000 and of 1,000,000 pupils, side by side
in one run. The mairie is that of the commune with the most schools; the 1,000 changes are
made after its cursor (classe changed on 1,000 of its inscriptions); the same page is then read
REQS times over HTTP and the latency median / p90 reported, with the national reader (a mairie
of every commune) beside it.

Usage: python3 docs/bench/flux.py   (env: SIZES=100000,1000000  REQS=30  ONDE_BIN  BENCH_DIR)
Needs psql and a release build (cargo build --release)."""
import json, os, subprocess, time, urllib.request, base64, statistics, signal

B = os.environ.get("ONDE_BIN", "target/release/onde-echanges")
SIZES = [int(s) for s in os.environ.get("SIZES", "100000,1000000").split(",")]
REQS = int(os.environ.get("REQS", "30"))
W = os.environ.get("BENCH_DIR", "/tmp/onde-bench") + "/flux"
os.makedirs(W, exist_ok=True)
PORT = 18090
env = dict(os.environ, RUST_LOG="warn")
# Token signing keys are sealed with a key-encryption key (jetons.cle_chiffrement_fichier): a
# bench one, kept in the work directory so that a base kept from an earlier run still opens.
if not os.path.exists(W + "/cle-chiffrement"):
    with open(W + "/cle-chiffrement", "w") as f:
        f.write(base64.b64encode(os.urandom(32)).decode())
env["ONDE__JETONS__CLE_CHIFFREMENT_FICHIER"] = W + "/cle-chiffrement"

def url(n):
    return f"postgres://postgres@127.0.0.1:5432/onde_flux_{n}"

def psql(n, sql):
    return subprocess.run(["psql", "-tAqU", "postgres", "-h", "127.0.0.1", "-d", f"onde_flux_{n}", "-c", sql],
                          check=True, capture_output=True, text=True).stdout.strip()

def run(n, *a):
    return subprocess.run([B, *a], check=True, capture_output=True, text=True, env={**env, "DATABASE_URL": url(n)}).stdout

def preparer(n):
    """A base of n pupils (kept between runs: seeding 1M takes minutes)."""
    existe = subprocess.run(["psql", "-tAqU", "postgres", "-h", "127.0.0.1", "-c",
                             f"SELECT 1 FROM pg_database WHERE datname = 'onde_flux_{n}'"], capture_output=True, text=True).stdout.strip()
    if existe == "1" and psql(n, "SELECT count(*) FROM eleves") == str(n):
        return
    subprocess.run(["psql", "-qU", "postgres", "-h", "127.0.0.1", "-c", f"DROP DATABASE IF EXISTS onde_flux_{n} WITH (FORCE)",
                    "-c", f"CREATE DATABASE onde_flux_{n}"], check=True, capture_output=True)
    debut = time.time()
    run(n, "seed", "--eleves", str(n), "--seed", "42", "--rentree", "2026")
    print(f"seed {n} : {time.time() - debut:.0f} s, {psql(n, 'SELECT count(*) FROM changements')} changements en base")
    psql(n, "VACUUM ANALYZE")

def mairie(n, communes):
    args = ["partenaire", "creer", "--nom", "Mairie de mesure", "--type", "mairie", "--json",
            "--scopes", "ecoles:read eleves:read inscriptions:read"]
    for c in communes:
        args += ["--commune", c]
    p = json.loads(run(n, *args))
    return p["identifiants"]

def jeton(p):
    req = urllib.request.Request(f"http://127.0.0.1:{PORT}/oauth/token", data=b"grant_type=client_credentials",
        headers={"Authorization": "Basic " + base64.b64encode(f"{p['client_id']}:{p['client_secret']}".encode()).decode(),
                 "Content-Type": "application/x-www-form-urlencoded"})
    return json.load(urllib.request.urlopen(req))["access_token"]

def get(path, tok):
    debut = time.perf_counter()
    r = urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", headers={"Authorization": "Bearer " + tok}))
    corps = json.load(r)
    return corps, (time.perf_counter() - debut) * 1000

def mesurer(n):
    preparer(n)
    grande = psql(n, "SELECT code_commune FROM ecoles GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
    toutes = psql(n, "SELECT code_insee FROM communes").split()
    m, nat = mairie(n, [grande]), mairie(n, toutes)
    s = subprocess.Popen([B, "serve", "--bind", f"127.0.0.1:{PORT}"], env={**env, "DATABASE_URL": url(n)},
                         stdout=subprocess.DEVNULL, stderr=open(W + "/serve.log", "a"))
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health/ready"); break
            except Exception: time.sleep(0.1)
        tm, tn = jeton(m), jeton(nat)
        depuis_m = get("/v1/changements", tm)[0]["curseur_suivant"]
        depuis_n = get("/v1/changements", tn)[0]["curseur_suivant"]
        psql(n, f"""UPDATE inscriptions SET classe = 'Mesure ' || substr(md5(random()::text), 1, 6)
                    WHERE id IN (SELECT i.id FROM inscriptions i JOIN ecoles e ON e.uai = i.uai
                                 WHERE e.code_commune = '{grande}' ORDER BY i.id LIMIT 1000)""")
        res = {}
        for nom, tok, depuis in (("mairie", tm, depuis_m), ("national", tn, depuis_n)):
            corps, _ = get(f"/v1/changements?limit=1000&depuis={depuis}", tok)
            lus = len(corps["elements"])
            durees = sorted(get(f"/v1/changements?limit=1000&depuis={depuis}", tok)[1] for _ in range(REQS))
            res[nom] = (lus, statistics.median(durees), durees[int(len(durees) * 0.9) - 1])
        return res
    finally:
        s.send_signal(signal.SIGINT); s.wait(30)

print(f"machine : {os.cpu_count()} cœurs ; {REQS} lectures de la même page par cas")
lignes = {n: mesurer(n) for n in SIZES}
print("| élèves | lecteur | événements de la page | médiane ms | p90 ms |")
print("|---:|---|---:|---:|---:|")
for n, r in lignes.items():
    for nom, (lus, med, p90) in r.items():
        print(f"| {n:,} | {nom} | {lus} | {med:.1f} | {p90:.1f} |")
