//! Eigenvalues of large dense symmetric matrices by two-stage
//! tridiagonalisation (successive band reduction).
//!
//! The one-stage reduction to tridiagonal form (LAPACK `dsytrd`, faer's
//! `tridiag_in_place`) spends half its flops in matrix-vector products over
//! the whole trailing matrix, one per column: it runs at memory speed, not
//! at the speed of the arithmetic units. For eigenvalues alone the standard
//! remedy is to reduce in two stages (Bischof, Lang and Sun, "A framework
//! for symmetric band reduction", ACM TOMS 26, 2000; LAPACK `dsytrd_2stage`,
//! ELPA2):
//!
//! 1. [`dense_to_band`]: dense to band of half-bandwidth `b`, one panel of
//!    `b` columns at a time. Each panel below the band is factored by
//!    Householder QR into a compact-WY block reflector `Q = I - V T V'`,
//!    and the trailing matrix receives the two-sided update `Q' A Q` as the
//!    symmetric rank-`2b` update `A - V W' - W V'`: matrix-matrix products,
//!    nearly all the flops, run in parallel over fixed tiles.
//! 2. [`band_to_tridiagonal`]: band to tridiagonal by bulge chasing
//!    (Lang, "A parallel algorithm for reducing symmetric banded matrices to
//!    tridiagonal form", SIAM J. Sci. Comput. 14, 1993; Haidar, Ltaief and
//!    Dongarra, SC 2011): Householder reflectors of length at most `b`
//!    applied to windows of the band, `O(n^2 b)` work in cache.
//! 3. the eigenvalues of the tridiagonal matrix by faer's implicit QR.
//!
//! Every step is an orthogonal similarity computed with Householder
//! reflectors, so the eigenvalues are those of `A + E` with
//! `|E| = O(n eps |A|)`, as for the one-stage reduction. Work is split in
//! fixed tiles whose results do not depend on which thread computes them,
//! so the eigenvalues do not depend on the thread count, to the last bit.

use faer::diag::Diag;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::matmul::matmul;
use faer::reborrow::ReborrowMut;
use faer::{Accum, ColRef, Mat, MatMut, MatRef, Par};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::error::{Error, Result};
use crate::par::Control;

/// Half-bandwidth of the intermediate band matrix. Larger bands make the
/// first stage's products more efficient and the second stage's chase
/// longer (its cost grows as `n^2 b`).
pub const BAND: usize = 32;

/// Rows (or columns) of the tiles that the first stage's products are split
/// into; the split is fixed so that results do not depend on the threads.
const TILE: usize = 128;

/// Ascending eigenvalues of the symmetric `n x n` column-major matrix `a`,
/// whose lower triangle is read and which is overwritten, by two-stage
/// tridiagonalisation with half-bandwidth `band` (clamped to `[1, n - 1]`).
/// Parallel work runs on the current rayon pool; `ctl` is checked between
/// panels and between sweeps.
pub fn sym_eigenvalues_two_stage(
    a: &mut [f64],
    n: usize,
    band: usize,
    ctl: &Control,
) -> Result<Vec<f64>> {
    assert_eq!(a.len(), n * n);
    if n == 0 {
        return Ok(vec![]);
    }
    let b = band.clamp(1, n.saturating_sub(1).max(1));
    dense_to_band(a, n, b, ctl)?;
    let ld = 2 * b;
    let mut ab = vec![0.0; ld * n];
    for j in 0..n {
        let len = (b + 1).min(n - j);
        ab[j * ld..j * ld + len].copy_from_slice(&a[j * n + j..j * n + j + len]);
    }
    let (d, e) = band_to_tridiagonal(&mut ab, n, b, ctl)?;
    tridiagonal_eigenvalues(&d, &e)
}

/// Ascending eigenvalues of the symmetric tridiagonal matrix with diagonal
/// `d` and off-diagonal `e` (`e.len() + 1 == d.len()`), by the root-free
/// QL/QR iteration of [`super::sterf`], or faer's implicit QR iteration
/// should that not converge.
pub fn tridiagonal_eigenvalues(d: &[f64], e: &[f64]) -> Result<Vec<f64>> {
    let n = d.len();
    assert_eq!(e.len() + 1, n.max(1));
    if n == 0 {
        return Ok(vec![]);
    }
    if let Some(ev) = super::sterf::tridiagonal_eigenvalues_pwk(d, e) {
        return Ok(ev);
    }
    let mut sub = e.to_vec();
    sub.push(0.0);
    let mut s = Diag::<f64>::zeros(n);
    let mut buf = MemBuffer::new(faer::linalg::temp_mat_scratch::<f64>(n, 1).array(2));
    faer::linalg::evd::tridiagonal_self_adjoint_evd(
        ColRef::from_slice(d).as_diagonal(),
        ColRef::from_slice(&sub).as_diagonal(),
        s.as_mut(),
        None,
        Par::Seq,
        MemStack::new(&mut buf),
        Default::default(),
    )
    .map_err(|_| Error::invalid("K", "the tridiagonal eigensolver did not converge"))?;
    let mut ev: Vec<f64> = s.column_vector().iter().copied().collect();
    ev.sort_by(f64::total_cmp);
    Ok(ev)
}

/// Generates the Householder reflector `H = I - tau v v'` (`v[0] = 1`) with
/// `H x = (beta, 0, ..., 0)`, as LAPACK `dlarfg`: on return `x[0]` holds
/// `beta` and `x[1..]` the tail of `v`. Returns `tau` (0 when `x[1..]` is
/// already zero, `H = I`).
fn reflector(x: &mut [f64]) -> f64 {
    if x.len() < 2 {
        return 0.0;
    }
    let (head, tail) = x.split_at_mut(1);
    let scale = tail.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if scale == 0.0 {
        return 0.0;
    }
    // Scaled so that squaring neither overflows nor underflows.
    let ss: f64 = tail.iter().map(|v| (v / scale) * (v / scale)).sum();
    let xnorm = scale * ss.sqrt();
    let alpha = head[0];
    let beta = -alpha.hypot(xnorm).copysign(alpha);
    let tau = (beta - alpha) / beta;
    let inv = 1.0 / (alpha - beta);
    tail.iter_mut().for_each(|v| *v *= inv);
    head[0] = beta;
    tau
}

/// `x' y` in eight interleaved partial sums (a fixed order, which the
/// compiler can keep in vector registers; one running sum cannot be
/// vectorised without reassociating it).
fn dot(x: &[f64], y: &[f64]) -> f64 {
    let len = x.len().min(y.len());
    let (x, y) = (&x[..len], &y[..len]);
    let mut acc = [0.0f64; 8];
    let (xc, yc) = (x.chunks_exact(8), y.chunks_exact(8));
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (a, b) in xc.zip(yc) {
        for l in 0..8 {
            acc[l] += a[l] * b[l];
        }
    }
    let mut tail = 0.0;
    for (a, b) in xr.iter().zip(yr) {
        tail += a * b;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// `y -= alpha * x`.
fn axpy(y: &mut [f64], alpha: f64, x: &[f64]) {
    y.iter_mut().zip(x).for_each(|(a, b)| *a -= alpha * b);
}

/// Reduces the symmetric column-major `n x n` matrix `a` (lower triangle)
/// to a band of half-bandwidth `b` by an orthogonal similarity; the band of
/// the lower triangle holds the result (entries below it are left
/// unspecified).
pub fn dense_to_band(a: &mut [f64], n: usize, b: usize, ctl: &Control) -> Result<()> {
    assert!(b >= 1 && a.len() == n * n);
    let panels: Vec<usize> = (0..n).step_by(b).take_while(|j0| j0 + b + 2 <= n).collect();
    let units = |j0: usize| panel_units(n, n - j0 - b);
    ctl.add_total(panels.iter().map(|&j0| units(j0)).sum());
    for j0 in panels {
        ctl.check()?;
        reduce_panel(a, n, j0, b);
        ctl.advance(units(j0));
    }
    Ok(())
}

/// Progress units of a panel with `m` rows below the band: its flops
/// (`4 m^2 b`) over `b n`. A step of the bulge chase counts as many units
/// per flop times 15, the ratio of the speeds of the two stages' kernels.
fn panel_units(n: usize, m: usize) -> u64 {
    (4 * m as u64 * m as u64) / n.max(1) as u64
}

/// Progress units of a group of sweeps starting at sweep `i0` (see
/// [`panel_units`]): `12 b^2` flops per window, `(n - i0) / b` windows.
fn group_units(n: usize, i0: usize) -> u64 {
    (15 * 12 * SWEEP_GROUP as u64 * (n - i0) as u64) / n.max(1) as u64
}

/// One panel: columns `j0..j0 + b`, rows `r0 = j0 + b..n` below the band.
fn reduce_panel(a: &mut [f64], n: usize, j0: usize, b: usize) {
    let r0 = j0 + b;
    let m = n - r0;
    let k = m.min(b);
    // Householder QR of the m x b panel, reflectors stored in V (m x k,
    // unit lower trapezoidal); the panel becomes R.
    let mut v = Mat::<f64>::zeros(m, k);
    let mut tau = vec![0.0; k];
    for c in 0..k {
        let col = &mut a[(j0 + c) * n + r0 + c..(j0 + c + 1) * n];
        tau[c] = reflector(col);
        v[(c, c)] = 1.0;
        v.col_as_slice_mut(c)[c + 1..].copy_from_slice(&col[1..]);
        col[1..].iter_mut().for_each(|x| *x = 0.0);
        if tau[c] == 0.0 {
            continue;
        }
        let vc = &v.col_as_slice(c)[c..];
        for j in c + 1..b {
            let cj = &mut a[(j0 + j) * n + r0 + c..(j0 + j + 1) * n];
            let s = tau[c] * dot(vc, cj);
            axpy(cj, s, vc);
        }
    }
    // T (k x k upper triangular) with H_0 ... H_{k-1} = I - V T V' (LAPACK
    // dlarft, forward, columnwise).
    // The products V' v_i come from V' V, one product in parallel.
    let vv = cross(v.as_ref(), v.as_ref());
    let mut t = Mat::<f64>::zeros(k, k);
    for i in 0..k {
        t[(i, i)] = tau[i];
        if tau[i] == 0.0 {
            continue;
        }
        for p in 0..i {
            let s: f64 = (p..i).map(|q| t[(p, q)] * vv[(q, i)]).sum();
            t[(p, i)] = -tau[i] * s;
        }
    }
    // X = A22 V T, with A22 the trailing m x m matrix, from its lower
    // triangle; row tiles in parallel.
    let vt = rows_matmul(v.as_ref(), t.as_ref());
    let mut x = vec![0.0; m * k];
    {
        let a22 = MatRef::from_column_major_slice_with_stride(&a[r0 * n + r0..], m, m, n);
        let vt = vt.as_ref();
        x.par_chunks_mut(TILE * k).enumerate().for_each(|(ti, xs)| {
            let i0 = ti * TILE;
            let h = xs.len() / k;
            let i1 = i0 + h;
            let mut xt = MatMut::from_row_major_slice_mut(xs, h, k);
            // Left of the diagonal tile: rows I of the lower triangle.
            matmul(
                xt.rb_mut(),
                Accum::Replace,
                a22.submatrix(i0, 0, h, i0),
                vt.subrows(0, i0),
                1.0,
                Par::Seq,
            );
            // The diagonal tile, made whole from its lower triangle.
            let mut diag = Mat::<f64>::zeros(h, h);
            for q in 0..h {
                for p in q..h {
                    let val = a22[(i0 + p, i0 + q)];
                    diag[(p, q)] = val;
                    diag[(q, p)] = val;
                }
            }
            matmul(
                xt.rb_mut(),
                Accum::Add,
                diag.as_ref(),
                vt.subrows(i0, h),
                1.0,
                Par::Seq,
            );
            // Below the diagonal tile: columns I of the lower triangle.
            matmul(
                xt.rb_mut(),
                Accum::Add,
                a22.submatrix(i1, i0, m - i1, h).transpose(),
                vt.subrows(i1, m - i1),
                1.0,
                Par::Seq,
            );
        });
    }
    let xs = &x[..];
    let x = MatRef::from_row_major_slice(xs, m, k);
    // W = X - V (T' V' X) / 2.
    let vtx = cross(v.as_ref(), x);
    let mut mm = Mat::<f64>::zeros(k, k);
    matmul(
        mm.as_mut(),
        Accum::Replace,
        t.as_ref().transpose(),
        vtx.as_ref(),
        1.0,
        Par::Seq,
    );
    let vm = rows_matmul(v.as_ref(), mm.as_ref());
    // [V W] and [W V], so that the rank-2k update is one product per tile.
    let mut vw = Mat::<f64>::zeros(m, 2 * k);
    let mut wv = Mat::<f64>::zeros(m, 2 * k);
    let mut w = vec![0.0; m];
    for c in 0..k {
        let vmc = vm.col_as_slice(c);
        for (r, wr) in w.iter_mut().enumerate() {
            *wr = xs[r * k + c] - 0.5 * vmc[r];
        }
        vw.col_as_slice_mut(c).copy_from_slice(v.col_as_slice(c));
        vw.col_as_slice_mut(k + c).copy_from_slice(&w);
        wv.col_as_slice_mut(c).copy_from_slice(&w);
        wv.col_as_slice_mut(k + c)
            .copy_from_slice(v.col_as_slice(c));
    }
    // A22 -= V W' + W V' on the lower triangle, column tiles in parallel.
    let (vw, wv) = (vw.as_ref(), wv.as_ref());
    a[r0 * n..]
        .par_chunks_mut(TILE * n)
        .enumerate()
        .for_each(|(ti, cols)| {
            let c0 = ti * TILE;
            let w = cols.len() / n;
            let dst =
                MatMut::from_column_major_slice_with_stride_mut(&mut cols[r0 + c0..], m - c0, w, n);
            matmul(
                dst,
                Accum::Add,
                vw.subrows(c0, m - c0),
                wv.subrows(c0, w).transpose(),
                -1.0,
                Par::Seq,
            );
        });
}

/// `L R` for a tall `L` (`m x k`) and a small `R` (`k x p`), in fixed row
/// tiles in parallel.
fn rows_matmul(l: MatRef<'_, f64>, r: MatRef<'_, f64>) -> Mat<f64> {
    let (m, p) = (l.nrows(), r.ncols());
    let mut out = vec![0.0; m * p];
    out.par_chunks_mut(TILE * p.max(1))
        .enumerate()
        .for_each(|(ti, os)| {
            let h = os.len() / p.max(1);
            matmul(
                MatMut::from_row_major_slice_mut(os, h, p),
                Accum::Replace,
                l.subrows(ti * TILE, h),
                r,
                1.0,
                Par::Seq,
            );
        });
    let out = MatRef::from_row_major_slice(&out, m, p);
    Mat::from_fn(m, p, |i, j| out[(i, j)])
}

/// `L' R` for tall `L` (`m x k`) and `R` (`m x p`): partial products over
/// fixed row chunks in parallel, added in chunk order.
fn cross(l: MatRef<'_, f64>, r: MatRef<'_, f64>) -> Mat<f64> {
    const CHUNK: usize = 4 * TILE;
    let (m, k, p) = (l.nrows(), l.ncols(), r.ncols());
    let parts: Vec<Mat<f64>> = (0..m.div_ceil(CHUNK))
        .into_par_iter()
        .map(|ci| {
            let i0 = ci * CHUNK;
            let h = CHUNK.min(m - i0);
            let mut part = Mat::<f64>::zeros(k, p);
            matmul(
                part.as_mut(),
                Accum::Replace,
                l.subrows(i0, h).transpose(),
                r.subrows(i0, h),
                1.0,
                Par::Seq,
            );
            part
        })
        .collect();
    let mut out = Mat::<f64>::zeros(k, p);
    for part in parts {
        out += part;
    }
    out
}

/// Consecutive sweeps chased together (see [`band_to_tridiagonal`]).
const SWEEP_GROUP: usize = 8;

/// Reduces the symmetric band matrix in `ab` (lower band storage with
/// leading dimension `2b`: `ab[j * 2b + (i - j)]` is `A[i, j]` for
/// `0 <= i - j <= b`; the rows `b + 1..2b` are room for the bulges) to
/// tridiagonal form by bulge chasing, and returns its diagonal and
/// off-diagonal. Runs on the threads of the current rayon pool.
///
/// Sweep `i` annihilates column `i` below the subdiagonal with a reflector
/// over the window `i + 1..i + 1 + b`; applying it creates a bulge in the
/// next window down, whose first column is annihilated by the next
/// reflector, and so on to the end of the matrix (the rest of each bulge
/// is annihilated by the following sweeps).
///
/// Step `k` of sweep `i` touches rows and columns
/// `i + 1 + (k - 1) b..i + 1 + (k + 1) b` only, so step `k` of sweep `i + 1`
/// needs steps up to `k + 2` of sweep `i`, and touches other columns than
/// its later steps. Each
/// sweep therefore runs two steps behind the one before (Haidar, Ltaief
/// and Dongarra's pipeline): groups of `SWEEP_GROUP` (8) sweeps advance
/// together on one thread, so that each window is loaded into cache once
/// per group, and the threads take successive groups, each waiting where
/// needed for the last sweep of the group before. Every entry receives the
/// same operations in the same order as with one sweep after the other, so
/// the result does not depend on the number of threads, to the last bit.
pub fn band_to_tridiagonal(
    ab: &mut [f64],
    n: usize,
    b: usize,
    ctl: &Control,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let ld = 2 * b;
    assert!(b >= 1 && ab.len() == ld * n);
    let sweeps = if b > 1 { n.saturating_sub(2) } else { 0 };
    let groups = sweeps.div_ceil(SWEEP_GROUP);
    ctl.add_total((0..groups).map(|g| group_units(n, g * SWEEP_GROUP)).sum());
    let chase = Chase {
        band: ab.as_mut_ptr(),
        len: ab.len(),
        n,
        b,
        done: (0..groups).map(|_| AtomicUsize::new(0)).collect(),
        next: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
    };
    let workers = rayon::current_num_threads().min(groups).max(1);
    let failed = AtomicBool::new(false);
    rayon::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|_| {
                if chase.run(ctl).is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
            });
        }
    });
    if failed.load(Ordering::Relaxed) {
        return Err(Error::Cancelled);
    }
    let d = (0..n).map(|j| ab[j * ld]).collect();
    let off = (0..n.saturating_sub(1)).map(|j| ab[j * ld + 1]).collect();
    Ok((d, off))
}

/// The shared state of a parallel bulge chase.
struct Chase {
    band: *mut f64,
    len: usize,
    n: usize,
    b: usize,
    /// Per group: steps finished by its last sweep (`usize::MAX` once the
    /// sweep is over).
    done: Vec<AtomicUsize>,
    /// The next group to take.
    next: AtomicUsize,
    /// Set when a worker stops early, so that the others stop waiting.
    stop: AtomicBool,
}

// SAFETY: the band is written through `band` by several threads, each on
// the windows of its own sweeps. Step `k` of a sweep touches the columns
// from the start of its window `k - 1` to the end of its window `k`; it
// starts only once the sweep before has finished its step `k + 2`
// (published with release/acquire ordering through `done`, and in order
// within a group), and that sweep's later steps and all steps of the
// sweeps before it that are not finished yet lie in columns further
// right: the column ranges of steps running at the same time are disjoint.
unsafe impl Sync for Chase {}

impl Chase {
    /// Takes groups of sweeps in order until none is left.
    fn run(&self, ctl: &Control) -> Result<()> {
        let (n, b) = (self.n, self.b);
        let ld = 2 * b;
        let sweeps = n.saturating_sub(2);
        let mut y = vec![0.0; b];
        let mut v = vec![0.0; SWEEP_GROUP * b];
        let mut state = [(0usize, 0usize, 0.0f64); SWEEP_GROUP];
        loop {
            let gi = self.next.fetch_add(1, Ordering::Relaxed);
            if gi >= self.done.len() {
                return Ok(());
            }
            if let Err(e) = ctl.check() {
                self.stop.store(true, Ordering::Relaxed);
                return Err(e);
            }
            let i0 = gi * SWEEP_GROUP;
            let group = SWEEP_GROUP.min(sweeps - i0);
            let mut step = 0usize;
            loop {
                let mut active = false;
                for g in 0..group {
                    let Some(k) = step.checked_sub(2 * g) else {
                        active = true;
                        continue;
                    };
                    if g == 0 && gi > 0 {
                        self.wait(gi - 1, k + 3)?;
                    }
                    let i = i0 + g;
                    let vg = &mut v[g * b..(g + 1) * b];
                    let (s, e, tau) = &mut state[g];
                    if k > 0 && *e >= n {
                        if g == group - 1 {
                            self.done[gi].store(usize::MAX, Ordering::Release);
                        }
                        continue;
                    }
                    // The step touches columns c0..c1 of the band only.
                    let (c0, c1) = if k == 0 {
                        (i, (i + 1 + b).min(n))
                    } else {
                        (*s, (*e + b).min(n))
                    };
                    assert!(c1 * ld <= self.len);
                    // SAFETY: the range is inside the band (asserted); no
                    // other thread touches these columns now (see `impl
                    // Sync for Chase`).
                    let ab = unsafe {
                        std::slice::from_raw_parts_mut(self.band.add(c0 * ld), (c1 - c0) * ld)
                    };
                    // Indices relative to column c0 (a band offset i - j
                    // does not change when i and j are shifted alike).
                    if k == 0 {
                        (*s, *e) = (i + 1, c1);
                        let (rs, re) = (*s - c0, *e - c0);
                        *tau = make_reflector(ab, ld, 0, rs, re, vg);
                        two_sided(ab, ld, rs, re, &vg[..re - rs], *tau, &mut y);
                    } else {
                        let (ps, pe, ns, ne) = (*s - c0, *e - c0, *e - c0, c1 - c0);
                        right(ab, ld, ns, ne, ps, pe, &vg[..pe - ps], *tau, &mut y);
                        *tau = make_reflector(ab, ld, ps, ns, ne, vg);
                        left(ab, ld, ns, ne, ps + 1, pe, &vg[..ne - ns], *tau);
                        two_sided(ab, ld, ns, ne, &vg[..ne - ns], *tau, &mut y);
                        (*s, *e) = (*e, c1);
                    }
                    if g == group - 1 {
                        self.done[gi].store(k + 1, Ordering::Release);
                    }
                    active = true;
                }
                if !active {
                    break;
                }
                step += 1;
            }
            self.done[gi].store(usize::MAX, Ordering::Release);
            ctl.advance(group_units(n, i0));
        }
    }

    /// Waits until the last sweep of group `gi` has finished `steps` steps
    /// (or is over).
    fn wait(&self, gi: usize, steps: usize) -> Result<()> {
        let mut spins = 0u32;
        while self.done[gi].load(Ordering::Acquire) < steps {
            if self.stop.load(Ordering::Relaxed) {
                return Err(Error::Cancelled);
            }
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        Ok(())
    }
}

/// The reflector annihilating `A[s + 1..e, c]`, into `v` (`v[0] = 1`);
/// the column receives `(beta, 0, ...)`. Returns `tau`.
fn make_reflector(ab: &mut [f64], ld: usize, c: usize, s: usize, e: usize, v: &mut [f64]) -> f64 {
    let col = &mut ab[c * ld + (s - c)..c * ld + (e - c)];
    let tau = reflector(col);
    v[0] = 1.0;
    v[1..e - s].copy_from_slice(&col[1..]);
    col[1..].iter_mut().for_each(|x| *x = 0.0);
    tau
}

/// `A[s..e, s..e] <- H A H` for `H = I - tau v v'`, on the lower triangle.
fn two_sided(ab: &mut [f64], ld: usize, s: usize, e: usize, v: &[f64], tau: f64, y: &mut [f64]) {
    if tau == 0.0 {
        return;
    }
    let l = e - s;
    let y = &mut y[..l];
    y.iter_mut().for_each(|x| *x = 0.0);
    for j in 0..l {
        let col = &ab[(s + j) * ld..(s + j) * ld + (l - j)];
        let vj = v[j];
        let (head, below) = y.split_at_mut(j + 1);
        below
            .iter_mut()
            .zip(&col[1..])
            .for_each(|(x, &a)| *x += a * vj);
        head[j] += col[0] * vj + dot(&col[1..], &v[j + 1..]);
    }
    y.iter_mut().for_each(|x| *x *= tau);
    let alpha = -0.5 * tau * dot(y, v);
    y.iter_mut().zip(v).for_each(|(x, &vv)| *x += alpha * vv);
    for j in 0..l {
        let col = &mut ab[(s + j) * ld..(s + j) * ld + (l - j)];
        let (vj, yj) = (v[j], y[j]);
        for ((a, &vv), &yy) in col.iter_mut().zip(&v[j..]).zip(&y[j..]) {
            *a -= vv * yj + yy * vj;
        }
    }
}

/// `A[rs..re, cs..ce] <- A[rs..re, cs..ce] H` for `H = I - tau v v'`.
#[allow(clippy::too_many_arguments)]
fn right(
    ab: &mut [f64],
    ld: usize,
    rs: usize,
    re: usize,
    cs: usize,
    ce: usize,
    v: &[f64],
    tau: f64,
    y: &mut [f64],
) {
    if tau == 0.0 {
        return;
    }
    let r = re - rs;
    let y = &mut y[..r];
    y.iter_mut().for_each(|x| *x = 0.0);
    for (c, &vc) in (cs..ce).zip(v) {
        let o = c * ld + (rs - c);
        let col = &ab[o..o + r];
        y.iter_mut().zip(col).for_each(|(x, a)| *x += a * vc);
    }
    for (c, &vc) in (cs..ce).zip(v) {
        let o = c * ld + (rs - c);
        axpy(&mut ab[o..o + r], tau * vc, y);
    }
}

/// `A[rs..re, cs..ce] <- H A[rs..re, cs..ce]` for `H = I - tau v v'`.
#[allow(clippy::too_many_arguments)]
fn left(
    ab: &mut [f64],
    ld: usize,
    rs: usize,
    re: usize,
    cs: usize,
    ce: usize,
    v: &[f64],
    tau: f64,
) {
    if tau == 0.0 {
        return;
    }
    let r = re - rs;
    for c in cs..ce {
        let o = c * ld + (rs - c);
        let col = &mut ab[o..o + r];
        let t = tau * dot(col, v);
        axpy(col, t, v);
    }
}

#[cfg(test)]
#[path = "sbr_tests.rs"]
mod tests;
