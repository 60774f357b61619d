//! Parameters of a graph, and the byte layout of its rows derived from them.

use crate::error::{Error, Result};

/// The distance a graph is built on (conventions as in hnswlib).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// `1 - cos(q, x)`: vectors are normalised when stored and when queried.
    Cosine,
    /// Squared Euclidean distance `|q - x|^2`.
    L2,
    /// `1 - <q, x>` (inner product, vectors kept as given).
    Ip,
    /// Number of differing bits between packed binary codes.
    Hamming,
}

impl Metric {
    /// Parses a metric name as the Python API spells it.
    pub fn parse(name: &str) -> Result<Metric> {
        match name {
            "cosine" => Ok(Metric::Cosine),
            "l2" => Ok(Metric::L2),
            "ip" => Ok(Metric::Ip),
            "hamming" => Ok(Metric::Hamming),
            _ => Err(Error::invalid(
                "metric",
                format!("must be one of 'cosine', 'l2', 'ip', 'hamming', got {name:?}"),
            )),
        }
    }

    /// The metric's name.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cosine => "cosine",
            Metric::L2 => "l2",
            Metric::Ip => "ip",
            Metric::Hamming => "hamming",
        }
    }

    pub(crate) fn code(self) -> u32 {
        match self {
            Metric::Cosine => 0,
            Metric::L2 => 1,
            Metric::Ip => 2,
            Metric::Hamming => 3,
        }
    }

    pub(crate) fn from_code(c: u32) -> Option<Metric> {
        [Metric::Cosine, Metric::L2, Metric::Ip, Metric::Hamming]
            .into_iter()
            .find(|m| m.code() == c)
    }

    /// Whether vectors are packed binary codes rather than f32.
    pub fn is_binary(self) -> bool {
        self == Metric::Hamming
    }
}

/// Largest accepted dimension (floats, or bits for Hamming).
pub const MAX_DIM: usize = 1 << 20;
/// Largest accepted `M`.
pub const MAX_M: usize = 512;
/// Highest level a node may get (levels above it are clamped).
pub const MAX_LEVEL: usize = 31;

/// Construction and search parameters of a graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Distance.
    pub metric: Metric,
    /// Dimension: floats per vector, or bits per code for Hamming.
    pub dim: usize,
    /// Links per node on the upper levels; level 0 keeps up to `2 M`.
    pub m: usize,
    /// Size of the candidate list while inserting.
    pub ef_construction: usize,
    /// Default size of the candidate list while searching.
    pub ef: usize,
    /// Seed of the level draws.
    pub seed: u64,
}

impl Params {
    /// Checks every parameter against its domain.
    pub fn validate(&self) -> Result<()> {
        if self.dim == 0 || self.dim > MAX_DIM {
            return Err(Error::invalid(
                "dim",
                format!("must be between 1 and {MAX_DIM}, got {}", self.dim),
            ));
        }
        if self.m < 2 || self.m > MAX_M {
            return Err(Error::invalid(
                "M",
                format!("must be between 2 and {MAX_M}, got {}", self.m),
            ));
        }
        if self.ef_construction == 0 || self.ef_construction > 1 << 20 {
            return Err(Error::invalid(
                "ef_construction",
                format!(
                    "must be between 1 and 1048576, got {}",
                    self.ef_construction
                ),
            ));
        }
        check_ef(self.ef)
    }

    /// Links kept on level 0.
    pub fn m0(&self) -> usize {
        2 * self.m
    }
}

/// `ef` must be between 1 and 2^20.
pub fn check_ef(ef: usize) -> Result<()> {
    if ef == 0 || ef > 1 << 20 {
        return Err(Error::invalid(
            "ef",
            format!("must be between 1 and 1048576, got {ef}"),
        ));
    }
    Ok(())
}

/// Where each field lives inside a level-0 row. A row is a multiple of 64
/// bytes and starts on a cache line:
///
/// ```text
/// [vector: vec_bytes][links: m0 x u32][count: u32][pad][id: i64][upper: u32][level: u8][flag: u8][pad]
/// ```
///
/// The vector comes first so that it starts on a cache line. Unused link
/// slots hold the node's own slot number, so a search can walk all `m0`
/// slots without reading the count: with `M = 16` and 384 floats the links
/// fill exactly the two cache lines after the vector, and expanding a node
/// touches nothing else of its row. The padding a 64-byte stride needs anyway
/// holds the count, the id and the level instead of separate arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Elements the distance kernel reads: floats, or 64-bit words for codes.
    pub kernel_len: usize,
    /// Bytes of the stored vector (the kernel's elements, no padding).
    pub vec_bytes: usize,
    /// Bytes of user-visible data per vector (`dim * 4`, or `ceil(dim / 8)`).
    pub user_bytes: usize,
    pub links_off: usize,
    pub count_off: usize,
    pub id_off: usize,
    pub upper_off: usize,
    pub level_off: usize,
    pub flag_off: usize,
    pub row_bytes: usize,
    pub m0: usize,
    pub m: usize,
}

fn align(x: usize, a: usize) -> usize {
    x.div_ceil(a) * a
}

impl Layout {
    pub fn new(p: &Params) -> Layout {
        let (kernel_len, vec_bytes, user_bytes) = if p.metric.is_binary() {
            let words = p.dim.div_ceil(64);
            (words, 8 * words, p.dim.div_ceil(8))
        } else {
            (p.dim, align(4 * p.dim, 8), 4 * p.dim)
        };
        let place = |links_off: usize| {
            let count_off = links_off + 4 * p.m0();
            let id_off = align(count_off + 4, 8);
            let upper_off = id_off + 8;
            let level_off = upper_off + 4;
            let flag_off = level_off + 1;
            Layout {
                kernel_len,
                vec_bytes,
                user_bytes,
                links_off,
                count_off,
                id_off,
                upper_off,
                level_off,
                flag_off,
                row_bytes: align(flag_off + 1, 64),
                m0: p.m0(),
                m: p.m,
            }
        };
        // Links on their own cache lines when that costs no extra row size.
        let packed = place(vec_bytes);
        let aligned = place(align(vec_bytes, 64));
        if aligned.row_bytes == packed.row_bytes {
            aligned
        } else {
            packed
        }
    }

    /// Link capacity on `level`.
    pub fn cap(&self, level: usize) -> usize {
        if level == 0 {
            self.m0
        } else {
            self.m
        }
    }

    /// u32 entries of one upper-level block: a count and `m` links.
    pub fn block(&self) -> usize {
        1 + self.m
    }
}
