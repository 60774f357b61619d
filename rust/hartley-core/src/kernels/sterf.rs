//! Eigenvalues of a symmetric tridiagonal matrix by the root-free implicit
//! QL/QR iteration of Pal, Walker and Kahan (as LAPACK `dsterf`; see
//! Parlett, "The Symmetric Eigenvalue Problem", ch. 8.15): the iteration
//! runs on the squares of the off-diagonal, with no square root per
//! rotation, `O(n^2)` work in all and a few times faster than an iteration
//! that could also accumulate eigenvectors.

/// `eps`, the unit roundoff of LAPACK's `dlamch('E')`.
const EPS: f64 = f64::EPSILON / 2.0;

/// Eigenvalues of `[[a, b], [b, c]]`, larger in absolute value first
/// (LAPACK `dlae2`).
fn eig2(a: f64, b: f64, c: f64) -> (f64, f64) {
    let sm = a + c;
    let adf = (a - c).abs();
    let ab = (b + b).abs();
    let (acmx, acmn) = if a.abs() > c.abs() { (a, c) } else { (c, a) };
    let rt = if adf > ab {
        adf * (1.0 + (ab / adf).powi(2)).sqrt()
    } else if adf < ab {
        ab * (1.0 + (adf / ab).powi(2)).sqrt()
    } else {
        ab * std::f64::consts::SQRT_2
    };
    if sm < 0.0 {
        let rt1 = 0.5 * (sm - rt);
        (rt1, (acmx / rt1) * acmn - (b / rt1) * b)
    } else if sm > 0.0 {
        let rt1 = 0.5 * (sm + rt);
        (rt1, (acmx / rt1) * acmn - (b / rt1) * b)
    } else {
        (0.5 * rt, -0.5 * rt)
    }
}

/// Ascending eigenvalues of the symmetric tridiagonal matrix with diagonal
/// `d` and off-diagonal `e` (`e.len() + 1 == d.len()`), or `None` if the
/// iteration did not converge within `30 n` steps.
pub fn tridiagonal_eigenvalues_pwk(d: &[f64], e: &[f64]) -> Option<Vec<f64>> {
    let n = d.len();
    assert_eq!(e.len() + 1, n.max(1));
    let mut d = d.to_vec();
    if n <= 1 {
        return Some(d);
    }
    let mut e = e.to_vec();
    let eps2 = EPS * EPS;
    let safmin = f64::MIN_POSITIVE;
    let safmax = 1.0 / safmin;
    let ssfmax = safmax.sqrt() / 3.0;
    let ssfmin = safmin.sqrt() / eps2;
    let nmaxit = 30 * n;
    let mut jtot = 0;
    let mut l1 = 0;
    while l1 < n {
        if l1 > 0 {
            e[l1 - 1] = 0.0;
        }
        // Split off an unreduced block l1..=m.
        let mut m = l1;
        while m < n - 1 {
            let tst = e[m].abs();
            if tst == 0.0 {
                break;
            }
            if tst <= d[m].abs().sqrt() * d[m + 1].abs().sqrt() * EPS {
                e[m] = 0.0;
                break;
            }
            m += 1;
        }
        let (lsv, lendsv) = (l1, m);
        l1 = m + 1;
        if lendsv == lsv {
            continue;
        }
        // Scale the block into a safe range.
        let anorm = d[lsv..=lendsv]
            .iter()
            .chain(&e[lsv..lendsv])
            .fold(0.0f64, |a, v| a.max(v.abs()));
        if anorm == 0.0 {
            continue;
        }
        let scale = if anorm > ssfmax {
            ssfmax / anorm
        } else if anorm < ssfmin {
            ssfmin / anorm
        } else {
            1.0
        };
        if scale != 1.0 {
            d[lsv..=lendsv].iter_mut().for_each(|v| *v *= scale);
            e[lsv..lendsv].iter_mut().for_each(|v| *v *= scale);
        }
        e[lsv..lendsv].iter_mut().for_each(|v| *v *= *v);
        // QL when the larger end is at the bottom, else QR.
        let (mut l, lend) = if d[lendsv].abs() < d[lsv].abs() {
            (lendsv, lsv)
        } else {
            (lsv, lendsv)
        };
        if lend >= l {
            // QL iteration.
            loop {
                let mut m = l;
                while m < lend {
                    if e[m].abs() <= eps2 * (d[m] * d[m + 1]).abs() {
                        break;
                    }
                    m += 1;
                }
                if m < lend {
                    e[m] = 0.0;
                }
                let p = d[l];
                if m == l {
                    l += 1;
                    if l <= lend {
                        continue;
                    }
                    break;
                }
                if m == l + 1 {
                    let (r1, r2) = eig2(d[l], e[l].sqrt(), d[l + 1]);
                    d[l] = r1;
                    d[l + 1] = r2;
                    e[l] = 0.0;
                    l += 2;
                    if l <= lend {
                        continue;
                    }
                    break;
                }
                if jtot == nmaxit {
                    break;
                }
                jtot += 1;
                let rte = e[l].sqrt();
                let mut sigma = (d[l + 1] - p) / (2.0 * rte);
                let r = sigma.hypot(1.0);
                sigma = p - rte / (sigma + r.copysign(sigma));
                let (mut c, mut s) = (1.0f64, 0.0f64);
                let mut gamma = d[m] - sigma;
                let mut p = gamma * gamma;
                for i in (l..m).rev() {
                    let bb = e[i];
                    let r = p + bb;
                    if i != m - 1 {
                        e[i + 1] = s * r;
                    }
                    let oldc = c;
                    c = p / r;
                    s = bb / r;
                    let oldgam = gamma;
                    let alpha = d[i];
                    gamma = c * (alpha - sigma) - s * oldgam;
                    d[i + 1] = oldgam + (alpha - gamma);
                    p = if c != 0.0 {
                        (gamma * gamma) / c
                    } else {
                        oldc * bb
                    };
                }
                e[l] = s * p;
                d[l] = sigma + gamma;
            }
        } else {
            // QR iteration.
            loop {
                let mut m = l;
                while m > lend {
                    if e[m - 1].abs() <= eps2 * (d[m] * d[m - 1]).abs() {
                        break;
                    }
                    m -= 1;
                }
                if m > lend {
                    e[m - 1] = 0.0;
                }
                let p = d[l];
                if m == l {
                    if l == lend {
                        break;
                    }
                    l -= 1;
                    continue;
                }
                if m + 1 == l {
                    let (r1, r2) = eig2(d[l], e[l - 1].sqrt(), d[l - 1]);
                    d[l] = r1;
                    d[l - 1] = r2;
                    e[l - 1] = 0.0;
                    if l < lend + 2 {
                        break;
                    }
                    l -= 2;
                    continue;
                }
                if jtot == nmaxit {
                    break;
                }
                jtot += 1;
                let rte = e[l - 1].sqrt();
                let mut sigma = (d[l - 1] - p) / (2.0 * rte);
                let r = sigma.hypot(1.0);
                sigma = p - rte / (sigma + r.copysign(sigma));
                let (mut c, mut s) = (1.0f64, 0.0f64);
                let mut gamma = d[m] - sigma;
                let mut p = gamma * gamma;
                for i in m..l {
                    let bb = e[i];
                    let r = p + bb;
                    if i != m {
                        e[i - 1] = s * r;
                    }
                    let oldc = c;
                    c = p / r;
                    s = bb / r;
                    let oldgam = gamma;
                    let alpha = d[i + 1];
                    gamma = c * (alpha - sigma) - s * oldgam;
                    d[i] = oldgam + (alpha - gamma);
                    p = if c != 0.0 {
                        (gamma * gamma) / c
                    } else {
                        oldc * bb
                    };
                }
                e[l - 1] = s * p;
                d[l] = sigma + gamma;
            }
        }
        if scale != 1.0 {
            d[lsv..=lendsv].iter_mut().for_each(|v| *v /= scale);
        }
        if jtot >= nmaxit {
            return None;
        }
    }
    d.sort_by(f64::total_cmp);
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_by_two_and_second_differences() {
        let ev = tridiagonal_eigenvalues_pwk(&[2.0, 2.0], &[1.0]).unwrap();
        assert!((ev[0] - 1.0).abs() < 1e-15 && (ev[1] - 3.0).abs() < 1e-15);
        for n in [3usize, 10, 101, 500] {
            let d = vec![2.0; n];
            let e = vec![-1.0; n - 1];
            let got = tridiagonal_eigenvalues_pwk(&d, &e).unwrap();
            let mut want: Vec<f64> = (1..=n)
                .map(|k| 2.0 - 2.0 * (k as f64 * std::f64::consts::PI / (n + 1) as f64).cos())
                .collect();
            want.sort_by(f64::total_cmp);
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-13, "n = {n}: {g} vs {w}");
            }
        }
    }

    #[test]
    fn wilkinson_glued_and_scaled_matrices() {
        // W21+: close pairs of eigenvalues.
        let d: Vec<f64> = (0..21).map(|i| (10i32 - i).abs() as f64).collect();
        let e = vec![1.0; 20];
        let got = tridiagonal_eigenvalues_pwk(&d, &e).unwrap();
        assert!((got[20] - 10.746194182903393).abs() < 1e-12);
        assert!((got[19] - 10.746194182903322).abs() < 1e-12);
        // Tiny and huge scales give the scaled spectrum.
        for scale in [1e-300, 1e300] {
            let ds: Vec<f64> = d.iter().map(|v| v * scale).collect();
            let es: Vec<f64> = e.iter().map(|v| v * scale).collect();
            let gs = tridiagonal_eigenvalues_pwk(&ds, &es).unwrap();
            for (a, b) in gs.iter().zip(&got) {
                assert!((a / scale - b).abs() < 1e-12, "{scale}");
            }
        }
    }
}
