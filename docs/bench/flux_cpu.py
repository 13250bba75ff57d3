#!/usr/bin/env python3
"""Where a feed page's time goes: the gateway's CPU per page of 1,000 changes, beside its wall
time, on a harness base (docs/bench/harnais.py seeds it). A mairie of the largest commune reads
the page of 1,000 inscriptions reclassed after its cursor, 60 times in a row.

Usage: python3 docs/bench/flux_cpu.py   (env: BASE=onde_harnais_1000000, ONDE_BIN, PAGES=60;
PERF=1 records `perf record -g` of the gateway into /tmp/perf.data while the pages are read)"""
import json, os, subprocess, sys, time, urllib.request

import commun

B = os.environ.get("ONDE_BIN", "target/release/onde-echanges")
BASE = os.environ.get("BASE", "onde_harnais_1000000")
PAGES = int(os.environ.get("PAGES", "60"))
PORT = 18097
env = dict(os.environ, RUST_LOG="warn", MALLOC_ARENA_MAX="2", DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{BASE}",
           ONDE__LIMITES__PAR_SECONDE="1000000", ONDE__LIMITES__RAFALE="1000000")


def psql(sql):
    return subprocess.run(["psql", "-tAq", "-h", "127.0.0.1", "-U", "postgres", "-d", BASE, "-c", sql], check=True,
                          capture_output=True, text=True).stdout.strip()


def cpu_s(pid):
    champs = open(f"/proc/{pid}/stat").read().split(")")[1].split()
    return (int(champs[11]) + int(champs[12])) / os.sysconf("SC_CLK_TCK")


commune = psql("SELECT e.code_commune FROM inscriptions i JOIN ecoles e ON e.uai = i.uai GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
g = commun.Passerelle(B, PORT, env, "/tmp/flux_cpu.log")
try:
    tok = g.jeton(commun.partenaire(B, env, "--nom", "Mairie flux_cpu", "--type", "mairie", "--commune", commune,
                                    "--scopes", "ecoles:read eleves:read inscriptions:read"))

    def get(chemin):
        req = urllib.request.Request(f"http://127.0.0.1:{PORT}{chemin}", headers={"Authorization": "Bearer " + tok})
        return urllib.request.urlopen(req, timeout=60).read()

    depuis = json.loads(get("/v1/changements"))["curseur_suivant"]
    psql(f"""UPDATE inscriptions SET classe = 'Mesure ' || substr(md5(random()::text), 1, 6)
             WHERE id IN (SELECT i.id FROM inscriptions i JOIN ecoles e ON e.uai = i.uai
                          WHERE e.code_commune = '{commune}' ORDER BY i.id LIMIT 1000)""")
    chemin = f"/v1/changements?limit=1000&depuis={depuis}"
    for _ in range(5):
        get(chemin)
    perf = None
    if os.environ.get("PERF"):
        perf = subprocess.Popen(["perf", "record", "-F", "999", "-g", "-p", str(g.p.pid), "-o", "/tmp/perf.data"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
    c0, t0, latences = cpu_s(g.p.pid), time.perf_counter(), []
    for _ in range(PAGES):
        a = time.perf_counter()
        corps = get(chemin)
        latences.append((time.perf_counter() - a) * 1000)
    mur, cpu = time.perf_counter() - t0, cpu_s(g.p.pid) - c0
    if perf:
        perf.send_signal(2)
        perf.wait()
    latences.sort()
    print(f"{PAGES} pages de {len(corps)} octets : p50 {latences[PAGES // 2]:.1f} ms, max {latences[-1]:.1f} ms ; "
          f"CPU de la passerelle {cpu / PAGES * 1000:.1f} ms par page, temps écoulé {mur / PAGES * 1000:.1f} ms par page")
finally:
    g.arreter()
