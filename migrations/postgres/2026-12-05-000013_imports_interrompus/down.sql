UPDATE imports SET statut = 'echoue' WHERE statut = 'interrompu';
ALTER TABLE imports DROP CONSTRAINT imports_motif_si_interrompu;
ALTER TABLE imports DROP COLUMN motif;
ALTER TABLE imports DROP CONSTRAINT imports_statut_check;
ALTER TABLE imports ADD CONSTRAINT imports_statut_check
    CHECK (statut IN ('en_attente', 'en_cours', 'termine', 'echoue'));
