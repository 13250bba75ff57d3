// Swagger UI at /docs, configured for this API: the document of this server, no top bar (the
// document is fixed), operation ids shown, "try it out" enabled; then small accessibility
// fixes on what Swagger UI renders (labels of unlabelled controls).
window.addEventListener("load", function () {
  var etiquettes = {
    "content-type": "Type de contenu",
    "responses-select": "Type de contenu de la réponse",
    "servers": "Serveur",
  };
  function etiqueter(racine) {
    racine.querySelectorAll("select:not([aria-label]), input:not([aria-label]):not([type=hidden]), textarea:not([aria-label])").forEach(function (e) {
      if (e.labels && e.labels.length) return;
      var nom = e.getAttribute("aria-labelledby") ? null : (etiquettes[e.id] || etiquettes[e.className] || e.getAttribute("placeholder") || e.getAttribute("data-name") || e.getAttribute("title"));
      var cle = Object.keys(etiquettes).find(function (k) { return (e.className || "").indexOf(k) >= 0; });
      if (!nom && cle) nom = etiquettes[cle];
      if (!nom && e.closest("[data-param-name]")) nom = e.closest("[data-param-name]").getAttribute("data-param-name");
      e.setAttribute("aria-label", nom || "Valeur");
    });
    // Scrollable examples reachable with the keyboard.
    racine.querySelectorAll(".highlight-code > pre:not([tabindex]), pre.microlight:not([tabindex])").forEach(function (e) {
      e.setAttribute("tabindex", "0");
    });
  }
  // The skip link moves the focus, not only the view.
  var evitement = document.querySelector(".evitement");
  if (evitement) {
    evitement.addEventListener("click", function () {
      document.getElementById("contenu").focus();
    });
  }
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    // No deep links: Swagger UI renders them as links inside the operation's button (nested
    // interactive controls, which screen readers and keyboards handle badly).
    deepLinking: false,
    displayOperationId: true,
    displayRequestDuration: true,
    tryItOutEnabled: true,
    validatorUrl: null,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis],
    onComplete: function () {
      var racine = document.getElementById("swagger-ui");
      etiqueter(racine);
      new MutationObserver(function () { etiqueter(racine); }).observe(racine, { childList: true, subtree: true });
      document.documentElement.setAttribute("data-docs-pretes", "oui");
    },
  });
});
