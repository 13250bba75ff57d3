-- A running import stops at its next chunk when its partner is revoked, suspended, loses
-- eleves:write or the perimeter the job writes in: it ends `interrompu`, with why in `motif` (its committed chunks stay applied).
ALTER TABLE imports DROP CONSTRAINT imports_statut_check;
ALTER TABLE imports ADD CONSTRAINT imports_statut_check
    CHECK (statut IN ('en_attente', 'en_cours', 'termine', 'echoue', 'interrompu'));
ALTER TABLE imports ADD COLUMN motif TEXT
    CHECK (motif IN ('partenaire_revoque', 'partenaire_suspendu', 'scope_retire', 'perimetre_reduit'));
ALTER TABLE imports ADD CONSTRAINT imports_motif_si_interrompu
    CHECK ((statut = 'interrompu') = (motif IS NOT NULL));
