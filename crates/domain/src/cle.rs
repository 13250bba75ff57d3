//! The mod-23 check key shared by UAI and INE-BEA (DOMAIN.md, verified on real values).

/// 23 letters: the Latin alphabet without I, O and Q.
pub(crate) const ALPHABET: &[u8; 23] = b"ABCDEFGHJKLMNPRSTUVWXYZ";

/// Key letter of a string of ASCII digits: `ALPHABET[n mod 23]`.
/// The caller guarantees `digits` holds only ASCII digits.
pub(crate) fn lettre_cle(digits: &str) -> char {
    let reste = digits
        .bytes()
        .fold(0u32, |acc, d| (acc * 10 + u32::from(d - b'0')) % 23);
    char::from(ALPHABET[reste as usize])
}

pub(crate) fn tous_chiffres(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cles_des_exemples_reels() {
        assert_eq!(lettre_cle("0750655"), 'E');
        assert_eq!(lettre_cle("0494004062"), 'M');
    }
}
