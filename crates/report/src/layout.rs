//! A small page-layout engine over printpdf's operation lists: measured text, wrapping,
//! page breaks, tables that repeat their header, and bar charts drawn as vectors.
//!
//! printpdf positions every glyph run by hand, so widths are measured with the advance
//! widths of the embedded fonts (each character in the face that draws it, see fonts.rs);
//! a cell that would overflow is cut with an ellipsis, never allowed to run into its
//! neighbour.

use printpdf::{
    Cmyk, Color, FontId, Line, LinePoint, Mm, Op, PaintMode, ParsedFont, PdfDocument,
    PdfFontHandle, Point, Pt, Rect, TextItem,
};

use super::fonts::{advance_em, face_for, font_bytes, runs, Face, FALLBACK_ORDER};
use super::i18n::{Lang, Tr};
use xborder_model::error::{Error, Result};

/// The fonts registered in one document: each embedded face in both weights.
#[derive(Debug, Clone)]
pub struct Fonts {
    ids: Vec<((Face, bool), FontId)>,
}

impl Fonts {
    /// The registered id of `face` in the given weight.
    fn id(&self, face: Face, bold: bool) -> Option<FontId> {
        self.ids
            .iter()
            .find(|(key, _)| *key == (face, bold))
            .map(|(_, id)| id.clone())
    }
}

/// Parse and register every embedded face with `doc` (unused ones are not written).
pub fn register_fonts(doc: &mut PdfDocument) -> Result<Fonts> {
    let mut warnings = Vec::new();
    let mut ids = Vec::new();
    for face in FALLBACK_ORDER {
        for bold in [false, true] {
            let parsed = ParsedFont::from_bytes(font_bytes(face, bold), 0, &mut warnings)
                .ok_or_else(|| Error::Report {
                    path: "report.pdf".into(),
                    message: format!("the embedded report font {face:?} could not be parsed"),
                })?;
            ids.push(((face, bold), doc.add_font(&parsed)));
        }
    }
    Ok(Fonts { ids })
}

pub const PAGE_W: f32 = 210.0;
pub const PAGE_H: f32 = 297.0;
pub const MARGIN_X: f32 = 16.0;
pub const TOP: f32 = PAGE_H - 20.0;
pub const BOTTOM: f32 = 18.0;
const PT_TO_MM: f32 = 0.352_778;

/// Text width in millimetres, from the advance widths of the faces that draw each character.
pub fn text_width(s: &str, size: f32, bold: bool) -> f32 {
    let ems: f32 = s.chars().map(|c| advance_em(c, bold)).sum();
    ems * size * PT_TO_MM
}

/// Cut `s` to fit `width` mm, ending with "..." when cut.
pub fn fit(s: &str, width: f32, size: f32, bold: bool) -> String {
    if text_width(s, size, bold) <= width {
        return s.to_string();
    }
    let ell = "...";
    let budget = width - text_width(ell, size, bold);
    let mut out = String::new();
    for c in s.chars() {
        let mut next = out.clone();
        next.push(c);
        if text_width(&next, size, bold) > budget {
            break;
        }
        out = next;
    }
    out.push_str(ell);
    out
}

/// Wrap to `width` mm. Breaks at spaces where the line has one (Latin text), otherwise
/// between any two characters (Chinese has no spaces between words).
pub fn wrap(s: &str, width: f32, size: f32, bold: bool) -> Vec<String> {
    let mut lines = Vec::new();
    for para in s.split('\n') {
        let mut line = String::new();
        for c in para.chars() {
            let mut candidate = line.clone();
            candidate.push(c);
            if text_width(&candidate, size, bold) <= width || line.is_empty() {
                line = candidate;
                continue;
            }
            if c == ' ' {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A CJK character may start the next line anywhere; a Latin word moves whole
            // to the next line, whatever script the rest of the paragraph is in.
            let start = if breaks_anywhere(c) {
                line.len()
            } else {
                word_start(&line)
            };
            if start == 0 || start == line.len() {
                lines.push(std::mem::take(&mut line).trim_end().to_string());
                line.push(c);
            } else {
                let rest = line[start..].to_string();
                line.truncate(start);
                lines.push(line.trim_end().to_string());
                line = rest;
                line.push(c);
            }
        }
        lines.push(line.trim_end().to_string());
    }
    lines
}

/// A character a line may break before or after without a space (CJK ideographs, kana,
/// hangul, and CJK or full-width punctuation).
fn breaks_anywhere(c: char) -> bool {
    matches!(u32::from(c),
        0x2E80..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFFEF
        | 0x20000..=0x3FFFF)
}

/// Byte offset where the word `line` ends with starts: after its last space or CJK
/// character (0 when the whole line is one word).
fn word_start(line: &str) -> usize {
    line.char_indices()
        .rev()
        .find(|(_, ch)| *ch == ' ' || breaks_anywhere(*ch))
        .map_or(0, |(i, ch)| i + ch.len_utf8())
}

/// Colours are given as RGB for readability and written as DeviceCMYK, which matches the
/// CMYK output intent a PDF/A file carries.
fn rgb(r: f32, g: f32, b: f32) -> Color {
    let k = 1.0 - r.max(g).max(b);
    if k >= 0.999 {
        return Color::Cmyk(Cmyk::new(0.0, 0.0, 0.0, 1.0, None));
    }
    let f = |x: f32| ((1.0 - x - k) / (1.0 - k)).clamp(0.0, 1.0);
    Color::Cmyk(Cmyk::new(f(r), f(g), f(b), k, None))
}

pub const INK: (f32, f32, f32) = (0.12, 0.12, 0.14);
pub const MUTED: (f32, f32, f32) = (0.40, 0.40, 0.45);
pub const ACCENT: (f32, f32, f32) = (0.13, 0.33, 0.60);
pub const RULE: (f32, f32, f32) = (0.78, 0.80, 0.84);
pub const SHADE: (f32, f32, f32) = (0.93, 0.94, 0.96);

/// What a day-grid cell shows (computed by the report model).
pub use crate::model::DayMark;

/// Column alignment in tables.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A table column: header, relative weight for width, alignment.
pub struct ColumnSpec<'a> {
    pub header: &'a str,
    pub min_width: f32,
    pub align: Align,
}

impl<'a> ColumnSpec<'a> {
    /// A left-aligned column at least `min_width` mm wide.
    pub fn left(header: &'a str, min_width: f32) -> Self {
        ColumnSpec {
            header,
            min_width,
            align: Align::Left,
        }
    }

    /// A right-aligned (numeric) column at least `min_width` mm wide.
    pub fn right(header: &'a str, min_width: f32) -> Self {
        ColumnSpec {
            header,
            min_width,
            align: Align::Right,
        }
    }
}

/// Pages under construction.
pub struct Layout {
    fonts: Fonts,
    /// The report language: every string drawn passes through it.
    pub tr: Tr,
    pages: Vec<Vec<Op>>,
    ops: Vec<Op>,
    /// Current baseline position, mm from the bottom of the page.
    pub y: f32,
    /// Section titles with the page they start on, for the contents list.
    pub sections: Vec<(String, usize)>,
    /// Text drawn with characters the embedded fonts lack (shown as boxes), each text once.
    pub missing_glyphs: Vec<(String, Vec<char>)>,
}

/// Texts with missing glyphs recorded per document, at most.
const MISSING_GLYPHS_LISTED: usize = 20;

/// The characters of `s` the embedded fonts have no glyph for, each once, in order.
pub fn missing_glyphs(s: &str) -> Vec<char> {
    let mut out = Vec::new();
    for c in s.chars() {
        let missing =
            !c.is_control() && (face_for(c, false).is_none() || face_for(c, true).is_none());
        if missing && !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

impl Layout {
    pub fn new(fonts: Fonts, tr: Tr) -> Self {
        Layout {
            fonts,
            tr,
            pages: Vec::new(),
            ops: Vec::new(),
            y: TOP,
            sections: Vec::new(),
            missing_glyphs: Vec::new(),
        }
    }

    pub fn content_width(&self) -> f32 {
        PAGE_W - 2.0 * MARGIN_X
    }

    pub fn page_number(&self) -> usize {
        self.pages.len() + 1
    }

    pub fn new_page(&mut self) {
        let ops = std::mem::take(&mut self.ops);
        self.pages.push(ops);
        self.y = TOP;
    }

    /// Start a new page unless `height` mm still fit above the bottom margin.
    pub fn ensure(&mut self, height: f32) {
        if self.y - height < BOTTOM {
            self.new_page();
        }
    }

    pub fn text_at(
        &mut self,
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        color: (f32, f32, f32),
        s: &str,
    ) {
        let s = &self.tr.s(s);
        let missing = missing_glyphs(s);
        if !missing.is_empty()
            && self.missing_glyphs.len() < MISSING_GLYPHS_LISTED
            && !self.missing_glyphs.iter().any(|(t, _)| t == s)
        {
            self.missing_glyphs.push((s.to_string(), missing));
        }
        self.ops.push(Op::SetFillColor {
            col: rgb(color.0, color.1, color.2),
        });
        self.ops.push(Op::StartTextSection);
        self.ops.push(Op::SetTextCursor {
            pos: Point::new(Mm(x), Mm(y)),
        });
        // One run per face: each text operator continues where the previous one ended.
        for (face, run) in runs(s, bold) {
            let Some(font) = self.fonts.id(face, bold) else {
                continue;
            };
            self.ops.push(Op::SetFont {
                font: PdfFontHandle::External(font),
                size: Pt(size),
            });
            self.ops.push(Op::ShowText {
                items: vec![TextItem::Text(run)],
            });
        }
        self.ops.push(Op::EndTextSection);
    }

    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: (f32, f32, f32)) {
        self.ops.push(Op::SetFillColor {
            col: rgb(color.0, color.1, color.2),
        });
        self.ops.push(Op::DrawRectangle {
            rectangle: Rect {
                mode: Some(PaintMode::Fill),
                ..Rect::from_xywh(Mm(x).into(), Mm(y).into(), Mm(w).into(), Mm(h).into())
            },
        });
    }

    pub fn hline(&mut self, x1: f32, x2: f32, y: f32, color: (f32, f32, f32), thickness: f32) {
        self.ops.push(Op::SetOutlineColor {
            col: rgb(color.0, color.1, color.2),
        });
        self.ops.push(Op::SetOutlineThickness { pt: Pt(thickness) });
        self.ops.push(Op::DrawLine {
            line: Line {
                points: vec![
                    LinePoint {
                        p: Point::new(Mm(x1), Mm(y)),
                        bezier: false,
                    },
                    LinePoint {
                        p: Point::new(Mm(x2), Mm(y)),
                        bezier: false,
                    },
                ],
                is_closed: false,
            },
        });
    }

    /// A section title; recorded for the contents list.
    pub fn heading(&mut self, title: &str) {
        let title = &self.tr.s(title);
        self.ensure(24.0);
        self.y -= 4.0;
        self.sections.push((title.to_string(), self.page_number()));
        self.text_at(MARGIN_X, self.y, 15.0, true, ACCENT, title);
        self.y -= 3.0;
        self.hline(MARGIN_X, PAGE_W - MARGIN_X, self.y, ACCENT, 0.8);
        self.y -= 7.0;
    }

    pub fn subheading(&mut self, title: &str) {
        let title = &self.tr.s(title);
        self.ensure(16.0);
        self.y -= 2.0;
        self.text_at(MARGIN_X, self.y, 11.0, true, INK, title);
        self.y -= 6.0;
    }

    /// A wrapped paragraph at the left margin.
    pub fn paragraph(&mut self, s: &str, size: f32) {
        self.paragraph_indented(s, size, 0.0, INK);
    }

    pub fn paragraph_indented(&mut self, s: &str, size: f32, indent: f32, color: (f32, f32, f32)) {
        let s = &self.tr.s(s);
        let leading = size * PT_TO_MM * 1.45;
        for line in wrap(s, self.content_width() - indent, size, false) {
            self.ensure(leading);
            self.text_at(MARGIN_X + indent, self.y, size, false, color, &line);
            self.y -= leading;
        }
        self.y -= leading * 0.4;
    }

    /// A bullet point with a wrapped body.
    pub fn bullet(&mut self, s: &str, size: f32) {
        let s = &self.tr.s(s);
        let leading = size * PT_TO_MM * 1.45;
        self.ensure(leading);
        self.text_at(MARGIN_X + 1.5, self.y, size, false, ACCENT, "-");
        let lines = wrap(s, self.content_width() - 6.0, size, false);
        for line in lines {
            self.ensure(leading);
            self.text_at(MARGIN_X + 6.0, self.y, size, false, INK, &line);
            self.y -= leading;
        }
    }

    /// Label/value pairs in two columns.
    pub fn key_values(&mut self, rows: &[(String, String)], size: f32) {
        let rows: Vec<(String, String)> = rows
            .iter()
            .map(|(k, v)| (self.tr.s(k), self.tr.s(v)))
            .collect();
        let rows = &rows;
        let leading = size * PT_TO_MM * 1.6;
        let key_w = rows
            .iter()
            .map(|(k, _)| text_width(k, size, true))
            .fold(0.0f32, f32::max)
            .min(self.content_width() * 0.4)
            + 4.0;
        for (k, v) in rows {
            let lines = wrap(v, self.content_width() - key_w, size, false);
            self.ensure(leading * lines.len() as f32);
            self.text_at(
                MARGIN_X,
                self.y,
                size,
                true,
                MUTED,
                &fit(k, key_w - 2.0, size, true),
            );
            for line in lines {
                self.text_at(MARGIN_X + key_w, self.y, size, false, INK, &line);
                self.y -= leading;
            }
        }
        self.y -= 2.0;
    }

    /// A table sized to its content: columns get their natural width, and the longest
    /// columns shrink (with ellipses) when the total exceeds the page.
    pub fn table(&mut self, columns: &[ColumnSpec<'_>], rows: &[Vec<String>], size: f32) {
        let headers: Vec<String> = columns.iter().map(|c| self.tr.s(c.header)).collect();
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|r| r.iter().map(|c| self.tr.s(c)).collect())
            .collect();
        let rows = &rows;
        let pad = 1.6;
        let avail = self.content_width();
        let mut widths: Vec<f32> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let content = rows
                    .iter()
                    .map(|r| text_width(r.get(i).map(String::as_str).unwrap_or(""), size, false))
                    .fold(text_width(&headers[i], size, true), f32::max);
                (content + 2.0 * pad).max(c.min_width)
            })
            .collect();
        let total: f32 = widths.iter().sum();
        if total > avail {
            // Shrink the widest columns first, never below their minimum.
            let mut excess = total - avail;
            while excess > 0.01 {
                let (imax, _) = widths
                    .iter()
                    .enumerate()
                    .filter(|(i, w)| **w > columns[*i].min_width + 0.01)
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .unwrap_or((0, &0.0));
                if widths[imax] <= columns[imax].min_width + 0.01 {
                    break;
                }
                let second = widths
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != imax)
                    .map(|(_, w)| *w)
                    .fold(columns[imax].min_width, f32::max);
                let cut = (widths[imax] - second.max(columns[imax].min_width))
                    .max(0.5)
                    .min(excess);
                widths[imax] -= cut;
                excess -= cut;
            }
        } else {
            let stretch = (avail - total) / widths.len() as f32;
            for w in &mut widths {
                *w += stretch;
            }
        }
        let row_h = size * PT_TO_MM * 1.7;
        let draw_header = |l: &mut Layout| {
            l.rect(MARGIN_X, l.y - row_h * 0.3, avail, row_h, SHADE);
            let mut x = MARGIN_X;
            for ((c, w), header) in columns.iter().zip(&widths).zip(&headers) {
                let t = fit(header, w - 2.0 * pad, size, true);
                let tx = match c.align {
                    Align::Left => x + pad,
                    Align::Right => x + w - pad - text_width(&t, size, true),
                };
                l.text_at(tx, l.y, size, true, INK, &t);
                x += w;
            }
            l.y -= row_h;
        };
        self.ensure(row_h * 3.0);
        draw_header(self);
        for row in rows {
            if self.y - row_h < BOTTOM {
                self.new_page();
                draw_header(self);
            }
            let mut x = MARGIN_X;
            for ((c, w), cell) in columns.iter().zip(&widths).zip(row) {
                let t = fit(cell, w - 2.0 * pad, size, false);
                let tx = match c.align {
                    Align::Left => x + pad,
                    Align::Right => x + w - pad - text_width(&t, size, false),
                };
                self.text_at(tx, self.y, size, false, INK, &t);
                x += w;
            }
            self.hline(MARGIN_X, MARGIN_X + avail, self.y - row_h * 0.32, RULE, 0.3);
            self.y -= row_h;
        }
        self.y -= 3.0;
    }

    /// Horizontal bars, one per item, with the formatted value at the bar's end.
    pub fn bar_chart(&mut self, title: &str, items: &[(String, u64)], fmt: &dyn Fn(u64) -> String) {
        let title = &self.tr.s(title);
        let items: Vec<(String, u64)> = items.iter().map(|(l, v)| (self.tr.s(l), *v)).collect();
        let items = &items;
        if items.is_empty() {
            return;
        }
        let size = 8.0;
        let bar_h = 4.2;
        let gap = 2.0;
        let height = items.len() as f32 * (bar_h + gap) + 12.0;
        self.ensure(height);
        self.text_at(MARGIN_X, self.y, 9.5, true, INK, title);
        self.y -= 6.0;
        let label_w = items
            .iter()
            .map(|(l, _)| text_width(l, size, false))
            .fold(0.0f32, f32::max)
            .min(60.0)
            + 3.0;
        let value_w = items
            .iter()
            .map(|(_, v)| text_width(&fmt(*v), size, false))
            .fold(0.0f32, f32::max)
            + 3.0;
        let max = items.iter().map(|(_, v)| *v).max().unwrap_or(1).max(1);
        let bar_max = self.content_width() - label_w - value_w;
        for (label, value) in items {
            let w = (*value as f32 / max as f32) * bar_max;
            self.text_at(
                MARGIN_X,
                self.y - bar_h * 0.75,
                size,
                false,
                INK,
                &fit(label, label_w - 3.0, size, false),
            );
            self.rect(
                MARGIN_X + label_w,
                self.y - bar_h,
                w.max(0.3),
                bar_h,
                ACCENT,
            );
            self.text_at(
                MARGIN_X + label_w + w + 1.5,
                self.y - bar_h * 0.75,
                size,
                false,
                MUTED,
                &fmt(*value),
            );
            self.y -= bar_h + gap;
        }
        self.hline(MARGIN_X + label_w, MARGIN_X + label_w, self.y, RULE, 0.3);
        self.y -= 4.0;
    }

    /// A daily series as vertical bars, with an optional marker day (a policy date) drawn as
    /// a vertical line; bars from the marker on are drawn in a warning colour.
    pub fn time_bars(
        &mut self,
        title: &str,
        points: &[(i32, u64)],
        marker: Option<(i32, &str)>,
        highlight_after_marker: bool,
        fmt: &dyn Fn(u64) -> String,
    ) {
        let title = &self.tr.s(title);
        if points.is_empty() {
            return;
        }
        let height = 48.0;
        self.ensure(height + 16.0);
        self.text_at(MARGIN_X, self.y, 9.5, true, INK, title);
        self.y -= 5.0;
        let first = points
            .iter()
            .map(|p| p.0)
            .min()
            .unwrap_or(0)
            .min(marker.map(|m| m.0).unwrap_or(i32::MAX));
        let last = points
            .iter()
            .map(|p| p.0)
            .max()
            .unwrap_or(0)
            .max(marker.map(|m| m.0).unwrap_or(i32::MIN));
        let days = (last - first + 1).max(1) as f32;
        let max = points.iter().map(|p| p.1).max().unwrap_or(1).max(1);
        let axis_w = text_width(&fmt(max), 7.0, false) + 2.0;
        let x0 = MARGIN_X + axis_w;
        let w = self.content_width() - axis_w;
        let base = self.y - height;
        let slot = w / days;
        self.text_at(MARGIN_X, self.y - 2.0, 7.0, false, MUTED, &fmt(max));
        self.text_at(MARGIN_X, base, 7.0, false, MUTED, &fmt(0));
        self.hline(x0, x0 + w, base, RULE, 0.4);
        for (day, v) in points {
            let x = x0 + (day - first) as f32 * slot;
            let h = (*v as f32 / max as f32) * (height - 4.0);
            let color = match marker {
                Some((m, _)) if highlight_after_marker && *day >= m => (0.75, 0.22, 0.17),
                _ => ACCENT,
            };
            self.rect(
                x + slot * 0.1,
                base,
                (slot * 0.8).max(0.2),
                h.max(0.2),
                color,
            );
        }
        if let Some((m, label)) = marker {
            let x = x0 + (m - first) as f32 * slot;
            self.ops.push(Op::SetOutlineColor {
                col: rgb(0.75, 0.22, 0.17),
            });
            self.ops.push(Op::SetOutlineThickness { pt: Pt(0.8) });
            self.ops.push(Op::DrawLine {
                line: Line {
                    points: vec![
                        LinePoint {
                            p: Point::new(Mm(x), Mm(base)),
                            bezier: false,
                        },
                        LinePoint {
                            p: Point::new(Mm(x), Mm(base + height)),
                            bezier: false,
                        },
                    ],
                    is_closed: false,
                },
            });
            let lw = text_width(label, 7.0, true);
            let lx = (x + 1.0).min(x0 + w - lw);
            self.text_at(
                lx,
                base + height - 2.0,
                7.0,
                true,
                (0.75, 0.22, 0.17),
                label,
            );
        }
        let day_label = |d: i32| xborder_model::period::day_string(d);
        self.text_at(x0, base - 4.0, 7.0, false, MUTED, &day_label(first));
        let end = day_label(last);
        self.text_at(
            x0 + w - text_width(&end, 7.0, false),
            base - 4.0,
            7.0,
            false,
            MUTED,
            &end,
        );
        self.y = base - 9.0;
    }

    /// A matrix of values as a shaded table: darker cells carry more.
    pub fn heat_table(
        &mut self,
        title: &str,
        rows: &[String],
        cols: &[String],
        values: &[Vec<u64>],
        fmt: &dyn Fn(u64) -> String,
    ) {
        if rows.is_empty() || cols.is_empty() {
            return;
        }
        let title = &self.tr.s(title);
        let size = 7.0;
        let row_h = 6.0;
        let label_w = rows
            .iter()
            .map(|r| text_width(r, size, true))
            .fold(0.0f32, f32::max)
            .min(40.0)
            + 3.0;
        let cell_w = ((self.content_width() - label_w) / cols.len() as f32).min(30.0);
        self.ensure(row_h * (rows.len() as f32 + 2.0) + 8.0);
        self.text_at(MARGIN_X, self.y, 9.5, true, INK, title);
        self.y -= 6.0;
        for (j, c) in cols.iter().enumerate() {
            let x = MARGIN_X + label_w + j as f32 * cell_w;
            self.text_at(
                x + 1.0,
                self.y,
                size,
                true,
                INK,
                &fit(c, cell_w - 2.0, size, true),
            );
        }
        self.y -= row_h;
        let max = values.iter().flatten().copied().max().unwrap_or(1).max(1);
        for (i, r) in rows.iter().enumerate() {
            self.text_at(
                MARGIN_X,
                self.y + 1.5,
                size,
                true,
                INK,
                &fit(r, label_w - 3.0, size, true),
            );
            for j in 0..cols.len() {
                let v = values
                    .get(i)
                    .and_then(|row| row.get(j))
                    .copied()
                    .unwrap_or(0);
                let x = MARGIN_X + label_w + j as f32 * cell_w;
                let share = v as f32 / max as f32;
                let shade = (
                    1.0 - share * (1.0 - ACCENT.0),
                    1.0 - share * (1.0 - ACCENT.1),
                    1.0 - share * (1.0 - ACCENT.2),
                );
                self.rect(
                    x,
                    self.y - 1.0,
                    cell_w - 0.6,
                    row_h - 0.6,
                    if v == 0 { (0.97, 0.97, 0.98) } else { shade },
                );
                if v > 0 {
                    let color = if share > 0.5 { (1.0, 1.0, 1.0) } else { INK };
                    let t = fit(&fmt(v), cell_w - 2.0, size, false);
                    self.text_at(x + 1.0, self.y + 1.5, size, false, color, &t);
                }
            }
            self.y -= row_h;
        }
        self.y -= 4.0;
    }

    /// Large key figures side by side: (label, value).
    pub fn key_figures(&mut self, figures: &[(String, String)]) {
        if figures.is_empty() {
            return;
        }
        self.ensure(24.0);
        let w = self.content_width() / figures.len() as f32;
        for (i, (label, value)) in figures.iter().enumerate() {
            let x = MARGIN_X + i as f32 * w;
            self.rect(x, self.y - 15.0, w - 3.0, 19.0, SHADE);
            let value = fit(value, w - 7.0, 16.0, true);
            self.text_at(x + 2.5, self.y - 4.0, 16.0, true, ACCENT, &value);
            let label = self.tr.s(label);
            self.text_at(
                x + 2.5,
                self.y - 11.5,
                7.5,
                false,
                MUTED,
                &fit(&label, w - 7.0, 7.5, false),
            );
        }
        self.y -= 24.0;
    }

    /// A vertical line from `y1` to `y2` at `x`.
    pub fn vline(&mut self, x: f32, y1: f32, y2: f32, color: (f32, f32, f32), thickness: f32) {
        self.ops.push(Op::SetOutlineColor {
            col: rgb(color.0, color.1, color.2),
        });
        self.ops.push(Op::SetOutlineThickness { pt: Pt(thickness) });
        self.ops.push(Op::DrawLine {
            line: Line {
                points: vec![
                    LinePoint {
                        p: Point::new(Mm(x), Mm(y1)),
                        bezier: false,
                    },
                    LinePoint {
                        p: Point::new(Mm(x), Mm(y2)),
                        bezier: false,
                    },
                ],
                is_closed: false,
            },
        });
    }

    /// A labelled state (`HELD`, `VIOLATED`, ...) in a coloured box, then a bold title on
    /// the same line, then `lines` as wrapped, indented text below.
    pub fn badge_item(
        &mut self,
        badge: &str,
        color: (f32, f32, f32),
        title: &str,
        lines: &[String],
        size: f32,
        badge_column: f32,
    ) {
        let badge = self.tr.s(badge);
        let title = self.tr.s(title);
        let leading = size * PT_TO_MM * 1.45;
        self.ensure(leading * (2.0 + lines.len() as f32).min(6.0));
        let bw = text_width(&badge, size, true) + 3.0;
        self.rect(MARGIN_X, self.y - 1.2, bw, size * PT_TO_MM + 1.8, color);
        self.text_at(MARGIN_X + 1.5, self.y, size, true, (1.0, 1.0, 1.0), &badge);
        let tx = MARGIN_X + bw.max(badge_column) + 2.0;
        let title = fit(&title, PAGE_W - MARGIN_X - tx, size, true);
        self.text_at(tx, self.y, size, true, INK, &title);
        self.y -= leading + 0.6;
        for line in lines {
            let line = self.tr.s(line);
            for wrapped in wrap(&line, PAGE_W - MARGIN_X - tx - 3.0, size - 1.0, false) {
                self.ensure(leading);
                self.text_at(tx + 3.0, self.y, size - 1.0, false, MUTED, &wrapped);
                self.y -= leading * 0.92;
            }
        }
        self.y -= 1.2;
    }

    /// Rows by day: a filled cell for each day a row had data, a red cell for a gap day,
    /// an outline for neither; `markers` draw labelled vertical lines at their days.
    pub fn day_grid(
        &mut self,
        title: &str,
        (first, last): (i32, i32),
        rows: &[(String, Vec<DayMark>)],
        markers: &[(i32, String)],
    ) {
        if rows.is_empty() || last < first {
            return;
        }
        let title = self.tr.s(title);
        let row_h = 5.0;
        let height = rows.len() as f32 * row_h;
        self.ensure(height + 22.0);
        self.text_at(MARGIN_X, self.y, 9.5, true, INK, &title);
        self.y -= 8.0;
        let label_w = rows
            .iter()
            .map(|(n, _)| text_width(n, 7.5, false))
            .fold(10.0, f32::max)
            + 3.0;
        let x0 = MARGIN_X + label_w;
        let w = self.content_width() - label_w;
        let days = (last - first + 1) as f32;
        let slot = w / days;
        let top = self.y + row_h * 0.3;
        for (i, (name, marks)) in rows.iter().enumerate() {
            let y = self.y - i as f32 * row_h;
            let name = fit(name, label_w - 2.0, 7.5, false);
            self.text_at(MARGIN_X, y, 7.5, false, INK, &name);
            for (d, mark) in marks.iter().enumerate() {
                let x = x0 + d as f32 * slot;
                let color = match mark {
                    DayMark::Records => Some(ACCENT),
                    DayMark::Gap => Some((0.80, 0.20, 0.15)),
                    DayMark::Empty => None,
                };
                match color {
                    Some(c) => self.rect(
                        x + slot * 0.08,
                        y - 1.2,
                        (slot * 0.84).max(0.2),
                        row_h * 0.7,
                        c,
                    ),
                    None => self.rect(
                        x + slot * 0.08,
                        y - 1.2,
                        (slot * 0.84).max(0.2),
                        row_h * 0.7,
                        SHADE,
                    ),
                }
            }
        }
        let bottom = self.y - (rows.len() as f32 - 1.0) * row_h - 2.0;
        for (day, label) in markers {
            if *day < first || *day > last + 1 {
                continue;
            }
            let x = x0 + (day - first) as f32 * slot;
            self.vline(x, bottom, top + 2.5, (0.75, 0.22, 0.17), 0.9);
            let label = self.tr.s(label);
            let lw = text_width(&label, 7.0, true);
            self.text_at(
                (x + 1.0).min(x0 + w - lw),
                top + 1.0,
                7.0,
                true,
                (0.75, 0.22, 0.17),
                &label,
            );
        }
        let axis = bottom - 3.5;
        let first_label = xborder_model::period::day_string(first);
        let last_label = xborder_model::period::day_string(last);
        self.text_at(x0, axis, 7.0, false, MUTED, &first_label);
        self.text_at(
            x0 + w - text_width(&last_label, 7.0, false),
            axis,
            7.0,
            false,
            MUTED,
            &last_label,
        );
        // Legend.
        let ly = axis - 5.0;
        let mut lx = x0;
        for (label, color) in [
            ("flow records", ACCENT),
            ("gap (no flow records)", (0.80, 0.20, 0.15)),
            ("no records, outside any gap", SHADE),
        ] {
            self.rect(lx, ly - 0.8, 3.0, 3.0, color);
            let label = self.tr.s(label);
            self.text_at(lx + 4.0, ly, 7.0, false, MUTED, &label);
            lx += 4.0 + text_width(&label, 7.0, false) + 6.0;
        }
        self.y = ly - 7.0;
    }

    /// Close the last page and hand back every page's operations.
    pub fn into_pages(mut self) -> Vec<Vec<Op>> {
        let ops = std::mem::take(&mut self.ops);
        self.pages.push(ops);
        self.pages
    }

    /// Close the last page and stamp header and footer on every page.
    pub fn finish(self, header: &str) -> Vec<Vec<Op>> {
        let (fonts, tr) = (self.fonts.clone(), self.tr.clone());
        let mut pages = self.into_pages();
        stamp(&mut pages, header, &fonts, &tr);
        pages
    }
}

/// Add the running header (all pages but the cover) and "Page i of n" footer.
/// Add the running header (all pages but the cover) and the page footer, in the
/// report's language ("Page 3 of 9", "第3页，共9页").
pub fn stamp(pages: &mut [Vec<Op>], header: &str, fonts: &Fonts, tr: &Tr) {
    let total = pages.len();
    for (i, page) in pages.iter_mut().enumerate() {
        let mut s = Layout::new(fonts.clone(), tr.clone());
        if i > 0 && !header.is_empty() {
            s.text_at(
                MARGIN_X,
                PAGE_H - 11.0,
                7.5,
                false,
                MUTED,
                &fit(header, 170.0, 7.5, false),
            );
            s.hline(MARGIN_X, PAGE_W - MARGIN_X, PAGE_H - 13.0, RULE, 0.4);
        }
        let footer = match tr.lang {
            Lang::En => format!("Page {} of {}", i + 1, total),
            Lang::ZhCn => format!("第{}页，共{}页", i + 1, total),
        };
        let w = text_width(&footer, 7.5, false);
        s.text_at(PAGE_W - MARGIN_X - w, 9.0, 7.5, false, MUTED, &footer);
        page.extend(s.ops);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_and_wrap_respect_width() {
        let long = "copilot-proxy.githubusercontent.com.very.long.example.internal";
        let cut = fit(long, 30.0, 8.0, false);
        assert!(cut.ends_with("..."));
        assert!(text_width(&cut, 8.0, false) <= 30.0);
        assert_eq!(fit("short", 30.0, 8.0, false), "short");
        for line in wrap(
            "the quick brown fox jumps over the lazy dog again and again",
            25.0,
            9.0,
            false,
        ) {
            assert!(text_width(&line, 9.0, false) <= 25.0, "{line}");
        }
    }

    #[test]
    fn tables_break_pages_and_repeat_headers() {
        let mut doc = printpdf::PdfDocument::new("t");
        let fonts = register_fonts(&mut doc).unwrap();
        let mut l = Layout::new(fonts, Tr::new(Lang::En));
        let cols = [
            ColumnSpec {
                header: "Name",
                min_width: 20.0,
                align: Align::Left,
            },
            ColumnSpec {
                header: "Value",
                min_width: 15.0,
                align: Align::Right,
            },
        ];
        let rows: Vec<Vec<String>> = (0..200)
            .map(|i| vec![format!("row {i}"), i.to_string()])
            .collect();
        l.table(&cols, &rows, 8.0);
        let pages = l.finish("hdr");
        assert!(pages.len() >= 3);
        let headers = pages
            .iter()
            .filter(|p| p.iter().any(|op| matches!(op, Op::ShowText { items } if items == &vec![TextItem::Text("Name".into())])))
            .count();
        assert_eq!(headers, pages.len());
    }

    #[test]
    fn chinese_text_wraps_between_characters() {
        let text = "个人信息保护法要求个人信息处理者向境外提供个人信息前进行个人信息保护影响评估并取得单独同意";
        let lines = wrap(text, 40.0, 9.0, false);
        assert!(lines.len() > 1);
        for line in &lines {
            assert!(text_width(line, 9.0, false) <= 40.0 + 0.01, "{line}");
        }
        assert_eq!(lines.concat(), text);
        assert!(text_width("个", 10.0, false) > text_width("i", 10.0, false));
    }
}

#[cfg(test)]
mod glyph_tests {
    use super::{missing_glyphs, wrap};

    #[test]
    fn latin_words_in_a_chinese_paragraph_are_never_split() {
        let text = "站点 hangzhou 的 DNS 日志缺失，site coverage 无法判断 attribution 是否可能，请提供 DNS logs 与 SNI 记录以便复核全部外发流量";
        for width in [20.0, 28.0, 35.0, 50.0] {
            let lines = wrap(text, width, 9.0, false);
            assert_eq!(lines.concat().replace(' ', ""), text.replace(' ', ""));
            for word in text
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty())
            {
                assert!(
                    lines.iter().any(|l| l
                        .split(|c: char| !c.is_ascii_alphanumeric())
                        .any(|x| x == word)),
                    "{word} broken at {width} mm: {lines:?}"
                );
            }
        }
        // A word longer than the line still breaks (nothing else fits).
        let long = wrap("supercalifragilisticexpialidocious", 10.0, 9.0, false);
        assert!(long.len() > 1);
    }

    #[test]
    fn characters_outside_the_embedded_subset_are_named() {
        // Traditional Chinese, Polish letters and the euro sign are in the embedded fonts.
        assert_eq!(
            missing_glyphs("Hangzhou 杭州办公室 café 香港區域辦公室 Łódź 5 € ąćęłńóśźż ĄĆĘŁŃÓŚŹŻ"),
            Vec::<char>::new()
        );
        // Thai and Hangul are not: each missing character once, in order.
        assert_eq!(
            missing_glyphs("Bangkok กรุงเทพ ก"),
            vec!['ก', 'ร', 'ุ', 'ง', 'เ', 'ท', 'พ']
        );
        assert_eq!(missing_glyphs("서울 office"), vec!['서', '울']);
    }
}
