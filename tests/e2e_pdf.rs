//! report.pdf as a reader meets it: every character drawn with a real glyph, the Chinese
//! report free of English fixed text, and bookmarks and contents links that lead to the
//! sections.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{root, xborder};
use lopdf::{Document, Object, ObjectId};

/// The verdict fixture with two sites renamed; runs in en and zh-CN. Output dir, stderr.
fn run_renamed(out: &Path, violator: &str, stopped: &str) -> (PathBuf, String) {
    let fixtures = root().join("tests/fixtures/verdicts");
    let sites = std::fs::read_to_string(fixtures.join("sites.toml"))
        .unwrap()
        .replace("name = \"violator\"", &format!("name = \"{violator}\""))
        .replace("name = \"stopped\"", &format!("name = \"{stopped}\""));
    let sites_path = out.join("sites.toml");
    std::fs::write(&sites_path, sites).unwrap();
    let report = out.join("report");
    let o = xborder()
        .arg("analyze")
        .arg(fixtures.join("logs"))
        .arg("--sites")
        .arg(&sites_path)
        .arg("--policy")
        .arg(fixtures.join("policy.toml"))
        .args([
            "--from",
            "2026-07-06",
            "--to",
            "2026-07-16",
            "--lang",
            "en,zh-CN",
        ])
        .arg("--out")
        .arg(&report)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{stderr}");
    (report, stderr)
}

/// A page's /Resources /Font entries: resource name to font dictionary id.
fn page_fonts(doc: &Document, page: ObjectId) -> BTreeMap<Vec<u8>, ObjectId> {
    let mut out = BTreeMap::new();
    let dict = doc.get_dictionary(page).unwrap();
    let resources = match dict.get(b"Resources").unwrap() {
        Object::Reference(id) => doc.get_dictionary(*id).unwrap(),
        Object::Dictionary(d) => d,
        other => panic!("resources: {other:?}"),
    };
    let fonts = match resources.get(b"Font").unwrap() {
        Object::Reference(id) => doc.get_dictionary(*id).unwrap(),
        Object::Dictionary(d) => d,
        other => panic!("fonts: {other:?}"),
    };
    for (name, font) in fonts.iter() {
        out.insert(name.clone(), font.as_reference().unwrap());
    }
    out
}

/// Every glyph id shown on every page, with the base font it was shown in. The report's
/// fonts are Type0 with Identity-H, so each glyph is two bytes of a shown string.
fn shown_glyphs(path: &Path) -> Vec<(String, u16)> {
    let doc = Document::load(path).unwrap();
    let mut out = Vec::new();
    for (_, page) in doc.get_pages() {
        let fonts = page_fonts(&doc, page);
        let content = doc.get_and_decode_page_content(page).unwrap();
        let mut font = String::new();
        for op in content.operations {
            match op.operator.as_str() {
                "Tf" => {
                    let name = op.operands[0].as_name().unwrap();
                    let dict = doc.get_dictionary(fonts[name]).unwrap();
                    font =
                        String::from_utf8_lossy(dict.get(b"BaseFont").unwrap().as_name().unwrap())
                            .into_owned();
                    assert_eq!(dict.get(b"Subtype").unwrap().as_name().unwrap(), b"Type0");
                }
                "Tj" | "TJ" | "'" | "\"" => {
                    let mut strings = Vec::new();
                    for operand in &op.operands {
                        match operand {
                            Object::String(s, _) => strings.push(s.clone()),
                            Object::Array(items) => {
                                for i in items {
                                    if let Object::String(s, _) = i {
                                        strings.push(s.clone());
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                    for s in strings {
                        assert_eq!(s.len() % 2, 0);
                        for pair in s.chunks(2) {
                            out.push((font.clone(), u16::from_be_bytes([pair[0], pair[1]])));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// The text of one page (1-based) as pdftotext-free extraction through lopdf.
fn page_text(doc: &Document, page: u32) -> String {
    doc.extract_text(&[page]).unwrap()
}

#[test]
fn traditional_chinese_polish_and_euro_are_drawn_with_real_glyphs() {
    let dir = tempfile::tempdir().unwrap();
    let hk = "香港區域辦公室";
    let pl = "Łódź ąćęłńóśźż ĄĆĘŁŃÓŚŹŻ €";
    let (report, stderr) = run_renamed(dir.path(), hk, pl);
    assert!(!stderr.contains("no glyph"), "{stderr}");
    for pdf in ["report.pdf", "report.zh-CN.pdf"] {
        let path = report.join(pdf);
        let glyphs = shown_glyphs(&path);
        assert!(glyphs.len() > 1000, "{pdf}: {}", glyphs.len());
        let notdef: Vec<_> = glyphs.iter().filter(|(_, g)| *g == 0).collect();
        assert!(notdef.is_empty(), "{pdf}: .notdef shown: {notdef:?}");
        // Each face draws what it is for: Traditional-only hanzi come from the TC subset,
        // Polish letters from the Latin font.
        let fonts: std::collections::BTreeSet<String> = glyphs
            .iter()
            .map(|(f, _)| f.split('+').next_back().unwrap().to_string())
            .collect();
        assert!(fonts.contains("NotoSansCJKtc-Regular"), "{fonts:?}");
        assert!(fonts.contains("NotoSans-Regular"), "{fonts:?}");
        let text = common::pdf_text(&path);
        assert!(text.contains(hk), "{pdf}");
        assert!(text.contains(pl), "{pdf}");
    }
}

#[test]
fn text_no_embedded_font_can_show_is_warned_about_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let (_, stderr) = run_renamed(dir.path(), "Bangkok กรุงเทพ", "stopped");
    assert!(
        stderr.contains("warning: report.pdf: the report fonts have no glyph for 'ก' (U+0E01), 'ร' (U+0E23), 'ุ' (U+0E38), 'ง' (U+0E07), 'เ' (U+0E40), 'ท' (U+0E17), 'พ' (U+0E1E) in \"Bangkok กรุงเทพ\""),
        "{stderr}"
    );
}

/// English fixed strings of the report code: each string literal of the PDF writers that
/// reads as English text (a capital, then lower-case words), and each template's text
/// before its first placeholder.
fn english_fixed_strings() -> Vec<String> {
    let mut out = Vec::new();
    let src_dir = root().join("crates/report/src");
    // Every section file of the PDF, and the layout's own labels.
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(src_dir.join("pdf"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        // Bookmarks and links: PDF dictionary names, no report text.
        .filter(|p| !p.ends_with("nav.rs"))
        .collect();
    files.sort();
    assert!(files.len() > 10, "{files:?}");
    files.push(src_dir.join("layout.rs"));
    for file in files {
        let src = std::fs::read_to_string(file).unwrap();
        // Only the code, not the tests below it.
        let code = src.split("#[cfg(test)]").next().unwrap();
        for (i, piece) in code.split('"').enumerate() {
            if i % 2 == 0 || piece.contains('\\') {
                continue;
            }
            let text = piece.split("{}").next().unwrap().trim();
            let words: Vec<&str> = text.split_whitespace().collect();
            let starts_capital = text.chars().next().is_some_and(|c| c.is_ascii_uppercase());
            let english = starts_capital
                && text.chars().filter(|c| c.is_ascii_lowercase()).count() >= 3
                && text.chars().all(|c| c.is_ascii() && !"_/.=<>".contains(c))
                && (words.len() >= 2 || text.len() >= 5);
            if english {
                out.push(text.to_string());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn the_chinese_report_has_no_english_fixed_text() {
    let dir = tempfile::tempdir().unwrap();
    let (report, _) = run_renamed(dir.path(), "violator", "stopped");
    let zh = common::pdf_text(&report.join("report.zh-CN.pdf"));
    let en = common::pdf_text(&report.join("report.pdf"));
    let fixed = english_fixed_strings();
    assert!(fixed.len() > 100, "{}", fixed.len());
    // The labels the issue named, and the legal headings, are among them.
    for label in [
        "Citation",
        "Obligation",
        "What an auditor should ask for",
        "Regime rules",
        "Contents",
    ] {
        assert!(fixed.iter().any(|f| f == label), "{label}");
    }
    // Data may be English (vendor and product names, catalog text of non-PRC regimes),
    // so a fixed string counts as left in English only when a whole line of the Chinese
    // report starts with it, as it does in the English report.
    let starts_a_line = |text: &str, s: &str| text.lines().any(|l| l.trim_start().starts_with(s));
    let left: Vec<&String> = fixed
        .iter()
        .filter(|s| starts_a_line(&zh, s) && starts_a_line(&en, s))
        .collect();
    assert!(
        left.is_empty(),
        "English fixed text in report.zh-CN.pdf: {left:?}"
    );
    for s in ["all records", "Citation", "Page 1 of"] {
        assert!(!zh.contains(s), "{s}");
    }
    // PRC law by its official titles, its legal text in Chinese.
    for title in [
        "《中华人民共和国个人信息保护法》",
        "《中华人民共和国数据安全法》",
        "《数据出境安全评估办法》",
        "《促进和规范数据跨境流动规定》",
        "《个人信息出境标准合同办法》",
        "《中华人民共和国网络安全法》",
    ] {
        assert!(zh.contains(title), "{title}");
    }
    assert!(
        !zh.contains("PIPL Art. 36"),
        "the PIPL citation stayed English"
    );
    assert!(
        !zh.contains("This rule bites only"),
        "the DSL obligation stayed English"
    );
    // The English report keeps English.
    assert!(en.contains("PIPL Art. 36") && en.contains("Citation"));
}

/// An outline entry's or link's destination page, as a 1-based page number.
fn dest_page(dest: &Object, numbers: &BTreeMap<ObjectId, u32>) -> u32 {
    let array = dest.as_array().unwrap();
    numbers[&array[0].as_reference().unwrap()]
}

/// A PDF text string (UTF-16BE with a byte-order mark, or PDFDocEncoding ASCII).
fn pdf_string(o: &Object) -> String {
    let bytes = o.as_str().unwrap();
    match bytes.strip_prefix(&[0xFE, 0xFF]) {
        Some(utf16) => String::from_utf16(
            &utf16
                .chunks(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]))
                .collect::<Vec<_>>(),
        )
        .unwrap(),
        None => String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

#[test]
fn bookmarks_and_the_contents_page_lead_to_each_section() {
    let dir = tempfile::tempdir().unwrap();
    let (report, _) = run_renamed(dir.path(), "violator", "stopped");
    for (pdf, contents_title, sections) in [
        (
            "report.pdf",
            "Contents",
            [
                "Executive summary",
                "Findings",
                "Findings by regime",
                "Methodology and limitations",
                "Provenance",
            ],
        ),
        (
            "report.zh-CN.pdf",
            "目录",
            [
                "执行摘要",
                "发现",
                "按法律制度分列的发现",
                "方法与局限",
                "来源证明",
            ],
        ),
    ] {
        let doc = Document::load(report.join(pdf)).unwrap();
        let pages = doc.get_pages();
        let numbers: BTreeMap<ObjectId, u32> = pages.iter().map(|(n, id)| (*id, *n)).collect();
        let catalog = doc.catalog().unwrap();
        assert_eq!(
            catalog.get(b"PageMode").unwrap().as_name().unwrap(),
            b"UseOutlines"
        );
        let outlines = doc
            .get_dictionary(catalog.get(b"Outlines").unwrap().as_reference().unwrap())
            .unwrap();
        // Walk the outline in order.
        let mut entries = Vec::new();
        let mut next = Some(outlines.get(b"First").unwrap().as_reference().unwrap());
        while let Some(id) = next {
            let item = doc.get_dictionary(id).unwrap();
            entries.push((
                pdf_string(item.get(b"Title").unwrap()),
                dest_page(item.get(b"Dest").unwrap(), &numbers),
            ));
            next = item.get(b"Next").ok().map(|n| n.as_reference().unwrap());
        }
        assert_eq!(
            outlines.get(b"Count").unwrap().as_i64().unwrap(),
            entries.len() as i64
        );
        let titles: Vec<&str> = entries.iter().map(|(t, _)| t.as_str()).collect();
        for s in sections {
            assert!(titles.contains(&s), "{pdf}: {s} not in {titles:?}");
        }
        // One entry per section heading, in page order, each landing on the page whose
        // text starts with that heading.
        assert!(entries.windows(2).all(|w| w[0].1 <= w[1].1), "{entries:?}");
        for (title, page) in &entries {
            assert!(
                page_text(&doc, *page).contains(title.as_str()),
                "{pdf}: {title} is not on page {page}"
            );
        }
        // The contents page (page 2) lists them all, and each line links to its page.
        assert!(page_text(&doc, 2).contains(contents_title));
        let contents = doc.get_dictionary(pages[&2]).unwrap();
        let links: Vec<(f32, u32)> = contents
            .get(b"Annots")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|a| doc.get_dictionary(a.as_reference().unwrap()).unwrap())
            .filter(|a| a.get(b"Subtype").unwrap().as_name().unwrap() == b"Link")
            .map(|a| {
                assert_eq!(a.get(b"F").unwrap().as_i64().unwrap(), 4, "Print flag");
                let rect = a.get(b"Rect").unwrap().as_array().unwrap();
                (
                    rect[1].as_float().unwrap(),
                    dest_page(a.get(b"Dest").unwrap(), &numbers),
                )
            })
            .collect();
        assert_eq!(links.len(), entries.len(), "{pdf}");
        // Top to bottom, the links follow the outline.
        assert!(links.windows(2).all(|w| w[0].0 > w[1].0), "{links:?}");
        let link_pages: Vec<u32> = links.iter().map(|(_, p)| *p).collect();
        let outline_pages: Vec<u32> = entries.iter().map(|(_, p)| *p).collect();
        assert_eq!(link_pages, outline_pages, "{pdf}");
        // No other page has links.
        for (n, id) in &pages {
            if *n != 2 {
                let annots = doc.get_dictionary(*id).unwrap().get(b"Annots");
                assert!(
                    annots.map_or(true, |a| a.as_array().unwrap().is_empty()),
                    "page {n}"
                );
            }
        }
    }
}
