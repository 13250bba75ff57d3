#!/usr/bin/env python3
"""Overhead of the limits shared through Redis (docs/BENCHMARKS.md, "Issue 19, item 2"): the
latency of a cheap authenticated read (`GET /v1/ecoles?limit=1`) on a gateway with its own
limits (governor, in process) and on the same build with `[limites.redis]` (one EVALSHA per
request on the machine's Redis), side by side: both gateways run at once on one base and wrk
loads them in turn (local, Redis, local, Redis...) at each concurrency, ROUNDS times; each
figure is the median of the rounds. Loopback only, bounded in time.

The limits are set far above the load (no 429: it is the cost of charging them that is
measured, not their effect); after the run the Redis gateway must show
`onde_limites_repli_total 0` (every request went through Redis) and its keys are deleted.

Usage: python3 docs/bench/limites_redis.py   (env: ONDE_BIN (target/release/onde-echanges),
ROUNDS=5, DUREE=5 seconds per load, CONNEXIONS="1,16", REDIS=redis://127.0.0.1:6379, DELAI_MS=1000
for limites.redis.delai_ms, BENCH_DIR).
Needs psql, redis-cli, wrk (apt-get install wrk) and a build of the gateway."""
import json, os, re, statistics, subprocess, sys, urllib.request, uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import commun  # noqa: E402

B = os.environ.get("ONDE_BIN", "target/release/onde-echanges")
ROUNDS = int(os.environ.get("ROUNDS", "5"))
DUREE = int(os.environ.get("DUREE", "5"))
CONNEXIONS = [int(c) for c in os.environ.get("CONNEXIONS", "1,16").split(",")]
REDIS = os.environ.get("REDIS", "redis://127.0.0.1:6379")
W = os.environ.get("BENCH_DIR", "/tmp/onde-bench") + "/limites_redis"
os.makedirs(W, exist_ok=True)
PORTS = {"local": 18098, "redis": 18099}
BASE = "onde_limites_redis"
URL = f"postgres://postgres@127.0.0.1:5432/{BASE}"
PREFIXE = f"onde-bench:{uuid.uuid4().hex}"
env = dict(os.environ, RUST_LOG="warn", DATABASE_URL=URL, MALLOC_ARENA_MAX="2", ONDE_WORKERS="2",
           ONDE__LIMITES__PAR_SECONDE="1000000", ONDE__LIMITES__RAFALE="1000000",
           ONDE__LIMITES__SIMULTANEES="10000")
# The Redis delay raised from 50 ms to DELAI_MS (1000): on a shared 2-core machine a request's
# EVALSHA can wait for a core longer than 50 ms, and the node then serves it (and the next ones,
# for reessai_ms) on its own limits, which would be measured instead of Redis.
env_redis = dict(env, ONDE__LIMITES__REDIS__URL=REDIS, ONDE__LIMITES__REDIS__PREFIXE=PREFIXE,
                 ONDE__LIMITES__REDIS__DELAI_MS=os.environ.get("DELAI_MS", "1000"))


def psql(*sql, base="postgres"):
    args = ["psql", "-tAqU", "postgres", "-h", "127.0.0.1", "-d", base]
    for s in sql:
        args += ["-c", s]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


def ms(valeur, unite):
    return float(valeur) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unite]


def charger(port, tok, connexions):
    """wrk on the read: requests/s, p50 and p99 (ms); any non-2xx answer fails the run."""
    sortie = subprocess.run(
        ["wrk", f"-t{min(2, connexions)}", f"-c{connexions}", f"-d{DUREE}s", "--latency",
         "-H", f"Authorization: Bearer {tok}", f"http://127.0.0.1:{port}/v1/ecoles?limit=1"],
        check=True, capture_output=True, text=True).stdout
    if "Non-2xx" in sortie or "Socket errors" in sortie:
        raise SystemExit(f"réponses en erreur :\n{sortie}")
    q = {p: ms(v, u) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", sortie, re.M)}
    if len(q) != 2:
        raise SystemExit(f"sortie de wrk illisible :\n{sortie}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", sortie).group(1))
    return {"rps": rps, "p50": q["50"], "p99": q["99"]}


def replis(port):
    texte = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    return int(float(re.search(r"^onde_limites_repli_total (\S+)$", texte, re.M).group(1)))


def main():
    psql(f"DROP DATABASE IF EXISTS {BASE} WITH (FORCE)", f"CREATE DATABASE {BASE}")
    subprocess.run([B, "migrate"], check=True, env=env, capture_output=True)
    subprocess.run([B, "seed", "--eleves", "2000", "--seed", "42", "--rentree", "2026"], check=True, env=env,
                   capture_output=True)
    communes = psql("SELECT DISTINCT code_commune FROM ecoles ORDER BY 1", base=BASE).split()
    ident = commun.editeur_de(B, env, communes)
    g = {"local": commun.Passerelle(B, PORTS["local"], env, f"{W}/local.log"),
         "redis": commun.Passerelle(B, PORTS["redis"], env_redis, f"{W}/redis.log")}
    mesures = {(m, c): [] for m in g for c in CONNEXIONS}
    try:
        for r in range(ROUNDS):
            tok = g["local"].jeton(ident)  # either node's token works on both (one base)
            for c in CONNEXIONS:
                for mode in ("local", "redis"):
                    x = charger(PORTS[mode], tok, c)
                    mesures[(mode, c)].append(x)
                    print(f"round {r + 1} c{c} {mode}: {x['rps']:.0f} req/s, p50 {x['p50']:.3f} ms, "
                          f"p99 {x['p99']:.3f} ms", flush=True)
        repli = replis(PORTS["redis"])
    finally:
        for x in g.values():
            x.arreter()
        cles = subprocess.run(["redis-cli", "-u", REDIS, "--scan", "--pattern", f"{PREFIXE}:*"],
                              capture_output=True, text=True).stdout.split()
        if cles:
            subprocess.run(["redis-cli", "-u", REDIS, "del", *cles], capture_output=True)
    if repli:
        raise SystemExit(f"{repli} requêtes limitées sans Redis : la mesure ne vaut rien")
    med = lambda xs: round(statistics.median(xs), 3)
    resultat = {}
    for c in CONNEXIONS:
        loc, red = mesures[("local", c)], mesures[("redis", c)]
        resultat[f"c{c}"] = {
            "local": {k: med([x[k] for x in loc]) for k in ("rps", "p50", "p99")},
            "redis": {k: med([x[k] for x in red]) for k in ("rps", "p50", "p99")},
            # Ratios of each round (local and Redis measured back to back), then their median.
            "ratio_p50": med([b["p50"] / a["p50"] for a, b in zip(loc, red)]),
            "ratio_p99": med([b["p99"] / a["p99"] for a, b in zip(loc, red)]),
            "ratio_rps": med([b["rps"] / a["rps"] for a, b in zip(loc, red)]),
        }
    print(json.dumps(resultat, indent=1))


if __name__ == "__main__":
    main()
