"""What the bench scripts share (docs/bench/*.py): the gateway as a child process, a partner's
token, an editor mandated by every commune, batches of `POST /v1/lots/eleves` pushed by parallel
clients. Standard library only; imported as `commun` (the scripts' own folder is on sys.path)."""
import base64, json, os, re, signal, subprocess, threading, time, urllib.request


def avec_cle_chiffrement(env, dossier):
    """`env` with a key-encryption key for the signing keys (jetons.cle_chiffrement_fichier,
    required by `serve`) unless it has one: a bench key kept in `dossier`, so that a base kept
    from an earlier run still opens."""
    if "ONDE__JETONS__CLE_CHIFFREMENT_FICHIER" in env:
        return env
    chemin = os.path.join(dossier, "cle-chiffrement")
    if not os.path.exists(chemin):
        with open(chemin, "w") as f:
            f.write(base64.b64encode(os.urandom(32)).decode())
    return {**env, "ONDE__JETONS__CLE_CHIFFREMENT_FICHIER": chemin}


class Passerelle:
    """`BINAIRE serve` on 127.0.0.1:PORT, ready once /health/ready answers; `arreter` drains it."""

    def __init__(self, binaire, port, env, journal):
        self.port = port
        env = avec_cle_chiffrement(env, os.path.dirname(os.path.abspath(journal)))
        self.p = subprocess.Popen([binaire, "serve", "--bind", f"127.0.0.1:{port}"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=open(journal, "a"))
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2)
                return
            except Exception:
                if self.p.poll() is not None:
                    raise SystemExit(f"la passerelle s'est arrêtée (voir {journal})")
                time.sleep(0.1)
        raise SystemExit("la passerelle ne démarre pas")

    def memoire(self):
        """(VmRSS, VmHWM) in MiB."""
        etat = open(f"/proc/{self.p.pid}/status").read()
        val = lambda k: int(re.search(rf"{k}:\s+(\d+) kB", etat).group(1)) / 1024
        return val("VmRSS"), val("VmHWM")

    def remettre_pic(self):
        # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
        with open(f"/proc/{self.p.pid}/clear_refs", "w") as f:
            f.write("5")

    def arreter(self):
        self.p.send_signal(signal.SIGINT)
        self.p.wait(60)

    def jeton(self, identifiants):
        """An access token (client credentials) for a partner's `identifiants` (client_id, client_secret)."""
        cid, sec = identifiants["client_id"], identifiants["client_secret"]
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/oauth/token", data=b"grant_type=client_credentials",
            headers={"Authorization": "Basic " + base64.b64encode(f"{cid}:{sec}".encode()).decode(),
                     "Content-Type": "application/x-www-form-urlencoded"})
        return json.load(urllib.request.urlopen(req))["access_token"]


def partenaire(binaire, env, *args):
    """`partenaire creer --json ARGS`: the partner's id and credentials."""
    p = json.loads(subprocess.run([binaire, "partenaire", "creer", "--json", *args], check=True, capture_output=True,
                                  text=True, env=env).stdout)
    return {"id": p["partenaire"]["id"], **p["identifiants"]}


def editeur_de(binaire, env, communes):
    """An editor mandated by every one of `communes` (INSEE codes or UAIs): a restricted
    perimeter covering all their schools, so the perimeter checks run. To push (eleves:write)
    pass UAIs: since issue 16 a commune's mandate cannot lend eleves:write, and an editor
    mandated by communes only sees every school as `ecole_inconnue`."""
    args = ["--nom", "Éditeur de mesure", "--type", "editeur"]
    for c in communes:
        args += ["--mandat", c]
    return partenaire(binaire, env, *args)


def lots(lignes, taille=1000):
    """NDJSON records as `POST /v1/lots/eleves` bodies (mode partiel) of `taille` items."""
    return [("{\"mode\":\"partiel\",\"elements\":[" + ",".join(lignes[i:i + taille]) + "]}").encode()
            for i in range(0, len(lignes), taille)]


def pousser(port, tok, corps, clients):
    """Sends every batch, `clients` in parallel; returns (seconds, summed `resume`, rejection
    codes counted). A failed request fails the run."""
    suivant, verrou, erreurs, codes = [0], threading.Lock(), [], {}
    total = {"crees": 0, "modifies": 0, "inchanges": 0, "rejetes": 0}

    def client():
        while True:
            with verrou:
                i = suivant[0]
                suivant[0] += 1
            if i >= len(corps):
                return
            req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/lots/eleves", data=corps[i], method="POST",
                                         headers={"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
            try:
                rep = json.load(urllib.request.urlopen(req, timeout=600))
            except Exception as e:
                erreurs.append(repr(e))
                return
            with verrou:
                for k in total:
                    total[k] += rep["resume"][k]
                for x in rep["resultats"]:
                    if x["resultat"] == "rejete":
                        p = x["probleme"]
                        code = (p.get("erreurs") or [{}])[0].get("code") or p["code"]
                        codes[code] = codes.get(code, 0) + 1

    debut = time.perf_counter()
    fils = [threading.Thread(target=client) for _ in range(clients)]
    for f in fils:
        f.start()
    for f in fils:
        f.join()
    duree = time.perf_counter() - debut
    if erreurs:
        raise SystemExit(f"échecs : {erreurs[:3]}")
    return duree, total, codes
