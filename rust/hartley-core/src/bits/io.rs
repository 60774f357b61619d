//! The file format of [`BinaryIndex`], version 1.
//!
//! A 256-byte header, then sections at 64-byte aligned offsets, all
//! little-endian:
//!
//! | bytes     | field                                                    |
//! |-----------|----------------------------------------------------------|
//! | 0..8      | magic `HRTLYBIN`                                          |
//! | 8..12     | format version (1)                                       |
//! | 12..16    | header size (256)                                        |
//! | 16..24    | bits per code                                            |
//! | 24..32    | rows                                                     |
//! | 32..40    | quantiser dimension (0: codes given by the user)         |
//! | 40..52    | bits per dimension, threshold method, rotation kind      |
//! | 52..56    | rescoring kind (0 none, 1 float32, 2 int8)               |
//! | 56..64    | values per rescoring vector                              |
//! | 64..192   | eight (offset, length) pairs: thresholds, centres, mean, |
//! |           | rotation, codes, vectors, scales, inverse norms          |
//! | 192..196  | CRC-32 of the sections' bytes, in order                  |
//! | 252..256  | CRC-32 of bytes 0..252                                   |
//!
//! Codes are stored as rows padded with zeros to a multiple of 8 bytes, so a
//! mapped file is scanned in place. Writing goes to a temporary file in the
//! same directory that is renamed over the target, so an interrupted save
//! never destroys a good index. Loading checks every size and offset against
//! the header and the file length before anything is read, so a truncated or
//! hostile file fails with an error rather than reading out of bounds. The
//! header checksum is always checked; the payload checksum when the file is
//! read into memory, or on request for mapped files (checking it reads the
//! whole file).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::binarize::code_bytes;
use super::index::{stride_words, BinaryIndex, Quantizer, Rescore};
use super::store::Store;
use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"HRTLYBIN";
const VERSION: u32 = 1;
const HEADER: usize = 256;
const SECTIONS: usize = 8;

fn bad(message: impl Into<String>) -> Error {
    Error::invalid("file", message)
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn read_f32s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect()
}

/// Writes `index` to `path`, atomically replacing any file there.
pub fn save(index: &BinaryIndex, path: &Path) -> Result<()> {
    if cfg!(target_endian = "big") {
        return Err(bad(
            "the index format is little-endian; this machine is not",
        ));
    }
    let q = index.quantizer();
    let [codes, vectors, scales, norms] = index.stores();
    let small: [Vec<u8>; 4] = match q {
        Some(q) => [
            f32_bytes(&q.thresholds),
            f32_bytes(&q.centres),
            f32_bytes(&q.mean),
            f32_bytes(&q.rotation),
        ],
        None => Default::default(),
    };
    let parts: [&[u8]; SECTIONS] = [
        &small[0],
        &small[1],
        &small[2],
        &small[3],
        codes.bytes(),
        vectors.bytes(),
        scales.bytes(),
        norms.bytes(),
    ];
    let mut header = vec![0u8; HEADER];
    header[0..8].copy_from_slice(MAGIC);
    header[8..12].copy_from_slice(&VERSION.to_le_bytes());
    header[12..16].copy_from_slice(&(HEADER as u32).to_le_bytes());
    header[16..24].copy_from_slice(&(index.n_bits() as u64).to_le_bytes());
    header[24..32].copy_from_slice(&(index.len() as u64).to_le_bytes());
    let (dim, bits, method, rot) = q.map_or((0, 0, 0, 0), |q| {
        (q.dim as u64, q.bits as u32, q.method, q.rotation_kind)
    });
    header[32..40].copy_from_slice(&dim.to_le_bytes());
    header[40..44].copy_from_slice(&bits.to_le_bytes());
    header[44..48].copy_from_slice(&method.to_le_bytes());
    header[48..52].copy_from_slice(&rot.to_le_bytes());
    header[52..56].copy_from_slice(&(index.rescore() as u32).to_le_bytes());
    header[56..64].copy_from_slice(&(index.vector_dim() as u64).to_le_bytes());
    let mut offset = HEADER;
    let mut crc = crc32fast::Hasher::new();
    for (s, part) in parts.iter().enumerate() {
        let at = 64 + 16 * s;
        header[at..at + 8].copy_from_slice(&(offset as u64).to_le_bytes());
        header[at + 8..at + 16].copy_from_slice(&(part.len() as u64).to_le_bytes());
        crc.update(part);
        offset = (offset + part.len()).div_ceil(64) * 64;
    }
    header[192..196].copy_from_slice(&crc.finalize().to_le_bytes());
    let head_crc = crc32fast::hash(&header[..252]);
    header[252..256].copy_from_slice(&head_crc.to_le_bytes());

    let tmp = temporary_path(path);
    let write = || -> std::io::Result<()> {
        let mut f = std::io::BufWriter::new(File::create(&tmp)?);
        f.write_all(&header)?;
        let mut written = HEADER;
        for part in parts {
            f.write_all(part)?;
            written += part.len();
            let pad = written.div_ceil(64) * 64 - written;
            f.write_all(&[0u8; 64][..pad])?;
            written += pad;
        }
        let f = f.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Make the rename durable; not every platform can open directories.
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_error(path, e)
    })
}

fn temporary_path(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "index".into());
    let unique = format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    path.with_file_name(unique)
}

fn u32_at(h: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(h[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(h: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(h[at..at + 8].try_into().expect("8 bytes"))
}

fn usize_at(h: &[u8], at: usize, what: &str) -> Result<usize> {
    usize::try_from(u64_at(h, at)).map_err(|_| bad(format!("{what} is out of range")))
}

/// Reads an index from `path`: into memory, or (`mmap`) serving the codes
/// and vectors from the mapped file. `verify` checks the payload checksum
/// also when mapping.
pub fn load(path: &Path, mmap: bool, verify: bool) -> Result<BinaryIndex> {
    if cfg!(target_endian = "big") {
        return Err(bad(
            "the index format is little-endian; this machine is not",
        ));
    }
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let len = file.metadata().map_err(|e| io_error(path, e))?.len() as usize;
    if len < HEADER {
        return Err(bad(format!(
            "{} is not a hartley binary index (only {len} bytes)",
            path.display()
        )));
    }
    // SAFETY: the mapping is read-only; hartley never writes to index files
    // in place (saves replace them by renaming), so the bytes do not change
    // under us unless another program truncates the file, which the
    // documentation warns against.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| io_error(path, e))?;
    let map = Arc::new(map);
    let h = &map[..HEADER];
    if &h[0..8] != MAGIC {
        return Err(bad(format!(
            "{} is not a hartley binary index",
            path.display()
        )));
    }
    let version = u32_at(h, 8);
    if version != VERSION {
        return Err(bad(format!(
            "format version {version} is not supported (this hartley reads version {VERSION})"
        )));
    }
    if crc32fast::hash(&h[..252]) != u32_at(h, 252) {
        return Err(bad("header checksum mismatch: the file is corrupted"));
    }
    if u32_at(h, 12) as usize != HEADER {
        return Err(bad("unexpected header size"));
    }
    let n_bits = usize_at(h, 16, "bits per code")?;
    let n = usize_at(h, 24, "row count")?;
    let dim = usize_at(h, 32, "dimension")?;
    let bits = u32_at(h, 40) as usize;
    let (method, rotation_kind) = (u32_at(h, 44), u32_at(h, 48));
    let rescore = Rescore::from_code(u32_at(h, 52)).ok_or_else(|| bad("unknown rescoring kind"))?;
    let vector_dim = usize_at(h, 56, "vector dimension")?;
    if n_bits == 0 || n_bits > 1 << 24 {
        return Err(bad("bits per code out of range"));
    }
    let mut sections = [(0usize, 0usize); SECTIONS];
    let mut end = HEADER;
    for (s, sec) in sections.iter_mut().enumerate() {
        let off = usize_at(h, 64 + 16 * s, "section offset")?;
        let size = usize_at(h, 72 + 16 * s, "section length")?;
        let stop = off
            .checked_add(size)
            .ok_or_else(|| bad("section out of range"))?;
        if off % 64 != 0 || off < end || stop > len {
            return Err(bad(format!(
                "section {s} lies outside the file ({} bytes): truncated or corrupted",
                len
            )));
        }
        *sec = (off, size);
        end = stop;
    }
    if end.div_ceil(64) * 64 != len {
        return Err(bad(format!(
            "the file has {len} bytes but its header describes {}: truncated or corrupted",
            end.div_ceil(64) * 64
        )));
    }
    if !mmap || verify {
        let mut crc = crc32fast::Hasher::new();
        for &(off, size) in &sections {
            crc.update(&map[off..off + size]);
        }
        if crc.finalize() != u32_at(h, 192) {
            return Err(bad("payload checksum mismatch: the file is corrupted"));
        }
    }
    let floats = |s: usize, expect: Option<usize>| -> Result<Vec<f32>> {
        let (off, size) = sections[s];
        if Some(size) != expect.and_then(|e| e.checked_mul(4)) {
            return Err(bad(format!("section {s} has the wrong size")));
        }
        Ok(read_f32s(&map[off..off + size]))
    };
    let quantizer = if dim == 0 {
        if sections[..4].iter().any(|&(_, size)| size != 0) {
            return Err(bad("quantiser sections without a quantiser"));
        }
        None
    } else {
        if !(1..=8).contains(&bits) || dim.checked_mul(bits) != Some(n_bits) {
            return Err(bad("quantiser shape does not match the code width"));
        }
        let rotated = rotation_kind != 0;
        let q = Quantizer {
            dim,
            bits,
            method,
            rotation_kind,
            thresholds: floats(0, dim.checked_mul(bits))?,
            centres: floats(1, dim.checked_mul(bits + 1))?,
            mean: floats(2, Some(if rotated { dim } else { 0 }))?,
            rotation: floats(
                3,
                if rotated {
                    dim.checked_mul(dim)
                } else {
                    Some(0)
                },
            )?,
        };
        q.validate()
            .map_err(|_| bad("quantiser parameters are not finite"))?;
        Some(q)
    };
    if (rescore == Rescore::None) != (vector_dim == 0) {
        return Err(bad("rescoring kind and vector dimension disagree"));
    }
    let index = BinaryIndex::with_parts(n_bits, quantizer, rescore, vector_dim)
        .map_err(|e| bad(e.to_string()))?;
    let store = |s: usize| -> Store {
        let (off, size) = sections[s];
        if mmap {
            Store::Mapped {
                map: map.clone(),
                offset: off,
                len: size,
            }
        } else {
            Store::from_bytes(&map[off..off + size])
        }
    };
    let width = code_bytes(n_bits);
    let index = BinaryIndex::from_parts(index, n, store(4), store(5), store(6), store(7))?;
    // Padding bits must be zero, or Hamming distances would count them.
    let stride = stride_words(n_bits) * 8;
    if !mmap || verify {
        let codes = &map[sections[4].0..sections[4].0 + sections[4].1];
        let tail_mask = if n_bits % 8 == 0 {
            0
        } else {
            0xffu8 >> (n_bits % 8)
        };
        for row in codes.chunks_exact(stride) {
            if row[width - 1] & tail_mask != 0 || row[width..].iter().any(|&b| b != 0) {
                return Err(bad("code padding is not zero: the file is corrupted"));
            }
        }
    }
    Ok(index)
}
