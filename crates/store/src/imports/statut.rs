//! What a job is about and where it stands: its file format, its status and why it was
//! interrupted.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatImport {
    Ndjson,
    Csv,
}

impl FormatImport {
    pub fn as_str(self) -> &'static str {
        match self {
            FormatImport::Ndjson => "ndjson",
            FormatImport::Csv => "csv",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ndjson" => Some(FormatImport::Ndjson),
            "csv" => Some(FormatImport::Csv),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatutImport {
    EnAttente,
    EnCours,
    Termine,
    Echoue,
    /// Stopped at a chunk boundary because its partner may no longer write (see
    /// [`MotifInterruption`]).
    Interrompu,
}

impl StatutImport {
    pub fn as_str(self) -> &'static str {
        match self {
            StatutImport::EnAttente => "en_attente",
            StatutImport::EnCours => "en_cours",
            StatutImport::Termine => "termine",
            StatutImport::Echoue => "echoue",
            StatutImport::Interrompu => "interrompu",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            StatutImport::EnAttente,
            StatutImport::EnCours,
            StatutImport::Termine,
            StatutImport::Echoue,
            StatutImport::Interrompu,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// Why a job was interrupted: checked before every chunk against the partner's current
/// state, so a revocation, a suspension or a withdrawn `eleves:write` stops the job at its
/// next chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MotifInterruption {
    /// The partner, or the client that sent the file, was revoked.
    PartenaireRevoque,
    /// The partner was deactivated.
    PartenaireSuspendu,
    /// The partner no longer holds `eleves:write`.
    ScopeRetire,
    /// The partner's perimeter no longer covers the job's (a mandate, commune or UAI withdrawn).
    PerimetreReduit,
}

impl MotifInterruption {
    pub const TOUS: [MotifInterruption; 4] = [
        MotifInterruption::PartenaireRevoque,
        MotifInterruption::PartenaireSuspendu,
        MotifInterruption::ScopeRetire,
        MotifInterruption::PerimetreReduit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MotifInterruption::PartenaireRevoque => "partenaire_revoque",
            MotifInterruption::PartenaireSuspendu => "partenaire_suspendu",
            MotifInterruption::ScopeRetire => "scope_retire",
            MotifInterruption::PerimetreReduit => "perimetre_reduit",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::TOUS.into_iter().find(|m| m.as_str() == s)
    }

    pub(crate) fn message(self) -> &'static str {
        match self {
            MotifInterruption::PartenaireRevoque => "import interrompu : l'accès du partenaire a été révoqué",
            MotifInterruption::PartenaireSuspendu => "import interrompu : le partenaire a été suspendu",
            MotifInterruption::ScopeRetire => "import interrompu : le partenaire n'a plus le droit eleves:write",
            MotifInterruption::PerimetreReduit => {
                "import interrompu : le périmètre du partenaire ne couvre plus celui de l'import (mandat, commune ou école retiré)"
            }
        }
    }
}
