//! Test helper: a strict reader of flattened device trees (DT spec v0.4 chapter 5), so tests
//! check the blob the builders produce rather than the calls that made it.

use std::collections::BTreeMap;

const FDT_MAGIC: u32 = 0xd00d_feed;
const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_NOP: u32 = 4;
const FDT_END: u32 = 9;

/// A parsed blob: header fields and every node by full path, properties in blob order.
#[derive(Debug)]
pub struct Fdt {
    pub totalsize: u32,
    pub version: u32,
    pub last_comp_version: u32,
    pub boot_cpuid_phys: u32,
    pub reservations: Vec<(u64, u64)>,
    /// Node paths in blob order ("/" first).
    pub order: Vec<String>,
    pub nodes: BTreeMap<String, Vec<(String, Vec<u8>)>>,
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

fn be64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}

fn cstr(b: &[u8], at: usize) -> (String, usize) {
    let end = at + b[at..].iter().position(|&c| c == 0).expect("unterminated string");
    (String::from_utf8(b[at..end].to_vec()).unwrap(), end + 1)
}

fn align4(v: usize) -> usize {
    (v + 3) & !3
}

/// Parses `blob`, panicking on any structural error (a test failure).
pub fn parse(blob: &[u8]) -> Fdt {
    assert_eq!(be32(blob, 0), FDT_MAGIC, "magic");
    let totalsize = be32(blob, 4);
    assert_eq!(totalsize as usize, blob.len(), "totalsize");
    let off_struct = be32(blob, 8) as usize;
    let off_strings = be32(blob, 12) as usize;
    let off_rsv = be32(blob, 16) as usize;
    let size_strings = be32(blob, 32) as usize;
    let size_struct = be32(blob, 36) as usize;
    assert!(off_struct + size_struct <= blob.len() && off_strings + size_strings <= blob.len());
    let strings = &blob[off_strings..off_strings + size_strings];

    let mut reservations = Vec::new();
    let mut at = off_rsv;
    loop {
        let (a, s) = (be64(blob, at), be64(blob, at + 8));
        at += 16;
        if a == 0 && s == 0 {
            break;
        }
        reservations.push((a, s));
    }

    let mut nodes: BTreeMap<String, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    let mut order = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let full = |p: &[String]| {
        if p.len() <= 1 {
            "/".to_string()
        } else {
            p[1..].iter().map(|s| format!("/{s}")).collect()
        }
    };
    let mut at = off_struct;
    loop {
        let tok = be32(blob, at);
        at += 4;
        match tok {
            FDT_BEGIN_NODE => {
                let (name, next) = cstr(blob, at);
                at = align4(next);
                path.push(name);
                let p = full(&path);
                assert!(nodes.insert(p.clone(), Vec::new()).is_none(), "duplicate node {p}");
                order.push(p);
            }
            FDT_END_NODE => {
                path.pop().expect("unbalanced END_NODE");
            }
            FDT_PROP => {
                let len = be32(blob, at) as usize;
                let nameoff = be32(blob, at + 4) as usize;
                at += 8;
                let value = blob[at..at + len].to_vec();
                at = align4(at + len);
                let (name, _) = cstr(strings, nameoff);
                let props = nodes.get_mut(&full(&path)).expect("property outside a node");
                assert!(props.iter().all(|(n, _)| *n != name), "duplicate property {name}");
                props.push((name, value));
            }
            FDT_NOP => {}
            FDT_END => break,
            t => panic!("bad token {t:#x} at {:#x}", at - 4),
        }
    }
    assert!(path.is_empty(), "unclosed nodes");
    assert_eq!(at, off_struct + size_struct, "struct block size");
    Fdt {
        totalsize,
        version: be32(blob, 20),
        last_comp_version: be32(blob, 24),
        boot_cpuid_phys: be32(blob, 28),
        reservations,
        order,
        nodes,
    }
}

impl Fdt {
    pub fn has(&self, node: &str) -> bool {
        self.nodes.contains_key(node)
    }

    /// Raw value of `node`'s property `name`.
    pub fn prop(&self, node: &str, name: &str) -> Option<&[u8]> {
        self.nodes.get(node)?.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }

    /// Property names of `node`.
    pub fn names(&self, node: &str) -> Vec<&str> {
        self.nodes[node].iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The property as big-endian u32 cells.
    pub fn cells(&self, node: &str, name: &str) -> Vec<u32> {
        let v = self.prop(node, name).unwrap_or_else(|| panic!("{node}:{name} missing"));
        assert_eq!(v.len() % 4, 0, "{node}:{name} is not cells");
        v.chunks(4).map(|c| u32::from_be_bytes(c.try_into().unwrap())).collect()
    }

    pub fn u32(&self, node: &str, name: &str) -> u32 {
        let c = self.cells(node, name);
        assert_eq!(c.len(), 1, "{node}:{name}");
        c[0]
    }

    pub fn u64(&self, node: &str, name: &str) -> u64 {
        let c = self.cells(node, name);
        assert_eq!(c.len(), 2, "{node}:{name}");
        (u64::from(c[0]) << 32) | u64::from(c[1])
    }

    /// The property as a string list.
    pub fn strings(&self, node: &str, name: &str) -> Vec<String> {
        let v = self.prop(node, name).unwrap_or_else(|| panic!("{node}:{name} missing"));
        assert_eq!(v.last(), Some(&0), "{node}:{name} is not NUL-terminated");
        v[..v.len() - 1].split(|&b| b == 0).map(|s| String::from_utf8(s.to_vec()).unwrap()).collect()
    }

    pub fn string(&self, node: &str, name: &str) -> String {
        let s = self.strings(node, name);
        assert_eq!(s.len(), 1, "{node}:{name}");
        s[0].clone()
    }

    /// Children of `node` whose name starts with `prefix`, in blob order.
    pub fn children(&self, node: &str, prefix: &str) -> Vec<String> {
        let base = if node == "/" { String::new() } else { node.to_string() };
        self.order
            .iter()
            .filter(|p| {
                p.strip_prefix(&base)
                    .and_then(|r| r.strip_prefix('/'))
                    .is_some_and(|r| !r.contains('/') && r.starts_with(prefix) && !r.is_empty())
            })
            .cloned()
            .collect()
    }
}
