// Smoke test of the generated TypeScript client (openapi-typescript types + openapi-fetch)
// against a running demo. usage: node fumee.mjs URL CREDENTIALS_FILE
// Same scenario as the Python one: token, two pages of inscriptions, a batch with a new pupil
// (Idempotency-Key, replayed), the change feed.
import { readFileSync } from "node:fs";
import { randomInt, randomUUID } from "node:crypto";
import createClient from "openapi-fetch";
import type { components, paths } from "./onde.js";

type Lot = components["schemas"]["DemandeLot"];

const [url, fichier] = process.argv.slice(2);
const partenaires = JSON.parse(readFileSync(fichier, "utf-8")) as Array<{
  kind: string;
  client_id: string;
  client_secret: string;
  perimetre: { uais: string[] };
}>;
const ecole = partenaires.find((p) => p.kind === "ecole_privee")!;
const uai = ecole.perimetre.uais[0];

function verifier(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

const ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ";
function ineNouveau(): string {
  const chiffres = String(randomInt(1_000_000_000, 9_999_999_999)).padStart(10, "0");
  return chiffres + ALPHABET[Number(BigInt(chiffres) % 23n)];
}

// JSON answers only (the lists also offer text/csv).
const client = createClient<paths, "application/json">({ baseUrl: url });

// 1. Token: the form body of OAuth 2.0.
const { data: jeton, error: refus } = await client.POST("/oauth/token", {
  body: { grant_type: "client_credentials", client_id: ecole.client_id, client_secret: ecole.client_secret },
  bodySerializer: (corps) => new URLSearchParams(corps as Record<string, string>).toString(),
  headers: { "Content-Type": "application/x-www-form-urlencoded" },
});
verifier(jeton && jeton.token_type === "Bearer", `jeton refusé : ${JSON.stringify(refus)}`);
client.use({
  onRequest({ request }) {
    request.headers.set("Authorization", `Bearer ${jeton.access_token}`);
    return request;
  },
});

// 2. Inscriptions, two pages of 2.
const page1 = await client.GET("/v1/inscriptions", { params: { query: { limit: 2, uai } } });
verifier(page1.data && page1.data.elements.length === 2 && page1.data.curseur_suivant, "page 1");
const page2 = await client.GET("/v1/inscriptions", {
  params: { query: { limit: 2, uai, curseur: page1.data.curseur_suivant } },
});
verifier(page2.data, "page 2");
const ids = new Set([...page1.data.elements, ...page2.data.elements].map((i) => i.id));
verifier(ids.size === 4, "deux pages distinctes");
console.log(`inscriptions : 2 pages de 2 (${page1.data.elements[0].eleve.nom} …)`);

// 3. The feed's present cursor.
const debut = await client.GET("/v1/changements", {});
verifier(debut.data, "curseur du flux");

// 4. A batch with a new pupil, twice with the same Idempotency-Key.
const ine = ineNouveau();
const nom = "Client-TS-" + Array.from({ length: 8 }, () => "abcdefghjkmnpqrstuvwxyz"[randomInt(23)]).join("");
const lot: Lot = {
  mode: "tout_ou_rien",
  elements: [
    {
      eleve: {
        ine,
        nom,
        prenoms: ["Noé"],
        sexe: "M",
        date_naissance: "2020-05-17",
        lieu_naissance: "69123",
        adresse: { voie: "8 place de la Mairie", code_postal: "69001", commune: "69123" },
      },
      inscriptions: [{ uai, annee_scolaire: "2026-2027", niveau: "CP", statut: "inscrit" }],
    },
  ],
};
const cle = randomUUID();
const envoi = await client.POST("/v1/lots/eleves", { body: lot, params: { header: { "Idempotency-Key": cle } } });
verifier(envoi.data && envoi.data.resume.crees === 1, `lot : ${JSON.stringify(envoi.error ?? envoi.data)}`);
const rejeu = await client.POST("/v1/lots/eleves", { body: lot, params: { header: { "Idempotency-Key": cle } } });
verifier(JSON.stringify(rejeu.data) === JSON.stringify(envoi.data), "même réponse au rejeu");
console.log(`lot : élève ${ine} créé (${envoi.data.resultats[0].resultat}), rejeu identique`);

// 5. The feed since the cursor: the new pupil is in it.
const suite = await client.GET("/v1/changements", {
  params: { query: { depuis: debut.data.curseur_suivant, limit: 1000 } },
});
verifier(suite.data, "flux");
const eleveId = envoi.data.resultats[0].eleve_id;
verifier(
  suite.data.elements.some((e) => e.ressource === "eleve" && e.id === eleveId),
  "l'élève créé est dans le flux",
);
console.log(`flux : ${suite.data.elements.length} événement(s) depuis le curseur, dont la création de l'élève`);
console.log("client TypeScript : 1 passed, 0 failed");
