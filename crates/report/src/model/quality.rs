//! The data-quality figures beyond the per-file counts, which are shown as read.

use xborder_engine::run::Totals as RunTotals;
use xborder_model::schema::Method;

/// AI-vendor egress flows attributed by one method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodCount {
    pub method: &'static str,
    pub flows: u64,
    /// snapshot and ptr: weaker evidence than the client's own DNS or the vendor's ranges.
    pub weaker: bool,
}

/// The data-quality figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataQuality {
    /// Methods that attributed any flow, strongest first.
    pub ai_by_method: Vec<MethodCount>,
    /// Flow, DNS and proxy records rejected.
    pub rejected_records: u64,
}

pub(super) fn data_quality(t: &RunTotals) -> DataQuality {
    DataQuality {
        ai_by_method: Method::ALL
            .iter()
            .filter_map(|m| {
                t.flows.ai_by_method.get(m.as_str()).map(|n| MethodCount {
                    method: m.as_str(),
                    flows: *n,
                    weaker: matches!(m, Method::Snapshot | Method::Ptr),
                })
            })
            .collect(),
        rejected_records: t
            .flow_records
            .rejected
            .saturating_add(t.dns_records.rejected)
            .saturating_add(t.proxy_records.rejected),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_in_strength_order_with_weaker_ones_marked() {
        let mut t = RunTotals::default();
        t.flows.ai_by_method.insert("ptr".into(), 2);
        t.flows.ai_by_method.insert("dns".into(), 7);
        t.flow_records.rejected = 3;
        t.dns_records.rejected = 1;
        t.proxy_records.rejected = 1;
        let q = data_quality(&t);
        let got: Vec<(&str, u64, bool)> = q
            .ai_by_method
            .iter()
            .map(|m| (m.method, m.flows, m.weaker))
            .collect();
        assert_eq!(got, [("dns", 7, false), ("ptr", 2, true)]);
        assert_eq!(q.rejected_records, 5);
        assert_eq!(data_quality(&RunTotals::default()), DataQuality::default());
    }
}
