//! Transfer entropy as a conditional mutual information of delay embeddings.
//!
//! T. Schreiber, "Measuring information transfer", Phys. Rev. Lett. 85, 461
//! (2000); estimated with the Frenzel-Pompe CMI as in J. Lizier's JIDT:
//! TE(X -> Y) = I(Y_t ; X_{t-lag}, ..., X_{t-lag-l+1} | Y_{t-1}, ..., Y_{t-h}),
//! with `l = source_history` and `h = history`.

use super::cmi::cmi_prepared;
use super::ksg::KsgOptions;
use super::prep::{self, Matrix};
use crate::error::{Error, Result};
use crate::par::{Control, Threads};

/// Embedding parameters of [`transfer_entropy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Embedding {
    /// Delay from source to target (>= 1).
    pub lag: usize,
    /// Length of the target's own past (>= 1).
    pub history: usize,
    /// Length of the source's past (>= 1).
    pub source_history: usize,
}

/// Builds `[source past | target past | target present]` rows from the
/// prepared `[source | target]` series (`ds` and `dt` columns).
pub fn embed(series: &[f64], ds: usize, dt: usize, e: Embedding) -> Vec<f64> {
    let w = ds + dt;
    let t_len = series.len() / w;
    let start = e.history.max(e.lag + e.source_history - 1);
    let width = e.source_history * ds + e.history * dt + dt;
    let mut out = Vec::with_capacity(t_len.saturating_sub(start) * width);
    for t in start..t_len {
        for m in 0..e.source_history {
            let r = (t - e.lag - m) * w;
            out.extend_from_slice(&series[r..r + ds]);
        }
        for m in 1..=e.history {
            let r = (t - m) * w + ds;
            out.extend_from_slice(&series[r..r + dt]);
        }
        out.extend_from_slice(&series[t * w + ds..(t + 1) * w]);
    }
    out
}

/// Transfer entropy from `source` to `target` (time along rows) in nats.
pub fn transfer_entropy(
    source: Matrix<'_>,
    target: Matrix<'_>,
    emb: Embedding,
    opts: &KsgOptions,
    threads: Threads,
    ctl: &Control,
) -> Result<f64> {
    for (name, v) in [
        ("lag", emb.lag),
        ("history", emb.history),
        ("source_history", emb.source_history),
    ] {
        if v == 0 {
            return Err(Error::invalid(name, "must be at least 1"));
        }
    }
    threads.install(|| te_in_pool(source, target, emb, opts, ctl))
}

fn te_in_pool(
    source: Matrix<'_>,
    target: Matrix<'_>,
    emb: Embedding,
    opts: &KsgOptions,
    ctl: &Control,
) -> Result<f64> {
    let series = prep::joint(
        &[(source, "source"), (target, "target")],
        opts.prep,
        opts.seed,
    )?;
    let start = emb.history.max(emb.lag + emb.source_history - 1);
    let rows = source.rows().saturating_sub(start);
    if rows <= opts.k {
        return Err(Error::invalid(
            "k",
            format!(
                "must be smaller than the number of embedded samples ({rows} from {} time steps after lag and histories), got {}",
                source.rows(),
                opts.k
            ),
        ));
    }
    let (ds, dt) = (source.cols(), target.cols());
    let joint = embed(&series, ds, dt, emb);
    drop(series);
    ctl.add_total(rows as u64);
    cmi_prepared(
        joint,
        emb.source_history * ds,
        emb.history * dt,
        dt,
        opts.k,
        ctl,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedding_layout() {
        // source s_t = t, target y_t = 100 + t
        let series: Vec<f64> = (0..6).flat_map(|t| [t as f64, 100.0 + t as f64]).collect();
        let e = Embedding {
            lag: 1,
            history: 2,
            source_history: 1,
        };
        let out = embed(&series, 1, 1, e);
        // t = 2..6: [s_{t-1}, y_{t-1}, y_{t-2}, y_t]
        assert_eq!(&out[..4], &[1.0, 101.0, 100.0, 102.0]);
        assert_eq!(out.len(), 4 * 4);
        let e = Embedding {
            lag: 2,
            history: 1,
            source_history: 2,
        };
        let out = embed(&series, 1, 1, e);
        // start = max(1, 3) = 3: [s_1, s_0, y_2, y_3]
        assert_eq!(&out[..4], &[1.0, 0.0, 102.0, 103.0]);
    }
}
