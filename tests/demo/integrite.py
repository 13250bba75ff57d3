#!/usr/bin/env python3
"""Issue 16's acceptance against a running demo (`serve --demo`), as a partner would try it:

1. the two-call exploit: mairie B sends a made-up identity carrying the INE of one of mairie A's
   pupils (no `candidat`, nothing of that pupil in the answer), then enrols that pupil by its
   internal id at every niveau of the next school year (as if the id had leaked: no 201, the same
   answer as for an id that does not exist), then reads it (404);
2. a pupil named `=1+1` pushed by the private school comes out of its CSV export as the text
   `'=1+1` (OWASP rule), never as a formula.

Usage: python3 tests/demo/integrite.py URL data/demo-credentials.json   (standard library only)."""
import base64, csv, io, json, random, sys, urllib.error, urllib.request, uuid

URL, IDENTIFIANTS = sys.argv[1], sys.argv[2]
cred = json.load(open(IDENTIFIANTS, encoding="utf-8"))
echecs = []


def jeton(c):
    r = urllib.request.Request(URL + "/oauth/token", data=b"grant_type=client_credentials", headers={
        "Authorization": "Basic " + base64.b64encode(f"{c['client_id']}:{c['client_secret']}".encode()).decode(),
        "Content-Type": "application/x-www-form-urlencoded"})
    return json.load(urllib.request.urlopen(r))["access_token"]


def appel(j, methode, chemin, corps=None, accept="application/json"):
    r = urllib.request.Request(URL + chemin, method=methode,
                               data=json.dumps(corps).encode() if corps is not None else None,
                               headers={"Authorization": "Bearer " + j, "Content-Type": "application/json",
                                        "Accept": accept})
    try:
        with urllib.request.urlopen(r) as rep:
            return rep.status, rep.read().decode("utf-8-sig")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def attendre(condition, message):
    if not condition:
        echecs.append(message)
        print("   ÉCHEC :", message)


mairies = [c for c in cred if c["kind"] == "mairie"]
ja, jb = jeton(mairies[0]), jeton(mairies[1])
_, t = appel(ja, "GET", "/v1/eleves?limit=100")
eleve = next(e for e in json.loads(t)["elements"] if e.get("ine"))
_, t = appel(jb, "GET", "/v1/ecoles?limit=100")
ecole_b = next(e for e in json.loads(t)["elements"]
               if e["commune"] in mairies[1]["perimetre"]["communes"] and e["secteur"] == "public"
               and e["type"] != "maternelle")["uai"]
secrets = [eleve["id"], eleve["nom"], eleve["date_naissance"], eleve["date_naissance"][:4]]

# 1. The made-up identity with A's pupil's INE.
st, t = appel(jb, "POST", "/v1/inscriptions", {
    "eleve": {"ine": eleve["ine"], "nom": "Inventé", "prenoms": ["Paul"], "sexe": "M", "date_naissance": "2019-05-05",
              "lieu_naissance": "75056"},
    "uai": ecole_b, "annee_scolaire": "2027-2028", "niveau": "CE1"})
print(f"   appel 1 : {st} {json.loads(t).get('code')}")
attendre(st >= 400 and "candidat" not in t and not any(s in t for s in secrets),
         f"appel 1 : {st} {t[:300]}")
# 2. Enrolment by internal id, as if it had leaked: every answer as for an unknown id.
avant = len(echecs)
for niveau in ["TPS", "PS", "MS", "GS", "CP", "CE1", "CE2", "CM1", "CM2"]:
    demande = {"uai": ecole_b, "annee_scolaire": "2027-2028", "niveau": niveau}
    st, t = appel(jb, "POST", "/v1/inscriptions", {"eleve_id": eleve["id"], **demande})
    inconnu = str(uuid.uuid4())
    st2, t2 = appel(jb, "POST", "/v1/inscriptions", {"eleve_id": inconnu, **demande})
    sans_instance = lambda s, i: {k: v for k, v in json.loads(s.replace(i, "ID")).items() if k != "instance"}
    attendre(st != 201 and st == st2 and sans_instance(t, eleve["id"]) == sans_instance(t2, inconnu),
             f"appel 2 ({niveau}) : {st} {t[:200]} / id inexistant : {st2} {t2[:200]}")
if len(echecs) == avant:
    print("   appel 2 : aucune inscription, réponses identiques à celles d'un identifiant inexistant")
st, t = appel(jb, "GET", f"/v1/eleves/{eleve['ine']}")
attendre(st == 404, f"lecture par la mairie B : {st}")

# 3. A formula-like name through the private school's batch and CSV export.
ecole = next(c for c in cred if c["kind"] == "ecole_privee")
je = jeton(ecole)
uai = ecole["perimetre"]["uais"][0]
corps = f"{random.randint(10, 99)}{random.randint(0, 99):02d}{random.randint(0, 999999):06d}"
ine = corps + "ABCDEFGHJKLMNPRSTUVWXYZ"[int(corps) % 23]
st, t = appel(je, "POST", "/v1/lots/eleves", {"mode": "partiel", "elements": [{
    "eleve": {"ine": ine, "nom": "=1+1", "prenoms": ["+33 1"], "sexe": "F", "date_naissance": "2020-03-03",
              "lieu_naissance": "75056"},
    "inscriptions": [{"uai": uai, "annee_scolaire": "2026-2027", "niveau": "CP"}]}]})
attendre(st == 200 and json.loads(t)["resultats"][0]["resultat"] == "cree", f"lot : {st} {t[:300]}")
st, t = appel(je, "GET", f"/v1/eleves?format=csv&uai={uai}", accept="text/csv")
lignes = [l for l in csv.reader(io.StringIO(t), delimiter=";") if any("1+1" in c for c in l)]
attendre(st == 200 and lignes and "'=1+1" in lignes[0] and "'+33 1" in lignes[0] and "=1+1" not in lignes[0],
         f"export CSV : {st} {lignes[:1]}")
print(f"   export CSV : {lignes[0][:6] if lignes else '?'}")

if echecs:
    sys.exit(f"{len(echecs)} échec(s)")
print("   intégrité : 0 échec")
