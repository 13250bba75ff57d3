#!/usr/bin/env python3
"""Compressed answers (docs/BENCHMARKS.md, "Issue 18, item 3"): bytes on the wire and the
gateway's CPU per answer for each coding and level.

For each level of the lists below, the gateway is started with that level
(ONDE__SERVEUR__COMPRESSION__NIVEAU_*) on the kept harness base, and one connection fetches the
same answer N times with each Accept-Encoding; the gateway's CPU time (utime + stime of the
process, /proc/PID/stat) over those N requests, divided by N, is the CPU per answer; the cost of
a coding is that minus the CPU of the plain answer in the same run. Answers:
  - page: a 1,000-row `GET /v1/inscriptions` page of the largest commune (this school year);
  - csv: the CSV export of a mid-size town's inscriptions this school year (streamed).

Usage: python3 docs/bench/compression.py [--eleves 1000000] [--n 100]
Environment: ONDE_BIN (target/release/onde-echanges), BENCH_DIR, BENCH_PORT (18096),
BENCH_BASES (onde_harnais): the base `<BENCH_BASES>_<eleves>` is the harness's (run
`harnais.py --eleves 1000000 --etapes tirage` first to seed it). Standard library only.
"""
import argparse, http.client, json, os, statistics, subprocess, sys, time, zlib

import commun

a = argparse.ArgumentParser()
a.add_argument("--eleves", type=int, default=1_000_000)
a.add_argument("--n", type=int, default=100, help="requests per answer and coding")
a.add_argument("--gzip", default="1,2,3,4,5,6")
a.add_argument("--zstd", default="-3,-1,1,2,3")
a.add_argument("--br", default="0,1,2,3,4")
o = a.parse_args()

B = os.environ.get("ONDE_BIN", "target/release/onde-echanges")
W = os.environ.get("BENCH_DIR", "/tmp/onde-bench") + "/compression"
os.makedirs(W, exist_ok=True)
PORT = int(os.environ.get("BENCH_PORT", "18096"))
BASE = f"{os.environ.get('BENCH_BASES', 'onde_harnais')}_{o.eleves}"
URL = f"postgres://postgres@127.0.0.1:5432/{BASE}"
ANNEE = "2026-2027"
TIC = os.sysconf("SC_CLK_TCK")
env = dict(os.environ, RUST_LOG="warn", DATABASE_URL=URL, MALLOC_ARENA_MAX="2",
           ONDE__LIMITES__PAR_SECONDE="1000000", ONDE__LIMITES__RAFALE="1000000",
           ONDE__LIMITES__SIMULTANEES="100000")


def psql(sql):
    return subprocess.run(["psql", "-tAq", "-h", "127.0.0.1", "-U", "postgres", "-d", BASE, "-c", sql],
                          check=True, capture_output=True, text=True).stdout.strip()


def cpu(pid):
    """utime + stime of the process, seconds."""
    champs = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(champs[11]) + int(champs[12])) / TIC


def mesurer(g, chemin, tok, codage, n):
    """Bytes of the body as sent, CPU ms and wall ms per answer."""
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
    entetes = {"Authorization": f"Bearer {tok}"}
    if codage:
        entetes["Accept-Encoding"] = codage
    taille, corps = 0, b""
    for i in range(n + 2):
        if i == 2:  # two warm-up requests, then the measure
            debut_cpu, debut = cpu(g.p.pid), time.perf_counter()
        c.request("GET", chemin, headers=entetes)
        r = c.getresponse()
        corps = r.read()
        assert r.status == 200, (r.status, corps[:300])
        assert r.getheader("Content-Encoding") == (codage or None), (codage, r.getheader("Content-Encoding"))
        taille = len(corps)
    fin_cpu, fin = cpu(g.p.pid), time.perf_counter()
    c.close()
    if codage == "gzip":
        corps = zlib.decompress(corps, 16 + zlib.MAX_WBITS)
    return {"octets": taille, "cpu_ms": (fin_cpu - debut_cpu) * 1000 / n, "duree_ms": (fin - debut) * 1000 / n,
            "identite_octets": len(corps) if codage in ("", "gzip") else None}


def main():
    if psql(f"SELECT count(*) FROM eleves") != str(o.eleves):
        sys.exit(f"{BASE} : base absente, lancer d'abord harnais.py --eleves {o.eleves} --etapes tirage")
    grande = psql(f"SELECT e.code_commune FROM inscriptions i JOIN ecoles e USING (uai) WHERE i.annee_scolaire = '{ANNEE}' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
    moyenne = psql(f"SELECT code_commune FROM (SELECT e.code_commune, count(*) n FROM inscriptions i JOIN ecoles e USING (uai) WHERE i.annee_scolaire = '{ANNEE}' GROUP BY 1) t WHERE n >= 1000 ORDER BY n, 1 LIMIT 1")
    psql("DELETE FROM cles_signature")
    mairie = commun.partenaire(B, env, "--nom", "Mairie de mesure", "--type", "mairie", "--commune", grande,
                               "--commune", moyenne, "--scopes", "ecoles:read eleves:read inscriptions:read")
    reponses = {
        "page": f"/v1/inscriptions?commune={grande}&annee_scolaire={ANNEE}&limit=1000",
        "csv": f"/v1/inscriptions?commune={moyenne}&annee_scolaire={ANNEE}&format=csv",
    }
    niveaux = {"gzip": [int(x) for x in o.gzip.split(",")], "zstd": [int(x) for x in o.zstd.split(",")],
               "br": [int(x) for x in o.br.split(",")]}
    machine = {"coeurs": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M"),
               "charge": open("/proc/loadavg").read().split()[:3]}
    print(f"machine : {machine}", flush=True)
    resultats = {"machine": machine, "reponses": reponses, "mesures": []}
    for i in range(max(len(v) for v in niveaux.values())):
        reglage = {c: v[min(i, len(v) - 1)] for c, v in niveaux.items()}
        g = commun.Passerelle(B, PORT, {**env,
                                        "ONDE__SERVEUR__COMPRESSION__NIVEAU_GZIP": str(reglage["gzip"]),
                                        "ONDE__SERVEUR__COMPRESSION__NIVEAU_ZSTD": str(reglage["zstd"]),
                                        "ONDE__SERVEUR__COMPRESSION__NIVEAU_BROTLI": str(reglage["br"])},
                              W + "/serve.log")
        try:
            tok = g.jeton(mairie)
            for nom, chemin in reponses.items():
                base = mesurer(g, chemin, tok, "", o.n)
                for codage in ("gzip", "zstd", "br"):
                    if i >= len(niveaux[codage]):
                        continue
                    m = mesurer(g, chemin, tok, codage, o.n)
                    if m["identite_octets"] is not None:
                        assert m["identite_octets"] == base["octets"], "le corps décodé diffère"
                    ligne = {"reponse": nom, "codage": codage, "niveau": reglage[codage],
                             "octets": m["octets"], "identite_octets": base["octets"],
                             "rapport": base["octets"] / m["octets"],
                             "cpu_ms": m["cpu_ms"], "cpu_identite_ms": base["cpu_ms"],
                             "cout_cpu_ms": m["cpu_ms"] - base["cpu_ms"],
                             "duree_ms": m["duree_ms"], "duree_identite_ms": base["duree_ms"]}
                    resultats["mesures"].append(ligne)
                    print(json.dumps(ligne), flush=True)
        finally:
            g.arreter()
    json.dump(resultats, open(W + "/compression.json", "w"), indent=2)
    print("\n| réponse | codage | niveau | octets (identité) | rapport | CPU ms / réponse (identité) | surcoût CPU ms |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for m in resultats["mesures"]:
        print(f"| {m['reponse']} | {m['codage']} | {m['niveau']} | {m['octets']:,} ({m['identite_octets']:,}) | "
              f"{m['rapport']:.1f} | {m['cpu_ms']:.2f} ({m['cpu_identite_ms']:.2f}) | {m['cout_cpu_ms']:.2f} |")


main()
