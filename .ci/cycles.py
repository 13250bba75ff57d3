#!/usr/bin/env python3
"""Fails when modules of one crate import each other in a circle.

Cargo already forbids circles between crates; inside a crate nothing does. This script reads
every `.rs` file of each crate's `src/` (and of `tests/`), turns each reference to another module
of the same crate (`use crate::a::b`, `crate::a::f()`, `super::x`, `self::x`, grouped use trees)
into an edge from the referring module to the deepest module the path names, and looks for
strongly connected components (Tarjan). A reference to an item of the crate root (`crate::X`
where X is not a module) is an edge to the root: the root declares modules and re-exports, it is
not a place to fetch shared things from. Declaring a child (`mod x;`) is not an edge.

Usage: python3 .ci/cycles.py [repository root]; exit status 1 and the circles on stderr.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def sans_commentaires(texte: str) -> str:
    """Drops comments and the contents of string literals (a path in a doc string is no edge)."""
    sortie = []
    i, n = 0, len(texte)
    while i < n:
        c = texte[i]
        if texte.startswith("//", i):
            j = texte.find("\n", i)
            i = n if j < 0 else j
        elif texte.startswith("/*", i):
            profondeur, i = 1, i + 2
            while i < n and profondeur:
                if texte.startswith("/*", i):
                    profondeur, i = profondeur + 1, i + 2
                elif texte.startswith("*/", i):
                    profondeur, i = profondeur - 1, i + 2
                else:
                    i += 1
        elif c == "r" and re.match(r'r#*"', texte[i:i + 10]) and not re.match(r"[A-Za-z0-9_]", texte[i - 1:i] or " "):
            m = re.match(r'r(#*)"', texte[i:])
            fin = '"' + m.group(1)
            j = texte.find(fin, i + len(m.group(0)))
            i = n if j < 0 else j + len(fin)
            sortie.append('""')
        elif c == '"':
            j = i + 1
            while j < n and texte[j] != '"':
                j += 2 if texte[j] == "\\" else 1
            i = j + 1
            sortie.append('""')
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", texte[i:i + 4]):
            # A char literal such as '"' or '{' must not open a string or a group.
            m = re.match(r"'(\\.|[^\\'])'", texte[i:])
            i += len(m.group(0))
            sortie.append("' '")
        else:
            sortie.append(c)
            i += 1
    return "".join(sortie)


def developper(arbre: str) -> list[str]:
    """Expands a use tree (`a::{b, c::{d, e}}`) into paths (`a::b`, `a::c::d`, `a::c::e`)."""
    arbre = re.sub(r"\s+", "", arbre)
    if "{" not in arbre:
        return [re.sub(r"\bas\w+$", "", arbre)] if arbre else []
    debut = arbre.index("{")
    prefixe = arbre[:debut]
    interieur = arbre[debut + 1:arbre.rindex("}")]
    parties, profondeur, courant = [], 0, ""
    for c in interieur:
        if c == "," and profondeur == 0:
            parties.append(courant)
            courant = ""
            continue
        profondeur += c == "{"
        profondeur -= c == "}"
        courant += c
    parties.append(courant)
    chemins = []
    for partie in parties:
        for suite in developper(partie):
            chemins.append(prefixe + suite if suite != "self" else prefixe.rstrip(":"))
    return chemins


def modules_en_ligne(texte: str) -> list[tuple[int, int]]:
    """Spans of inline modules (`mod tests { ... }`) in a comment-free text."""
    blocs = []
    for m in re.finditer(rf"\bmod\s+{IDENT}\s*\{{", texte):
        profondeur, i = 1, m.end()
        while i < len(texte) and profondeur:
            profondeur += {"{": 1, "}": -1}.get(texte[i], 0)
            i += 1
        blocs.append((m.start(), i))
    return blocs


class Crate:
    def __init__(self, racine: Path, fichier_racine: Path):
        self.racine = racine
        self.modules: dict[tuple[str, ...], Path] = {}
        self.trouver(fichier_racine, ())
        self.lire_reexports()

    def trouver(self, fichier: Path, chemin: tuple[str, ...]) -> None:
        """Walks `mod x;` declarations from the crate root, as rustc does."""
        self.modules[chemin] = fichier
        texte = sans_commentaires(fichier.read_text(encoding="utf-8"))
        if fichier.name in ("lib.rs", "main.rs", "mod.rs") or not chemin:
            dossier = fichier.parent
        else:
            dossier = fichier.parent / fichier.stem
        for m in re.finditer(rf"(?:#\[path\s*=\s*\"([^\"]+)\"\]\s*)?(?:pub(?:\([^)]*\))?\s+)?mod\s+({IDENT})\s*;", texte):
            nom = m.group(2)
            for candidat in (dossier / f"{nom}.rs", dossier / nom / "mod.rs"):
                if candidat.exists():
                    self.trouver(candidat, chemin + (nom,))
                    break
        # Inline modules (`mod tests { ... }`) belong to their file: one node.

    def cible_brute(self, depuis, chemin):
        sauve, self.reexports = getattr(self, "reexports", {}), {}
        try:
            return self.cible(depuis, chemin)
        finally:
            self.reexports = sauve

    def cible(self, depuis: tuple[str, ...], chemin: str) -> tuple[str, ...] | None:
        parties = [p for p in chemin.split("::") if p]
        if not parties:
            return None
        if parties[0] == "crate":
            base, reste = (), parties[1:]
        elif parties[0] in ("super", "self"):
            base = depuis
            while parties and parties[0] in ("super", "self"):
                if parties[0] == "super":
                    base = base[:-1]
                parties = parties[1:]
            reste = parties
        elif depuis + (parties[0],) in self.modules:
            # A relative path to a child module (`ecoles::lister` in the root).
            base, reste = depuis, parties
        else:
            return None
        meilleur = base
        for i in range(1, len(reste) + 1):
            essai = base + tuple(reste[:i])
            if essai in self.modules:
                meilleur = essai
            else:
                # `crate::Nom` where the root only re-exports `Nom` from a module: the edge goes
                # to that module (the re-export is a signpost, not a dependency on the root).
                suivant = self.reexports.get(meilleur, {}).get(reste[i - 1])
                if suivant is not None:
                    meilleur = suivant
                break
        return meilleur

    def lire_reexports(self) -> None:
        self.reexports: dict[tuple[str, ...], dict[str, tuple[str, ...]]] = {}
        for module, fichier in self.modules.items():
            texte = sans_commentaires(fichier.read_text(encoding="utf-8"))
            # `#[macro_export]` puts a macro at the crate root whatever module defines it.
            for m in re.finditer(rf"#\[macro_export\]\s*macro_rules!\s*({IDENT})", texte):
                if module:
                    self.reexports.setdefault((), {})[m.group(1)] = module
            for m in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", texte):
                for chemin in developper(m.group(1)):
                    nom = re.split(r"::|\bas\b", chemin)[-1]
                    self.reexports.setdefault(module, {})
                    cible = self.cible_brute(module, chemin)
                    if cible is not None and cible != module:
                        self.reexports[module][nom] = cible

    def aretes(self) -> dict[tuple[str, ...], set[tuple[str, ...]]]:
        graphe: dict[tuple[str, ...], set[tuple[str, ...]]] = {m: set() for m in self.modules}
        for module, fichier in self.modules.items():
            texte = sans_commentaires(fichier.read_text(encoding="utf-8"))
            chemins = []
            for m in re.finditer(r"(?<!pub )(?<!\) )\buse\s+([^;]+);", texte):
                chemins += [(m.start(), c) for c in developper(m.group(1))]
            chemins += [(m.start(), m.group(1)) for m in re.finditer(rf"(?<![:\w])({IDENT}(?:::{IDENT})+)", texte)]
            blocs = modules_en_ligne(texte)
            for position, chemin in chemins:
                # Inside `mod tests { ... }`, `super::` first leaves the inline module.
                for _ in range(sum(debut <= position < fin for debut, fin in blocs)):
                    if chemin.startswith("super::"):
                        chemin = "self::" + chemin[len("super::"):]
                cible = self.cible(module, chemin)
                if cible is None or cible == module:
                    continue
                # A child referring to its own ancestors through `super::` to reach a sibling
                # resolves to that sibling when the path names it; what is left is a real edge.
                graphe[module].add(cible)
        return graphe


def tarjan(graphe):
    index, bas, pile, sur_pile, composantes = {}, {}, [], set(), []
    compteur = [0]

    def visiter(v):
        index[v] = bas[v] = compteur[0]
        compteur[0] += 1
        pile.append(v)
        sur_pile.add(v)
        for w in graphe[v]:
            if w not in index:
                visiter(w)
                bas[v] = min(bas[v], bas[w])
            elif w in sur_pile:
                bas[v] = min(bas[v], index[w])
        if bas[v] == index[v]:
            composante = []
            while True:
                w = pile.pop()
                sur_pile.discard(w)
                composante.append(w)
                if w == v:
                    break
            if len(composante) > 1:
                composantes.append(sorted(composante))

    sys.setrecursionlimit(10000)
    for v in sorted(graphe):
        if v not in index:
            visiter(v)
    return composantes


def racines(depot: Path):
    for cargo in sorted([depot / "Cargo.toml", *depot.glob("crates/*/Cargo.toml")]):
        dossier = cargo.parent
        for nom in ("src/lib.rs", "src/main.rs"):
            if (dossier / nom).exists():
                yield dossier, dossier / nom
    # Each file of tests/ (and each tests/<name>/main.rs) is the root of a test binary.
    for test in sorted([*depot.glob("tests/*.rs"), *depot.glob("tests/*/main.rs")]):
        yield depot, test


def main() -> int:
    depot = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    echecs = 0
    total = 0
    for dossier, fichier in racines(depot):
        crate = Crate(dossier, fichier)
        total += len(crate.modules)
        for composante in tarjan(crate.aretes()):
            echecs += 1
            noms = ", ".join("::".join(m) or "(racine)" for m in composante)
            print(f"{fichier.relative_to(depot)}: cercle d'imports entre {{{noms}}}", file=sys.stderr)
    if echecs:
        print(f"{echecs} cercle(s) d'imports", file=sys.stderr)
        return 1
    print(f"aucun cercle d'imports ({total} modules)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
