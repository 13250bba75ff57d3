#!/usr/bin/env python3
"""Soak run (docs/BENCHMARKS.md, section "Endurance"): DUREE seconds of mixed load from wrk on
loopback against the release gateway on PostgreSQL — inscription and pupil list pages, CSV-free
single pupils by INE, the change feed, and batch writes — sampling the gateway's resident
memory every 10 s, then reporting requests/s, latency percentiles, 5xx count (must be 0) and
the memory curve (must stay flat).

Usage: python3 docs/bench/endurance.py   (env: DUREE=600 CONNEXIONS=32 ELEVES=100000 ONDE_BIN BENCH_DIR)
Needs psql, wrk (Debian package) and a release build."""
import json, os, subprocess, time, urllib.request, base64, signal, threading, random, re

B = os.environ.get("ONDE_BIN", "target/release/onde-echanges")
DUREE = int(os.environ.get("DUREE", "600"))
CONNEXIONS = int(os.environ.get("CONNEXIONS", "32"))
N = int(os.environ.get("ELEVES", "100000"))
W = os.environ.get("BENCH_DIR", "/tmp/onde-bench") + "/endurance"
os.makedirs(W, exist_ok=True)
PORT = 18095
BASE = f"onde_endurance_{N}"
URL = f"postgres://postgres@127.0.0.1:5432/{BASE}"
env = dict(os.environ, RUST_LOG="warn", DATABASE_URL=URL,
           # The load comes from a few clients: the per-client limits must not be what is measured.
           ONDE__LIMITES__PAR_SECONDE="1000000", ONDE__LIMITES__RAFALE="1000000", ONDE__LIMITES__SIMULTANEES="100000")
# Token signing keys are sealed with a key-encryption key (jetons.cle_chiffrement_fichier): a
# bench one, kept in the work directory so that a base kept from an earlier run still opens.
if not os.path.exists(W + "/cle-chiffrement"):
    with open(W + "/cle-chiffrement", "w") as f:
        f.write(base64.b64encode(os.urandom(32)).decode())
env["ONDE__JETONS__CLE_CHIFFREMENT_FICHIER"] = W + "/cle-chiffrement"

def psql(sql):
    return subprocess.run(["psql", "-tAqU", "postgres", "-h", "127.0.0.1", "-d", BASE, "-c", sql],
                          check=True, capture_output=True, text=True).stdout.strip()

def run(*a):
    return subprocess.run([B, *a], check=True, capture_output=True, text=True, env=env).stdout

existe = subprocess.run(["psql", "-tAqU", "postgres", "-h", "127.0.0.1", "-c",
                         f"SELECT 1 FROM pg_database WHERE datname = '{BASE}'"], capture_output=True, text=True).stdout.strip()
if existe != "1":
    subprocess.run(["psql", "-qU", "postgres", "-h", "127.0.0.1", "-c", f"CREATE DATABASE {BASE}"], check=True)
    run("seed", "--eleves", str(N), "--seed", "42", "--rentree", "2026")
communes = psql("SELECT code_commune FROM ecoles GROUP BY 1 ORDER BY count(*) DESC LIMIT 20").split()
args = ["partenaire", "creer", "--nom", "Éditeur d'endurance", "--type", "editeur", "--json"]
for c in communes:
    args += ["--mandat", c]
p = json.loads(run(*args))["identifiants"]
ines = psql(f"""SELECT e.ine FROM eleves e JOIN inscriptions i ON i.eleve_id = e.id JOIN ecoles s ON s.uai = i.uai
                WHERE e.ine IS NOT NULL AND i.statut <> 'radie' AND s.code_commune IN ({",".join(f"'{c}'" for c in communes)})
                LIMIT 2000""").split()
serveur = subprocess.Popen([B, "serve", "--bind", f"127.0.0.1:{PORT}", "--workers", "2"], env=env,
                           stdout=subprocess.DEVNULL, stderr=open(W + "/serve.log", "w"))
try:
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health/ready"); break
        except Exception: time.sleep(0.1)
    req = urllib.request.Request(f"http://127.0.0.1:{PORT}/oauth/token", data=b"grant_type=client_credentials",
        headers={"Authorization": "Basic " + base64.b64encode(f"{p['client_id']}:{p['client_secret']}".encode()).decode(),
                 "Content-Type": "application/x-www-form-urlencoded"})
    jeton = json.load(urllib.request.urlopen(req))["access_token"]
    depuis = json.load(urllib.request.urlopen(urllib.request.Request(
        f"http://127.0.0.1:{PORT}/v1/changements", headers={"Authorization": "Bearer " + jeton})))["curseur_suivant"]
    # A pupil record the batch rewrites unchanged (a write that keeps the base stable).
    dossier = json.load(urllib.request.urlopen(urllib.request.Request(
        f"http://127.0.0.1:{PORT}/v1/eleves/{ines[0]}", headers={"Authorization": "Bearer " + jeton})))
    garder = {k: dossier[k] for k in ("ine", "nom", "prenoms", "sexe", "date_naissance", "lieu_naissance") if k in dossier}
    if "adresse" in dossier: garder["adresse"] = dossier["adresse"]
    garder["responsables"] = [{k: r[k] for k in ("nom", "prenom", "lien", "autorite_parentale", "telephone", "courriel", "adresse") if k in r}
                              for r in dossier.get("responsables", [])]
    lot = json.dumps({"mode": "partiel", "elements": [{"eleve": garder, "inscriptions": []}]})
    # The token lives 10 minutes: the Lua script gets a fresh one per wrk run (runs of 5 minutes).
    lua = f"""
local ines = {{{",".join(f'"{i}"' for i in ines)}}}
local lot = [[{lot}]]
math.randomseed(42)
request = function()
  local h = {{}}
  h["Authorization"] = "Bearer " .. jeton
  local r = math.random(100)
  if r <= 35 then return wrk.format("GET", "/v1/inscriptions?limit=100", h)
  elseif r <= 55 then return wrk.format("GET", "/v1/eleves/" .. ines[math.random(#ines)], h)
  elseif r <= 70 then return wrk.format("GET", "/v1/eleves?limit=100", h)
  elseif r <= 90 then return wrk.format("GET", "/v1/changements?limit=1000&depuis={depuis}", h)
  else h["Content-Type"] = "application/json"; return wrk.format("POST", "/v1/lots/eleves", h, lot) end
end
local erreurs5 = 0
response = function(status, headers, body) if status >= 500 then erreurs5 = erreurs5 + 1 end end
done = function(summary, latency, requests)
  io.write(string.format("RESUME %d %d %d %.1f %.1f %.1f %d\\n", summary.requests, summary.errors.status, erreurs5,
    latency:percentile(50)/1000, latency:percentile(99)/1000, latency.max/1000, summary.duration))
end
"""
    memoire, arret = [], threading.Event()
    def echantillonner():
        debut = time.time()
        while not arret.is_set():
            with open(f"/proc/{serveur.pid}/status") as f:
                rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) // 1024
            memoire.append((int(time.time() - debut), rss))
            arret.wait(10)
    t = threading.Thread(target=echantillonner); t.start()
    resumes, reste = [], DUREE
    while reste > 0:
        tranche = min(reste, 300)
        req = urllib.request.Request(f"http://127.0.0.1:{PORT}/oauth/token", data=b"grant_type=client_credentials",
            headers={"Authorization": "Basic " + base64.b64encode(f"{p['client_id']}:{p['client_secret']}".encode()).decode(),
                     "Content-Type": "application/x-www-form-urlencoded"})
        jeton = json.load(urllib.request.urlopen(req))["access_token"]
        with open(W + "/charge.lua", "w") as f:
            f.write(f'local jeton = "{jeton}"\n' + lua)
        sortie = subprocess.run(["wrk", "-t2", f"-c{CONNEXIONS}", f"-d{tranche}s", "--latency", "-s", W + "/charge.lua",
                                 f"http://127.0.0.1:{PORT}"], capture_output=True, text=True).stdout
        resumes.append([l for l in sortie.splitlines() if l.startswith("RESUME")][0].split()[1:])
        reste -= tranche
    arret.set(); t.join()
finally:
    serveur.send_signal(signal.SIGINT); serveur.wait(60)
total = sum(int(r[0]) for r in resumes)
non_2xx = sum(int(r[1]) for r in resumes)
cinq = sum(int(r[2]) for r in resumes)
print(f"durée {DUREE} s, {CONNEXIONS} connexions, base de {N} élèves (PostgreSQL)")
print(f"requêtes {total} ({total / DUREE:.0f}/s), non 2xx/3xx {non_2xx}, 5xx {cinq}")
for i, r in enumerate(resumes):
    print(f"tranche {i + 1} : p50 {r[3]} ms, p99 {r[4]} ms, max {r[5]} ms")
print("mémoire résidente (s, Mio) :", " ".join(f"{s}:{m}" for s, m in memoire))
debut, fin = memoire[1][1] if len(memoire) > 1 else memoire[0][1], memoire[-1][1]
print(f"mémoire : {debut} Mio après 10 s, {fin} Mio à la fin, pic {max(m for _, m in memoire)} Mio")
