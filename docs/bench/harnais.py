#!/usr/bin/env python3
"""Benchmark harness at national scale (docs/BENCHMARKS.md, section "Échelle nationale").

One run reports, measured side by side so that the ratios survive a noisy machine:
  - pull: a mairie's inscription list page (limit=500) under 64 connections, gateway (wrk, a
    separate process on loopback) beside pgbench running the same SQL (extended protocol, as
    the gateway sends it, and prepared, the database's best) on the same base, requests/s and
    p50/p99; for the largest commune and for a mid-sized town;
  - push: POST /v1/lots/eleves (batches of 1,000, several clients) records/s beside COPY of the
    same records (psql \\copy of the CSV export into a flat table);
  - feed: a page of 1,000 changes (GET /v1/changements?limit=1000) p50/p99, at each base size;
  - memory: the gateway's RSS idle, peak (VmHWM) under 200 connections, and idle again.

Usage: python3 docs/bench/harnais.py [--eleves 1000000,6300000] [--duree 20] [--poussee 100000]
       [--poussee-base 1000000]   (push into a copy of the 1M base instead of a fresh 10,000 one)
       python3 docs/bench/harnais.py --petit      (CI: a few thousand pupils, seconds per step)
       python3 docs/bench/harnais.py --etapes memoire --eleves 1000000   (one step only)
       python3 docs/bench/harnais.py --etapes tirage --eleves 1000000 --accept-encoding gzip --accept-encoding zstd
           (each round of the pull also runs the gateway with each Accept-Encoding given:
           compressed answers; every ratio, and the bytes per answer, are reported)
Environment: ONDE_BIN (default target/release/onde-echanges), BENCH_DIR (/tmp/onde-bench),
BENCH_PORT (18095), BENCH_BASES (prefix of the kept bases, onde_harnais: another prefix keeps a
branch that changes the schema off the bases other branches measure),
ONDE_BIN_TEMOIN (another build of the gateway: the memory step measures it too, right after,
on the same base and page, e.g. to compare allocators),
PGHOST/PGUSER-free: PostgreSQL at 127.0.0.1:5432, user postgres. Needs wrk and pgbench.
Bases `onde_harnais_<n>` are kept between runs (seeding 6.3M pupils takes minutes); the push
base is recreated every run (two people benchmarking on one machine take different BENCH_BASES
and BENCH_PORT). Writes the figures as JSON to BENCH_DIR/harnais.json as well.
"""
import argparse, json, os, re, statistics, subprocess, sys, tempfile, time
import urllib.request

import commun

a = argparse.ArgumentParser()
a.add_argument("--eleves", default="1000000,6300000")
a.add_argument("--duree", type=int, default=20, help="seconds per wrk/pgbench run")
a.add_argument("--poussee", type=int, default=100_000, help="records pushed over HTTP")
a.add_argument("--clients", type=int, default=4, help="parallel clients pushing batches")
a.add_argument("--poussee-base", type=int, default=0,
               help="push into a copy of the national base of this many pupils (0: a fresh base of 10,000)")
a.add_argument("--connexions", type=int, default=64)
a.add_argument("--tours", type=int, default=3, help="alternating rounds of the pull (medians reported)")
a.add_argument("--petit", action="store_true", help="small bases and short runs: checks the harness works")
a.add_argument("--etapes", default="flux,tirage,memoire,poussee",
               help="steps to run, comma-separated (also: concurrence, the pull's latency against the number of connections)")
a.add_argument("--niveaux", default="1,2,4,8,16,64", help="connection counts of the concurrence step")
a.add_argument("--accept-encoding", action="append", default=[],
               help="pull step: each round also runs the gateway with this Accept-Encoding (e.g. zstd); repeatable")
o = a.parse_args()
if o.petit:
    o.eleves, o.duree, o.poussee, o.clients, o.tours = "3000,6000", 2, 2000, 2, 1

B = os.environ.get("ONDE_BIN", "target/release/onde-echanges")
W = os.environ.get("BENCH_DIR", "/tmp/onde-bench") + "/harnais"
os.makedirs(W, exist_ok=True)
SIZES = [int(s) for s in o.eleves.split(",")]
ETAPES = set(o.etapes.split(","))
TEMOIN = os.environ.get("ONDE_BIN_TEMOIN")
PORT = int(os.environ.get("BENCH_PORT", "18095"))
PREFIXE = os.environ.get("BENCH_BASES", "onde_harnais")
ANNEE = "2026-2027"
PG = ["-h", "127.0.0.1", "-U", "postgres"]
# Limits raised for the measure: the gateway's own rate limiter would otherwise be what is measured.
# MALLOC_ARENA_MAX=2 as deploy/ sets it (Containerfile, systemd, Kubernetes), unless given.
env = dict(os.environ, RUST_LOG="warn", MALLOC_ARENA_MAX=os.environ.get("MALLOC_ARENA_MAX", "2"), ONDE__LIMITES__PAR_SECONDE="1000000", ONDE__LIMITES__RAFALE="1000000",
           ONDE__LIMITES__SIMULTANEES="100000", ONDE_IMPORTS_DOSSIER=W + "/spool")
for outil in ("wrk", "pgbench", "psql"):
    if subprocess.run(["which", outil], capture_output=True).returncode != 0:
        sys.exit(f"{outil} est nécessaire (apt-get install wrk postgresql-client)")


def url(base):
    return f"postgres://postgres@127.0.0.1:5432/{base}"


def psql(base, sql):
    return subprocess.run(["psql", "-tAq", *PG, "-d", base, "-c", sql], check=True, capture_output=True,
                          text=True).stdout.strip()


def cli(base, *args, **k):
    return subprocess.run([B, *args], check=True, capture_output=True, text=True,
                          env={**env, "DATABASE_URL": url(base)}, **k).stdout


def recreer(base):
    subprocess.run(["psql", "-q", *PG, "-c", f"DROP DATABASE IF EXISTS {base} WITH (FORCE)",
                    "-c", f"CREATE DATABASE {base}"], check=True, capture_output=True)


def base_nationale(n):
    """A base of n pupils, seeded once (seed 42, rentrée 2026) and kept."""
    base = f"{PREFIXE}_{n}"
    existe = psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{base}'")
    if existe == "1" and psql(base, "SELECT count(*) FROM eleves") == str(n):
        return base, None
    recreer(base)
    debut = time.perf_counter()
    subprocess.run([B, "seed", "--eleves", str(n), "--seed", "42", "--rentree", "2026"], check=True,
                   env={**env, "DATABASE_URL": url(base)})
    duree = time.perf_counter() - debut
    psql(base, "VACUUM ANALYZE")
    return base, duree


CLES_REFAITES = set()


def passerelle(base, binaire=B):
    """The gateway on `base`, started and ready. A kept base outlives the bench directory that
    held the key-encryption key of its signing keys (a fresh clone, another BENCH_DIR): those
    keys are the bench's own, so they are dropped once per run (tokens issued since stay valid
    across the run's gateways) and the gateway makes new ones at start."""
    if base not in CLES_REFAITES:
        psql(base, "DELETE FROM cles_signature")
        CLES_REFAITES.add(base)
    return commun.Passerelle(binaire, PORT, {**env, "DATABASE_URL": url(base)}, W + "/serve.log")


def partenaire(base, *args):
    return commun.partenaire(B, {**env, "DATABASE_URL": url(base)}, *args)


def get(chemin, tok):
    r = urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{PORT}{chemin}",
                                                      headers={"Authorization": "Bearer " + tok}), timeout=60)
    return json.load(r)


def duree_ms(texte):
    v, u = re.match(r"([\d.]+)(us|ms|s)", texte).groups()
    return float(v) * {"us": 0.001, "ms": 1, "s": 1000}[u]


def octets(texte):
    v, u = re.match(r"([\d.]+)([KMG]?B)", texte).groups()
    return float(v) * {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}[u]


def wrk(chemin, tok, connexions, duree, threads=2, codage=""):
    """Requests/s, p50 and p99 (ms), non-2xx count, bytes per answer (headers included), from
    wrk --latency; `codage`: the Accept-Encoding sent (none when empty)."""
    entetes = ["-H", f"Authorization: Bearer {tok}"] + (["-H", f"Accept-Encoding: {codage}"] if codage else [])
    out = subprocess.run(["wrk", f"-t{min(threads, connexions)}", f"-c{connexions}", f"-d{duree}s", "--latency",
                          "--timeout", "10s", *entetes, f"http://127.0.0.1:{PORT}{chemin}"],
                         check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    transfert = octets(re.search(r"Transfer/sec:\s+(\S+)", out).group(1))
    p50 = duree_ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = duree_ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    erreurs = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "non_2xx": int(erreurs.group(1)) if erreurs else 0,
            "octets_par_reponse": transfert / rps if rps else 0}


def pgbench(base, sql, connexions, duree, mode):
    """Transactions/s, p50 and p99 (ms) of pgbench running `sql`, from its per-transaction log."""
    with tempfile.TemporaryDirectory() as d:
        script = os.path.join(d, "requete.sql")
        open(script, "w").write(sql + ";\n")
        # A PostgreSQL shared with test suites may refuse a connection for a moment (too many
        # clients): such a run is started again, up to three times, never counted.
        for essai in range(3):
            for f in os.listdir(d):
                if f.startswith("log"):
                    os.remove(os.path.join(d, f))
            p = subprocess.run(["pgbench", "-n", *PG, "-c", str(connexions), "-j", str(min(2, connexions)), "-T", str(duree),
                                "-M", mode, "-f", script, "-l", "--log-prefix", os.path.join(d, "log"), base],
                               capture_output=True, text=True)
            if p.returncode == 0:
                break
            print(f"  pgbench a échoué ({p.stderr.strip().splitlines()[-1:]}), nouvel essai", flush=True)
            time.sleep(5)
        else:
            raise SystemExit(f"pgbench : {p.stderr}")
        out = p.stdout
        tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1))
        lat = sorted(int(l.split()[2]) / 1000 for f in os.listdir(d) if f.startswith("log")
                     for l in open(os.path.join(d, f)))
    return {"rps": tps, "p50_ms": lat[len(lat) // 2], "p99_ms": lat[int(len(lat) * 0.99) - 1]}


def sql_liste(commune):
    """The SQL the gateway runs for GET /v1/inscriptions?commune=…&annee_scolaire=…&limit=500 by a
    mairie of `commune` (crates/store/src/inscriptions.rs `lister`, perimeter clause included),
    as diesel writes it."""
    return f"""SELECT inscriptions.id, inscriptions.eleve_id, inscriptions.uai, inscriptions.annee_scolaire,
 inscriptions.niveau, inscriptions.classe, inscriptions.dispositif, inscriptions.statut,
 inscriptions.admission_provisoire, inscriptions.date_inscription, inscriptions.date_admission,
 inscriptions.date_radiation, inscriptions.motif_radiation, inscriptions.cree_le, inscriptions.modifie_le,
 inscriptions.version, eleves.id, eleves.ine, eleves.nom, eleves.prenom1, eleves.prenom2, eleves.prenom3,
 eleves.sexe, eleves.date_naissance
 FROM ((inscriptions INNER JOIN ecoles ON (inscriptions.uai = ecoles.uai))
       INNER JOIN eleves ON (inscriptions.eleve_id = eleves.id))
 WHERE ((ecoles.code_commune = ANY(ARRAY['{commune}']::text[]) AND (ecoles.code_commune = '{commune}'))
   AND (inscriptions.annee_scolaire = '{ANNEE}'))
 ORDER BY ecoles.uai ASC, inscriptions.annee_scolaire ASC, inscriptions.id ASC LIMIT 501""".replace("\n", " ")


def plus_grande_commune(base):
    """The commune with the most inscriptions this school year."""
    return psql(base, f"SELECT e.code_commune FROM inscriptions i JOIN ecoles e USING (uai) WHERE i.annee_scolaire = '{ANNEE}' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")


def tirer(base, g, resultats):
    """Pull: the largest commune and a mid-sized town (the smallest with 1,000 inscriptions this year)."""
    communes = {
        "grande_ville": plus_grande_commune(base),
        "ville_moyenne": psql(base, f"SELECT code_commune FROM (SELECT e.code_commune, count(*) n FROM inscriptions i JOIN ecoles e USING (uai) WHERE i.annee_scolaire = '{ANNEE}' GROUP BY 1) t WHERE n >= {1000 if not o.petit else 100} ORDER BY n, 1 LIMIT 1"),
    }
    pages = []
    for nom, commune in communes.items():
        tok = g.jeton(partenaire(base, "--nom", f"Mairie {commune}", "--type", "mairie", "--commune", commune,
                               "--scopes", "ecoles:read eleves:read inscriptions:read"))
        chemin = f"/v1/inscriptions?commune={commune}&annee_scolaire={ANNEE}&limit=500"
        pages.append((chemin, tok))
        lignes = len(get(chemin, tok)["elements"])
        sql = sql_liste(commune)
        verif = int(psql(base, f"SELECT count(*) FROM ({sql}) t"))
        assert verif == min(lignes + 1, 501) or verif == lignes, (verif, lignes)
        inscrits = int(psql(base, f"SELECT count(*) FROM inscriptions i JOIN ecoles e USING (uai) WHERE e.code_commune = '{commune}' AND i.annee_scolaire = '{ANNEE}'"))
        # Rounds alternate the three so that a noisy neighbour weighs on each alike; each figure
        # is the median over the rounds, and so is each round's ratio.
        # With --accept-encoding, the compressed pulls run in each round right after the plain one.
        tours = []
        for _ in range(o.tours):
            t = {"passerelle": wrk(chemin, tok, o.connexions, o.duree)}
            for codage in o.accept_encoding:
                t[f"passerelle_{codage}"] = wrk(chemin, tok, o.connexions, o.duree, codage=codage)
            t["pgbench_extended"] = pgbench(base, sql, o.connexions, o.duree, "extended")
            t["pgbench_prepared"] = pgbench(base, sql, o.connexions, o.duree, "prepared")
            tours.append(t)
        r = {"commune": commune, "inscriptions_annee": inscrits, "lignes_page": lignes, "tours": tours,
             "accept_encoding": o.accept_encoding}
        passerelles = ("passerelle",) + tuple(f"passerelle_{c}" for c in o.accept_encoding)
        for cle in passerelles + ("pgbench_extended", "pgbench_prepared"):
            r[cle] = {m: statistics.median(t[cle][m] for t in tours) for m in ("rps", "p50_ms", "p99_ms")}
        for cle in passerelles:
            r[cle]["octets_par_reponse"] = statistics.median(t[cle]["octets_par_reponse"] for t in tours)
        for mode in ("extended", "prepared"):
            r[f"ratio_{mode}"] = statistics.median(t["passerelle"]["rps"] / t[f"pgbench_{mode}"]["rps"] for t in tours)
            for c in o.accept_encoding:
                r[f"ratio_{c}_{mode}"] = statistics.median(
                    t[f"passerelle_{c}"]["rps"] / t[f"pgbench_{mode}"]["rps"] for t in tours)
        resultats[nom] = r
        print(f"  tirage {nom} ({commune}, {inscrits} inscriptions) : {json.dumps(r)}", flush=True)
    # The memory is measured on the largest commune's page.
    return pages[0]


def concurrence(base, g, resultats):
    """The largest commune's page at growing connection counts, gateway then pgbench (extended)
    at each: where the p99 leaves 25 ms, and whether it is the gateway or the machine queueing."""
    chemin, tok = grande_ville(base, g)
    sql = sql_liste(chemin.split("commune=")[1].split("&")[0])
    for n in (int(x) for x in o.niveaux.split(",")):
        r = {"passerelle": wrk(chemin, tok, n, o.duree), "pgbench_extended": pgbench(base, sql, n, o.duree, "extended")}
        resultats[n] = r
        print(f"  concurrence {n} : {json.dumps(r)}", flush=True)


def memoire(base, chemin, tok, binaire=B):
    """A fresh gateway: RSS once started and warmed by one request, peak under 200 connections,
    RSS idle again."""
    g = passerelle(base, binaire)
    try:
        get(chemin, tok)
        time.sleep(1)
        repos, _ = g.memoire()
        g.remettre_pic()
        charge = wrk(chemin, tok, 200, o.duree)
        # The peak is read once the requests still queued when wrk stops have been served.
        time.sleep(2)
        apres, pic = g.memoire()
    finally:
        g.arreter()
    return {"binaire": binaire, "repos_mib": repos, "pic_200_connexions_mib": pic, "repos_apres_mib": apres,
            "charge_200": charge}


def grande_ville(base, g):
    """The largest commune's page, as a mairie of it reads it (needs a running gateway)."""
    commune = plus_grande_commune(base)
    tok = g.jeton(partenaire(base, "--nom", f"Mairie {commune}", "--type", "mairie", "--commune", commune,
                           "--scopes", "ecoles:read eleves:read inscriptions:read"))
    return f"/v1/inscriptions?commune={commune}&annee_scolaire={ANNEE}&limit=500", tok


def flux(base, g, commune):
    """A page of 1,000 changes: 1,000 inscriptions of `commune` reclassed after the mairie's cursor."""
    tok = g.jeton(partenaire(base, "--nom", f"Mairie flux {commune}", "--type", "mairie", "--commune", commune,
                           "--scopes", "ecoles:read eleves:read inscriptions:read"))
    depuis = get("/v1/changements", tok)["curseur_suivant"]
    psql(base, f"""UPDATE inscriptions SET classe = 'Mesure ' || substr(md5(random()::text), 1, 6)
                   WHERE id IN (SELECT i.id FROM inscriptions i JOIN ecoles e ON e.uai = i.uai
                                WHERE e.code_commune = '{commune}' ORDER BY i.id LIMIT 1000)""")
    chemin = f"/v1/changements?limit=1000&depuis={depuis}"
    # The page is full once the horizon has passed the update: a transaction of another base
    # of the cluster (a test, a seed) may hold it back for a while.
    debut = time.perf_counter()
    page = get(chemin, tok)
    while len(page["elements"]) < 1000 and not page["a_jour"] and time.perf_counter() - debut < 120:
        time.sleep(0.5)
        page = get(chemin, tok)
    r = wrk(chemin, tok, 1, o.duree, threads=1)
    r["evenements_page"] = len(page["elements"])
    return r


def pousser(resultats):
    """Push into a fresh base of 10,000 pupils, or into a copy of a national base
    (--poussee-base), by an editor mandated by every school (a commune's mandate cannot lend
    eleves:write)."""
    base = f"{PREFIXE}_poussee"
    if o.poussee_base:
        # A file-level copy of the kept base (statistics included): the pushed records land
        # among millions, with indexes that no longer fit in shared_buffers, as in production.
        modele, _ = base_nationale(o.poussee_base)
        subprocess.run(["psql", "-q", *PG, "-c", f"DROP DATABASE IF EXISTS {base} WITH (FORCE)",
                        "-c", f"CREATE DATABASE {base} TEMPLATE {modele}"], check=True, capture_output=True)
    else:
        recreer(base)
        cli(base, "seed", "--eleves", "10000", "--seed", "42", "--rentree", "2026")
    p = commun.editeur_de(B, {**env, "DATABASE_URL": url(base)}, psql(base, "SELECT uai FROM ecoles").split())
    n = o.poussee
    ndjson, fcsv = f"{W}/poussee.ndjson", f"{W}/poussee.csv"
    for chemin, fmt in ((ndjson, "ndjson"), (fcsv, "csv")):
        with open(chemin, "w") as f:
            subprocess.run([B, "import", "exemple", "--eleves", str(n), "--seed", "7", "--annee", ANNEE,
                            "--format", fmt], check=True, stdout=f, env={**env, "DATABASE_URL": url(base)})
    lots = commun.lots(open(ndjson).read().splitlines())
    g = passerelle(base)
    try:
        jeton = g.jeton(p)
        d_http, resume, _ = commun.pousser(PORT, jeton, lots, o.clients)
        # The same batches again: every record written above is now unchanged (issue 18's
        # re-push target); the rejected ones are rejected again.
        d_inchange, resume_inchange, _ = commun.pousser(PORT, jeton, lots, o.clients)
    finally:
        g.arreter()
    # Every record gets an outcome (the generated file holds a few duplicates of seeded pupils,
    # rejected as such); a failed request fails the run.
    if sum(resume.values()) != n:
        sys.exit(f"poussée incomplète : {resume} pour {n} enregistrements")
    if resume_inchange["inchanges"] != resume["crees"] + resume["modifies"] + resume["inchanges"]:
        sys.exit(f"seconde poussée : {resume_inchange} après {resume}")
    entete = open(fcsv, encoding="utf-8-sig").readline().strip().split(";")
    psql(base, f"DROP TABLE IF EXISTS copie; CREATE TABLE copie ({', '.join(f'{c} TEXT' for c in entete)})")
    debut = time.perf_counter()
    subprocess.run(["psql", "-q", *PG, "-d", base, "-c",
                    f"\\copy copie FROM '{fcsv}' WITH (FORMAT csv, DELIMITER ';', HEADER true)"], check=True)
    d_copy = time.perf_counter() - debut
    resultats["poussee"] = {"enregistrements": n, **resume, "clients": o.clients, "base_eleves": o.poussee_base or 10_000,
                            "http_par_s": n / d_http, "http_inchange_par_s": n / d_inchange,
                            "copy_par_s": n / d_copy, "ratio": (n / d_http) / (n / d_copy)}
    print(f"  poussée : {json.dumps(resultats['poussee'])}", flush=True)


def main():
    machine = {"coeurs": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M"),
               "charge": open("/proc/loadavg").read().split()[:3],
               "postgresql": psql("postgres", "SHOW server_version")}
    print(f"machine : {machine}", flush=True)
    res = {"machine": machine, "flux": {}, "seed_s": {}}
    for i, n in enumerate(SIZES):
        base, seed = base_nationale(n)
        if seed is not None:
            res["seed_s"][n] = seed
            print(f"seed {n} : {seed:.0f} s", flush=True)
        derniere = i == len(SIZES) - 1
        g = passerelle(base)
        try:
            if "flux" in ETAPES:
                grande = psql(base, "SELECT code_commune FROM ecoles GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
                res["flux"][n] = flux(base, g, grande)
                print(f"  flux {n} : {json.dumps(res['flux'][n])}", flush=True)
            if derniere and "tirage" in ETAPES:
                res["tirage"] = {}
                chemin, tok = tirer(base, g, res["tirage"])
            elif derniere and "memoire" in ETAPES:
                chemin, tok = grande_ville(base, g)
            if derniere and "concurrence" in ETAPES:
                res["concurrence"] = {}
                concurrence(base, g, res["concurrence"])
        finally:
            g.arreter()
        if derniere and "memoire" in ETAPES:
            res["memoire"] = memoire(base, chemin, tok)
            print(f"  mémoire : {json.dumps(res['memoire'])}", flush=True)
            if TEMOIN:
                res["memoire_temoin"] = memoire(base, chemin, tok, TEMOIN)
                print(f"  mémoire (témoin {TEMOIN}) : {json.dumps(res['memoire_temoin'])}", flush=True)
    if "poussee" in ETAPES:
        pousser(res)
    json.dump(res, open(W + "/harnais.json", "w"), indent=2)
    resume(res)


def resume(r):
    print("\n| mesure | passerelle | base seule | ratio |")
    print("|---|---:|---:|---:|")
    for nom, t in r.get("tirage", {}).items():
        pg, pe = t["pgbench_prepared"], t["pgbench_extended"]
        print(f"| tirage {nom} ({t['inscriptions_annee']} inscr.) req/s | {t['passerelle']['rps']:.0f} | "
              f"{pe['rps']:.0f} (extended) / {pg['rps']:.0f} (prepared) | {t['ratio_extended']:.2f} / {t['ratio_prepared']:.2f} |")
        print(f"| tirage {nom} p50 / p99 ms | {t['passerelle']['p50_ms']:.1f} / {t['passerelle']['p99_ms']:.1f} | "
              f"{pe['p50_ms']:.1f} / {pe['p99_ms']:.1f} (extended) | |")
        print(f"| tirage {nom} octets par réponse | {t['passerelle']['octets_par_reponse']:.0f} | | |")
        for codage in t.get("accept_encoding", []):
            c = t[f"passerelle_{codage}"]
            print(f"| tirage {nom}, Accept-Encoding: {codage}, req/s | {c['rps']:.0f} | | "
                  f"{t[f'ratio_{codage}_extended']:.2f} / {t[f'ratio_{codage}_prepared']:.2f} |")
            print(f"| tirage {nom}, Accept-Encoding: {codage}, p50 / p99 ms, octets par réponse | "
                  f"{c['p50_ms']:.1f} / {c['p99_ms']:.1f}, {c['octets_par_reponse']:.0f} | | |")
    if "poussee" in r:
        p = r["poussee"]
        print(f"| poussée enregistrements/s (base de {p['base_eleves']:,} élèves) | {p['http_par_s']:.0f} | {p['copy_par_s']:.0f} (COPY) | {p['ratio']:.2f} |")
        print(f"| poussée à nouveau, inchangés, enregistrements/s | {p['http_inchange_par_s']:.0f} | | |")
    for n, f in r["flux"].items():
        print(f"| flux {n:,} élèves, page de {f['evenements_page']} p50 / p99 ms | {f['p50_ms']:.1f} / {f['p99_ms']:.1f} | | |")
    for n, c in r.get("concurrence", {}).items():
        gw, pe = c["passerelle"], c["pgbench_extended"]
        print(f"| tirage grande ville, {n} connexions : req/s, p50 / p99 ms | {gw['rps']:.0f}, {gw['p50_ms']:.1f} / "
              f"{gw['p99_ms']:.1f} | {pe['rps']:.0f}, {pe['p50_ms']:.1f} / {pe['p99_ms']:.1f} | {gw['rps'] / pe['rps']:.2f} |")
    for cle in ("memoire", "memoire_temoin"):
        if cle in r:
            m = r[cle]
            print(f"| RSS Mio repos / pic 200 connexions / repos après ({m['binaire']}) | {m['repos_mib']:.0f} / "
                  f"{m['pic_200_connexions_mib']:.0f} / {m['repos_apres_mib']:.0f} | | |")


main()
