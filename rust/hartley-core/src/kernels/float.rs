//! The two element types of the kernels, behind one trait: single and double
//! precision, with the few operations the kernels need and a blocked matrix
//! product (the `gemm` crate, with run-time SIMD dispatch) for the inner
//! products.

use std::fmt::Debug;
use std::ops::{Add, AddAssign, Div, Mul, Neg, Sub};

/// A floating-point element type of the pairwise kernels (`f32` or `f64`).
pub trait Float:
    Copy
    + Send
    + Sync
    + Debug
    + Default
    + PartialOrd
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
{
    /// Zero.
    const ZERO: Self;
    /// One.
    const ONE: Self;
    /// Name of the type as NumPy spells it.
    const NAME: &'static str;

    /// Rounds a double to this type.
    fn from_f64(v: f64) -> Self;
    /// Widens to a double.
    fn to_f64(self) -> f64;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Exponential.
    fn exp(self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// Larger of two values (NaN-ignoring, as `f64::max`).
    fn max(self, other: Self) -> Self;
    /// Smaller of two values (NaN-ignoring, as `f64::min`).
    fn min(self, other: Self) -> Self;
    /// `self` raised to a real power.
    fn powf(self, e: Self) -> Self;
    /// Whether the value is neither NaN nor infinite.
    fn is_finite(self) -> bool;
    /// Squared Euclidean distance of two equal-length rows, computed
    /// directly (no cancellation).
    fn l2sq(a: &[Self], b: &[Self]) -> Self;
    /// `v[i] = exp(v[i])` over a slice (vectorised for `f32`).
    fn exp_in_place(v: &mut [Self]);

    /// `out[i * ldo + j] = sum_k a[i, k] * b[j, k]` for the `ra = a.len() / d`
    /// rows of `a` and `rb = b.len() / d` rows of `b` (both row-major with
    /// `d` columns): the product `a b'` written into a strided block of
    /// `out`, sequentially.
    fn gemm_nt(out: &mut [Self], ldo: usize, a: &[Self], b: &[Self], d: usize);
}

fn gemm_nt_impl<T: Float>(out: &mut [T], ldo: usize, a: &[T], b: &[T], d: usize) {
    let ra = a.len() / d;
    let rb = b.len() / d;
    assert_eq!(ra * d, a.len());
    assert_eq!(rb * d, b.len());
    if ra == 0 || rb == 0 {
        return;
    }
    assert!(
        (ra - 1) * ldo + rb <= out.len() && rb <= ldo,
        "gemm_nt: output block out of bounds"
    );
    // SAFETY: the assertions above keep every access in bounds: `a` is
    // `ra x d` and `b` is `rb x d`, both row-major and contiguous, and the
    // destination block of `ra` rows of `rb` elements at stride `ldo` lies
    // inside `out`. `T` is f32 or f64, the types `gemm` dispatches on.
    unsafe {
        gemm::gemm(
            ra,
            rb,
            d,
            out.as_mut_ptr(),
            1,
            ldo as isize,
            false,
            a.as_ptr(),
            1,
            d as isize,
            b.as_ptr(),
            d as isize,
            1,
            T::ZERO,
            T::ONE,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Sum over `LANES` independent accumulators, so the compiler vectorises it
/// without reassociating floating-point additions.
const LANES: usize = 8;

macro_rules! portable_l2sq {
    ($t:ty, $a:expr, $b:expr) => {{
        let (a, b): (&[$t], &[$t]) = ($a, $b);
        let mut acc = [0.0 as $t; LANES];
        let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
        let (ra, rb) = (ca.remainder(), cb.remainder());
        for (x, y) in ca.zip(cb) {
            for l in 0..LANES {
                let t = x[l] - y[l];
                acc[l] += t * t;
            }
        }
        let mut s: $t = acc.iter().sum();
        for (x, y) in ra.iter().zip(rb) {
            s += (x - y) * (x - y);
        }
        s
    }};
}

impl Float for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const NAME: &'static str = "float32";
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    fn exp(self) -> Self {
        f32::exp(self)
    }
    fn abs(self) -> Self {
        f32::abs(self)
    }
    fn max(self, other: Self) -> Self {
        f32::max(self, other)
    }
    fn min(self, other: Self) -> Self {
        f32::min(self, other)
    }
    fn powf(self, e: Self) -> Self {
        f32::powf(self, e)
    }
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
    fn l2sq(a: &[Self], b: &[Self]) -> Self {
        crate::simd::f32::l2sq(a, b)
    }
    fn exp_in_place(v: &mut [Self]) {
        super::vexp::exp_in_place(v)
    }
    fn gemm_nt(out: &mut [Self], ldo: usize, a: &[Self], b: &[Self], d: usize) {
        gemm_nt_impl(out, ldo, a, b, d)
    }
}

impl Float for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const NAME: &'static str = "float64";
    fn from_f64(v: f64) -> Self {
        v
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    fn exp(self) -> Self {
        f64::exp(self)
    }
    fn abs(self) -> Self {
        f64::abs(self)
    }
    fn max(self, other: Self) -> Self {
        f64::max(self, other)
    }
    fn min(self, other: Self) -> Self {
        f64::min(self, other)
    }
    fn powf(self, e: Self) -> Self {
        f64::powf(self, e)
    }
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
    fn l2sq(a: &[Self], b: &[Self]) -> Self {
        portable_l2sq!(f64, a, b)
    }
    fn exp_in_place(v: &mut [Self]) {
        v.iter_mut().for_each(|x| *x = x.exp());
    }
    fn gemm_nt(out: &mut [Self], ldo: usize, a: &[Self], b: &[Self], d: usize) {
        gemm_nt_impl(out, ldo, a, b, d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f64], b: &[f64], d: usize) -> Vec<f64> {
        let (ra, rb) = (a.len() / d, b.len() / d);
        let mut out = vec![0.0; ra * rb];
        for i in 0..ra {
            for j in 0..rb {
                out[i * rb + j] = (0..d).map(|k| a[i * d + k] * b[j * d + k]).sum();
            }
        }
        out
    }

    #[test]
    fn gemm_writes_a_strided_block() {
        let d = 7;
        let a: Vec<f64> = (0..5 * d).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..3 * d).map(|i| (i as f64 * 0.11).cos()).collect();
        let want = naive(&a, &b, d);
        // A 5 x 3 block at column 2 of a 5 x 6 buffer; the rest is untouched.
        let mut out = vec![-1.0; 5 * 6];
        f64::gemm_nt(&mut out[2..], 6, &a, &b, d);
        for i in 0..5 {
            for j in 0..6 {
                let v = out[i * 6 + j];
                if (2..5).contains(&j) {
                    assert!((v - want[i * 3 + j - 2]).abs() < 1e-12);
                } else {
                    assert_eq!(v, -1.0);
                }
            }
        }
        let a32: Vec<f32> = a.iter().map(|&v| v as f32).collect();
        let b32: Vec<f32> = b.iter().map(|&v| v as f32).collect();
        let mut out32 = vec![0.0f32; 15];
        f32::gemm_nt(&mut out32, 3, &a32, &b32, d);
        for (x, y) in out32.iter().zip(&want) {
            assert!((*x as f64 - y).abs() < 1e-5);
        }
    }

    #[test]
    fn direct_squared_distance() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let b = [0.0; 9];
        assert_eq!(f64::l2sq(&a, &b), 285.0);
        let a32 = a.map(|v| v as f32);
        assert_eq!(f32::l2sq(&a32, &[0.0; 9]), 285.0);
    }
}
#[cfg(test)]
mod big {
    use super::*;
    #[test]
    fn blocked_tiles_in_a_wide_buffer() {
        let (n, d, m) = (64usize, 20usize, 300usize);
        let a: Vec<f64> = (0..n * d).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..m * d).map(|i| (i as f64 * 0.11).cos()).collect();
        let mut out = vec![0.0; n * m];
        for c0 in (0..m).step_by(256) {
            let c1 = (c0 + 256).min(m);
            f64::gemm_nt(&mut out[c0..], m, &a, &b[c0 * d..c1 * d], d);
        }
        let s: f64 = out.iter().sum();
        assert!(s.is_finite());
    }
}
