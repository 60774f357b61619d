//! Metrics and kernels as small types behind two traits.
//!
//! [`InnerMap`] covers everything that is a function of the inner product
//! `<x, y>` and the row norms: Euclidean and squared Euclidean distances
//! (`|x|^2 + |y|^2 - 2 <x, y>`), cosine similarity and distance, and the
//! linear, polynomial and RBF kernels. Those run on a blocked matrix product
//! with the map applied to each tile while it is in cache.
//! [`DirectMap`] covers the metrics that need every coordinate difference
//! (Manhattan, Chebyshev and the Laplacian kernel built on Manhattan).

use super::float::Float;
use crate::error::{Error, Result};

/// Which per-row quantity an [`InnerMap`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Norms {
    /// None (the map only needs the inner product).
    None,
    /// Squared Euclidean norms `|x|^2`.
    Squared,
    /// Euclidean norms `|x|`.
    Euclidean,
}

/// Squared distances below this fraction of `|x|^2 + |y|^2` are recomputed
/// from the coordinates: there the expansion `|x|^2 + |y|^2 - 2 <x, y>`
/// loses more than `eps / REFINE` of its relative precision to
/// cancellation (near-duplicate rows). Random high-dimensional data never
/// reaches it; clusters of near-identical embeddings do.
pub const REFINE: f64 = 1.0 / 64.0;

/// A metric or kernel computed from inner products and row norms.
pub trait InnerMap<T: Float>: Sync {
    /// The per-row quantity the map needs.
    const NORMS: Norms;
    /// Whether the value on the diagonal of a self-comparison is fixed
    /// (zero distance), whatever rounding the product left there.
    fn self_value(&self) -> Option<T> {
        None
    }
    /// The value for rows `x`, `y` with inner product `dot` and row
    /// quantities `nx`, `ny` (see [`InnerMap::NORMS`]).
    fn map(&self, dot: T, nx: T, ny: T, x: &[T], y: &[T]) -> T;

    /// [`InnerMap::map`] over a segment of one output row: `out[j]` holds
    /// `<x, y_j>` for the rows `y_j = y(j)` with quantities `ny[j]`, and is
    /// replaced by the value. Maps override it with loops the compiler
    /// vectorises.
    #[inline]
    fn map_row<'a>(&self, out: &mut [T], nx: T, ny: &[T], x: &[T], y: impl Fn(usize) -> &'a [T])
    where
        T: 'a,
    {
        for (j, (o, &nyj)) in out.iter_mut().zip(ny).enumerate() {
            *o = self.map(*o, nx, nyj, x, y(j));
        }
    }
}

/// Replaces the inner products in `out` by squared distances (see
/// [`squared_distance`]), in a vectorisable pass plus a rare fix-up.
#[inline]
pub fn squared_distance_row<'a, T: Float + 'a>(
    out: &mut [T],
    nx: T,
    ny: &[T],
    x: &[T],
    y: impl Fn(usize) -> &'a [T],
) {
    let refine = T::from_f64(REFINE);
    let mut any = false;
    for (o, &nyj) in out.iter_mut().zip(ny) {
        let s = nx + nyj;
        let d2 = s - (*o + *o);
        any |= d2 < s * refine;
        *o = d2;
    }
    if any {
        for (j, (o, &nyj)) in out.iter_mut().zip(ny).enumerate() {
            if *o < (nx + nyj) * refine {
                *o = T::l2sq(x, y(j));
            }
        }
    }
}

/// `|x|^2 + |y|^2 - 2 <x, y>`, recomputed directly when cancellation would
/// eat its precision, and never negative.
#[inline]
pub fn squared_distance<T: Float>(dot: T, nx: T, ny: T, x: &[T], y: &[T]) -> T {
    let s = nx + ny;
    let d2 = s - (dot + dot);
    if d2 < s * T::from_f64(REFINE) {
        T::l2sq(x, y)
    } else {
        d2
    }
}

/// Squared Euclidean distance.
#[derive(Debug, Clone, Copy, Default)]
pub struct SqEuclidean;

impl<T: Float> InnerMap<T> for SqEuclidean {
    const NORMS: Norms = Norms::Squared;
    fn self_value(&self) -> Option<T> {
        Some(T::ZERO)
    }
    #[inline]
    fn map(&self, dot: T, nx: T, ny: T, x: &[T], y: &[T]) -> T {
        squared_distance(dot, nx, ny, x, y)
    }
    #[inline]
    fn map_row<'a>(&self, out: &mut [T], nx: T, ny: &[T], x: &[T], y: impl Fn(usize) -> &'a [T])
    where
        T: 'a,
    {
        squared_distance_row(out, nx, ny, x, y);
    }
}

/// Euclidean distance.
#[derive(Debug, Clone, Copy, Default)]
pub struct Euclidean;

impl<T: Float> InnerMap<T> for Euclidean {
    const NORMS: Norms = Norms::Squared;
    fn self_value(&self) -> Option<T> {
        Some(T::ZERO)
    }
    #[inline]
    fn map(&self, dot: T, nx: T, ny: T, x: &[T], y: &[T]) -> T {
        squared_distance(dot, nx, ny, x, y).sqrt()
    }
    #[inline]
    fn map_row<'a>(&self, out: &mut [T], nx: T, ny: &[T], x: &[T], y: impl Fn(usize) -> &'a [T])
    where
        T: 'a,
    {
        squared_distance_row(out, nx, ny, x, y);
        out.iter_mut().for_each(|v| *v = v.sqrt());
    }
}

/// Euclidean distance raised to a power `p` in (0, 2] (energy distance).
#[derive(Debug, Clone, Copy)]
pub struct EuclideanPow {
    /// Half the exponent, applied to the squared distance.
    pub half_exponent: f64,
}

impl<T: Float> InnerMap<T> for EuclideanPow {
    const NORMS: Norms = Norms::Squared;
    fn self_value(&self) -> Option<T> {
        Some(T::ZERO)
    }
    #[inline]
    fn map(&self, dot: T, nx: T, ny: T, x: &[T], y: &[T]) -> T {
        let d2 = squared_distance(dot, nx, ny, x, y);
        if self.half_exponent == 0.5 {
            d2.sqrt()
        } else {
            d2.powf(T::from_f64(self.half_exponent))
        }
    }
}

/// Cosine similarity `<x, y> / (|x| |y|)`; zero when either row is zero
/// (as scikit-learn, which normalises zero rows to zero).
#[derive(Debug, Clone, Copy, Default)]
pub struct CosineSimilarity;

#[inline]
fn cosine<T: Float>(dot: T, nx: T, ny: T) -> T {
    let den = nx * ny;
    if den > T::ZERO {
        dot / den
    } else {
        T::ZERO
    }
}

impl<T: Float> InnerMap<T> for CosineSimilarity {
    const NORMS: Norms = Norms::Euclidean;
    #[inline]
    fn map(&self, dot: T, nx: T, ny: T, _x: &[T], _y: &[T]) -> T {
        cosine(dot, nx, ny)
    }
}

/// Cosine distance `1 - cos(x, y)`, clipped to [0, 2].
#[derive(Debug, Clone, Copy, Default)]
pub struct CosineDistance;

impl<T: Float> InnerMap<T> for CosineDistance {
    const NORMS: Norms = Norms::Euclidean;
    fn self_value(&self) -> Option<T> {
        Some(T::ZERO)
    }
    #[inline]
    fn map(&self, dot: T, nx: T, ny: T, _x: &[T], _y: &[T]) -> T {
        let two = T::ONE + T::ONE;
        (T::ONE - cosine(dot, nx, ny)).max(T::ZERO).min(two)
    }
}

/// Linear kernel `<x, y>`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Linear;

impl<T: Float> InnerMap<T> for Linear {
    const NORMS: Norms = Norms::None;
    #[inline]
    fn map(&self, dot: T, _nx: T, _ny: T, _x: &[T], _y: &[T]) -> T {
        dot
    }
}

/// Polynomial kernel `(gamma <x, y> + coef0)^degree`.
#[derive(Debug, Clone, Copy)]
pub struct Polynomial {
    /// Scale of the inner product.
    pub gamma: f64,
    /// Additive constant.
    pub coef0: f64,
    /// Exponent.
    pub degree: f64,
}

impl<T: Float> InnerMap<T> for Polynomial {
    const NORMS: Norms = Norms::None;
    #[inline]
    fn map(&self, dot: T, _nx: T, _ny: T, _x: &[T], _y: &[T]) -> T {
        let base = T::from_f64(self.gamma) * dot + T::from_f64(self.coef0);
        if self.degree == self.degree.round() && self.degree.abs() < 64.0 {
            T::from_f64(base.to_f64().powi(self.degree as i32))
        } else {
            base.powf(T::from_f64(self.degree))
        }
    }
}

/// Gaussian (RBF) kernel `exp(-gamma |x - y|^2)`.
#[derive(Debug, Clone, Copy)]
pub struct Rbf {
    /// Inverse squared length scale, `1 / (2 sigma^2)`.
    pub gamma: f64,
}

impl<T: Float> InnerMap<T> for Rbf {
    const NORMS: Norms = Norms::Squared;
    fn self_value(&self) -> Option<T> {
        Some(T::ONE)
    }
    #[inline]
    fn map(&self, dot: T, nx: T, ny: T, x: &[T], y: &[T]) -> T {
        (-(T::from_f64(self.gamma) * squared_distance(dot, nx, ny, x, y))).exp()
    }
    #[inline]
    fn map_row<'a>(&self, out: &mut [T], nx: T, ny: &[T], x: &[T], y: impl Fn(usize) -> &'a [T])
    where
        T: 'a,
    {
        squared_distance_row(out, nx, ny, x, y);
        let g = -T::from_f64(self.gamma);
        out.iter_mut().for_each(|v| *v = g * *v);
        T::exp_in_place(out);
    }
}

/// A metric or kernel that reads every coordinate difference.
pub trait DirectMap<T: Float>: Sync {
    /// The value for rows `x` and `y`.
    fn eval(&self, x: &[T], y: &[T]) -> T;
}

const LANES: usize = 8;

/// Manhattan (L1) distance.
#[derive(Debug, Clone, Copy, Default)]
pub struct Manhattan;

/// `sum |x_k - y_k|` over independent lanes (vectorised by the compiler).
#[inline]
pub fn l1<T: Float>(x: &[T], y: &[T]) -> T {
    let mut acc = [T::ZERO; LANES];
    let (cx, cy) = (x.chunks_exact(LANES), y.chunks_exact(LANES));
    let (rx, ry) = (cx.remainder(), cy.remainder());
    for (a, b) in cx.zip(cy) {
        for l in 0..LANES {
            acc[l] += (a[l] - b[l]).abs();
        }
    }
    let mut s = T::ZERO;
    for v in acc {
        s += v;
    }
    for (a, b) in rx.iter().zip(ry) {
        s += (*a - *b).abs();
    }
    s
}

impl<T: Float> DirectMap<T> for Manhattan {
    #[inline]
    fn eval(&self, x: &[T], y: &[T]) -> T {
        l1(x, y)
    }
}

/// Chebyshev (L-infinity) distance.
#[derive(Debug, Clone, Copy, Default)]
pub struct Chebyshev;

impl<T: Float> DirectMap<T> for Chebyshev {
    #[inline]
    fn eval(&self, x: &[T], y: &[T]) -> T {
        let mut acc = [T::ZERO; LANES];
        let (cx, cy) = (x.chunks_exact(LANES), y.chunks_exact(LANES));
        let (rx, ry) = (cx.remainder(), cy.remainder());
        for (a, b) in cx.zip(cy) {
            for l in 0..LANES {
                acc[l] = acc[l].max((a[l] - b[l]).abs());
            }
        }
        let mut m = T::ZERO;
        for v in acc {
            m = m.max(v);
        }
        for (a, b) in rx.iter().zip(ry) {
            m = m.max((*a - *b).abs());
        }
        m
    }
}

/// Laplacian kernel `exp(-gamma |x - y|_1)`.
#[derive(Debug, Clone, Copy)]
pub struct Laplacian {
    /// Inverse length scale.
    pub gamma: f64,
}

impl<T: Float> DirectMap<T> for Laplacian {
    #[inline]
    fn eval(&self, x: &[T], y: &[T]) -> T {
        (-(T::from_f64(self.gamma) * l1(x, y))).exp()
    }
}

/// The distance metrics of `pairwise_distances`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DistanceKind {
    /// Euclidean.
    Euclidean,
    /// Squared Euclidean.
    SqEuclidean,
    /// Cosine distance.
    Cosine,
    /// Manhattan (L1, "cityblock").
    Manhattan,
    /// Chebyshev (L-infinity).
    Chebyshev,
}

impl DistanceKind {
    /// Every accepted name.
    pub const NAMES: [&'static str; 7] = [
        "euclidean",
        "sqeuclidean",
        "cosine",
        "manhattan",
        "cityblock",
        "l1",
        "chebyshev",
    ];

    /// Parses a metric name (scikit-learn's names and aliases).
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "euclidean" | "l2" => DistanceKind::Euclidean,
            "sqeuclidean" => DistanceKind::SqEuclidean,
            "cosine" => DistanceKind::Cosine,
            "manhattan" | "cityblock" | "l1" => DistanceKind::Manhattan,
            "chebyshev" => DistanceKind::Chebyshev,
            other => {
                return Err(Error::invalid(
                    "metric",
                    format!(
                        "unknown metric {other:?}; expected one of {:?}",
                        Self::NAMES
                    ),
                ))
            }
        })
    }
}

/// The kernels of `pairwise_kernels`, with their parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KernelKind {
    /// `<x, y>`.
    Linear,
    /// `<x, y> / (|x| |y|)`.
    Cosine,
    /// `exp(-gamma |x - y|^2)`.
    Rbf {
        /// Inverse squared length scale.
        gamma: f64,
    },
    /// `exp(-gamma |x - y|_1)`.
    Laplacian {
        /// Inverse length scale.
        gamma: f64,
    },
    /// `(gamma <x, y> + coef0)^degree`.
    Polynomial {
        /// Scale of the inner product.
        gamma: f64,
        /// Additive constant.
        coef0: f64,
        /// Exponent.
        degree: f64,
    },
}

impl KernelKind {
    /// Every accepted name.
    pub const NAMES: [&'static str; 5] = ["linear", "cosine", "rbf", "laplacian", "polynomial"];

    /// Builds a kernel from its name; `gamma = None` is scikit-learn's
    /// default `1 / n_features`.
    pub fn parse(
        name: &str,
        gamma: Option<f64>,
        degree: f64,
        coef0: f64,
        n_features: usize,
    ) -> Result<Self> {
        let gamma = match gamma {
            Some(g) if !(g.is_finite() && g > 0.0) => {
                return Err(Error::invalid(
                    "gamma",
                    format!("must be a finite number > 0, got {g}"),
                ))
            }
            Some(g) => g,
            None => 1.0 / n_features.max(1) as f64,
        };
        if !degree.is_finite() {
            return Err(Error::invalid("degree", "must be finite"));
        }
        if !coef0.is_finite() {
            return Err(Error::invalid("coef0", "must be finite"));
        }
        Ok(match name {
            "linear" => KernelKind::Linear,
            "cosine" => KernelKind::Cosine,
            "rbf" => KernelKind::Rbf { gamma },
            "laplacian" => KernelKind::Laplacian { gamma },
            "polynomial" | "poly" => KernelKind::Polynomial {
                gamma,
                coef0,
                degree,
            },
            other => {
                return Err(Error::invalid(
                    "kernel",
                    format!(
                        "unknown kernel {other:?}; expected one of {:?}",
                        Self::NAMES
                    ),
                ))
            }
        })
    }
}
