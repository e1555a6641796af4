//! The coverage timeline: what each day of each site shows, and the gaps as labels, for
//! the PDF's day grid and the HTML's timeline alike.

use xborder_engine::coverage::{share, Coverage as EngineCoverage, SiteCoverage};

/// What one site's day shows on the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayMark {
    /// Flow records from the site.
    Records,
    /// No flow records, inside a gap.
    Gap,
    /// No flow records, not a gap.
    Empty,
}

/// One site's row of the timeline and its figures.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageRow {
    pub site: String,
    /// One mark per day of [`Coverage::range`].
    pub marks: Vec<DayMark>,
    /// Each gap as "from" (one day) or "from - to".
    pub gaps: Vec<String>,
    /// Egress flows with a DNS answer seen, and with a server name, as a share of egress.
    pub dns_visibility: Option<f64>,
    pub hostname_visibility: Option<f64>,
}

/// The timeline of every site, in the coverage table's order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Coverage {
    /// First and last day shown; `None` when no record was accepted.
    pub range: Option<(i32, i32)>,
    pub rows: Vec<CoverageRow>,
}

fn row(s: &SiteCoverage, range: Option<(i32, i32)>) -> CoverageRow {
    let marks = range
        .map(|(first, last)| {
            (first..=last)
                .map(|d| {
                    if s.daily.get(&d).is_some_and(|x| x.flow_records > 0) {
                        DayMark::Records
                    } else if s.in_gap(d) {
                        DayMark::Gap
                    } else {
                        DayMark::Empty
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    CoverageRow {
        site: s.site.clone(),
        marks,
        gaps: s
            .gaps
            .iter()
            .map(|g| {
                if g.days() == 1 {
                    g.from()
                } else {
                    format!("{} - {}", g.from(), g.to())
                }
            })
            .collect(),
        dns_visibility: share(s.totals.egress_dns_visible, s.totals.egress_flows),
        hostname_visibility: share(s.totals.egress_with_hostname, s.totals.egress_flows),
    }
}

pub(super) fn coverage(c: &EngineCoverage) -> Coverage {
    Coverage {
        range: c.range,
        rows: c.sites.iter().map(|s| row(s, c.range)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xborder_engine::coverage::{DayCounts, Gap, GapKind};

    #[test]
    fn days_with_records_gaps_and_empty_days() {
        let day = |flow_records| DayCounts {
            flow_records,
            ..DayCounts::default()
        };
        let site = SiteCoverage {
            site: "Shanghai".into(),
            totals: DayCounts {
                egress_flows: 4,
                egress_dns_visible: 3,
                ..DayCounts::default()
            },
            // Day 10 has records; 11-12 are a gap; 13 has only DNS records; 14 none.
            daily: [(10, day(5)), (13, day(0))].into_iter().collect(),
            by_source: Default::default(),
            gaps: vec![Gap {
                from_day: 11,
                to_day: 12,
                kind: GapKind::Within,
            }],
            source_changes: vec![],
        };
        let r = row(&site, Some((10, 14)));
        assert_eq!(
            r.marks,
            [
                DayMark::Records,
                DayMark::Gap,
                DayMark::Gap,
                DayMark::Empty,
                DayMark::Empty
            ]
        );
        assert_eq!(r.gaps, ["1970-01-12 - 1970-01-13"]);
        assert_eq!(r.dns_visibility, Some(0.75));
        assert_eq!(r.hostname_visibility, Some(0.0));
        // No accepted record: no days to mark.
        assert!(row(&site, None).marks.is_empty());
    }
}
