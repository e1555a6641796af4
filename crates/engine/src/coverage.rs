//! Log coverage: what the run could see, per site, per input source and per day.
//!
//! A verdict is only as good as the logs behind it. A ban that "held" at a site whose
//! sensor was silent for the last five days did not hold; it went unobserved. This module
//! counts, for every configured site, the flow records, DNS records and egress flows of
//! each day (and the hours of the day that had flow records), finds the days a site went
//! dark, and measures how much of its egress could have been attributed by name: the share
//! of egress flows whose client had a DNS answer logged in its window, and the share that
//! carried a TLS server name or HTTP Host.
//!
//! The verdict logic ([`crate::verdict`]) reads these figures; the report only lays them out.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::Serialize;

use xborder_model::fasthash::FastMap;
use xborder_model::period::{day_of, day_string, Period};
use xborder_model::schema::Micros;

const DAY_US: i64 = 86_400_000_000;
const HOUR_US: i64 = 3_600_000_000;

/// Thresholds that decide when coverage is good enough for a `held` verdict. Defaults are
/// documented in docs/methodology.md and set with `analyze --min-gap-days`,
/// `--min-dns-visibility`, `--max-catalog-age-days` and `--candidate-min-bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CoverageThresholds {
    /// A run of at least this many days without flow records from a site is a gap.
    pub min_gap_days: u32,
    /// Least share (0 to 1) of a site's egress flows that must have had a DNS answer for
    /// their client in the DNS window, or a server name (SNI / HTTP Host), for a verdict.
    pub min_dns_visibility: f64,
    /// A vendor catalog whose `as_of` is more than this many days before the end of the
    /// period judged may be missing endpoints; verdicts say so.
    pub max_catalog_age_days: u32,
    /// Least bytes out to a name that looks like an AI service, with no catalog entry,
    /// before it is listed as a candidate AI destination.
    pub candidate_min_bytes: u64,
}

/// Default for [`CoverageThresholds::min_gap_days`].
pub const DEFAULT_MIN_GAP_DAYS: u32 = 1;
/// Default for [`CoverageThresholds::min_dns_visibility`] (50 %).
pub const DEFAULT_MIN_DNS_VISIBILITY: f64 = 0.5;
/// Default for [`CoverageThresholds::max_catalog_age_days`].
pub const DEFAULT_MAX_CATALOG_AGE_DAYS: u32 = 180;
/// Default for [`CoverageThresholds::candidate_min_bytes`] (1 MB).
pub const DEFAULT_CANDIDATE_MIN_BYTES: u64 = 1_000_000;

impl Default for CoverageThresholds {
    fn default() -> Self {
        CoverageThresholds {
            min_gap_days: DEFAULT_MIN_GAP_DAYS,
            min_dns_visibility: DEFAULT_MIN_DNS_VISIBILITY,
            max_catalog_age_days: DEFAULT_MAX_CATALOG_AGE_DAYS,
            candidate_min_bytes: DEFAULT_CANDIDATE_MIN_BYTES,
        }
    }
}

/// Counts of one site, source and day (or any sum of them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DayCounts {
    /// Accepted flow records with an address in the site (either end).
    pub flow_records: u64,
    /// Accepted DNS records whose client is in the site.
    pub dns_records: u64,
    /// Egress flows from the site (source inside, destination on the internet).
    pub egress_flows: u64,
    /// Egress flows whose client had a DNS answer logged within the DNS window before it.
    pub egress_dns_visible: u64,
    /// Egress flows that carried a TLS server name or HTTP Host.
    pub egress_with_hostname: u64,
    /// Egress flows with a DNS answer or a server name: attributable by name.
    pub egress_name_visible: u64,
    /// Bit h set when hour h (UTC) of the day had flow records.
    #[serde(skip)]
    pub flow_hours: u32,
}

impl DayCounts {
    pub fn add(&mut self, o: &DayCounts) {
        self.flow_records += o.flow_records;
        self.dns_records += o.dns_records;
        self.egress_flows += o.egress_flows;
        self.egress_dns_visible += o.egress_dns_visible;
        self.egress_with_hostname += o.egress_with_hostname;
        self.egress_name_visible += o.egress_name_visible;
        self.flow_hours |= o.flow_hours;
    }

    /// Hours of the day (UTC) with flow records.
    pub fn hours_with_flow_records(&self) -> u32 {
        self.flow_hours.count_ones()
    }
}

/// Share `part / whole`, `None` when there is nothing to share.
pub fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Which hours each client had DNS answers logged, so a flow can ask whether DNS logs
/// covered its client in the DNS window. Hour buckets keep it small at scale (one entry
/// per client and day); the window is widened to whole hours.
#[derive(Debug, Default)]
pub struct DnsPresence {
    hours: FastMap<(IpAddr, i32), u32>,
}

impl DnsPresence {
    /// Note a DNS answer for `client` at `ts`.
    pub fn add(&mut self, client: IpAddr, ts: Micros) {
        let day = day_of(ts);
        let hour = (ts.rem_euclid(DAY_US) / HOUR_US) as u32;
        *self.hours.entry((client, day)).or_default() |= 1 << hour;
    }

    pub fn is_empty(&self) -> bool {
        self.hours.is_empty()
    }

    /// Whether `client` had an answer in the hours from `ts - max_age_s` to `ts`.
    pub fn visible(&self, client: IpAddr, ts: Micros, max_age_s: u32) -> bool {
        let start = ts - i64::from(max_age_s) * 1_000_000;
        let (first_hour, last_hour) = (start.div_euclid(HOUR_US), ts.div_euclid(HOUR_US));
        let (first_day, last_day) = (first_hour.div_euclid(24), last_hour.div_euclid(24));
        for day in first_day..=last_day {
            let Some(mask) = self.hours.get(&(client, day as i32)) else {
                continue;
            };
            let lo = if day == first_day {
                first_hour.rem_euclid(24)
            } else {
                0
            };
            let hi = if day == last_day {
                last_hour.rem_euclid(24)
            } else {
                23
            };
            let want = ((1u64 << (hi + 1)) - (1u64 << lo)) as u32;
            if mask & want != 0 {
                return true;
            }
        }
        false
    }
}

/// The counts of one site, input source and day in a partial result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageCell {
    pub site: u16,
    /// The source's label (a log kind such as `zeek-conn`).
    pub source: String,
    pub day: i32,
    pub counts: DayCounts,
}

/// A cell's key: site, source, day.
type CellKey = (u16, u16, i32);

/// Accumulates coverage while the pipeline reads. Sites are indices into the sites file.
#[derive(Debug, Default)]
pub struct CoverageTracker {
    sources: Vec<String>,
    cells: FastMap<CellKey, DayCounts>,
    /// The counts of the cell counted last, not yet added to `cells`: an egress flow
    /// counts in its cell twice (as a flow, then as egress), and records of one site and
    /// day often come together, so this saves a map look-up a record. Every reader of
    /// `cells` adds it first ([`CoverageTracker::settle`]).
    pending: Option<(CellKey, DayCounts)>,
}

impl CoverageTracker {
    /// The id of an input source (a log kind such as `zeek-conn`), added on first use.
    pub fn source(&mut self, label: &str) -> u16 {
        match self.sources.iter().position(|s| s == label) {
            Some(i) => i as u16,
            None => {
                self.sources.push(label.to_string());
                (self.sources.len() - 1) as u16
            }
        }
    }

    fn cell(&mut self, site: u16, source: u16, ts: Micros) -> &mut DayCounts {
        let key = (site, source, day_of(ts));
        if !matches!(&self.pending, Some((k, _)) if *k == key) {
            self.settle();
        }
        &mut self.pending.get_or_insert((key, DayCounts::default())).1
    }

    /// Add the pending cell's counts to `cells`.
    fn settle(&mut self) {
        if let Some((key, counts)) = self.pending.take() {
            self.cells.entry(key).or_default().add(&counts);
        }
    }

    /// One accepted flow record seen at `site`.
    pub fn flow(&mut self, site: u16, source: u16, ts: Micros) {
        let hour = (ts.rem_euclid(DAY_US) / HOUR_US) as u32;
        let c = self.cell(site, source, ts);
        c.flow_records += 1;
        c.flow_hours |= 1 << hour;
    }

    /// One egress flow from `site`, and whether it could be attributed by name.
    pub fn egress(&mut self, site: u16, source: u16, ts: Micros, dns: bool, hostname: bool) {
        let c = self.cell(site, source, ts);
        c.egress_flows += 1;
        c.egress_dns_visible += u64::from(dns);
        c.egress_with_hostname += u64::from(hostname);
        c.egress_name_visible += u64::from(dns || hostname);
    }

    /// One accepted DNS record whose client is in `site`.
    pub fn dns(&mut self, site: u16, source: u16, ts: Micros) {
        self.cell(site, source, ts).dns_records += 1;
    }

    /// An empty tracker for one fold shard, numbering sources as this one does: the
    /// reading thread names each record's source, so shards never add sources.
    pub fn for_shard(&self) -> Self {
        CoverageTracker {
            sources: self.sources.clone(),
            cells: FastMap::default(),
            pending: None,
        }
    }

    /// Number sources as `run` does: a shard counts under the ids the reading thread gave
    /// sources it met after the shard was made.
    pub fn number_sources_as(&mut self, run: &CoverageTracker) {
        self.sources.clone_from(&run.sources);
    }

    /// Take the counts gathered so far as cells naming their source, for a partial result
    /// (the tracker keeps its sources and starts counting again from nothing).
    pub fn take_cells(&mut self) -> Vec<CoverageCell> {
        self.settle();
        let mut cells: Vec<CoverageCell> = std::mem::take(&mut self.cells)
            .into_iter()
            .map(|((site, source, day), counts)| CoverageCell {
                site,
                source: self.sources[usize::from(source)].clone(),
                day,
                counts,
            })
            .collect();
        cells.sort_by(|a, b| (a.site, &a.source, a.day).cmp(&(b.site, &b.source, b.day)));
        cells
    }

    /// Add the cells of a partial result: sums, and the union of hours with flow records.
    /// A source this tracker has not met is added after the ones it knows.
    pub fn absorb(&mut self, cells: Vec<CoverageCell>) {
        for cell in cells {
            let source = self.source(&cell.source);
            self.cells
                .entry((cell.site, source, cell.day))
                .or_default()
                .add(&cell.counts);
        }
    }

    /// Build the coverage of `site_names` (in sites-file order) over `period`: the days of
    /// the period when it is bounded, else the days between the first and last record seen.
    pub fn finish(
        mut self,
        site_names: &[String],
        period: &Period,
        thresholds: CoverageThresholds,
    ) -> Coverage {
        self.settle();
        let seen_days = || self.cells.keys().map(|k| k.2);
        let first = period.from.map(day_of).or_else(|| seen_days().min());
        let last = period
            .to
            .map(|t| day_of(t - 1))
            .or_else(|| seen_days().max());
        let range = match (first, last) {
            (Some(a), Some(b)) if a <= b => Some((a, b)),
            _ => None,
        };
        let mut sites = Vec::with_capacity(site_names.len());
        for (i, name) in site_names.iter().enumerate() {
            let mut by_source: BTreeMap<u16, BTreeMap<i32, DayCounts>> = BTreeMap::new();
            let mut daily: BTreeMap<i32, DayCounts> = BTreeMap::new();
            for ((site, source, day), c) in &self.cells {
                if usize::from(*site) != i {
                    continue;
                }
                by_source
                    .entry(*source)
                    .or_default()
                    .entry(*day)
                    .or_default()
                    .add(c);
                daily.entry(*day).or_default().add(c);
            }
            let flow_days: BTreeSet<i32> = daily
                .iter()
                .filter(|(_, c)| c.flow_records > 0)
                .map(|(d, _)| *d)
                .collect();
            let gaps = range
                .map(|r| find_gaps(r, &flow_days, thresholds.min_gap_days))
                .unwrap_or_default();
            let mut changes = Vec::new();
            if let Some(r) = range {
                for (source, days) in &by_source {
                    let active: BTreeSet<i32> = days
                        .iter()
                        .filter(|(_, c)| c.flow_records > 0 || c.dns_records > 0)
                        .map(|(d, _)| *d)
                        .collect();
                    changes.extend(source_changes(
                        r,
                        &active,
                        thresholds.min_gap_days,
                        &self.sources[usize::from(*source)],
                    ));
                }
            }
            let mut totals = DayCounts::default();
            for c in daily.values() {
                totals.add(c);
            }
            sites.push(SiteCoverage {
                site: name.clone(),
                totals,
                daily,
                by_source: by_source
                    .into_iter()
                    .map(|(s, days)| (self.sources[usize::from(s)].clone(), days))
                    .collect(),
                gaps,
                source_changes: changes,
            });
        }
        Coverage {
            thresholds,
            range,
            sites,
        }
    }
}

/// Where a run of days without flow records lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GapKind {
    /// Records before and after it.
    Within,
    /// From the start of the period to the first record: logging starts late.
    BeforeFirstRecord,
    /// From the last record to the end of the period: logging stops early.
    AfterLastRecord,
}

/// Consecutive days (inclusive) without flow records from a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Gap {
    pub from_day: i32,
    pub to_day: i32,
    pub kind: GapKind,
}

impl Gap {
    pub fn days(&self) -> u32 {
        (self.to_day - self.from_day + 1) as u32
    }

    /// Whether the gap shares a day with `[first, last]`.
    pub fn overlaps(&self, first: i32, last: i32) -> bool {
        self.from_day <= last && self.to_day >= first
    }

    pub fn from(&self) -> String {
        day_string(self.from_day)
    }

    pub fn to(&self) -> String {
        day_string(self.to_day)
    }
}

/// Runs of at least `min_days` days in `range` (inclusive) missing from `present`. A site
/// with no record at all has no gaps: it has no coverage, which the verdict says instead.
pub fn find_gaps(range: (i32, i32), present: &BTreeSet<i32>, min_days: u32) -> Vec<Gap> {
    let min_days = min_days.max(1) as i32;
    let (first, last) = range;
    let inside: Vec<i32> = present.range(first..=last).copied().collect();
    let (Some(&first_seen), Some(&last_seen)) = (inside.first(), inside.last()) else {
        return Vec::new();
    };
    let mut gaps = Vec::new();
    let mut push = |from: i32, to: i32, kind: GapKind| {
        if to - from + 1 >= min_days {
            gaps.push(Gap {
                from_day: from,
                to_day: to,
                kind,
            });
        }
    };
    if first_seen > first {
        push(first, first_seen - 1, GapKind::BeforeFirstRecord);
    }
    for pair in inside.windows(2) {
        if pair[1] > pair[0] + 1 {
            push(pair[0] + 1, pair[1] - 1, GapKind::Within);
        }
    }
    if last_seen < last {
        push(last_seen + 1, last, GapKind::AfterLastRecord);
    }
    gaps
}

/// An input source that starts after the period begins or stops before it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceChange {
    pub source: String,
    /// `starts` or `stops`.
    pub change: &'static str,
    /// The first (starts) or last (stops) day with records.
    pub day: String,
    /// Days of the period without the source on that side.
    pub days_missing: u32,
}

fn source_changes(
    range: (i32, i32),
    active: &BTreeSet<i32>,
    min_days: u32,
    label: &str,
) -> Vec<SourceChange> {
    let mut out = Vec::new();
    let (Some(&a), Some(&b)) = (active.first(), active.last()) else {
        return out;
    };
    let min_days = min_days.max(1) as i32;
    if a - range.0 >= min_days {
        out.push(SourceChange {
            source: label.to_string(),
            change: "starts",
            day: day_string(a),
            days_missing: (a - range.0) as u32,
        });
    }
    if range.1 - b >= min_days {
        out.push(SourceChange {
            source: label.to_string(),
            change: "stops",
            day: day_string(b),
            days_missing: (range.1 - b) as u32,
        });
    }
    out
}

/// Coverage of one site.
#[derive(Debug, Clone)]
pub struct SiteCoverage {
    pub site: String,
    pub totals: DayCounts,
    /// All sources, per day with any record.
    pub daily: BTreeMap<i32, DayCounts>,
    /// Per source label, per day with any record.
    pub by_source: BTreeMap<String, BTreeMap<i32, DayCounts>>,
    pub gaps: Vec<Gap>,
    pub source_changes: Vec<SourceChange>,
}

impl SiteCoverage {
    /// Sums over the days `[first, last]`.
    pub fn between(&self, first: i32, last: i32) -> DayCounts {
        let mut c = DayCounts::default();
        for (_, d) in self.daily.range(first..=last) {
            c.add(d);
        }
        c
    }

    /// Whether `day` lies in one of the site's gaps.
    pub fn in_gap(&self, day: i32) -> bool {
        self.gaps.iter().any(|g| g.overlaps(day, day))
    }
}

/// Coverage of every configured site over the period.
#[derive(Debug, Clone)]
pub struct Coverage {
    pub thresholds: CoverageThresholds,
    /// First and last day (inclusive) judged; `None` when the period is unbounded and no
    /// record was accepted.
    pub range: Option<(i32, i32)>,
    pub sites: Vec<SiteCoverage>,
}

impl Coverage {
    pub fn site(&self, name: &str) -> Option<&SiteCoverage> {
        self.sites.iter().find(|s| s.site == name)
    }
}

/// Days `[first, last]` (inclusive) of the instants `[start, end)`.
pub fn days_of(start: Micros, end: Micros) -> (i32, i32) {
    (day_of(start), day_of(end - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(days: &[i32]) -> BTreeSet<i32> {
        days.iter().copied().collect()
    }

    /// Counts of cells met in any order, again and again or once, come out whole: in
    /// `take_cells` and `finish` alike, the last cell counted among them.
    #[test]
    fn every_count_reaches_its_cell() {
        let at = |day: i64, hour: i64| day * DAY_US + hour * HOUR_US;
        let mut t = CoverageTracker::default();
        let conn = t.source("zeek-conn");
        let dns = t.source("zeek-dns");
        for _ in 0..3 {
            t.flow(0, conn, at(1, 2));
            t.egress(0, conn, at(1, 2), true, false);
        }
        t.flow(1, conn, at(1, 5));
        t.dns(0, dns, at(1, 3));
        t.flow(0, conn, at(1, 7));
        t.egress(0, conn, at(1, 7), false, true);
        t.flow(0, conn, at(2, 0));
        let mut again = t.for_shard();
        again.flow(1, conn, at(1, 6));
        again.egress(1, conn, at(1, 6), true, true);
        let shard = again.take_cells();
        assert_eq!(shard.len(), 1, "the shard's one pending cell");
        t.absorb(shard);
        t.dns(1, dns, at(2, 0));
        let cells = t.take_cells();
        let find = |site: u16, source: &str, day: i32| {
            cells
                .iter()
                .find(|c| (c.site, c.source.as_str(), c.day) == (site, source, day))
                .map(|c| c.counts)
                .unwrap_or_default()
        };
        let a = find(0, "zeek-conn", 1);
        assert_eq!((a.flow_records, a.egress_flows), (4, 4));
        assert_eq!((a.egress_dns_visible, a.egress_with_hostname), (3, 1));
        assert_eq!(a.egress_name_visible, 4);
        assert_eq!(a.flow_hours, 1 << 2 | 1 << 7);
        let b = find(1, "zeek-conn", 1);
        assert_eq!(
            (b.flow_records, b.egress_flows, b.egress_name_visible),
            (2, 1, 1)
        );
        assert_eq!(b.flow_hours, 1 << 5 | 1 << 6);
        assert_eq!(find(0, "zeek-conn", 2).flow_records, 1);
        assert_eq!(find(0, "zeek-dns", 1).dns_records, 1);
        assert_eq!(
            find(1, "zeek-dns", 2).dns_records,
            1,
            "the last cell counted"
        );
        assert_eq!(cells.len(), 5);
        // Taken, the tracker starts again from nothing; `finish` sees its last cell too.
        assert!(t.take_cells().is_empty());
        t.flow(0, conn, at(3, 1));
        let period = Period {
            from: Some(0),
            to: Some(4 * DAY_US),
            label: "test".into(),
        };
        let coverage = t.finish(&["a".into()], &period, CoverageThresholds::default());
        let site = coverage.site("a").expect("the site");
        assert_eq!(site.between(3, 3).flow_records, 1);
    }

    #[test]
    fn gaps_inside_before_and_after_the_records() {
        let g = find_gaps((0, 9), &set(&[2, 3, 6, 7]), 1);
        assert_eq!(
            g,
            vec![
                Gap {
                    from_day: 0,
                    to_day: 1,
                    kind: GapKind::BeforeFirstRecord
                },
                Gap {
                    from_day: 4,
                    to_day: 5,
                    kind: GapKind::Within
                },
                Gap {
                    from_day: 8,
                    to_day: 9,
                    kind: GapKind::AfterLastRecord
                },
            ]
        );
        assert_eq!(g[2].days(), 2);
        // Shorter runs than the threshold are not gaps.
        assert_eq!(find_gaps((0, 9), &set(&[2, 3, 6, 7]), 3), vec![]);
        assert_eq!(find_gaps((0, 3), &set(&[0, 1, 2, 3]), 1), vec![]);
        // No records at all is not a gap but no coverage.
        assert_eq!(find_gaps((0, 3), &set(&[]), 1), vec![]);
        // Records outside the range do not count.
        assert_eq!(
            find_gaps((5, 6), &set(&[1, 5]), 1),
            vec![Gap {
                from_day: 6,
                to_day: 6,
                kind: GapKind::AfterLastRecord
            }]
        );
    }

    #[test]
    fn sources_that_start_late_or_stop_early() {
        let c = source_changes((0, 9), &set(&[3, 4, 5]), 1, "zeek-dns");
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].change, c[0].days_missing), ("starts", 3));
        assert_eq!((c[1].change, c[1].days_missing), ("stops", 4));
        assert!(source_changes((0, 9), &set(&[0, 9]), 1, "x").is_empty());
    }

    #[test]
    fn dns_presence_answers_within_the_window_only() {
        let mut p = DnsPresence::default();
        let client: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        // Day 1, 23:10 UTC.
        let answer = DAY_US + 23 * HOUR_US + 600_000_000;
        p.add(client, answer);
        // The next day at 02:00, within six hours: across midnight.
        assert!(p.visible(client, 2 * DAY_US + 2 * HOUR_US, 6 * 3600));
        assert!(!p.visible(client, 2 * DAY_US + 6 * HOUR_US, 6 * 3600));
        // Before the answer's hour: not yet seen.
        assert!(!p.visible(client, DAY_US + 22 * HOUR_US, 6 * 3600));
        assert!(!p.visible(other, answer, 6 * 3600));
        // A window longer than a day.
        assert!(p.visible(client, 4 * DAY_US, 3 * 86_400));
    }

    /// Each client's answers count for it alone: its neighbours, its IPv4-mapped IPv6
    /// form and the same address on other days do not share them, before or after 1970.
    #[test]
    fn dns_presence_keeps_clients_and_days_apart() {
        let clients: Vec<IpAddr> = [
            "10.0.0.1",
            "10.0.0.2",
            "11.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::ffff:10.0.0.1",
            "2001:db8::1",
            "2001:db8::2",
        ]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
        let days = [-2i64, -1, 0, 1, 20_000];
        for (c, &client) in clients.iter().enumerate() {
            for (d, &day) in days.iter().enumerate() {
                let mut p = DnsPresence::default();
                p.add(client, day * DAY_US + 5 * HOUR_US);
                for (c2, &other) in clients.iter().enumerate() {
                    for (d2, &day2) in days.iter().enumerate() {
                        assert_eq!(
                            p.visible(other, day2 * DAY_US + 5 * HOUR_US, 0),
                            (c, d) == (c2, d2),
                            "answer {client} day {day}, asked {other} day {day2}"
                        );
                    }
                }
            }
        }
    }

    /// Whether a client is visible is whether any of its answers' hours lies in the
    /// window's hours, whatever the window: within a day, across a midnight, or over
    /// several days, with answers on either side of it.
    #[test]
    fn dns_presence_is_any_answer_hour_in_the_window() {
        let mut rng = xborder_model::rng::Rng::new(17);
        let client: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..200 {
            let mut p = DnsPresence::default();
            let mut hours = Vec::new();
            for _ in 0..rng.next_u64() % 6 {
                // Answers over ten days around the epoch, half of them before it.
                let ts = -5 * DAY_US + (rng.next_u64() % (10 * DAY_US as u64)) as i64;
                p.add(client, ts);
                hours.push(ts.div_euclid(HOUR_US));
            }
            for _ in 0..50 {
                let ts = -6 * DAY_US + (rng.next_u64() % (12 * DAY_US as u64)) as i64;
                let max_age_s = [0, 60, 3_600, 6 * 3_600, 30 * 3_600, 3 * 86_400]
                    [(rng.next_u64() % 6) as usize];
                let first = (ts - i64::from(max_age_s) * 1_000_000).div_euclid(HOUR_US);
                let last = ts.div_euclid(HOUR_US);
                let expected = hours.iter().any(|h| (first..=last).contains(h));
                assert_eq!(
                    p.visible(client, ts, max_age_s),
                    expected,
                    "ts {ts}, window {max_age_s} s, answers in hours {hours:?}"
                );
            }
        }
    }

    #[test]
    fn tracker_sums_sites_sources_and_days_over_the_period() {
        let mut t = CoverageTracker::default();
        let conn = t.source("zeek-conn");
        let dns = t.source("zeek-dns");
        assert_eq!(t.source("zeek-conn"), conn);
        for day in [0, 1, 4] {
            t.flow(0, conn, day * DAY_US + HOUR_US);
            t.egress(0, conn, day * DAY_US + HOUR_US, day != 4, false);
        }
        t.dns(0, dns, HOUR_US);
        t.flow(1, conn, 2 * DAY_US);
        let period = Period {
            from: Some(0),
            to: Some(5 * DAY_US),
            label: "p".into(),
        };
        let cov = t.finish(
            &["a".to_string(), "b".to_string(), "c".to_string()],
            &period,
            CoverageThresholds::default(),
        );
        assert_eq!(cov.range, Some((0, 4)));
        let a = cov.site("a").unwrap();
        assert_eq!(a.totals.flow_records, 3);
        assert_eq!(a.totals.dns_records, 1);
        assert_eq!(a.totals.egress_dns_visible, 2);
        assert_eq!(
            a.gaps,
            vec![Gap {
                from_day: 2,
                to_day: 3,
                kind: GapKind::Within
            }]
        );
        assert!(a.in_gap(3) && !a.in_gap(4));
        // The DNS source was seen on day 0 only: it stops four days early.
        assert_eq!(a.source_changes.len(), 1);
        assert_eq!(a.source_changes[0].source, "zeek-dns");
        assert_eq!(a.between(1, 4).egress_flows, 2);
        assert_eq!(cov.site("c").unwrap().totals.flow_records, 0);
        assert!(cov.site("c").unwrap().gaps.is_empty());
        assert_eq!(a.daily[&0].hours_with_flow_records(), 1);
    }
}
