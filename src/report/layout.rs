//! A small page-layout engine over printpdf's operation lists: measured text, wrapping,
//! page breaks, tables that repeat their header, and bar charts drawn as vectors.
//!
//! printpdf positions every glyph run by hand, so widths are measured with the standard
//! Helvetica metrics; a cell that would overflow is cut with an ellipsis, never allowed
//! to run into its neighbour.

use printpdf::{
    BuiltinFont, Color, Line, LinePoint, Mm, Op, PaintMode, PdfFontHandle, Point, Pt, Rect, Rgb,
    TextItem,
};

pub const PAGE_W: f32 = 210.0;
pub const PAGE_H: f32 = 297.0;
pub const MARGIN_X: f32 = 16.0;
pub const TOP: f32 = PAGE_H - 20.0;
pub const BOTTOM: f32 = 18.0;
const PT_TO_MM: f32 = 0.352_778;

/// Helvetica advance widths (1/1000 em) for ASCII 32..=126, from the standard AFM.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];
/// Helvetica-Bold advance widths for ASCII 32..=126.
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

/// Text width in millimetres.
pub fn text_width(s: &str, size: f32, bold: bool) -> f32 {
    let table = if bold { &HELVETICA_BOLD } else { &HELVETICA };
    let units: u32 = s
        .chars()
        .map(|c| {
            let i = c as u32;
            if (32..=126).contains(&i) {
                u32::from(table[(i - 32) as usize])
            } else {
                600
            }
        })
        .sum();
    units as f32 / 1000.0 * size * PT_TO_MM
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

/// Greedy word wrap to `width` mm; over-long words are cut with an ellipsis.
pub fn wrap(s: &str, width: f32, size: f32, bold: bool) -> Vec<String> {
    let mut lines = Vec::new();
    for para in s.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if text_width(&candidate, size, bold) <= width {
                line = candidate;
            } else {
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                line = fit(word, width, size, bold);
            }
        }
        lines.push(line);
    }
    lines
}

fn rgb(r: f32, g: f32, b: f32) -> Color {
    Color::Rgb(Rgb::new(r, g, b, None))
}

pub const INK: (f32, f32, f32) = (0.12, 0.12, 0.14);
pub const MUTED: (f32, f32, f32) = (0.40, 0.40, 0.45);
pub const ACCENT: (f32, f32, f32) = (0.13, 0.33, 0.60);
pub const RULE: (f32, f32, f32) = (0.78, 0.80, 0.84);
pub const SHADE: (f32, f32, f32) = (0.93, 0.94, 0.96);

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

/// Pages under construction.
pub struct Layout {
    pages: Vec<Vec<Op>>,
    ops: Vec<Op>,
    /// Current baseline position, mm from the bottom of the page.
    pub y: f32,
    /// Section titles with the page they start on, for the contents list.
    pub sections: Vec<(String, usize)>,
}

impl Default for Layout {
    fn default() -> Self {
        Self::new()
    }
}

impl Layout {
    pub fn new() -> Self {
        Layout {
            pages: Vec::new(),
            ops: Vec::new(),
            y: TOP,
            sections: Vec::new(),
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
        let font = if bold {
            BuiltinFont::HelveticaBold
        } else {
            BuiltinFont::Helvetica
        };
        self.ops.push(Op::SetFillColor {
            col: rgb(color.0, color.1, color.2),
        });
        self.ops.push(Op::StartTextSection);
        self.ops.push(Op::SetFont {
            font: PdfFontHandle::Builtin(font),
            size: Pt(size),
        });
        self.ops.push(Op::SetTextCursor {
            pos: Point::new(Mm(x), Mm(y)),
        });
        self.ops.push(Op::ShowText {
            items: vec![TextItem::Text(s.to_string())],
        });
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
        self.ensure(24.0);
        self.y -= 4.0;
        self.sections.push((title.to_string(), self.page_number()));
        self.text_at(MARGIN_X, self.y, 15.0, true, ACCENT, title);
        self.y -= 3.0;
        self.hline(MARGIN_X, PAGE_W - MARGIN_X, self.y, ACCENT, 0.8);
        self.y -= 7.0;
    }

    pub fn subheading(&mut self, title: &str) {
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
        let pad = 1.6;
        let avail = self.content_width();
        let mut widths: Vec<f32> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let content = rows
                    .iter()
                    .map(|r| text_width(r.get(i).map(String::as_str).unwrap_or(""), size, false))
                    .fold(text_width(c.header, size, true), f32::max);
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
            for (c, w) in columns.iter().zip(&widths) {
                let t = fit(c.header, w - 2.0 * pad, size, true);
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
        fmt: &dyn Fn(u64) -> String,
    ) {
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
                Some((m, _)) if *day >= m => (0.75, 0.22, 0.17),
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
        let day_label = |d: i32| crate::period::day_string(d);
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

    /// Close the last page and hand back every page's operations.
    pub fn into_pages(mut self) -> Vec<Vec<Op>> {
        let ops = std::mem::take(&mut self.ops);
        self.pages.push(ops);
        self.pages
    }

    /// Close the last page and stamp header and footer on every page.
    pub fn finish(self, header: &str) -> Vec<Vec<Op>> {
        let mut pages = self.into_pages();
        stamp(&mut pages, header);
        pages
    }
}

/// Add the running header (all pages but the cover) and "Page i of n" footer.
pub fn stamp(pages: &mut [Vec<Op>], header: &str) {
    let total = pages.len();
    for (i, page) in pages.iter_mut().enumerate() {
        let mut s = Layout::new();
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
        let footer = format!("Page {} of {}", i + 1, total);
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
        let mut l = Layout::new();
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
}
