//! Chinese text of PRC law for the Chinese report: the official titles of the laws, and
//! the legal fields of the PRC regimes in data/regimes.toml (citation, obligation, what an
//! auditor should ask for), keyed by their English text like every translation (i18n.rs).
//!
//! Titles follow the official Chinese names as promulgated: 《中华人民共和国个人信息保护法》,
//! 《中华人民共和国数据安全法》, 《中华人民共和国网络安全法》, 《网络数据安全管理条例》,
//! 《数据出境安全评估办法》, 《促进和规范数据跨境流动规定》, 《个人信息出境标准合同办法》,
//! 《个人信息出境认证办法》, and GB/T 43697-2024《数据安全技术 数据分类分级规则》. Article
//! numbers are written the Chinese way (第三十八条). A catalog edit that changes the English
//! text leaves it untranslated until this table follows; a test below catches that.

/// The official Chinese title of the law a regime id stands for, where it is PRC law.
pub const OFFICIAL_TITLES: &[(&str, &str)] = &[
    ("PIPL", "《中华人民共和国个人信息保护法》"),
    ("DSL", "《中华人民共和国数据安全法》"),
];

/// The official title for `regime_id`, if it is a PRC law with one.
pub fn official_title(regime_id: &str) -> Option<&'static str> {
    OFFICIAL_TITLES
        .iter()
        .find(|(id, _)| *id == regime_id)
        .map(|(_, title)| *title)
}

pub const LAW_ZH: &[(&str, &str)] = &[
    // PIPL
    ("PIPL Art. 36 (state organs store in China), Arts. 38-40 (cross-border provision of personal information), Art. 41 (no provision to foreign judicial or law-enforcement bodies without approval), Art. 55(4) and Art. 56 (impact assessment before provision abroad); Network Data Security Management Regulations (State Council Decree No. 790, in force 2025-01-01) Art. 35 (conditions for providing personal information abroad; article number as reported; verify); CAC Provisions on Promoting and Regulating Cross-border Data Flows (2024) Art. 2 (important data only when notified or published), Arts. 3-6 (exemptions, incl. Free Trade Zone negative lists), Arts. 7-8 (thresholds), Art. 9 (three-year assessment validity); Measures for Personal Information Outbound Certification (CAC and SAMR Order No. 20, in force 2026-01-01)",
     "《中华人民共和国个人信息保护法》第三十六条（国家机关处理的个人信息应当在境内存储）、第三十八条至第四十条（向境外提供个人信息）、第四十一条（未经批准不得向外国司法或者执法机构提供）、第五十五条第（四）项和第五十六条（向境外提供前进行个人信息保护影响评估）；《网络数据安全管理条例》（国务院令第790号，2025年1月1日起施行）第三十五条（向境外提供个人信息的条件；条号据报道，待核实）；国家互联网信息办公室《促进和规范数据跨境流动规定》（2024年）第二条（经有关部门告知或者公开发布的才属于重要数据）、第三条至第六条（豁免情形，含自由贸易试验区负面清单）、第七条至第八条（数量门槛）、第九条（安全评估结果有效期三年）；《个人信息出境认证办法》（国家互联网信息办公室、国家市场监督管理总局令第20号，2026年1月1日起施行）"),
    ("Before personal information collected in mainland China goes to a recipient abroad (Hong Kong, Macao and Taiwan included), the processor needs a transfer route under Art. 38: a passed CAC security assessment, the CAC standard contract filed with the provincial CAC, or personal-information outbound certification by an accredited body (operative since 2026-01-01, certificate valid three years), unless a 2024-Provisions exemption applies. Which route depends on who exports and how much, counted per calendar year: a critical information infrastructure operator needs the security assessment for any personal information; any sensitive personal information is never exempt by volume (standard contract or certification below 10,000 individuals, security assessment above); non-sensitive personal information is exempt below 100,000 individuals, needs the standard contract or certification from 100,000 to 1,000,000, and the security assessment above. In every case, exempt transfers included, the processor must run a personal information protection impact assessment beforehand, tell individuals about the overseas recipient and get separate consent where consent is the legal basis (Arts. 39, 55; the 'in every case' reading rests on the 2024 Provisions' article on exempt transfers, as reported Art. 10; verify). No personal information stored in China may be provided to a foreign judicial or law-enforcement body without the approval of the competent PRC authority (Art. 41).",
     "在中国大陆收集的个人信息向境外接收方（含香港、澳门和台湾地区）提供之前，个人信息处理者须具备第三十八条规定的出境途径：通过国家网信部门组织的安全评估，按照《个人信息出境标准合同办法》订立标准合同并向省级网信部门备案，或者经专业机构进行个人信息出境认证（自2026年1月1日起可办理，证书有效期三年）；符合《促进和规范数据跨境流动规定》豁免情形的除外。适用何种途径取决于出境主体和数量（按自然年累计计算）：关键信息基础设施运营者提供任何个人信息均须申报安全评估；敏感个人信息不因数量少而豁免（不满1万人的，订立标准合同或者通过认证；1万人以上的，申报安全评估）；非敏感个人信息不满10万人的予以豁免，10万人以上不满100万人的须订立标准合同或者通过认证，100万人以上的须申报安全评估。在任何情况下（包括豁免的出境），个人信息处理者均须事先进行个人信息保护影响评估，向个人告知境外接收方的情况，并在以同意为处理依据时取得个人的单独同意（第三十九条、第五十五条；“任何情况下”这一解读依据《促进和规范数据跨境流动规定》中关于豁免出境的条款，据报道为第十条，待核实）。非经中华人民共和国主管机关批准，不得向外国司法或者执法机构提供存储于中华人民共和国境内的个人信息（第四十一条）。"),
    ("Inventory of outbound flows: recipient, destination country or region, categories of personal information, and number of individuals counted per calendar year (sensitive and non-sensitive separately)",
     "出境数据清单：接收方、目的地国家或地区、个人信息类别，以及按自然年累计的个人数量（敏感与非敏感个人信息分别统计）"),
    ("Whether the organisation is a critical information infrastructure operator (any export then needs the CAC security assessment)",
     "本组织是否为关键信息基础设施运营者（如是，任何出境均须申报国家网信部门安全评估）"),
    ("The transfer route relied on for each flow: CAC security-assessment approval, standard-contract filing receipt, outbound-certification certificate (with its three-year validity), or the written reasoning for a 2024-Provisions exemption (including any Free Trade Zone negative list relied on)",
     "每项出境所依据的途径：国家网信部门安全评估批准文件、标准合同备案回执、个人信息出境认证证书（及其三年有效期），或者适用《促进和规范数据跨境流动规定》豁免情形的书面理由（包括所依据的自由贸易试验区负面清单）"),
    ("Personal information protection impact assessment reports covering the transfer, kept for at least three years (Art. 56)",
     "涵盖该出境活动的个人信息保护影响评估报告，至少保存三年（第五十六条）"),
    ("Notice to individuals naming the overseas recipient, and separate-consent records where consent is the legal basis (Art. 39)",
     "向个人告知境外接收方名称的记录，以及以同意为处理依据时的单独同意记录（第三十九条）"),
    ("Contract terms with the overseas recipient (the AI vendor) binding it to PIPL-level protection (Art. 38)",
     "与境外接收方（人工智能供应商）订立的合同条款，约束其达到《中华人民共和国个人信息保护法》规定的保护标准（第三十八条）"),
    ("Log of requests from foreign judicial or law-enforcement bodies and the approvals obtained (Art. 41)",
     "外国司法或者执法机构提出的请求及所获批准的记录（第四十一条）"),
    // DSL
    ("DSL Art. 21 (classification and grading; important data and national core data), Art. 30 (risk assessments), Art. 31 (outbound security management of important data) and Art. 36 (no provision of data stored in China to foreign judicial or law-enforcement bodies without approval); CAC Measures for Security Assessment of Outbound Data Transfers (2022, CAC Order No. 11); Network Data Security Management Regulations (in force 2025-01-01) on identifying and declaring important data, annual risk assessment and export only after a security assessment (as reported Arts. 29-33 and 37; verify); GB/T 43697-2024 Data security technology - Rules for data classification and grading (in force 2024-10-01), Appendix G (normative): important-data identification guide",
     "《中华人民共和国数据安全法》第二十一条（数据分类分级；重要数据和国家核心数据）、第三十条（风险评估）、第三十一条（重要数据的出境安全管理）和第三十六条（非经批准不得向外国司法或者执法机构提供存储于境内的数据）；《数据出境安全评估办法》（2022年，国家互联网信息办公室令第11号）；《网络数据安全管理条例》（2025年1月1日起施行）关于识别和申报重要数据、每年开展风险评估以及通过安全评估后方可出境的规定（条号据报道为第二十九条至第三十三条和第三十七条，待核实）；GB/T 43697-2024《数据安全技术 数据分类分级规则》（2024年10月1日起实施）附录G（规范性）：重要数据识别指南"),
    ("This rule bites only where the egressing payload is important data: data identified under the DSL Art. 21 catalogues and, under the 2024 Provisions Art. 2 and the Network Data Security Management Regulations, notified to the processor or published as important; data never so notified need not be declared as important data. Processors identify important data by the national standard GB/T 43697-2024 (Appendix G) and the sector catalogues, declare it, and run an annual risk assessment. Exporting important data requires a passed CAC security assessment under the 2022 Measures; critical information infrastructure operators are also bound by the Cybersecurity Law's localisation rule (Art. 37 before the amendment in force 2026-01-01, which renumbered articles; check the current number). National core data is under stricter management. Separately, no data stored in China may be handed to foreign judicial or law-enforcement bodies without approval from the competent PRC authority (Art. 36).",
     "本规则仅在外发内容属于重要数据时适用。重要数据指依照《中华人民共和国数据安全法》第二十一条的目录识别，并依照《促进和规范数据跨境流动规定》第二条和《网络数据安全管理条例》经有关部门告知数据处理者或者公开发布为重要数据的数据；未经告知或者公开发布的，无需作为重要数据申报。数据处理者依照国家标准 GB/T 43697-2024（附录G）和行业目录识别重要数据、进行申报，并每年开展风险评估。重要数据出境须依照2022年《数据出境安全评估办法》通过国家网信部门组织的安全评估；关键信息基础设施运营者还须遵守《中华人民共和国网络安全法》的本地存储规定（修正前为第三十七条；2026年1月1日起施行的修正对条文重新编号，请核对现行条号）。国家核心数据实行更加严格的管理制度。此外，非经中华人民共和国主管机关批准，不得向外国司法或者执法机构提供存储于中华人民共和国境内的数据（第三十六条）。"),
    ("Data classification register, built by GB/T 43697-2024 and the sector catalogues, showing whether any egressed repository or data set is important data, and any notification received from the authorities",
     "依照 GB/T 43697-2024 和行业目录建立的数据分类分级台账，载明外发的代码仓库或数据集是否属于重要数据，以及收到的有关部门的告知"),
    ("CAC security-assessment approval, with its validity dates, for every export of important data",
     "每项重要数据出境所获的国家网信部门安全评估批准文件及其有效期"),
    ("Annual risk-assessment reports filed by the important-data handler (DSL Art. 30; Network Data Security Management Regulations)",
     "重要数据处理者报送的年度风险评估报告（《中华人民共和国数据安全法》第三十条；《网络数据安全管理条例》）"),
    ("Log of requests from foreign judicial or law-enforcement bodies and the PRC approvals obtained (Art. 36)",
     "外国司法或者执法机构提出的请求及所获中华人民共和国主管机关批准的记录（第三十六条）"),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The legal fields of the shipped catalog's PRC regimes, as written there.
    fn prc_fields() -> Vec<String> {
        let catalog: toml::Value =
            toml::from_str(include_str!("../../../data/regimes.toml")).unwrap();
        let mut out = Vec::new();
        for r in catalog["regime"].as_array().unwrap() {
            if official_title(r["id"].as_str().unwrap()).is_none() {
                continue;
            }
            out.push(r["citation"].as_str().unwrap().to_string());
            out.push(r["obligation"].as_str().unwrap().to_string());
            for e in r["auditor_evidence"].as_array().unwrap() {
                out.push(e.as_str().unwrap().to_string());
            }
        }
        out
    }

    #[test]
    fn every_legal_field_of_a_prc_regime_has_chinese_text() {
        let fields = prc_fields();
        assert_eq!(fields.len(), 2 + 7 + 2 + 4, "PIPL and DSL fields");
        for f in &fields {
            assert!(
                LAW_ZH.iter().any(|(en, _)| en == f),
                "no Chinese text for catalog text: {f}"
            );
        }
        // No stale entries: every key is still in the catalog.
        for (en, zh) in LAW_ZH {
            assert!(fields.iter().any(|f| f == en), "stale: {en}");
            assert!(!zh.contains("PIPL") && !zh.contains("DSL"), "{zh}");
        }
    }

    #[test]
    fn prc_laws_are_named_by_their_official_titles() {
        assert_eq!(
            official_title("PIPL"),
            Some("《中华人民共和国个人信息保护法》")
        );
        assert_eq!(official_title("DSL"), Some("《中华人民共和国数据安全法》"));
        assert_eq!(official_title("GDPR"), None);
        let all: String = LAW_ZH.iter().map(|(_, zh)| *zh).collect();
        for title in [
            "《中华人民共和国网络安全法》",
            "《数据出境安全评估办法》",
            "《促进和规范数据跨境流动规定》",
            "《个人信息出境标准合同办法》",
            "《网络数据安全管理条例》",
        ] {
            assert!(all.contains(title), "{title}");
        }
    }
}
