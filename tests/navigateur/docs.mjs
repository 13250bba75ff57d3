// Browser test of /docs (Swagger UI, vendored, behind a French page): headless Debian Chromium
// driven by playwright-core (no browser download). Checks that the page is in French with a
// title, that every operation of the OpenAPI document renders with its id and summary, that the
// page is usable with the keyboard (skip link, an operation opened with Enter), that nothing
// is fetched from outside the server, and runs axe-core (WCAG 2.1 A/AA) on the rendered page.
// Screenshot: target/captures/docs.png (a CI artifact).
//
// usage: node tests/navigateur/docs.mjs URL   (NODE_PATH: the tools of .ci/outils.sh)
import { createRequire } from "node:module";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH ?? ".", "_"));
const { chromium } = require("playwright-core");
const axePath = require.resolve("axe-core/axe.min.js");

const url = (process.argv[2] ?? "http://127.0.0.1:8080").replace(/\/$/, "");
const captures = path.resolve("target/captures");
mkdirSync(captures, { recursive: true });
const profil = mkdtempSync(path.join(tmpdir(), "onde-chromium-"));
const echecs = [];
const verifier = (condition, message) => {
  if (!condition) echecs.push(message);
};

// axe rules whose violations fail the test: what the French page fixes or must keep.
const REGLES_BLOQUANTES = new Set([
  "html-has-lang", "html-lang-valid", "document-title", "bypass", "color-contrast", "landmark-one-main",
  "page-has-heading-one", "label", "button-name", "link-name", "image-alt", "duplicate-id-aria",
]);

// A fresh profile (user data dir) for each run.
const navigateur = await chromium.launchPersistentContext(profil, {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
  viewport: { width: 1280, height: 1600 },
  locale: "fr-FR",
});
try {
  const page = navigateur.pages()[0] ?? (await navigateur.newPage());
  const externes = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(url) && !r.url().startsWith("data:")) externes.push(r.url());
  });
  const erreursJs = [];
  page.on("pageerror", (e) => erreursJs.push(String(e)));

  await page.goto(`${url}/docs/`, { waitUntil: "load" });
  await page.waitForSelector("html[data-docs-pretes='oui']", { timeout: 60_000 });
  await page.waitForSelector(".opblock", { timeout: 60_000 });

  await page.screenshot({ path: path.join(captures, "docs.png"), fullPage: false });
  verifier((await page.getAttribute("html", "lang")) === "fr", 'lang="fr" attendu');
  const titre = await page.title();
  verifier(titre.includes("ONDE"), `titre de page : « ${titre} »`);
  verifier((await page.locator("h1").count()) === 1, "un seul h1");

  // Every operation of the document is rendered, with its operation id and its summary.
  const spec = await (await fetch(`${url}/openapi.json`)).json();
  const operations = Object.values(spec.paths).flatMap((item) => Object.values(item));
  const texte = await page.locator("#swagger-ui").innerText();
  for (const op of operations) {
    verifier(texte.includes(op.operationId), `opération absente : ${op.operationId}`);
    verifier(texte.includes(op.summary), `résumé absent : ${op.summary}`);
  }
  const rendues = await page.locator(".opblock").count();
  verifier(rendues === operations.length, `${rendues} opérations affichées, ${operations.length} dans le document`);

  // Keyboard: the first Tab reaches the skip link, which moves to the main content; an operation
  // opens with Enter on its (focusable) summary button.
  await page.keyboard.press("Tab");
  const premier = await page.evaluate(() => document.activeElement?.textContent?.trim());
  verifier(premier === "Aller à la documentation des opérations", `premier arrêt clavier : « ${premier} »`);
  await page.keyboard.press("Enter");
  verifier(
    await page.evaluate(() => document.activeElement?.id === "contenu"),
    "le lien d'évitement mène au contenu",
  );
  const bouton = page.locator("#operations-inscriptions-lister_inscriptions .opblock-summary-control");
  await bouton.focus();
  await page.keyboard.press("Enter");
  await page.waitForSelector("#operations-inscriptions-lister_inscriptions .opblock-body", { timeout: 10_000 });
  verifier(
    await page.locator("#operations-inscriptions-lister_inscriptions .parameters").isVisible(),
    "les paramètres de lister_inscriptions s'affichent au clavier",
  );

  await page.screenshot({ path: path.join(captures, "docs-operation.png"), fullPage: false });

  // axe-core on the page with one operation open.
  await page.addScriptTag({ content: readFileSync(axePath, "utf-8") });
  const resultats = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }),
  );
  const rapport = resultats.violations.map((v) => ({
    regle: v.id,
    impact: v.impact,
    noeuds: v.nodes.length,
    exemple: v.nodes[0]?.target?.join(" "),
    aide: v.help,
    noeuds_detail: v.nodes.slice(0, 20).map((n) => {
      const d = n.any?.[0]?.data;
      return n.target.join(" ") + (d?.contrastRatio ? ` (${d.fgColor} sur ${d.bgColor} : ${d.contrastRatio})` : "");
    }),
  }));
  writeFileSync(path.join(captures, "docs-axe.json"), JSON.stringify(rapport, null, 2));
  for (const v of rapport) {
    const bloquante = REGLES_BLOQUANTES.has(v.regle);
    console.log(`   axe ${bloquante ? "ÉCHEC" : "note "} ${v.regle} (${v.impact}, ${v.noeuds} nœud(s), ex. ${v.exemple})`);
    verifier(!bloquante, `axe : ${v.regle} — ${v.aide}`);
  }
  verifier(externes.length === 0, `ressources externes demandées : ${externes.join(", ")}`);
  verifier(erreursJs.length === 0, `erreurs JavaScript : ${erreursJs.join(" | ")}`);
  console.log(`   ${operations.length} opérations affichées ; captures : target/captures/docs.png, docs-operation.png`);
} finally {
  await navigateur.close();
  rmSync(profil, { recursive: true, force: true });
}
if (echecs.length) {
  console.error(echecs.map((e) => `   ✗ ${e}`).join("\n"));
  console.log(`navigateur : 0 passed, 1 failed`);
  process.exit(1);
}
console.log("navigateur : 1 passed, 0 failed");
