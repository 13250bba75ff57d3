#!/usr/bin/env python3
"""Token flood (docs/BENCHMARKS.md, section "Token flood"): the latency of valid reads
(`GET /v1/ecoles?limit=20` with a valid token, LECTEURS clients in a loop) without and during a
flood of `POST /oauth/token` requests naming random client ids (wrk, FLOOD connections, a Lua
script drawing a new client_id per request), side by side in each round, with the gateway's
resident memory after each phase. Loopback only, bounded in time (ROUNDS x 2 x DUREE seconds).

Usage: python3 docs/bench/jetons.py   (env: ONDE_BIN, ROUNDS=3, DUREE=10, LECTEURS=4, FLOOD=64,
BENCH_DIR, ARENES=2 for MALLOC_ARENA_MAX). Needs psql, wrk (apt-get install wrk) and a build of the gateway (release preferred)."""
import http.client, json, os, statistics, subprocess, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import commun  # noqa: E402

B = os.environ.get("ONDE_BIN", "target/release/onde-echanges")
ROUNDS = int(os.environ.get("ROUNDS", "3"))
DUREE = float(os.environ.get("DUREE", "10"))
LECTEURS = int(os.environ.get("LECTEURS", "4"))
FLOOD = int(os.environ.get("FLOOD", "64"))
W = os.environ.get("BENCH_DIR", "/tmp/onde-bench") + "/jetons"
os.makedirs(W, exist_ok=True)
PORT = 18097
BASE = "onde_jetons"
URL = f"postgres://postgres@127.0.0.1:5432/{BASE}"
# The readers' own rate limit is lifted: what is measured is the node, not the reader's bucket.
# MALLOC_ARENA_MAX as in deploy/ (env ARENES; "" for glibc's default).
env = dict(os.environ, RUST_LOG="warn", DATABASE_URL=URL, ONDE__LIMITES__PAR_SECONDE="1000000",
           ONDE__LIMITES__RAFALE="1000000", ONDE__LIMITES__SIMULTANEES="10000")
if os.environ.get("ARENES", "2"):
    env["MALLOC_ARENA_MAX"] = os.environ.get("ARENES", "2")

LUA = r"""
math.randomseed(os.time())
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
request = function()
  local t = {}
  for i = 1, 16 do
    local n = math.random(1, #alphabet)
    t[i] = alphabet:sub(n, n)
  end
  local body = "grant_type=client_credentials&client_id=onde_" .. table.concat(t) .. "&client_secret=devine"
  return wrk.format(nil, "/oauth/token", nil, body)
end
done = function(summary, latency, requests)
  io.write(string.format("FLOOD %d %d\n", summary.requests, summary.duration))
  for status, n in pairs(summary.errors) do end
end
"""


def psql(*sql, base="postgres"):
    args = ["psql", "-tAqU", "postgres", "-h", "127.0.0.1", "-d", base]
    for s in sql:
        args += ["-c", s]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


def lire(port, tok, fin, latences, statuts):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.time() < fin:
        t = time.perf_counter()
        c.request("GET", "/v1/ecoles?limit=20", headers={"Authorization": f"Bearer {tok}"})
        r = c.getresponse()
        r.read()
        latences.append((time.perf_counter() - t) * 1000)
        statuts[r.status] = statuts.get(r.status, 0) + 1


def phase(port, tok, avec_flood):
    fin = time.time() + DUREE
    latences, statuts = [], {}
    flood = None
    if avec_flood:
        flood = subprocess.Popen(["wrk", "-t2", f"-c{FLOOD}", f"-d{int(DUREE)}s", "-s", f"{W}/flood.lua",
                                  f"http://127.0.0.1:{port}"], stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)  # the flood is on before the reads start
        fin = time.time() + DUREE - 1
    fils = [threading.Thread(target=lire, args=(port, tok, fin, latences, statuts)) for _ in range(LECTEURS)]
    for f in fils:
        f.start()
    for f in fils:
        f.join()
    envoyees = 0
    if flood:
        sortie = flood.communicate()[0]
        for l in sortie.splitlines():
            if l.startswith("FLOOD "):
                n, us = l.split()[1:]
                envoyees = int(n) / (int(us) / 1e6)
    latences.sort()
    q = lambda p: latences[min(len(latences) - 1, int(p * len(latences)))]
    return {"n": len(latences), "p50": q(0.50), "p99": q(0.99), "statuts": statuts, "flood_rps": envoyees}


def main():
    open(f"{W}/flood.lua", "w").write(LUA)
    psql(f"DROP DATABASE IF EXISTS {BASE} WITH (FORCE)", f"CREATE DATABASE {BASE}")
    subprocess.run([B, "migrate"], check=True, env=env, capture_output=True)
    subprocess.run([B, "seed", "--eleves", "2000", "--seed", "42", "--rentree", "2026"], check=True, env=env,
                   capture_output=True)
    communes = psql("SELECT DISTINCT code_commune FROM ecoles ORDER BY 1", base=BASE).split()
    ident = commun.editeur_de(B, env, communes)
    g = commun.Passerelle(B, PORT, env, f"{W}/serve.log")
    try:
        tok = g.jeton(ident)
        rss_depart = g.memoire()[0]
        lignes = []
        for r in range(ROUNDS):
            tok = g.jeton(ident)  # 10-minute tokens: a fresh one per round
            sans = phase(PORT, tok, False)
            rss_sans = g.memoire()
            avec = phase(PORT, tok, True)
            rss_avec = g.memoire()
            lignes.append((sans, avec, rss_sans, rss_avec))
            print(f"round {r + 1}: sans flood p50 {sans['p50']:.2f} ms p99 {sans['p99']:.2f} ms ({sans['n']} lectures "
                  f"{sans['statuts']}) ; flood {avec['flood_rps']:.0f} demandes/s : p50 {avec['p50']:.2f} ms "
                  f"p99 {avec['p99']:.2f} ms ({avec['n']} lectures {avec['statuts']}) ; RSS {rss_sans[0]:.1f} -> "
                  f"{rss_avec[0]:.1f} MiB (pic {rss_avec[1]:.1f})", flush=True)
        # After the flood: a valid client still gets its token at once.
        t = time.perf_counter()
        g.jeton(ident)
        apres = (time.perf_counter() - t) * 1000
        med = lambda xs: statistics.median(xs)
        print(json.dumps({
            "rss_depart_mib": round(rss_depart, 1),
            "sans_flood": {"p50_ms": round(med([s["p50"] for s, _, _, _ in lignes]), 2),
                           "p99_ms": round(med([s["p99"] for s, _, _, _ in lignes]), 2),
                           "lectures_par_s": round(med([s["n"] for s, _, _, _ in lignes]) / DUREE)},
            "flood": {"p50_ms": round(med([a["p50"] for _, a, _, _ in lignes]), 2),
                      "p99_ms": round(med([a["p99"] for _, a, _, _ in lignes]), 2),
                      "lectures_par_s": round(med([a["n"] for _, a, _, _ in lignes]) / (DUREE - 1)),
                      "demandes_de_jeton_par_s": round(med([a["flood_rps"] for _, a, _, _ in lignes]))},
            "rss_mib_apres_flood": round(med([ra[0] for _, _, _, ra in lignes]), 1),
            "pic_rss_mib": round(max(ra[1] for _, _, _, ra in lignes), 1),
            "jeton_valide_apres_flood_ms": round(apres, 1),
        }, indent=1))
    finally:
        g.arreter()


if __name__ == "__main__":
    main()
