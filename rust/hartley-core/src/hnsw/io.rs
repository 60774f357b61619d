//! The file format: a 128-byte header (magic, version, every parameter, the
//! graph's state and a checksum), then the level-0 rows exactly as they lie in
//! memory (so a file can be mapped and searched in place), then the upper
//! level pool. Little-endian throughout.
//!
//! ```text
//!   0 magic "HRTLHNSW"     8 version u32         12 header bytes u32 (128)
//!  16 metric u32          20 M u32              24 dim u64
//!  32 ef_construction u64 40 ef u64             48 seed u64
//!  56 slots u64           64 row bytes u64      72 upper pool length u64 (u32 entries)
//!  80 entry u64           88 max level u64      96 insertions u64
//! 104 next default id i64 112 checksum u64      120 reserved (0)
//! 128 rows: slots x row bytes, then the upper pool
//! ```
//!
//! Loading checks everything a search relies on before the index is used:
//! sizes against the file length, the checksum, every link (in range,
//! pointing at a live node that has the level), every upper block inside the
//! pool, the entry point, unique ids and finite vectors. A file that fails
//! any check is rejected with [`Error::InvalidArgument`] on `path`.

use std::io::{Read, Write};
use std::path::Path;

use super::graph::{Arena, Rows};
use super::params::{Layout, Metric, Params, MAX_LEVEL};
use super::{Hnsw, IdMap, Ids, MAX_SLOTS, NONE};
use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"HRTLHNSW";
/// Current format version.
pub const VERSION: u32 = 1;
const HEADER: usize = 128;
const SUM_AT: usize = 112;

/// A streaming 64-bit checksum (the xxHash64 round on four lanes).
struct Sum {
    lanes: [u64; 4],
    tail: Vec<u8>,
    total: u64,
}

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;

impl Sum {
    fn new() -> Self {
        Sum {
            lanes: [P1.wrapping_add(P2), P2, 0, P1.wrapping_neg()],
            tail: Vec::new(),
            total: 0,
        }
    }

    fn round(acc: u64, w: u64) -> u64 {
        acc.wrapping_add(w.wrapping_mul(P2))
            .rotate_left(31)
            .wrapping_mul(P1)
    }

    fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        if !self.tail.is_empty() {
            let take = (32 - self.tail.len()).min(data.len());
            self.tail.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.tail.len() == 32 {
                let t = std::mem::take(&mut self.tail);
                self.block(&t);
            }
        }
        let mut chunks = data.chunks_exact(32);
        for c in &mut chunks {
            self.block(c);
        }
        self.tail.extend_from_slice(chunks.remainder());
    }

    fn block(&mut self, c: &[u8]) {
        for (i, lane) in self.lanes.iter_mut().enumerate() {
            let w = u64::from_le_bytes(c[8 * i..8 * i + 8].try_into().expect("8 bytes"));
            *lane = Self::round(*lane, w);
        }
    }

    fn finish(mut self) -> u64 {
        let mut h = self.total;
        let tail = std::mem::take(&mut self.tail);
        for (i, &b) in tail.iter().enumerate() {
            h = Self::round(h, (b as u64) << (8 * (i % 8)) ^ i as u64);
        }
        for (i, l) in self.lanes.iter().enumerate() {
            h = Self::round(h ^ l.rotate_left(7 * i as u32 + 1), *l);
        }
        h ^ (h >> 29)
    }
}

fn bad(path_arg: &'static str, what: impl Into<String>) -> Error {
    Error::invalid(
        path_arg,
        format!("not a valid hartley HNSW file: {}", what.into()),
    )
}

fn u32_at(h: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(h[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(h: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(h[at..at + 8].try_into().expect("8 bytes"))
}

impl Hnsw {
    fn header(&self) -> [u8; HEADER] {
        let mut h = [0u8; HEADER];
        let p = &self.params;
        h[0..8].copy_from_slice(MAGIC);
        h[8..12].copy_from_slice(&VERSION.to_le_bytes());
        h[12..16].copy_from_slice(&(HEADER as u32).to_le_bytes());
        h[16..20].copy_from_slice(&p.metric.code().to_le_bytes());
        h[20..24].copy_from_slice(&(p.m as u32).to_le_bytes());
        let words: [u64; 12] = [
            p.dim as u64,
            p.ef_construction as u64,
            p.ef as u64,
            p.seed,
            self.n_slots as u64,
            self.lay.row_bytes as u64,
            self.upper.len() as u64,
            self.entry as u64,
            self.max_level as u64,
            self.inserted,
            self.next_id as u64,
            0,
        ];
        for (i, w) in words.iter().enumerate() {
            h[24 + 8 * i..32 + 8 * i].copy_from_slice(&w.to_le_bytes());
        }
        h
    }

    fn rows(&self) -> &[u8] {
        &self.arena.bytes()[..self.n_slots * self.lay.row_bytes]
    }

    fn upper_bytes(&self) -> Vec<u8> {
        self.upper.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    fn sealed_header(&self, upper: &[u8]) -> [u8; HEADER] {
        let mut h = self.header();
        let mut s = Sum::new();
        s.update(&h);
        s.update(self.rows());
        s.update(upper);
        h[SUM_AT..SUM_AT + 8].copy_from_slice(&s.finish().to_le_bytes());
        h
    }

    /// The index in the file format, as bytes (for pickling).
    pub fn to_bytes(&self) -> Vec<u8> {
        let upper = self.upper_bytes();
        let mut out = Vec::with_capacity(HEADER + self.rows().len() + upper.len());
        out.extend_from_slice(&self.sealed_header(&upper));
        out.extend_from_slice(self.rows());
        out.extend_from_slice(&upper);
        out
    }

    /// Writes the index to `path` atomically: to a temporary file in the same
    /// directory, flushed to disk, then renamed over `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        let io = |e: std::io::Error| Error::invalid("path", format!("cannot write {path:?}: {e}"));
        let name = path
            .file_name()
            .ok_or_else(|| Error::invalid("path", format!("{path:?} is not a file path")))?;
        let mut tmp_name = name.to_os_string();
        tmp_name.push(format!(".tmp-{}", std::process::id()));
        let tmp = path.with_file_name(tmp_name);
        let upper = self.upper_bytes();
        let write = || -> std::io::Result<()> {
            let f = std::fs::File::create(&tmp)?;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
            w.write_all(&self.sealed_header(&upper))?;
            w.write_all(self.rows())?;
            w.write_all(&upper)?;
            let f = w.into_inner().map_err(|e| e.into_error())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(e)
        })
    }

    /// Reads an index from `bytes` (as written by [`Hnsw::to_bytes`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Hnsw> {
        if bytes.len() < HEADER {
            return Err(bad(
                "data",
                format!("{} bytes, shorter than the header", bytes.len()),
            ));
        }
        let (mut idx, rows_len, upper_len) = parse_header(&bytes[..HEADER], bytes.len(), "data")?;
        let rows = &bytes[HEADER..HEADER + rows_len];
        let upper = &bytes[HEADER + rows_len..HEADER + rows_len + upper_len];
        check_sum(&bytes[..HEADER], rows, upper, "data")?;
        let mut v = Rows::zeroed(rows_len).map_err(|e| bad("data", e.to_string()))?;
        v.as_mut_slice().copy_from_slice(rows);
        idx.arena = Arena::Owned(v);
        idx.upper = words(upper);
        idx.validate("data")?;
        Ok(idx)
    }

    /// Loads an index saved by [`Hnsw::save`]. With `mmap`, the rows stay in
    /// the file, mapped read-only (and are copied on the first change); the
    /// file must not be modified while the index is in use.
    pub fn load(path: &Path, mmap: bool) -> Result<Hnsw> {
        let io = |e: std::io::Error| Error::invalid("path", format!("cannot read {path:?}: {e}"));
        let mut f = std::fs::File::open(path).map_err(io)?;
        let len = f.metadata().map_err(io)?.len();
        let len = usize::try_from(len).map_err(|_| bad("path", "file too large"))?;
        if len < HEADER {
            return Err(bad("path", format!("{len} bytes, shorter than the header")));
        }
        if mmap {
            // SAFETY: the mapping is read-only; the documented contract is
            // that the file is not modified while mapped. Everything read
            // from it is validated below before use.
            let map = unsafe { memmap2::Mmap::map(&f) }.map_err(io)?;
            if map.len() != len {
                return Err(bad("path", "file changed while opening"));
            }
            let (mut idx, rows_len, upper_len) = parse_header(&map[..HEADER], len, "path")?;
            let rows = &map[HEADER..HEADER + rows_len];
            let upper = &map[HEADER + rows_len..HEADER + rows_len + upper_len];
            check_sum(&map[..HEADER], rows, upper, "path")?;
            idx.upper = words(upper);
            idx.arena = Arena::Mapped {
                map,
                offset: HEADER,
                len: rows_len,
            };
            idx.validate("path")?;
            return Ok(idx);
        }
        let mut header = [0u8; HEADER];
        f.read_exact(&mut header).map_err(io)?;
        let (mut idx, rows_len, upper_len) = parse_header(&header, len, "path")?;
        let mut v = Rows::zeroed(rows_len).map_err(io)?;
        f.read_exact(v.as_mut_slice()).map_err(io)?;
        let mut upper = vec![0u8; upper_len];
        f.read_exact(&mut upper).map_err(io)?;
        check_sum(&header, v.as_slice(), &upper, "path")?;
        idx.arena = Arena::Owned(v);
        idx.upper = words(&upper);
        idx.validate("path")?;
        Ok(idx)
    }

    /// Checks every row and link (see the module documentation), then
    /// rebuilds the id map and the free list.
    fn validate(&mut self, arg: &'static str) -> Result<()> {
        let g = self.view();
        let n = self.n_slots;
        let lay = self.lay;
        let block = lay.block();
        let mut ids = IdMap::default();
        ids.reserve(n);
        let mut free = Vec::new();
        let mut top = None::<usize>;
        for s in 0..n as u32 {
            let (flag, level) = (g.flag(s), g.level(s));
            if flag > 1 || level > MAX_LEVEL {
                return Err(bad(arg, format!("row {s} has a bad flag or level")));
            }
            if flag == 1 {
                free.push(s);
                continue;
            }
            if ids.insert(g.id(s), s).is_some() {
                return Err(bad(arg, format!("id {} appears twice", g.id(s))));
            }
            if level == 0 && g.upper_off(s) != 0 {
                return Err(bad(arg, format!("row {s} has upper links but level 0")));
            }
            if level > 0 {
                let end = (level * block).checked_add(g.upper_off(s));
                if end.is_none_or(|e| e > self.upper.len()) {
                    return Err(bad(
                        arg,
                        format!("row {s} has upper links outside the pool"),
                    ));
                }
            }
            top = Some(top.map_or(level, |t: usize| t.max(level)));
            if !self.params.metric.is_binary() {
                // SAFETY: a row holds dim f32 at its start (4-aligned).
                let v =
                    unsafe { std::slice::from_raw_parts(g.vec(s).cast::<f32>(), lay.kernel_len) };
                if v.iter().any(|x| !x.is_finite()) {
                    return Err(bad(arg, format!("row {s} holds a non-finite value")));
                }
            }
        }
        let live = |t: u32| (t as usize) < n && g.flag(t) == 0;
        for s in 0..n as u32 {
            if g.flag(s) != 0 {
                continue;
            }
            for l in 0..=g.level(s) {
                let (count, slots) = g.list(s, l);
                let c = count.load(std::sync::atomic::Ordering::Relaxed) as usize;
                if c > slots.len() {
                    return Err(bad(arg, format!("row {s} has {c} links on level {l}")));
                }
                // Searches walk every slot (padding holds the node itself),
                // so every slot must be a link or exactly the node.
                for (i, t) in slots.iter().enumerate() {
                    let t = t.load(std::sync::atomic::Ordering::Relaxed);
                    let ok = if i < c {
                        t != s && live(t) && g.level(t) >= l
                    } else {
                        t == s
                    };
                    if !ok {
                        return Err(bad(
                            arg,
                            format!("row {s} links to a bad node on level {l}"),
                        ));
                    }
                }
            }
        }
        match top {
            None if self.entry != NONE || self.max_level != 0 => {
                return Err(bad(arg, "an empty index has an entry point"));
            }
            Some(t)
                if self.entry as usize >= n
                    || !live(self.entry)
                    || g.level(self.entry) != t
                    || self.max_level != t =>
            {
                return Err(bad(arg, "bad entry point"));
            }
            _ => {}
        }
        free.reverse();
        let mut kept = Ids::default();
        for (id, s) in ids {
            kept.insert(id, s);
        }
        self.ids = kept;
        self.free = free;
        Ok(())
    }
}

fn words(b: &[u8]) -> Vec<u32> {
    b.chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect()
}

fn check_sum(header: &[u8], rows: &[u8], upper: &[u8], arg: &'static str) -> Result<()> {
    let mut h = header.to_vec();
    let want = u64_at(&h, SUM_AT);
    h[SUM_AT..SUM_AT + 8].fill(0);
    let mut s = Sum::new();
    s.update(&h);
    s.update(rows);
    s.update(upper);
    if s.finish() != want {
        return Err(bad(arg, "checksum mismatch (the file is corrupted)"));
    }
    Ok(())
}

/// Parses and checks the header against the file length; returns an empty
/// index with the parameters and state, and the byte lengths of both sections.
fn parse_header(h: &[u8], file_len: usize, arg: &'static str) -> Result<(Hnsw, usize, usize)> {
    if cfg!(target_endian = "big") {
        return Err(Error::invalid(
            arg,
            "index files are only supported on little-endian hosts",
        ));
    }
    if &h[0..8] != MAGIC {
        return Err(bad(arg, "wrong magic number"));
    }
    let version = u32_at(h, 8);
    if version != VERSION {
        return Err(bad(
            arg,
            format!("format version {version}, this hartley reads {VERSION}"),
        ));
    }
    if u32_at(h, 12) as usize != HEADER || u64_at(h, 120) != 0 {
        return Err(bad(arg, "unexpected header"));
    }
    let metric = Metric::from_code(u32_at(h, 16)).ok_or_else(|| bad(arg, "unknown metric"))?;
    let big = |v: u64| usize::try_from(v).map_err(|_| bad(arg, "a size is out of range"));
    let params = Params {
        metric,
        m: u32_at(h, 20) as usize,
        dim: big(u64_at(h, 24))?,
        ef_construction: big(u64_at(h, 32))?,
        ef: big(u64_at(h, 40))?,
        seed: u64_at(h, 48),
    };
    params
        .validate()
        .map_err(|e| bad(arg, format!("bad parameters ({e})")))?;
    let lay = Layout::new(&params);
    let n_slots = big(u64_at(h, 56))?;
    if u64_at(h, 64) != lay.row_bytes as u64 {
        return Err(bad(arg, "row size does not match the parameters"));
    }
    if n_slots > MAX_SLOTS {
        return Err(bad(arg, "too many rows"));
    }
    let upper_len = big(u64_at(h, 72))?;
    let rows_len = n_slots.checked_mul(lay.row_bytes);
    let upper_bytes = upper_len.checked_mul(4);
    let total = rows_len
        .zip(upper_bytes)
        .and_then(|(r, u)| r.checked_add(u))
        .and_then(|t| t.checked_add(HEADER));
    if total != Some(file_len) {
        return Err(bad(
            arg,
            "its length does not match its header (truncated?)",
        ));
    }
    let entry = u64_at(h, 80);
    let max_level = u64_at(h, 88);
    if (entry != NONE as u64 && entry >= n_slots as u64) || max_level > MAX_LEVEL as u64 {
        return Err(bad(arg, "bad entry point"));
    }
    let mut idx = Hnsw::empty(params);
    idx.n_slots = n_slots;
    idx.entry = entry as u32;
    idx.max_level = max_level as usize;
    idx.inserted = u64_at(h, 96);
    idx.next_id = u64_at(h, 104) as i64;
    Ok((idx, rows_len.unwrap_or(0), upper_bytes.unwrap_or(0)))
}
