//! Report languages. English is the source text; other languages translate whole strings
//! and templates, looked up by their English form, so layout code is written once.
//!
//! A template's `{}` placeholders are filled in order. A string with no translation is
//! shown in English and recorded, so a test can require complete translations.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

/// A report language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    ZhCn,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" | "en-gb" | "en-us" => Some(Lang::En),
            "zh-cn" | "zh" | "zh-hans" => Some(Lang::ZhCn),
            _ => None,
        }
    }

    /// The BCP 47 tag, as used in file names and metadata.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }
}

/// Translates report text into one language.
#[derive(Debug, Clone)]
pub struct Tr {
    pub lang: Lang,
    misses: std::rc::Rc<RefCell<BTreeSet<String>>>,
}

fn zh_table() -> &'static HashMap<&'static str, &'static str> {
    static TABLE: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| {
        super::i18n_zh::ZH
            .iter()
            .chain(super::i18n_law_zh::LAW_ZH)
            .copied()
            .collect()
    })
}

impl Tr {
    pub fn new(lang: Lang) -> Self {
        Tr {
            lang,
            misses: Default::default(),
        }
    }

    /// Translate a whole string; anything not in the table (data, names, numbers) is kept.
    pub fn s(&self, en: &str) -> String {
        match self.lang {
            Lang::En => en.to_string(),
            Lang::ZhCn => zh_table()
                .get(en)
                .map(|z| z.to_string())
                .unwrap_or_else(|| en.to_string()),
        }
    }

    /// Translate UI text that must have a translation; a missing one is recorded.
    pub fn ui(&self, en: &str) -> String {
        if self.lang != Lang::En && !zh_table().contains_key(en) {
            self.misses.borrow_mut().insert(en.to_string());
        }
        self.s(en)
    }

    /// Fill a template's `{}` placeholders, in the report language.
    pub fn f(&self, template: &str, args: &[String]) -> String {
        let t = self.ui(template);
        let mut out = String::with_capacity(t.len() + 16);
        let mut args = args.iter();
        let mut rest = t.as_str();
        while let Some(i) = rest.find("{}") {
            out.push_str(&rest[..i]);
            out.push_str(args.next().map(String::as_str).unwrap_or(""));
            rest = &rest[i + 2..];
        }
        out.push_str(rest);
        out
    }

    /// UI strings that had no translation (empty for English).
    pub fn misses(&self) -> Vec<String> {
        self.misses.borrow().iter().cloned().collect()
    }
}

/// `format!`-like shorthand: `tf!(t, "{} flows", n)`.
#[macro_export]
macro_rules! tf {
    ($t:expr, $template:expr $(, $arg:expr)* $(,)?) => {
        $t.f($template, &[$($arg.to_string()),*])
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The second string literal after each `Reason::new(` in `src`: the template.
    fn reason_templates(src: &str) -> Vec<&str> {
        src.split("Reason::new(")
            .skip(1)
            .filter_map(|rest| rest.split('"').nth(3))
            .collect()
    }

    #[test]
    fn every_verdict_reason_and_badge_has_a_chinese_translation() {
        let zh = Tr::new(Lang::ZhCn);
        let templates = reason_templates(include_str!("../../engine/src/verdict.rs"));
        assert!(templates.len() >= 10, "{templates:?}");
        for t in templates {
            let _ = zh.ui(t);
        }
        for badge in [
            "HELD",
            "VIOLATED",
            "UNDETERMINED",
            "TRANSFERS FOUND",
            "NONE FOUND",
            "ATTRIBUTION NOT POSSIBLE",
            "held",
            "violated",
            "undetermined",
        ] {
            let _ = zh.ui(badge);
        }
        assert_eq!(zh.misses(), Vec::<String>::new());
    }

    #[test]
    fn templates_fill_in_order_and_fall_back_to_english() {
        let en = Tr::new(Lang::En);
        assert_eq!(tf!(en, "{} of {}", 1, 2), "1 of 2");
        let zh = Tr::new(Lang::ZhCn);
        assert_eq!(zh.s("Findings"), "发现");
        assert_eq!(zh.s("Hangzhou"), "Hangzhou");
        let _ = zh.ui("a string nobody translated");
        assert_eq!(zh.misses(), vec!["a string nobody translated".to_string()]);
    }
}
