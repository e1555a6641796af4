//! Navigation in report.pdf: a bookmark (outline entry) per section and a clickable
//! contents page, written into the saved PDF with lopdf.
//!
//! printpdf 0.12 can write both, but sorts bookmarks by page and then by title (so two
//! sections on one page come out of order), writes /PageMode as a string rather than a
//! name, and leaves the Print flag off link annotations, which PDF/A-2 requires. Written
//! here, the outline keeps the report's order and the file stays PDF/A-2b.

use lopdf::{Dictionary, Document, Object, ObjectId, StringFormat};

/// One section: its title, the 1-based page it starts on, and where its line on the
/// contents page is.
#[derive(Debug, Clone, PartialEq)]
pub struct NavEntry {
    pub title: String,
    pub page: usize,
    /// The clickable area on the contents page, in points: left, bottom, right, top.
    pub contents_rect: [f32; 4],
}

/// The outline and contents links of one report.
#[derive(Debug, Clone, Default)]
pub struct Navigation {
    /// The 1-based page holding the contents list.
    pub contents_page: usize,
    pub entries: Vec<NavEntry>,
}

/// A text string as PDF text: UTF-16BE with a byte-order mark, so any script survives.
fn text_string(s: &str) -> Object {
    let mut bytes = vec![0xFE, 0xFF];
    for unit in s.encode_utf16() {
        bytes.extend_from_slice(&unit.to_be_bytes());
    }
    Object::String(bytes, StringFormat::Hexadecimal)
}

/// A destination showing the top of `page` at the reader's current zoom.
fn destination(page: ObjectId) -> Object {
    Object::Array(vec![
        Object::Reference(page),
        Object::Name(b"XYZ".to_vec()),
        Object::Null,
        Object::Null,
        Object::Null,
    ])
}

impl Navigation {
    /// Add the outline and the contents page's links to `doc`. Entries whose page does not
    /// exist are skipped, never pointed at a wrong page.
    pub fn apply(&self, doc: &mut Document) -> Result<(), String> {
        let pages = doc.get_pages();
        let entries: Vec<(&NavEntry, ObjectId)> = self
            .entries
            .iter()
            .filter_map(|e| Some((e, *pages.get(&u32::try_from(e.page).ok()?)?)))
            .collect();
        if entries.is_empty() {
            return Ok(());
        }

        // Outline: a flat list in report order.
        let root = doc.new_object_id();
        let ids: Vec<ObjectId> = entries.iter().map(|_| doc.new_object_id()).collect();
        for (i, ((entry, page), id)) in entries.iter().zip(&ids).enumerate() {
            let mut item = Dictionary::new();
            item.set("Title", text_string(&entry.title));
            item.set("Parent", Object::Reference(root));
            item.set("Dest", destination(*page));
            if i > 0 {
                item.set("Prev", Object::Reference(ids[i - 1]));
            }
            if let Some(next) = ids.get(i + 1) {
                item.set("Next", Object::Reference(*next));
            }
            doc.objects.insert(*id, Object::Dictionary(item));
        }
        let mut outlines = Dictionary::new();
        outlines.set("Type", Object::Name(b"Outlines".to_vec()));
        outlines.set("First", Object::Reference(ids[0]));
        outlines.set("Last", Object::Reference(ids[ids.len() - 1]));
        outlines.set("Count", Object::Integer(ids.len() as i64));
        doc.objects.insert(root, Object::Dictionary(outlines));
        let catalog = doc
            .catalog_mut()
            .map_err(|e| format!("no document catalog: {e}"))?;
        catalog.set("Outlines", Object::Reference(root));
        catalog.set("PageMode", Object::Name(b"UseOutlines".to_vec()));

        // Contents page: one invisible link per section line.
        let Some(contents) = u32::try_from(self.contents_page)
            .ok()
            .and_then(|p| pages.get(&p).copied())
        else {
            return Ok(());
        };
        let mut annots = Vec::new();
        for (entry, page) in &entries {
            let mut link = Dictionary::new();
            link.set("Type", Object::Name(b"Annot".to_vec()));
            link.set("Subtype", Object::Name(b"Link".to_vec()));
            link.set(
                "Rect",
                Object::Array(
                    entry
                        .contents_rect
                        .iter()
                        .map(|v| Object::Real(*v))
                        .collect(),
                ),
            );
            link.set("Border", Object::Array(vec![0.into(), 0.into(), 0.into()]));
            // Print flag: PDF/A-2 requires it on every annotation.
            link.set("F", Object::Integer(4));
            link.set("Dest", destination(*page));
            annots.push(Object::Reference(doc.add_object(link)));
        }
        let page = doc
            .get_object_mut(contents)
            .and_then(Object::as_dict_mut)
            .map_err(|e| format!("contents page: {e}"))?;
        let mut existing = match page.get(b"Annots") {
            Ok(Object::Array(a)) => a.clone(),
            _ => Vec::new(),
        };
        existing.extend(annots);
        page.set("Annots", Object::Array(existing));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_utf16_with_a_byte_order_mark() {
        assert_eq!(
            text_string("目录 A"),
            Object::String(
                vec![0xFE, 0xFF, 0x76, 0xEE, 0x5F, 0x55, 0x00, 0x20, 0x00, 0x41],
                StringFormat::Hexadecimal
            )
        );
    }
}
