//! The fonts embedded in every report, and which of them draws each character.
//!
//! No one font covers a report: Latin text needs Latin Extended-A (Polish, Czech, Turkish
//! names) and the euro sign, which Noto Sans CJK lacks; Chinese text needs the GB 2312
//! hanzi, and Hong Kong and Taiwan names need Traditional characters. So three subsets are
//! embedded (data/fonts/SOURCE.md lists their ranges) and each character is drawn by the
//! first of them, in [`FALLBACK_ORDER`], that has a glyph for it. Latin comes first so a
//! word is never drawn in two designs; the SC subset has the Traditional characters shared
//! with Simplified Chinese, so the TC subset holds only the rest.

use std::sync::OnceLock;

/// One embedded font family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Face {
    /// Noto Sans: Latin (with Extended-A and -B), Greek, Cyrillic, currency signs.
    Latin,
    /// Noto Sans CJK SC: Simplified Chinese (GB 2312), CJK punctuation, full-width forms.
    Sc,
    /// Noto Sans CJK TC: the Big5 common characters the SC subset lacks.
    Tc,
}

/// The order in which faces are asked for a glyph.
pub const FALLBACK_ORDER: [Face; 3] = [Face::Latin, Face::Sc, Face::Tc];

const LATIN_REGULAR: &[u8] = include_bytes!("../../../data/fonts/NotoSans-xborder-Regular.ttf");
const LATIN_BOLD: &[u8] = include_bytes!("../../../data/fonts/NotoSans-xborder-Bold.ttf");
const SC_REGULAR: &[u8] = include_bytes!("../../../data/fonts/NotoSansSC-xborder-Regular.otf");
const SC_BOLD: &[u8] = include_bytes!("../../../data/fonts/NotoSansSC-xborder-Bold.otf");
const TC_REGULAR: &[u8] = include_bytes!("../../../data/fonts/NotoSansTC-xborder-Regular.otf");
const TC_BOLD: &[u8] = include_bytes!("../../../data/fonts/NotoSansTC-xborder-Bold.otf");

/// The font file of `face` in the regular or bold weight.
pub fn font_bytes(face: Face, bold: bool) -> &'static [u8] {
    match (face, bold) {
        (Face::Latin, false) => LATIN_REGULAR,
        (Face::Latin, true) => LATIN_BOLD,
        (Face::Sc, false) => SC_REGULAR,
        (Face::Sc, true) => SC_BOLD,
        (Face::Tc, false) => TC_REGULAR,
        (Face::Tc, true) => TC_BOLD,
    }
}

fn index(face: Face) -> usize {
    match face {
        Face::Latin => 0,
        Face::Sc => 1,
        Face::Tc => 2,
    }
}

/// Parsed faces for glyph look-ups and advance widths: `[face][bold]`; None when an
/// embedded file does not parse (then every character counts as missing).
fn parsed() -> Option<&'static [[ttf_parser::Face<'static>; 2]; 3]> {
    static PARSED: OnceLock<Option<[[ttf_parser::Face<'static>; 2]; 3]>> = OnceLock::new();
    PARSED
        .get_or_init(|| {
            let both = |face| -> Option<[ttf_parser::Face<'static>; 2]> {
                Some([
                    ttf_parser::Face::parse(font_bytes(face, false), 0).ok()?,
                    ttf_parser::Face::parse(font_bytes(face, true), 0).ok()?,
                ])
            };
            Some([both(Face::Latin)?, both(Face::Sc)?, both(Face::Tc)?])
        })
        .as_ref()
}

fn parsed_face(face: Face, bold: bool) -> Option<&'static ttf_parser::Face<'static>> {
    parsed().map(|p| &p[index(face)][usize::from(bold)])
}

/// Whether `face` has a glyph for `c` in the given weight.
pub fn has_glyph(face: Face, bold: bool, c: char) -> bool {
    parsed_face(face, bold).is_some_and(|f| f.glyph_index(c).is_some())
}

/// The face that draws `c`: the first in [`FALLBACK_ORDER`] with a glyph for it; None when
/// no embedded font has one (it is then drawn as a box by the Latin face).
pub fn face_for(c: char, bold: bool) -> Option<Face> {
    FALLBACK_ORDER
        .into_iter()
        .find(|face| has_glyph(*face, bold, c))
}

/// `s` cut into runs drawn by one face each. A space stays in the run it interrupts when
/// that face has it, so "杭州 办公室" is one run, not three.
pub fn runs(s: &str, bold: bool) -> Vec<(Face, String)> {
    let mut out: Vec<(Face, String)> = Vec::new();
    for c in s.chars() {
        if let Some((face, run)) = out.last_mut() {
            if c.is_whitespace() && has_glyph(*face, bold, c) {
                run.push(c);
                continue;
            }
        }
        let face = face_for(c, bold).unwrap_or(Face::Latin);
        match out.last_mut() {
            Some((last, run)) if *last == face => run.push(c),
            _ => out.push((face, c.to_string())),
        }
    }
    out
}

/// The advance width of `c` in em, from the face that draws it (the Latin face's box
/// for a character no face has).
pub fn advance_em(c: char, bold: bool) -> f32 {
    // Most report text is ASCII and Latin-1: each of those is measured once per weight.
    static LATIN1: std::sync::OnceLock<[[f32; 256]; 2]> = std::sync::OnceLock::new();
    if let Ok(byte) = u8::try_from(u32::from(c)) {
        let table = LATIN1.get_or_init(|| {
            std::array::from_fn(|weight| {
                std::array::from_fn(|b| measure(char::from(b as u8), weight == 1))
            })
        });
        return table[usize::from(bold)][usize::from(byte)];
    }
    measure(c, bold)
}

fn measure(c: char, bold: bool) -> f32 {
    let face = face_for(c, bold).unwrap_or(Face::Latin);
    let Some(f) = parsed_face(face, bold) else {
        return 0.5;
    };
    let upem = f32::from(f.units_per_em().max(1));
    let glyph = f.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
    f.glyph_hor_advance(glyph)
        .map_or(1.0, |a| f32::from(a) / upem)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Latin-1 table gives what measuring each character gives.
    #[test]
    fn remembered_widths_are_the_measured_ones() {
        for bold in [false, true] {
            for b in 0..=255u8 {
                let c = char::from(b);
                assert_eq!(
                    advance_em(c, bold).to_bits(),
                    measure(c, bold).to_bits(),
                    "{c:?}"
                );
            }
        }
    }

    #[test]
    fn each_character_is_drawn_by_the_first_face_that_has_it() {
        for bold in [false, true] {
            // Latin, with Extended-A and the euro sign, from the Latin face.
            for c in "Aaz0ÓóąćęłńśźżĄĆĘŁŃŚŹŻ€".chars() {
                assert_eq!(face_for(c, bold), Some(Face::Latin), "{c}");
            }
            // Simplified Chinese and the hanzi shared with Traditional from SC.
            for c in "杭州办公室香港域，（".chars() {
                assert_eq!(face_for(c, bold), Some(Face::Sc), "{c}");
            }
            // Traditional-only characters from TC.
            for c in "區辦個護資".chars() {
                assert_eq!(face_for(c, bold), Some(Face::Tc), "{c}");
            }
            // Thai is in no embedded font.
            assert_eq!(face_for('ก', bold), None);
        }
    }

    #[test]
    fn runs_switch_face_only_where_the_glyph_requires() {
        assert_eq!(
            runs("香港區域辦公室 Łódź 5 €", false),
            vec![
                (Face::Sc, "香港".to_string()),
                (Face::Tc, "區".to_string()),
                (Face::Sc, "域".to_string()),
                (Face::Tc, "辦".to_string()),
                (Face::Sc, "公室 ".to_string()),
                (Face::Latin, "Łódź 5 €".to_string()),
            ]
        );
        assert_eq!(
            runs("杭州 办公室", true),
            vec![(Face::Sc, "杭州 办公室".to_string())]
        );
        // A character no face has stays in the text, drawn by the Latin face.
        assert_eq!(runs("กข", false), vec![(Face::Latin, "กข".to_string())]);
        assert_eq!(runs("", false), vec![]);
    }

    #[test]
    fn advances_come_from_the_drawing_face() {
        assert!(advance_em('個', false) > 0.9 && advance_em('個', false) < 1.1);
        assert!(advance_em('i', false) < 0.4);
        assert!(advance_em('€', true) > 0.4 && advance_em('€', true) < 0.8);
    }
}
