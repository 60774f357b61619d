//! The binary index: packed codes, the quantiser that made them, and
//! optional vectors for rescoring; exhaustive search in three scores.

use super::binarize::{code_bytes, AsymmetricTable};
use super::rerank::{asymmetric_distance, query_table, rerank_asymmetric, shortlist_len, ByteRows};
use super::scan::{block_rows, drive, hamming_knn, Codes, Plan};
use super::store::Store;
use super::topk::{best_k, Neighbour};
use crate::error::{Error, Result};
use crate::par::{Control, Threads};
use crate::simd::Level;

/// How a fitted quantiser turned vectors into codes: what search needs to
/// encode queries and to score them asymmetrically, and what a saved index
/// needs to rebuild the Python `Binarizer`.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantizer {
    /// Dimension of the (projected) vectors.
    pub dim: usize,
    /// Bits per dimension.
    pub bits: usize,
    /// Threshold rule, as a code the facade defines.
    pub method: u32,
    /// Rotation kind, as a code the facade defines (0: none).
    pub rotation_kind: u32,
    /// `thresholds[i * bits + j]`, ascending in `j`.
    pub thresholds: Vec<f32>,
    /// `centres[i * (bits + 1) + m]`: the mean of bin `m` of dimension `i`.
    pub centres: Vec<f32>,
    /// Centre subtracted before the rotation (empty without rotation).
    pub mean: Vec<f32>,
    /// `dim x dim` row-major rotation (empty without rotation).
    pub rotation: Vec<f32>,
}

impl Quantizer {
    /// The centre `mean` expressed in the rotated space (`mean @ rotation`),
    /// zeros without rotation: a rotated, centred vector `z` stands for
    /// `z R^T + mean`, whose dot product with a query `q` is
    /// `(q R) . (z + mean R)`.
    pub fn rotated_mean(&self) -> Vec<f32> {
        let d = self.dim;
        if self.rotation.is_empty() {
            return vec![0.0; d];
        }
        (0..d)
            .map(|j| {
                (0..d)
                    .map(|i| self.mean[i] as f64 * self.rotation[i * d + j] as f64)
                    .sum::<f64>() as f32
            })
            .collect()
    }

    /// Checks the shapes of the parameters.
    pub fn validate(&self) -> Result<()> {
        let d = self.dim;
        let ok = d > 0
            && (1..=8).contains(&self.bits)
            && self.thresholds.len() == d * self.bits
            && self.centres.len() == d * (self.bits + 1)
            && (self.rotation.is_empty() && self.mean.is_empty()
                || self.rotation.len() == d * d && self.mean.len() == d);
        if !ok {
            return Err(Error::invalid(
                "quantizer",
                "parameters of inconsistent sizes",
            ));
        }
        let all = [&self.thresholds, &self.centres, &self.mean, &self.rotation];
        if all.iter().any(|v| v.iter().any(|x| !x.is_finite())) {
            return Err(Error::invalid("quantizer", "parameters must be finite"));
        }
        Ok(())
    }
}

/// What the index keeps for rescoring candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rescore {
    /// Nothing: results are ranked by the code score alone.
    None = 0,
    /// Unit-norm float32 vectors.
    Float32 = 1,
    /// Unit-norm vectors as int8 with a float32 scale per row.
    Int8 = 2,
}

impl Rescore {
    /// Decodes the file-format code.
    pub fn from_code(c: u32) -> Option<Rescore> {
        match c {
            0 => Some(Rescore::None),
            1 => Some(Rescore::Float32),
            2 => Some(Rescore::Int8),
            _ => None,
        }
    }
}

/// How candidates are scored against the codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Score {
    /// Hamming distance between query and row codes.
    Hamming,
    /// `1 - ITS`, the signed normalised mutual information of the 2x2 table
    /// of bit agreements (see [`its_distance`]).
    Its,
    /// `1 - cos(q, dequantise(code))`: the float query against the row's
    /// bin centres, mapped back to the original space.
    Asymmetric,
}

/// Options of [`BinaryIndex::search`].
#[derive(Debug, Clone, Copy)]
pub struct SearchOptions {
    /// Neighbours per query.
    pub k: usize,
    /// With rescoring, `k * oversample` candidates are rescored.
    pub oversample: usize,
    /// The score candidates are ranked by.
    pub score: Score,
    /// With the asymmetric score, how many Hamming candidates per query are
    /// re-ranked ([`super::rerank`]); `None` for
    /// [`super::rerank::shortlist_len`]. At least the whole index scores
    /// every row asymmetrically.
    pub shortlist: Option<usize>,
    /// Whether to rescore candidates with the stored vectors.
    pub rescore: bool,
    /// SIMD tier of the popcount kernels.
    pub level: Level,
}

/// Queries as the index needs them; each part is required by some options.
#[derive(Debug, Clone, Copy)]
pub struct Queries<'a> {
    /// Number of queries.
    pub n: usize,
    /// Packed codes, `n x code_bytes` (Hamming and ITS scores, and the
    /// short list of asymmetric re-ranking).
    pub codes: Option<&'a [u8]>,
    /// Projected float queries, `n x quantizer.dim` (asymmetric score).
    pub projected: Option<&'a [f32]>,
    /// Unit-norm float queries, `n x vector_dim` (rescoring).
    pub vectors: Option<&'a [f32]>,
}

/// Packed binary codes with exhaustive search.
#[derive(Debug, Clone)]
pub struct BinaryIndex {
    n_bits: usize,
    n: usize,
    codes: Store,
    quantizer: Option<Quantizer>,
    rescore: Rescore,
    vector_dim: usize,
    vectors: Store,
    scales: Store,
    /// `1 / |dequantised row|` (original space), for asymmetric cosine.
    inv_norms: Store,
}

/// Words per stored row of `n_bits`-bit codes.
#[inline]
pub fn stride_words(n_bits: usize) -> usize {
    n_bits.div_ceil(64)
}

/// Copies packed code rows into zero-padded native-endian word rows.
pub fn to_words(codes: &[u8], n_bits: usize) -> Vec<u64> {
    let width = code_bytes(n_bits);
    let stride = stride_words(n_bits);
    let n = codes.len().checked_div(width).unwrap_or(0);
    let mut out = vec![0u64; n * stride];
    for (row, words) in codes.chunks_exact(width).zip(out.chunks_exact_mut(stride)) {
        for (w, chunk) in words.iter_mut().zip(row.chunks(8)) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            *w = u64::from_ne_bytes(b);
        }
    }
    out
}

/// The information-theoretic distance `1 - ITS` between a query with `nq`
/// set bits and a row with `nd` set bits sharing `a` set bits, over `n` bits.
///
/// Read the bit positions as `n` paired samples of two binary variables; with
/// `h(x) = x ln x`, the plug-in mutual information of their 2x2 table is
/// `I = [h(a) + h(b) + h(c) + h(d) - h(nq) - h(n-nq) - h(nd) - h(n-nd) + h(n)] / n`
/// with `b = nq - a`, `c = nd - a`, `d = n - nq - nd + a`, and the marginal
/// entropies are `H_q = [h(n) - h(nq) - h(n-nq)] / n` and likewise `H_d`. Then
/// `ITS = sign(ad - bc) I / sqrt(H_q H_d)`, in `[-1, 1]`: 1 for identical
/// codes, -1 for complementary ones, 0 for independent bits. `xlogx[x]` holds
/// `h(x)` for `x` in `0..=n`.
#[inline]
pub fn its_distance(a: u32, nq: u32, nd: u32, n: u32, xlogx: &[f64]) -> f32 {
    let h = |x: u32| xlogx[x as usize];
    let (b, c) = (nq - a, nd - a);
    let d = n + a - nq - nd;
    let mi = (h(a) + h(b) + h(c) + h(d) - h(nq) - h(n - nq) - h(nd) - h(n - nd) + h(n)).max(0.0);
    let hq = h(n) - h(nq) - h(n - nq);
    let hd = h(n) - h(nd) - h(n - nd);
    let denom = (hq * hd).sqrt();
    if denom <= 0.0 {
        return 1.0;
    }
    let sign = (a as f64 * d as f64 - b as f64 * c as f64).signum();
    (1.0 - sign * (mi / denom).min(1.0)) as f32
}

/// `h(x) = x ln x` for `x` in `0..=n`.
pub fn xlogx_table(n: usize) -> Vec<f64> {
    (0..=n)
        .map(|x| {
            if x == 0 {
                0.0
            } else {
                x as f64 * (x as f64).ln()
            }
        })
        .collect()
}

impl BinaryIndex {
    /// An empty index of `n_bits`-bit codes.
    pub fn new(n_bits: usize) -> Result<Self> {
        Self::with_parts(n_bits, None, Rescore::None, 0)
    }

    /// An empty index whose codes come from `quantizer`, keeping `rescore`
    /// vectors of `vector_dim` values per row.
    pub fn with_parts(
        n_bits: usize,
        quantizer: Option<Quantizer>,
        rescore: Rescore,
        vector_dim: usize,
    ) -> Result<Self> {
        if n_bits == 0 {
            return Err(Error::invalid("n_bits", "must be positive"));
        }
        if let Some(q) = &quantizer {
            q.validate()?;
            if q.dim * q.bits != n_bits {
                return Err(Error::invalid(
                    "n_bits",
                    "must equal dim * bits of the quantizer",
                ));
            }
        }
        if (rescore == Rescore::None) != (vector_dim == 0) {
            return Err(Error::invalid(
                "rescore",
                "vector_dim must be given with rescoring",
            ));
        }
        Ok(BinaryIndex {
            n_bits,
            n: 0,
            codes: Store::default(),
            quantizer,
            rescore,
            vector_dim,
            vectors: Store::default(),
            scales: Store::default(),
            inv_norms: Store::default(),
        })
    }

    /// Assembles an index from loaded parts (sizes are checked).
    pub(crate) fn from_parts(
        mut index: BinaryIndex,
        n: usize,
        codes: Store,
        vectors: Store,
        scales: Store,
        inv_norms: Store,
    ) -> Result<Self> {
        let bad = |what: &str| Error::invalid("file", format!("{what} section has the wrong size"));
        if Some(codes.len()) != n.checked_mul(stride_words(index.n_bits) * 8) {
            return Err(bad("codes"));
        }
        let (v_len, s_len) = index.rescore_sizes(n).ok_or_else(|| bad("vectors"))?;
        if vectors.len() != v_len {
            return Err(bad("vectors"));
        }
        if scales.len() != s_len {
            return Err(bad("scales"));
        }
        let norms_len = if index.quantizer.is_some() {
            n.checked_mul(4)
        } else {
            Some(0)
        };
        if Some(inv_norms.len()) != norms_len {
            return Err(bad("norms"));
        }
        if inv_norms.floats().iter().any(|x| !x.is_finite()) {
            return Err(bad("norms"));
        }
        index.n = n;
        index.codes = codes;
        index.vectors = vectors;
        index.scales = scales;
        index.inv_norms = inv_norms;
        Ok(index)
    }

    fn rescore_sizes(&self, n: usize) -> Option<(usize, usize)> {
        let values = n.checked_mul(self.vector_dim)?;
        Some(match self.rescore {
            Rescore::None => (0, 0),
            Rescore::Float32 => (values.checked_mul(4)?, 0),
            Rescore::Int8 => (values, n.checked_mul(4)?),
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Bits per code.
    pub fn n_bits(&self) -> usize {
        self.n_bits
    }

    /// The quantiser, for indexes built from vectors.
    pub fn quantizer(&self) -> Option<&Quantizer> {
        self.quantizer.as_ref()
    }

    /// What is kept for rescoring.
    pub fn rescore(&self) -> Rescore {
        self.rescore
    }

    /// Values per rescoring vector (0 without rescoring).
    pub fn vector_dim(&self) -> usize {
        self.vector_dim
    }

    /// Whether the codes are served from a mapped file.
    pub fn is_mapped(&self) -> bool {
        self.codes.is_mapped()
    }

    /// Bytes of memory held (mapped files excluded).
    pub fn memory_bytes(&self) -> usize {
        self.codes.heap_bytes() + self.vectors.heap_bytes() + self.scales.heap_bytes()
    }

    pub(crate) fn stores(&self) -> [&Store; 4] {
        [&self.codes, &self.vectors, &self.scales, &self.inv_norms]
    }

    /// The codes as word rows.
    pub fn codes(&self) -> Codes<'_> {
        Codes::new(self.codes.words(), stride_words(self.n_bits), self.n_bits)
            .expect("the index keeps whole rows")
    }

    /// The packed code of row `i` (without padding).
    pub fn code(&self, i: usize) -> &[u8] {
        let stride = stride_words(self.n_bits) * 8;
        &self.codes.bytes()[i * stride..i * stride + code_bytes(self.n_bits)]
    }

    /// Appends rows: packed `codes` (`m x code_bytes`) and, when the index
    /// rescores, their vectors (`m x vector_dim`, finite; normalised here).
    pub fn add(&mut self, codes: &[u8], vectors: Option<&[f32]>) -> Result<()> {
        let width = code_bytes(self.n_bits);
        if !codes.len().is_multiple_of(width) {
            return Err(Error::invalid(
                "codes",
                format!("rows must be {width} bytes ({} bits)", self.n_bits),
            ));
        }
        let m = codes.len() / width;
        let tail = self.n_bits % 8;
        if tail != 0 {
            let mask = 0xffu8 >> tail;
            if let Some(r) = codes
                .chunks_exact(width)
                .position(|c| c[width - 1] & mask != 0)
            {
                return Err(Error::invalid(
                    "codes",
                    format!(
                        "row {r} has bits set beyond the {}-bit code width",
                        self.n_bits
                    ),
                ));
            }
        }
        let prepared = match (self.rescore, vectors) {
            (Rescore::None, None) => None,
            (Rescore::None, Some(_)) => {
                return Err(Error::invalid("vectors", "this index keeps no vectors"))
            }
            (_, None) => return Err(Error::invalid("vectors", "this index needs the vectors")),
            (kind, Some(v)) => Some(self.prepare_vectors(kind, v, m)?),
        };
        if let Some(q) = &self.quantizer {
            let table = AsymmetricTable::squared_norms(&q.centres, q.bits, &q.rotated_mean());
            let mut norms = Vec::with_capacity(m * 4);
            for code in codes.chunks_exact(width) {
                let sq = table.offset + table.score(code) as f64;
                let inv = if sq > 0.0 { 1.0 / sq.sqrt() } else { 0.0 };
                norms.extend_from_slice(&(inv as f32).to_ne_bytes());
            }
            self.inv_norms.extend(&norms);
        }
        self.codes.extend(bytes_of(&to_words(codes, self.n_bits)));
        if let Some((v, s)) = prepared {
            self.vectors.extend(&v);
            self.scales.extend(&s);
        }
        self.n += m;
        Ok(())
    }

    fn prepare_vectors(&self, kind: Rescore, v: &[f32], m: usize) -> Result<(Vec<u8>, Vec<u8>)> {
        let d = self.vector_dim;
        if v.len() != m * d {
            return Err(Error::invalid(
                "vectors",
                format!("need {m} rows of {d} values to match the codes"),
            ));
        }
        let mut vec_bytes = Vec::with_capacity(v.len() * 4);
        let mut scale_bytes = Vec::new();
        for (r, row) in v.chunks_exact(d).enumerate() {
            if let Some(c) = row.iter().position(|x| !x.is_finite()) {
                return Err(Error::NonFinite {
                    arg: "vectors",
                    row: r,
                    col: c,
                });
            }
            let norm = row.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
            let inv = if norm > 0.0 { 1.0 / norm } else { 0.0 };
            match kind {
                Rescore::Float32 => {
                    for &x in row {
                        vec_bytes.extend_from_slice(&((x as f64 * inv) as f32).to_ne_bytes());
                    }
                }
                Rescore::Int8 => {
                    let peak = row.iter().fold(0f64, |a, &x| a.max((x as f64 * inv).abs()));
                    let scale = if peak > 0.0 { peak / 127.0 } else { 1.0 };
                    for &x in row {
                        let q = (x as f64 * inv / scale).round().clamp(-127.0, 127.0) as i8;
                        vec_bytes.push(q as u8);
                    }
                    scale_bytes.extend_from_slice(&(scale as f32).to_ne_bytes());
                }
                Rescore::None => unreachable!("no vectors without rescoring"),
            }
        }
        Ok((vec_bytes, scale_bytes))
    }

    /// `1 - cosine` between a unit-norm query and row `id`.
    fn exact_distance(&self, q: &[f32], id: usize) -> f32 {
        let d = self.vector_dim;
        match self.rescore {
            Rescore::Float32 => {
                let v = &self.vectors.floats()[id * d..(id + 1) * d];
                1.0 - crate::simd::f32::dot(q, v)
            }
            Rescore::Int8 => {
                let v = &self.vectors.bytes()[id * d..(id + 1) * d];
                let scale = self.scales.floats()[id];
                let dot: f32 = q.iter().zip(v).map(|(a, &b)| a * (b as i8) as f32).sum();
                1.0 - scale * dot
            }
            Rescore::None => f32::NAN,
        }
    }

    /// The `k` nearest rows to each query, ties to the lower id; lists are
    /// shorter than `k` only when the index has fewer rows.
    pub fn search(
        &self,
        queries: &Queries<'_>,
        opts: &SearchOptions,
        threads: Threads,
        ctl: &Control,
    ) -> Result<Vec<Vec<Neighbour>>> {
        if opts.k == 0 {
            return Err(Error::invalid("k", "must be at least 1"));
        }
        if opts.oversample == 0 {
            return Err(Error::invalid("oversample", "must be at least 1"));
        }
        if opts.rescore && self.rescore == Rescore::None {
            return Err(Error::invalid(
                "rescore",
                "this index keeps no vectors to rescore with",
            ));
        }
        let nq = queries.n;
        let first_k = if opts.rescore {
            opts.k.saturating_mul(opts.oversample)
        } else {
            opts.k
        };
        let db = self.codes();
        let query_words = || -> Result<Vec<u64>> {
            let codes = queries
                .codes
                .ok_or_else(|| Error::invalid("Q", "query codes are needed"))?;
            if codes.len() != nq * code_bytes(self.n_bits) {
                return Err(Error::invalid(
                    "Q",
                    format!("need {nq} codes of {} bits", self.n_bits),
                ));
            }
            Ok(to_words(codes, self.n_bits))
        };
        let candidates = match opts.score {
            Score::Hamming | Score::Its => {
                let words = query_words()?;
                let qs = Codes::new(&words, db.stride(), self.n_bits)?;
                if opts.score == Score::Hamming {
                    hamming_knn(db, qs, first_k, opts.level, threads, ctl)?
                } else {
                    its_knn(db, qs, first_k, opts.level, threads, ctl)?
                }
            }
            Score::Asymmetric => {
                let quant = self.quantizer.as_ref().ok_or_else(|| {
                    Error::invalid("asymmetric", "needs an index built from vectors")
                })?;
                let proj = queries
                    .projected
                    .ok_or_else(|| Error::invalid("Q", "float queries are needed"))?;
                if proj.len() != nq * quant.dim {
                    return Err(Error::invalid("Q", "float queries of the wrong dimension"));
                }
                let shortlist = match opts.shortlist {
                    Some(0) => return Err(Error::invalid("shortlist", "must be at least 1")),
                    Some(s) if s < first_k => {
                        return Err(Error::invalid(
                            "shortlist",
                            format!("must be at least the {first_k} candidates kept"),
                        ))
                    }
                    Some(s) => s,
                    None => shortlist_len(first_k, self.n),
                };
                if shortlist >= self.n {
                    self.asymmetric_knn(quant, proj, nq, first_k, threads, ctl)?
                } else {
                    let words = query_words()?;
                    let qs = Codes::new(&words, db.stride(), self.n_bits)?;
                    let short = hamming_knn(db, qs, shortlist, opts.level, threads, ctl)?;
                    let rows = ByteRows {
                        bytes: self.codes.bytes(),
                        stride: stride_words(self.n_bits) * 8,
                        width: code_bytes(self.n_bits),
                    };
                    let inv_norms = self.inv_norms.floats();
                    rerank_asymmetric(quant, rows, inv_norms, proj, short, first_k, threads, ctl)?
                }
            }
        };
        if !opts.rescore {
            return Ok(candidates);
        }
        let vecs = queries
            .vectors
            .ok_or_else(|| Error::invalid("Q", "float queries are needed to rescore"))?;
        let d = self.vector_dim;
        if vecs.len() != nq * d {
            return Err(Error::invalid(
                "Q",
                format!("queries must have {d} values to rescore"),
            ));
        }
        threads
            .map(candidates, |q, mut cands| {
                ctl.check()?;
                let qv = &vecs[q * d..(q + 1) * d];
                for c in &mut cands {
                    c.distance = self.exact_distance(qv, c.id as usize);
                }
                best_k(&mut cands, opts.k);
                Ok(cands)
            })
            .into_iter()
            .collect()
    }

    fn asymmetric_knn(
        &self,
        quant: &Quantizer,
        proj: &[f32],
        nq: usize,
        k: usize,
        threads: Threads,
        ctl: &Control,
    ) -> Result<Vec<Vec<Neighbour>>> {
        let stride = stride_words(self.n_bits) * 8;
        let rows_of = ByteRows {
            bytes: self.codes.bytes(),
            stride,
            width: code_bytes(self.n_bits),
        };
        let dim = quant.dim;
        let shift = quant.rotated_mean();
        let inv_norms = self.inv_norms.floats();
        let plan = Plan {
            n_rows: self.n,
            n_queries: nq,
            k,
            block: block_rows(stride / 8),
            max_distance: self.n_bits as u32,
        };
        drive(
            plan,
            threads,
            ctl,
            |qs| {
                qs.map(|q| query_table(&proj[q * dim..(q + 1) * dim], quant, &shift))
                    .collect::<Vec<_>>()
            },
            |tables, v, best, _| {
                let t = &tables[v.slot];
                let ids = v.first..v.first + v.rows;
                for (id, &inv) in ids.clone().zip(&inv_norms[ids]) {
                    let d = asymmetric_distance(t, rows_of.row(id), inv);
                    if d < v.bound {
                        best.push(Neighbour {
                            distance: d,
                            id: id as u64,
                        });
                    }
                }
            },
        )
    }
}

/// The `k` nearest rows by `1 - ITS` ([`its_distance`]).
pub fn its_knn(
    db: Codes<'_>,
    queries: Codes<'_>,
    k: usize,
    level: Level,
    threads: Threads,
    ctl: &Control,
) -> Result<Vec<Vec<Neighbour>>> {
    super::scan::check_pair(&db, &queries)?;
    let n = db.n_bits() as u32;
    let table = xlogx_table(db.n_bits());
    let stride = db.stride();
    let plan = Plan {
        n_rows: db.len(),
        n_queries: queries.len(),
        k,
        block: block_rows(stride),
        max_distance: n,
    };
    crate::with_kernel!(level, |kern| drive(
        plan,
        threads,
        ctl,
        |_| (),
        |_, v, best, s| {
            let qrow = queries.row(v.query);
            let nq = kern.and_count(qrow, qrow);
            let floats = &mut s.floats[..v.rows];
            kern.within(
                #[inline(always)]
                |kern| {
                    for (i, f) in floats.iter_mut().enumerate() {
                        let r = db.row(v.first + i);
                        *f = its_distance(
                            kern.and_count(qrow, r),
                            nq,
                            kern.and_count(r, r),
                            n,
                            &table,
                        );
                    }
                },
            );
            for (i, &d) in floats.iter().enumerate() {
                if d < v.bound {
                    best.push(Neighbour {
                        distance: d,
                        id: (v.first + i) as u64,
                    });
                }
            }
        },
    ))
}

fn bytes_of(words: &[u64]) -> &[u8] {
    // SAFETY: u64 has no padding, and u8 has alignment 1.
    unsafe { std::slice::from_raw_parts(words.as_ptr() as *const u8, words.len() * 8) }
}
