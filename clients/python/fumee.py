"""Smoke test of the generated Python client against a running demo.

usage: python fumee.py URL CREDENTIALS_FILE
Gets a token for the demo private school, lists its inscriptions two pages at a time, pushes a
batch with a new pupil (POST /v1/lots/eleves, Idempotency-Key, replayed), and reads the change
feed from before the push: the new pupil is in it.
"""

import json
import random
import sys
import uuid

from onde_echanges_client import AuthenticatedClient, Client
from onde_echanges_client.api.authentification import obtenir_jeton
from onde_echanges_client.api.changements import lire_changements
from onde_echanges_client.api.eleves import pousser_lot_eleves
from onde_echanges_client.api.inscriptions import lister_inscriptions
from onde_echanges_client.models import DemandeJeton, DemandeLot, PageChangements, PageInscriptions, ReponseLot

ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ"


def ine_nouveau() -> str:
    """A valid INE-BEA: 10 digits and the letter of their remainder modulo 23."""
    chiffres = f"{random.randrange(10**9, 10**10):010d}"
    return chiffres + ALPHABET[int(chiffres) % 23]


def main() -> None:
    url, fichier = sys.argv[1], sys.argv[2]
    ecole = next(p for p in json.load(open(fichier, encoding="utf-8")) if p["kind"] == "ecole_privee")
    uai = ecole["perimetre"]["uais"][0]

    # 1. Token (OAuth 2.0 client credentials, form body).
    jeton = obtenir_jeton.sync(
        client=Client(base_url=url),
        body=DemandeJeton(
            grant_type="client_credentials", client_id=ecole["client_id"], client_secret=ecole["client_secret"]
        ),
    )
    assert jeton is not None and jeton.token_type == "Bearer", jeton
    client = AuthenticatedClient(base_url=url, token=jeton.access_token)

    # 2. Inscriptions, two pages of 2 with the cursor.
    page1 = lister_inscriptions.sync(client=client, limit=2, uai=uai)
    assert isinstance(page1, PageInscriptions), page1
    assert len(page1.elements) == 2 and isinstance(page1.curseur_suivant, str)
    page2 = lister_inscriptions.sync(client=client, limit=2, uai=uai, curseur=page1.curseur_suivant)
    assert isinstance(page2, PageInscriptions)
    ids = {i.id for i in page1.elements} | {i.id for i in page2.elements}
    assert len(ids) == 4, "deux pages distinctes"
    print(f"inscriptions : 2 pages de 2 ({page1.elements[0].eleve.nom} …)")

    # 3. The feed's present cursor, before writing.
    debut = lire_changements.sync(client=client)
    assert isinstance(debut, PageChangements)

    # 4. A batch with a new pupil, sent twice with the same Idempotency-Key.
    ine = ine_nouveau()
    nom = "Client-Python-" + "".join(random.choice("abcdefghjkmnpqrstuvwxyz") for _ in range(8))
    lot = DemandeLot.from_dict(
        {
            "mode": "tout_ou_rien",
            "elements": [
                {
                    "eleve": {
                        "ine": ine,
                        "nom": nom,
                        "prenoms": ["Léa", "Rose"],
                        "sexe": "F",
                        "date_naissance": "2020-04-02",
                        "lieu_naissance": "75056",
                        "responsables": [
                            {"nom": nom, "prenom": "Sophie", "lien": "mere", "autorite_parentale": True,
                             "telephone": "06 12 34 56 78"}
                        ],
                    },
                    "inscriptions": [{"uai": uai, "annee_scolaire": "2026-2027", "niveau": "CP", "statut": "admis"}],
                }
            ],
        }
    )
    cle = str(uuid.uuid4())
    reponse = pousser_lot_eleves.sync(client=client, body=lot, idempotency_key=cle)
    assert isinstance(reponse, ReponseLot), reponse
    assert reponse.resume.crees == 1, reponse.to_dict()
    rejeu = pousser_lot_eleves.sync(client=client, body=lot, idempotency_key=cle)
    assert isinstance(rejeu, ReponseLot) and rejeu.to_dict() == reponse.to_dict(), "même réponse au rejeu"
    print(f"lot : élève {ine} créé ({reponse.resultats[0].resultat.value}), rejeu identique")

    # 5. The feed since the cursor taken before: the pupil and the inscription are in it.
    suite = lire_changements.sync(client=client, depuis=debut.curseur_suivant, limit=1000)
    assert isinstance(suite, PageChangements)
    eleve_id = str(reponse.resultats[0].eleve_id)
    assert any(e.ressource == "eleve" and e.id == eleve_id for e in suite.elements), suite.to_dict()
    print(f"flux : {len(suite.elements)} événement(s) depuis le curseur, dont la création de l'élève")
    print("client Python : 1 passed, 0 failed")


if __name__ == "__main__":
    main()
