//! Selecting the k nearest candidates, ties to the lower id.
//!
//! Hamming distances are small integers (at most the code width), so a block
//! of distances is reduced with a histogram: one counting pass finds the
//! largest distance that still belongs to the k best, a second pass collects
//! every id below it and the lowest ids at it. Both passes are linear and
//! branch-light, and the order of ids inside a block makes ties go to the
//! lower id without sorting. Float scores (asymmetric and information
//! scores, rescoring) use a partial selection on `(distance, id)` pairs.

use std::cmp::Ordering;

/// One candidate: its distance (smaller is nearer) and its row id.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Neighbour {
    /// Distance to the query.
    pub distance: f32,
    /// Row of the candidate.
    pub id: u64,
}

/// The total order of candidates: distance, then id.
#[inline]
pub fn order(a: &Neighbour, b: &Neighbour) -> Ordering {
    a.distance
        .total_cmp(&b.distance)
        .then_with(|| a.id.cmp(&b.id))
}

/// Histogram selection over a block of integer distances.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u32>,
}

impl Histogram {
    /// A histogram for distances in `0..=max_distance`.
    pub fn new(max_distance: u32) -> Self {
        Histogram {
            counts: vec![0; max_distance as usize + 2],
        }
    }

    /// Appends to `out` the `k` best of `distances` (row `first + i` has
    /// distance `distances[i]`), skipping any distance above `bound`. Ties go
    /// to the lower id.
    pub fn select(
        &mut self,
        distances: &[u32],
        first: u64,
        k: usize,
        bound: u32,
        out: &mut Vec<Neighbour>,
    ) {
        if k == 0 || distances.is_empty() {
            return;
        }
        let top = (bound as usize).min(self.counts.len() - 2);
        self.counts[..=top + 1].fill(0);
        for &d in distances {
            // Distances above the bound land in the overflow slot `top + 1`.
            self.counts[(d as usize).min(top + 1)] += 1;
        }
        let mut seen = 0usize;
        let mut cut = None;
        for (d, &c) in self.counts[..=top].iter().enumerate() {
            seen += c as usize;
            if seen >= k {
                cut = Some((d as u32, k - (seen - c as usize)));
                break;
            }
        }
        match cut {
            // Fewer than k within the bound: take them all.
            None => {
                for (i, &d) in distances.iter().enumerate() {
                    if d as usize <= top {
                        out.push(Neighbour {
                            distance: d as f32,
                            id: first + i as u64,
                        });
                    }
                }
            }
            Some((cut, mut at_cut)) => {
                for (i, &d) in distances.iter().enumerate() {
                    if d < cut || (d == cut && at_cut > 0) {
                        if d == cut {
                            at_cut -= 1;
                        }
                        out.push(Neighbour {
                            distance: d as f32,
                            id: first + i as u64,
                        });
                    }
                }
            }
        }
    }
}

/// Keeps the `k` best of `candidates` in order (distance, then id).
pub fn best_k(candidates: &mut Vec<Neighbour>, k: usize) {
    if candidates.len() > k {
        if k == 0 {
            candidates.clear();
            return;
        }
        candidates.select_nth_unstable_by(k - 1, order);
        candidates.truncate(k);
    }
    candidates.sort_unstable_by(order);
}

/// Appends the `k` best of float `distances` (row `first + i`) to `out`.
pub fn select_float(distances: &[f32], first: u64, k: usize, out: &mut Vec<Neighbour>) {
    let mut block: Vec<Neighbour> = distances
        .iter()
        .enumerate()
        .map(|(i, &d)| Neighbour {
            distance: d,
            id: first + i as u64,
        })
        .collect();
    best_k(&mut block, k);
    out.extend_from_slice(&block);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oracle(d: &[u32], first: u64, k: usize) -> Vec<Neighbour> {
        let mut all: Vec<Neighbour> = d
            .iter()
            .enumerate()
            .map(|(i, &x)| Neighbour {
                distance: x as f32,
                id: first + i as u64,
            })
            .collect();
        all.sort_by(order);
        all.truncate(k);
        all
    }

    #[test]
    fn histogram_matches_a_full_sort_with_ties() {
        let mut s = 7u64;
        for n in [1usize, 5, 10, 100, 1000] {
            for k in [1usize, 3, 10, 50, 2000] {
                let d: Vec<u32> = (0..n)
                    .map(|_| {
                        s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
                        ((s >> 33) % 12) as u32
                    })
                    .collect();
                let mut h = Histogram::new(64);
                let mut out = Vec::new();
                h.select(&d, 100, k, 64, &mut out);
                best_k(&mut out, k);
                assert_eq!(out, oracle(&d, 100, k), "n={n} k={k}");
            }
        }
    }

    #[test]
    fn bound_excludes_far_rows() {
        let d = [5u32, 1, 9, 1, 3];
        let mut h = Histogram::new(16);
        let mut out = Vec::new();
        h.select(&d, 0, 10, 3, &mut out);
        let ids: Vec<u64> = out.iter().map(|n| n.id).collect();
        assert_eq!(ids, vec![1, 3, 4]);
    }
}
