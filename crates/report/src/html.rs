//! report.html: the analyst's interactive report, one self-contained file.
//!
//! It drills from regime to site, vendor and finding, down to the first evidence rows of
//! each finding, beside the verdicts, the coverage timeline, daily egress and destination
//! countries. Every figure comes from [`ReportModel`], as in the PDF. Nothing is fetched:
//! style and script are inline and a Content-Security-Policy forbids any request, so the
//! file opens the same on an air-gapped laptop. All text from logs and catalogs is
//! escaped, so a hostile host name cannot inject markup.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use super::i18n::{Lang, Tr};
use super::pdf::{country_name, regime_name};
use super::{group_digits, human_bytes, RunContext};
use crate::model::{shown_regimes, DayMark, ReportModel};
use crate::tf;
use xborder_engine::run::{Analysis, AnalyzeOptions, Catalogs};
use xborder_engine::verdict::{RegimeState, State};
use xborder_model::error::{Error, Result};

/// Evidence rows shown per finding; evidence.csv holds them all.
pub const EVIDENCE_ROWS_SHOWN: usize = 20;

/// Columns of evidence.csv shown in the report, in order.
pub(crate) const EVIDENCE_SHOWN: &[&str] = &[
    "ts",
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "proto",
    "bytes_out",
    "hostname",
    "attribution",
    "input_file",
    "input_line",
    "attribution_file",
    "attribution_line",
];

/// The first rows of each finding in evidence.csv, and how many rows each has.
#[derive(Debug, Default, PartialEq)]
pub struct EvidenceSample {
    /// finding id → (first rows, in [`EVIDENCE_SHOWN`] order; total rows).
    pub by_finding: HashMap<String, (Vec<Vec<String>>, u64)>,
    /// The evidence files the run wrote beside the report, evidence.csv first when it was
    /// written; empty when the run wrote none.
    pub files: Vec<&'static str>,
}

impl EvidenceSample {
    /// Read evidence.csv once, keeping the first `per_finding` rows of every finding.
    pub fn read(path: &Path, per_finding: usize) -> Result<Self> {
        let mut reader = csv::Reader::from_path(path).map_err(|e| Error::Report {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let headers = reader
            .headers()
            .map_err(|e| Error::Report {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?
            .clone();
        let column = |name: &str| headers.iter().position(|h| h == name);
        let finding = column("finding_id").ok_or_else(|| Error::Report {
            path: path.to_path_buf(),
            message: "no finding_id column".into(),
        })?;
        let shown: Vec<Option<usize>> = EVIDENCE_SHOWN.iter().map(|c| column(c)).collect();
        let mut by_finding: HashMap<String, (Vec<Vec<String>>, u64)> = HashMap::new();
        let mut record = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    return Err(Error::Report {
                        path: path.to_path_buf(),
                        message: e.to_string(),
                    })
                }
            }
            let id = record.get(finding).unwrap_or_default();
            let entry = match by_finding.get_mut(id) {
                Some(e) => e,
                None => by_finding.entry(id.to_string()).or_default(),
            };
            entry.1 += 1;
            if entry.0.len() < per_finding {
                entry.0.push(
                    shown
                        .iter()
                        .map(|i| {
                            i.and_then(|i| record.get(i))
                                .unwrap_or_default()
                                .to_string()
                        })
                        .collect(),
                );
            }
        }
        Ok(EvidenceSample {
            by_finding,
            files: vec!["evidence.csv"],
        })
    }
}

/// Escape text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A date (UTC) of days since 1970-01-01.
fn day_text(day: i32) -> String {
    chrono::DateTime::from_timestamp(i64::from(day) * 86_400, 0)
        .map(|d| d.date_naive().to_string())
        .unwrap_or_default()
}

const STYLE: &str = r#"
:root{--ink:#1d2733;--muted:#5b6675;--line:#d9dee5;--accent:#1f5f8b;--red:#bf3829;--green:#1a7333;--amber:#c77805;--purple:#5c4099;--grey:#737380}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI","Noto Sans","Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;color:var(--ink);margin:0;background:#f6f7f9}
header{background:var(--accent);color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;opacity:.9}
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid var(--line);padding:8px 28px;z-index:2}
nav a{margin-right:16px;color:var(--accent);text-decoration:none}
main{padding:8px 28px 40px;max-width:1400px}
section{background:#fff;border:1px solid var(--line);border-radius:6px;padding:12px 18px;margin:16px 0}
h2{font-size:18px;margin:4px 0 10px;color:var(--accent)}
.figures{display:flex;gap:12px;flex-wrap:wrap}
.figure{flex:1 1 180px;border:1px solid var(--line);border-radius:6px;padding:10px 14px}
.figure .v{font-size:24px;font-weight:600}
.figure .k{color:var(--muted)}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;color:#fff;border-radius:3px;padding:1px 6px;font-size:12px;font-weight:600;white-space:nowrap}
.held,.none_found{background:var(--green)}.violated{background:var(--red)}.undetermined{background:var(--amber)}
.transfers_found{background:var(--purple)}.attribution_not_possible{background:var(--grey)}
ul.reasons{margin:0;padding-left:18px}
details{margin:4px 0 4px 14px}
details>summary{cursor:pointer;padding:3px 0}
details.regime{margin-left:0;border-top:1px solid var(--line);padding-top:4px}
details.regime>summary{font-weight:600;font-size:15px}
.muted{color:var(--muted)}
.evidence td{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;white-space:nowrap}
.scroll{overflow-x:auto}
.timeline td{padding:0;border:0;height:14px}
.timeline td.s{padding-right:8px;white-space:nowrap;font-size:12px}
.timeline td.d{background:#e7eaee;border-right:1px solid #fff}
.timeline td.r{background:#3f7fb0}.timeline td.g{background:var(--red)}
.timeline td.ban{box-shadow:inset 2px 0 0 #000}
.timeline th{font-weight:400;font-size:11px;background:none;padding:0 0 2px;white-space:nowrap;border:0}
.legend span{display:inline-block;width:12px;height:12px;vertical-align:middle;margin:0 4px 0 12px}
.bar{display:flex;align-items:center;gap:8px;margin:3px 0}
.bar .label{width:260px;flex:none;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.bar .fill{height:14px;background:var(--accent);border-radius:2px}
.heat td.n{min-width:90px}
#console-errors{color:var(--red);white-space:pre-wrap}
input[type=search]{padding:4px 8px;width:280px;border:1px solid var(--line);border-radius:4px}
button{padding:3px 10px;margin-left:6px}
"#;

/// Records script errors in the page itself, so a headless test can assert there were none.
const ERROR_HOOK: &str = r#"
(function(){var out=document.getElementById('console-errors');
function note(m){out.hidden=false;out.textContent+=m+'\n';document.body.setAttribute('data-errors','yes');}
window.onerror=function(msg,src,line){note('error: '+msg+' at line '+line);};
var ce=console.error;console.error=function(){note('console.error: '+Array.prototype.join.call(arguments,' '));if(ce)ce.apply(console,arguments);};})();
"#;

/// Expand/collapse and the filter of the drill-down; marks the page ready when it has run.
const SCRIPT: &str = r#"
(function(){
var tree=document.getElementById('drill');
function all(open){tree.querySelectorAll('details').forEach(function(d){d.open=open;});}
document.getElementById('expand').addEventListener('click',function(){all(true);});
document.getElementById('collapse').addEventListener('click',function(){all(false);});
var box=document.getElementById('filter');
box.addEventListener('input',function(){
  var q=box.value.trim().toLowerCase();
  tree.querySelectorAll('details.vendor').forEach(function(d){
    var hit=!q||d.getAttribute('data-key').toLowerCase().indexOf(q)>=0;
    d.style.display=hit?'':'none';
    if(q&&hit){var p=d.parentElement;while(p&&p!==tree){if(p.tagName==='DETAILS')p.open=true;p=p.parentElement;}}
  });
});
document.body.setAttribute('data-ready','yes');
})();
"#;

struct Page<'a> {
    t: &'a Tr,
    catalogs: &'a Catalogs,
    a: &'a Analysis,
    model: &'a ReportModel,
    evidence: &'a EvidenceSample,
    out: String,
}

/// Render report.html in one language.
pub fn render(
    opts: &AnalyzeOptions,
    catalogs: &Catalogs,
    a: &Analysis,
    ctx: &RunContext,
    model: &ReportModel,
    evidence: &EvidenceSample,
    lang: Lang,
) -> String {
    let t = Tr::new(lang);
    let mut p = Page {
        t: &t,
        catalogs,
        a,
        model,
        evidence,
        out: String::with_capacity(64 * 1024),
    };
    let title = t.ui("Cross-border egress to AI vendors: audit report");
    let id = &model.run_id;
    let _ = writeln!(
        p.out,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"xborder {}\">\n<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n\
         <pre id=\"console-errors\" hidden></pre>\n<script>{}</script>",
        lang.tag(),
        esc(&ctx.tool_version),
        esc(&title),
        STYLE,
        ERROR_HOOK
    );
    let _ = writeln!(
        p.out,
        "<header><h1>{}</h1><p>{} &middot; {} <code>{}</code> &middot; {}</p></header>",
        esc(&title),
        esc(&tf!(
            t,
            "Period: {}",
            super::pdf::period_label(&t, &opts.period.label)
        )),
        esc(&t.ui("Run id")),
        esc(id),
        esc(&tf!(
            t,
            "{} by xborder {}",
            ctx.generated_at,
            ctx.tool_version
        )),
    );
    p.nav();
    p.out.push_str("<main>\n");
    p.key_figures();
    p.verdicts();
    p.drill_down();
    p.coverage();
    p.daily();
    p.countries();
    p.heat();
    p.files();
    p.out.push_str("</main>\n");
    let _ = writeln!(p.out, "<script>{SCRIPT}</script>\n</body>\n</html>");
    p.out
}

impl Page<'_> {
    fn nav(&mut self) {
        let t = self.t;
        self.out.push_str("<nav>");
        for (anchor, label) in [
            ("figures", "Key figures"),
            ("verdicts", "Verdicts"),
            ("findings", "Findings by regime"),
            ("coverage", "Log coverage"),
            ("daily", "Daily AI-vendor egress"),
            ("countries", "Destination countries"),
            ("heat", "Site x vendor"),
            ("files", "Files"),
        ] {
            let _ = write!(self.out, "<a href=\"#{anchor}\">{}</a>", esc(&t.ui(label)));
        }
        self.out.push_str("</nav>\n");
    }

    fn section(&mut self, id: &str, heading: &str) {
        let _ = writeln!(
            self.out,
            "<section id=\"{id}\"><h2>{}</h2>",
            esc(&self.t.ui(heading))
        );
    }

    fn key_figures(&mut self) {
        let t = self.t;
        let m = &self.model.totals;
        self.section("figures", "Key figures");
        self.out.push_str("<div class=\"figures\">");
        for (key, raw, shown, label) in [
            (
                "cross-border-flows",
                m.cross_border.flows,
                group_digits(m.cross_border.flows),
                "Cross-border AI flows",
            ),
            (
                "cross-border-bytes",
                m.cross_border.bytes_out,
                human_bytes(m.cross_border.bytes_out),
                "Cross-border bytes out",
            ),
            (
                "vendors",
                m.vendors as u64,
                m.vendors.to_string(),
                "AI vendors reached",
            ),
            ("sites", m.sites as u64, m.sites.to_string(), "Sites"),
        ] {
            let _ = write!(
                self.out,
                "<div class=\"figure\" data-figure=\"{key}\" data-value=\"{raw}\"><div class=\"v\">{}</div><div class=\"k\">{}</div></div>",
                esc(&shown),
                esc(&t.ui(label))
            );
        }
        self.out.push_str("</div></section>\n");
    }

    fn verdicts(&mut self) {
        let t = self.t;
        self.section("verdicts", "Verdicts");
        if self.a.observed.is_none() {
            let _ = write!(
                self.out,
                "<p class=\"badge violated\">{}</p>",
                esc(&t.ui("No flow record was accepted in the period: nothing could be judged."))
            );
        }
        let v = &self.a.verdicts;
        if self.catalogs.policy.is_none() {
            let _ = write!(
                self.out,
                "<p class=\"muted\">{}</p>",
                esc(&t.ui("No policy was given (--policy): there are no rule verdicts, only regime verdicts."))
            );
        }
        let _ = writeln!(
            self.out,
            "<table class=\"verdicts\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            esc(&t.ui("State")),
            esc(&t.ui("Verdict")),
            esc(&t.ui("Site")),
            esc(&t.ui("Reasons")),
        );
        for p in &v.policy {
            let (class, badge) = match p.state {
                State::Held => ("held", "HELD"),
                State::Violated => ("violated", "VIOLATED"),
                State::Undetermined => ("undetermined", "UNDETERMINED"),
            };
            let mut reasons: Vec<String> =
                p.reasons.iter().map(|r| t.f(r.template, &r.args)).collect();
            reasons.insert(
                0,
                tf!(t, "in effect from {} ({})", p.in_effect_from, p.timezone),
            );
            self.verdict_row(
                "policy",
                class,
                badge,
                &tf!(t, "Rule {} at {}", p.rule_id, p.site),
                &p.site,
                &reasons,
            );
        }
        for r in &v.regimes {
            let (class, badge) = match r.state {
                RegimeState::TransfersFound => ("transfers_found", "TRANSFERS FOUND"),
                RegimeState::NoneFound => ("none_found", "NONE FOUND"),
                RegimeState::Undetermined => ("undetermined", "UNDETERMINED"),
                RegimeState::AttributionNotPossible => {
                    ("attribution_not_possible", "ATTRIBUTION NOT POSSIBLE")
                }
            };
            let title = match r.state {
                RegimeState::TransfersFound => tf!(
                    t,
                    "{} at {}: {} cross-border AI flows, {} out",
                    r.regime,
                    r.site,
                    group_digits(r.flows),
                    human_bytes(r.bytes_out)
                ),
                _ => tf!(t, "{} at {}", r.regime, r.site),
            };
            let reasons: Vec<String> = r.reasons.iter().map(|x| t.f(x.template, &x.args)).collect();
            self.verdict_row("regime", class, badge, &title, &r.site, &reasons);
        }
        self.out.push_str("</tbody></table></section>\n");
    }

    fn verdict_row(
        &mut self,
        kind: &str,
        class: &str,
        badge: &str,
        title: &str,
        site: &str,
        reasons: &[String],
    ) {
        let _ = write!(
            self.out,
            "<tr data-verdict=\"{kind}\" data-state=\"{class}\"><td><span class=\"badge {class}\">{}</span></td><td>{}</td><td>{}</td><td><ul class=\"reasons\">",
            esc(&self.t.ui(badge)),
            esc(title),
            esc(site)
        );
        for r in reasons {
            let _ = write!(self.out, "<li>{}</li>", esc(r));
        }
        self.out.push_str("</ul></td></tr>\n");
    }

    fn drill_down(&mut self) {
        let t = self.t;
        self.section("findings", "Findings by regime");
        let _ = writeln!(
            self.out,
            "<p><input type=\"search\" id=\"filter\" placeholder=\"{}\"><button id=\"expand\" type=\"button\">{}</button><button id=\"collapse\" type=\"button\">{}</button></p>\n<div id=\"drill\">",
            esc(&t.ui("Filter by site, vendor or product")),
            esc(&t.ui("Expand all")),
            esc(&t.ui("Collapse all")),
        );
        let regimes = shown_regimes(self.catalogs);
        for regime in regimes {
            let Some(node) = self.model.regime(&regime.id) else {
                continue;
            };
            let _ = writeln!(
                self.out,
                "<details class=\"regime\" data-regime=\"{}\" data-flows=\"{}\" data-bytes=\"{}\"><summary>{} &ndash; {} &middot; {}</summary>",
                esc(&node.id),
                node.figures.flows,
                node.figures.bytes_out,
                esc(&node.id),
                esc(&regime_name(t, regime)),
                esc(&tf!(
                    t,
                    "{} flows, {} out, {} site(s)",
                    group_digits(node.figures.flows),
                    human_bytes(node.figures.bytes_out),
                    node.sites.len()
                )),
            );
            let _ = writeln!(
                self.out,
                "<p class=\"muted\">{}: {}</p><details class=\"obligation\"><summary>{}</summary><p class=\"muted\">{}</p></details>",
                esc(&t.ui("Citation")),
                esc(&t.s(&regime.citation)),
                esc(&t.ui("Obligation")),
                esc(&t.s(&regime.obligation))
            );
            if node.sites.is_empty() {
                let _ = write!(
                    self.out,
                    "<p>{}</p>",
                    esc(&t.ui("No findings under this regime."))
                );
            }
            for site in &node.sites {
                let _ = writeln!(
                    self.out,
                    "<details class=\"site\" data-site=\"{}\"><summary>{} &middot; {}</summary>",
                    esc(&site.site),
                    esc(&site.site),
                    esc(&tf!(
                        t,
                        "{} flows, {} out, {} vendor(s)",
                        group_digits(site.figures.flows),
                        human_bytes(site.figures.bytes_out),
                        site.vendors.len()
                    )),
                );
                for vendor in &site.vendors {
                    let key = format!(
                        "{} {} {}",
                        site.site,
                        vendor.vendor,
                        vendor.products.join(" ")
                    );
                    let _ = writeln!(
                        self.out,
                        "<details class=\"vendor\" data-key=\"{}\"><summary>{} &middot; {}</summary>",
                        esc(&key),
                        esc(&vendor.vendor),
                        esc(&tf!(
                            t,
                            "{} flows, {} out",
                            group_digits(vendor.figures.flows),
                            human_bytes(vendor.figures.bytes_out)
                        )),
                    );
                    for &i in &vendor.findings {
                        self.finding(i);
                    }
                    self.out.push_str("</details>\n");
                }
                self.out.push_str("</details>\n");
            }
            self.out.push_str("</details>\n");
        }
        self.out.push_str("</div></section>\n");
    }

    fn finding(&mut self, i: usize) {
        let t = self.t;
        let f = &self.a.tables.findings[i];
        let _ = writeln!(
            self.out,
            "<details class=\"finding\" data-finding=\"{}\"><summary>{} &rarr; {} ({}) &middot; {} &middot; {}</summary>",
            esc(&f.finding_id),
            esc(&f.product),
            esc(&f.destination_country),
            esc(&country_name(t, self.catalogs, &f.destination_country)),
            esc(&f.attribution),
            esc(&tf!(
                t,
                "{} flows, {} out",
                group_digits(f.flows),
                human_bytes(f.bytes_out)
            )),
        );
        let _ = write!(self.out, "<table class=\"kv\"><tbody>");
        for (k, v) in [
            ("Finding id", f.finding_id.clone()),
            ("Rule", f.rule_id.clone()),
            ("Category", f.category.clone()),
            ("Method", f.attribution.clone()),
            ("Transfer basis", f.transfer_basis.clone()),
            ("Flows", group_digits(f.flows)),
            ("Bytes out", human_bytes(f.bytes_out)),
            ("Bytes in", human_bytes(f.bytes_in)),
            ("Distinct sources", group_digits(f.distinct_sources)),
            ("First seen", f.first_seen.clone()),
            ("Last seen", f.last_seen.clone()),
        ] {
            let _ = write!(
                self.out,
                "<tr><th>{}</th><td>{}</td></tr>",
                esc(&t.ui(k)),
                esc(&v)
            );
        }
        self.out.push_str("</tbody></table>\n");
        let Some(listing) = self.evidence.files.first() else {
            let _ = write!(
                self.out,
                "<p class=\"muted\">{}</p>",
                esc(&t.ui("This run wrote no evidence.csv."))
            );
            self.out.push_str("</details>\n");
            return;
        };
        let (rows, total) = self
            .evidence
            .by_finding
            .get(&f.finding_id)
            .map(|(r, n)| (r.as_slice(), *n))
            .unwrap_or((&[], 0));
        let _ = write!(
            self.out,
            "<p class=\"muted\" data-evidence-shown=\"{}\" data-evidence-total=\"{total}\">{}</p>",
            rows.len(),
            esc(&tf!(
                t,
                "Evidence: the first {} of {} rows; {} (next to this file) lists every row with finding_id {}.",
                rows.len(),
                group_digits(total),
                listing,
                f.finding_id
            ))
        );
        if !rows.is_empty() {
            self.out
                .push_str("<div class=\"scroll\"><table class=\"evidence\"><thead><tr>");
            for c in EVIDENCE_SHOWN {
                let _ = write!(self.out, "<th>{}</th>", esc(c));
            }
            self.out.push_str("</tr></thead><tbody>");
            for row in rows {
                self.out.push_str("<tr>");
                for cell in row {
                    let _ = write!(self.out, "<td>{}</td>", esc(cell));
                }
                self.out.push_str("</tr>");
            }
            self.out.push_str("</tbody></table></div>\n");
        }
        self.out.push_str("</details>\n");
    }

    fn coverage(&mut self) {
        let t = self.t;
        let c = &self.a.coverage;
        self.section("coverage", "Log coverage");
        let Some((first, last)) = c.range else {
            let _ = writeln!(
                self.out,
                "<p>{}</p></section>",
                esc(&t.ui("No record was accepted: there is no coverage to show."))
            );
            return;
        };
        let _ = writeln!(
            self.out,
            "<p class=\"legend\"><span style=\"background:#3f7fb0\"></span>{}<span style=\"background:#bf3829\"></span>{}<span style=\"background:#e7eaee\"></span>{}<span style=\"background:#000;width:2px\"></span>{}</p>",
            esc(&t.ui("flow records")),
            esc(&t.ui("gap")),
            esc(&t.ui("no records")),
            esc(&t.ui("ban date")),
        );
        let days = (last - first + 1).max(1) as usize;
        let width = (900 / days).clamp(3, 14);
        let ban_days: Vec<i32> = self.model.bans.iter().map(|b| b.day).collect();
        let _ = write!(
            self.out,
            "<div class=\"scroll\"><table class=\"timeline\" style=\"width:auto\"><thead><tr><th></th>"
        );
        let mut d = first;
        while d <= last {
            // A date label every 7 days, spanning the columns it covers.
            let span = (last - d + 1).min(7);
            let _ = write!(
                self.out,
                "<th colspan=\"{span}\">{}</th>",
                esc(&day_text(d)[5..])
            );
            d += span;
        }
        self.out.push_str("</tr></thead><tbody>\n");
        for (s, row) in c.sites.iter().zip(&self.model.coverage.rows) {
            let _ = write!(
                self.out,
                "<tr data-site=\"{}\" data-gaps=\"{}\"><td class=\"s\">{}</td>",
                esc(&s.site),
                row.gaps.len(),
                esc(&s.site)
            );
            for (d, mark) in (first..=last).zip(&row.marks) {
                let counts = s.daily.get(&d);
                let class = match mark {
                    DayMark::Records => "d r",
                    DayMark::Gap => "d g",
                    DayMark::Empty => "d",
                };
                let ban = if ban_days.contains(&d) { " ban" } else { "" };
                let title = tf!(
                    t,
                    "{}: {} flow records, {} DNS records",
                    day_text(d),
                    group_digits(counts.map_or(0, |x| x.flow_records)),
                    group_digits(counts.map_or(0, |x| x.dns_records))
                );
                let _ = write!(
                    self.out,
                    "<td class=\"{class}{ban}\" style=\"width:{width}px;min-width:{width}px\" title=\"{}\"></td>",
                    esc(&title)
                );
            }
            self.out.push_str("</tr>\n");
        }
        self.out.push_str("</tbody></table></div>\n");
        for b in &self.model.bans {
            let _ = write!(
                self.out,
                "<p class=\"muted\">{}</p>",
                esc(&tf!(t, "Rule {}: ban from {}", b.rule_id, b.effective_from))
            );
        }
        let _ = write!(
            self.out,
            "<table><thead><tr><th>{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th><th>{}</th></tr></thead><tbody>",
            esc(&t.ui("Site")),
            esc(&t.ui("Flow records")),
            esc(&t.ui("DNS records")),
            esc(&t.ui("Egress flows")),
            esc(&t.ui("Gaps")),
        );
        for (s, row) in c.sites.iter().zip(&self.model.coverage.rows) {
            let gaps = &row.gaps;
            let _ = write!(
                self.out,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                esc(&s.site),
                group_digits(s.totals.flow_records),
                group_digits(s.totals.dns_records),
                group_digits(s.totals.egress_flows),
                esc(&if gaps.is_empty() { "-".to_string() } else { gaps.join(", ") })
            );
        }
        self.out.push_str("</tbody></table></section>\n");
    }

    fn daily(&mut self) {
        let t = self.t;
        self.section("daily", "Daily AI-vendor egress");
        let points = &self.model.daily;
        let (Some(first), Some(last)) = (points.first(), points.last()) else {
            let _ = writeln!(
                self.out,
                "<p>{}</p></section>",
                esc(&t.ui("No AI-vendor egress in the period."))
            );
            return;
        };
        let (first, mut last) = (first.0, last.0);
        for b in &self.model.bans {
            last = last.max(b.day);
        }
        let first = self.model.bans.iter().fold(first, |f, b| f.min(b.day));
        let days = (last - first + 1).max(1) as f64;
        let max = points.iter().map(|p| p.1).max().unwrap_or(1).max(1) as f64;
        let (w, h, left, bottom) = (1000.0, 200.0, 60.0, 20.0);
        let step = (w - left) / days;
        let _ = write!(
            self.out,
            "<svg viewBox=\"0 0 {w} {}\" width=\"100%\" role=\"img\" aria-label=\"{}\" style=\"max-width:1000px\">",
            h + bottom + 4.0,
            esc(&t.ui("Daily AI-vendor egress (flows)"))
        );
        let _ = write!(
            self.out,
            "<line x1=\"{left}\" y1=\"{h}\" x2=\"{w}\" y2=\"{h}\" stroke=\"#999\"/><text x=\"{}\" y=\"12\" font-size=\"11\" text-anchor=\"end\">{}</text><text x=\"{}\" y=\"{h}\" font-size=\"11\" text-anchor=\"end\">0</text>",
            left - 4.0,
            group_digits(max as u64),
            left - 4.0
        );
        for (d, flows, bytes) in points {
            let x = left + f64::from(d - first) * step;
            let bh = (*flows as f64 / max) * (h - 16.0);
            let _ = write!(
                self.out,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"#1f5f8b\"><title>{}</title></rect>",
                h - bh,
                (step * 0.85).max(0.8),
                esc(&tf!(t, "{}: {} flows, {} out", day_text(*d), group_digits(*flows), human_bytes(*bytes)))
            );
        }
        let _ = write!(
            self.out,
            "<text x=\"{left}\" y=\"{}\" font-size=\"11\">{}</text><text x=\"{w}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
            h + bottom,
            day_text(first),
            h + bottom,
            day_text(last)
        );
        for b in &self.model.bans {
            let x = left + f64::from(b.day - first) * step;
            let _ = write!(
                self.out,
                "<line class=\"ban\" x1=\"{x:.1}\" y1=\"0\" x2=\"{x:.1}\" y2=\"{h}\" stroke=\"#bf3829\" stroke-width=\"2\" stroke-dasharray=\"4 3\"/><text x=\"{:.1}\" y=\"24\" font-size=\"11\" fill=\"#bf3829\">{}</text>",
                x + 4.0,
                esc(&tf!(t, "ban from {}", b.effective_from))
            );
        }
        self.out.push_str("</svg></section>\n");
    }

    fn countries(&mut self) {
        let t = self.t;
        self.section("countries", "Destination countries");
        let rows = &self.model.countries;
        if rows.is_empty() {
            let _ = write!(
                self.out,
                "<p>{}</p>",
                esc(&t.ui("No AI-vendor egress crossed a border under the configured regimes."))
            );
        }
        let max = rows.first().map_or(1, |r| r.1.max(1)) as f64;
        for (code, bytes) in rows {
            let px = (*bytes as f64 / max * 600.0).max(2.0);
            let _ = writeln!(
                self.out,
                "<div class=\"bar\" data-country=\"{}\" data-bytes=\"{bytes}\"><span class=\"label\">{} {}</span><span class=\"fill\" style=\"width:{px:.0}px\"></span><span>{}</span></div>",
                esc(code),
                esc(code),
                esc(&country_name(t, self.catalogs, code)),
                human_bytes(*bytes)
            );
        }
        self.out.push_str("</section>\n");
    }

    fn heat(&mut self) {
        let t = self.t;
        let h = &self.model.heat;
        self.section("heat", "Site x vendor: bytes out");
        let max = h
            .values
            .iter()
            .flatten()
            .chain(h.others.iter())
            .copied()
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        self.out
            .push_str("<div class=\"scroll\"><table class=\"heat\"><thead><tr><th></th>");
        for v in &h.vendors {
            let _ = write!(self.out, "<th class=\"n\">{}</th>", esc(v));
        }
        if h.hidden_vendors > 0 {
            let _ = write!(self.out, "<th class=\"n\">{}</th>", esc(&t.ui("others")));
        }
        self.out.push_str("</tr></thead><tbody>");
        for (i, site) in h.sites.iter().enumerate() {
            let _ = write!(self.out, "<tr><th>{}</th>", esc(site));
            let row = h.values[i].iter().chain(h.others.get(i));
            for v in row {
                let alpha = (*v as f64 / max * 0.85).max(0.0);
                let _ = write!(
                    self.out,
                    "<td class=\"n\" style=\"background:rgba(31,95,139,{alpha:.2});color:{}\">{}</td>",
                    if alpha > 0.5 { "#fff" } else { "inherit" },
                    if *v == 0 { "-".to_string() } else { human_bytes(*v) }
                );
            }
            self.out.push_str("</tr>");
        }
        self.out.push_str("</tbody></table></div>\n");
        if h.hidden_vendors > 0 {
            let _ = write!(
                self.out,
                "<p class=\"muted\">{}</p>",
                esc(&tf!(
                    t,
                    "The {} vendors with the most bytes out have a column each; the other {} are summed under \"others\" (summary_by_vendor.csv lists every vendor).",
                    h.vendors.len(),
                    h.hidden_vendors
                ))
            );
        }
        self.out.push_str("</section>\n");
    }

    fn files(&mut self) {
        let t = self.t;
        self.section("files", "Files");
        let evidence_files = match self.evidence.files.as_slice() {
            [one] => one.to_string(),
            [first, second] => tf!(t, "{} and {}", first, second),
            _ => tf!(t, "{} and {}", "evidence.csv", "evidence.parquet"),
        };
        let _ = writeln!(
            self.out,
            "<p>{}</p></section>",
            esc(&tf!(t, "Beside this file: report.pdf (the audit report), summary.json (verdicts and totals), findings.csv, {} (every AI-vendor flow with its input file and line), coverage.csv, candidates.csv and run.json (the SHA-256 of every output and input).", evidence_files))
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_neutralises_markup_from_host_names() {
        assert_eq!(
            esc("<script>alert('x')</script>&\"a\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;a&quot;"
        );
        assert_eq!(esc("香港區域辦公室"), "香港區域辦公室");
    }

    #[test]
    fn evidence_sample_keeps_the_first_rows_of_each_finding_and_counts_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("evidence.csv");
        let mut csv = String::from("finding_id,ts,src_ip,hostname\n");
        for i in 0..5 {
            csv.push_str(&format!(
                "f1,2026-07-0{}T00:00:00Z,10.0.0.{i},a.example\n",
                i + 1
            ));
        }
        csv.push_str("f2,2026-07-09T00:00:00Z,10.0.0.9,<b>x</b>\n");
        std::fs::write(&path, csv).unwrap();
        let s = EvidenceSample::read(&path, 3).unwrap();
        let (rows, total) = &s.by_finding["f1"];
        assert_eq!((rows.len(), *total), (3, 5));
        assert_eq!(rows[0][0], "2026-07-01T00:00:00Z");
        assert_eq!(rows[2][1], "10.0.0.2");
        // Columns absent from the file are empty cells.
        assert_eq!(rows[0][2], "");
        assert_eq!(s.by_finding["f2"].1, 1);
    }

    /// Every literal given to `t.ui(` or `tf!(t, ` in this file.
    fn ui_literals(src: &str) -> Vec<String> {
        let mut out = Vec::new();
        for marker in ["t.ui(", "tf!("] {
            for rest in src.split(marker).skip(1) {
                let rest = rest.trim_start();
                let rest = rest.strip_prefix("t,").map(str::trim_start).unwrap_or(rest);
                if let Some(body) = rest.strip_prefix('"') {
                    let mut lit = String::new();
                    let mut chars = body.chars();
                    while let Some(c) = chars.next() {
                        match c {
                            '\\' => {
                                if let Some(n) = chars.next() {
                                    lit.push(n);
                                }
                            }
                            '"' => break,
                            _ => lit.push(c),
                        }
                    }
                    out.push(lit);
                }
            }
        }
        out
    }

    #[test]
    fn every_html_text_has_a_chinese_translation() {
        let zh = Tr::new(Lang::ZhCn);
        let src = include_str!("html.rs");
        let code = src.split("#[cfg(test)]").next().unwrap_or(src);
        let literals = ui_literals(code);
        assert!(literals.len() > 40, "{literals:?}");
        for l in &literals {
            let _ = zh.ui(l);
        }
        for label in [
            "Key figures",
            "Verdicts",
            "Findings by regime",
            "Log coverage",
            "Daily AI-vendor egress",
            "Destination countries",
            "Site x vendor",
            "Site x vendor: bytes out",
            "Files",
            "Cross-border AI flows",
            "Cross-border bytes out",
            "AI vendors reached",
            "Sites",
            "Finding id",
            "Rule",
            "Citation",
            "Category",
            "Method",
            "Transfer basis",
            "Flows",
            "Bytes out",
            "Bytes in",
            "Distinct sources",
            "First seen",
            "Last seen",
            "HELD",
            "VIOLATED",
            "UNDETERMINED",
            "TRANSFERS FOUND",
            "NONE FOUND",
            "ATTRIBUTION NOT POSSIBLE",
        ] {
            let _ = zh.ui(label);
        }
        assert_eq!(zh.misses(), Vec::<String>::new());
    }
}
