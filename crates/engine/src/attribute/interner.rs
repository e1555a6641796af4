//! Host names are stored once and referred to by a small id: DNS logs and snapshots repeat
//! the same few hundred names millions of times.

use xborder_model::fasthash::FastMap;

#[derive(Debug, Clone, Default)]
pub struct Interner {
    names: Vec<String>,
    ids: FastMap<String, u32>,
}

impl Interner {
    /// The id of `name`, adding it on first sight.
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }

    /// All names, indexed by id.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn into_names(self) -> Vec<String> {
        self.names
    }
}
