#!/usr/bin/env python3
"""Reads the demo credentials, gets a token for each demo partner kind from /oauth/token and
finds real identifiers of the private school's perimeter; prints them as shell assignments.

usage: demo.py URL CREDENTIALS_FILE   (standard library only)
"""

import base64
import json
import sys
import urllib.parse
import urllib.request


def jeton(url, partenaire):
    paire = f"{partenaire['client_id']}:{partenaire['client_secret']}".encode()
    req = urllib.request.Request(
        url + "/oauth/token",
        data=b"grant_type=client_credentials",
        headers={
            "Authorization": "Basic " + base64.b64encode(paire).decode(),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)["access_token"]


def lire(url, chemin, jeton_):
    req = urllib.request.Request(url + chemin, headers={"Authorization": "Bearer " + jeton_})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def main():
    url, fichier = sys.argv[1], sys.argv[2]
    partenaires = json.load(open(fichier, encoding="utf-8"))
    par_type = {}
    for p in partenaires:
        par_type.setdefault(p["kind"], p)
    valeurs = {}
    for kind, nom in [("ecole_privee", "ECOLE"), ("mairie", "MAIRIE"), ("editeur", "EDITEUR"), ("admin", "ADMIN")]:
        p = par_type[kind]
        valeurs[f"JETON_{nom}"] = jeton(url, p)
        valeurs[f"ID_{nom}"] = p["client_id"]
        valeurs[f"SECRET_{nom}"] = p["client_secret"]
    # An active inscription of the private school, its school and its pupil.
    page = lire(url, "/v1/inscriptions?statut=admis_definitif&limit=1", valeurs["JETON_ECOLE"])
    i = page["elements"][0]
    valeurs["INSCRIPTION_ECOLE"] = i["id"]
    valeurs["UAI_ECOLE"] = i["uai"]
    valeurs["INE_ECOLE"] = i["eleve"]["ine"]
    valeurs["ANNEE_ECOLE"] = i["annee_scolaire"]
    # A partner of its own for the admin operations that change or revoke one (schemathesis).
    req = urllib.request.Request(
        url + "/v1/admin/partenaires",
        data=json.dumps({"nom": "Partenaire d'essai du contrat", "type": "mairie", "scopes": ["ecoles:read"],
                         "communes": [par_type["mairie"]["perimetre"]["communes"][0]]}).encode(),
        headers={"Authorization": "Bearer " + valeurs["JETON_ADMIN"], "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        valeurs["PARTENAIRE_ESSAI"] = json.load(r)["partenaire"]["id"]
    for cle, valeur in valeurs.items():
        print(f"{cle}='{valeur}'")


if __name__ == "__main__":
    main()
