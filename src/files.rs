//! File names that came from outside (attachments, uploaded CSV files), made safe to show
//! and to hand back in `Content-Disposition` or a MIME part: no directories (`/`, `\`, `..`),
//! no control or bidirectional-override characters (which make `txt.exe` read as `exe.txt`),
//! no trailing dots or spaces (Windows drops them, so `a.exe.` would run as `a.exe`).

/// Characters that reorder text on screen (Unicode bidi controls and marks).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The name a file is served back under: its last path component, without control, bidi or
/// other invisible format characters, leading dots and trailing dots or spaces;
/// `attachment` when nothing is left.
pub fn clean_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let kept: String = last
        .chars()
        .filter(|&c| {
            !c.is_control()
                && !is_bidi_control(c)
                && !matches!(c, '\u{200b}'..='\u{200d}' | '\u{feff}')
        })
        .collect();
    let trimmed = kept
        .trim()
        .trim_start_matches('.')
        .trim_end_matches(['.', ' '])
        .trim();
    if trimmed.is_empty() {
        "attachment".to_string()
    } else {
        trimmed.to_string()
    }
}

/// The extension a name really has once cleaned (`a.exe.` and `a.exe ` end in `exe`),
/// lower-case.
pub fn extension(name: &str) -> Option<String> {
    let clean = clean_file_name(name);
    let (stem, ext) = clean.rsplit_once('.')?;
    (!stem.is_empty() || !ext.is_empty()).then(|| ext.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned() {
        for (given, expected) in [
            ("report.pdf", "report.pdf"),
            ("../../../../etc/passwd", "passwd"),
            ("..\\..\\boot.ini", "boot.ini"),
            ("..", "attachment"),
            ("/", "attachment"),
            ("", "attachment"),
            ("invoice\u{202e}fdp.exe", "invoicefdp.exe"),
            ("a\u{0}b\r\n.txt", "ab.txt"),
            ("a.exe.", "a.exe"),
            ("a.exe . .", "a.exe"),
            (".htaccess", "htaccess"),
        ] {
            assert_eq!(clean_file_name(given), expected, "{given:?}");
        }
        assert_eq!(extension("a.EXE.").as_deref(), Some("exe"));
        assert_eq!(extension("a.exe  ").as_deref(), Some("exe"));
        assert_eq!(extension("x\u{202e}gpj.exe").as_deref(), Some("exe"));
        assert_eq!(extension("README"), None);
    }
}
