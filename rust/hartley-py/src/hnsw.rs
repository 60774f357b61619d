//! Binding of the HNSW index. The core index sits behind a read-write lock:
//! searches take it shared (any number at once, from any Python thread, with
//! the GIL released), `add` and `remove` take it exclusively, so a search
//! that arrives during an `add` waits for it to finish. The lock is always
//! acquired with the GIL released, so waiting never blocks other Python
//! threads.

use std::path::PathBuf;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use hartley_core::hnsw::{Filter, Hnsw, Metric, Params, Vectors};
use numpy::{
    Element, IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2,
    PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::arrays::{slice1, slice2, to_array2};
use crate::errors::to_py;
use crate::run::{run, run_here};

/// Single-threaded searches run on the calling thread (without the GIL), in
/// blocks of this many queries with a check for Ctrl-C between blocks:
/// handing the work to a pool worker as [`run`] does costs a scheduling
/// delay per call, which is most of the time of a small batch on a busy
/// machine. Batches of at most this many queries are also answered on the
/// calling thread whatever `n_jobs` says.
const BLOCK: usize = 128;

/// The compiled HNSW index behind `hartley.HNSWIndex`.
#[pyclass(frozen, module = "hartley._core", name = "HnswCore")]
pub struct HnswCore {
    inner: RwLock<Hnsw>,
}

fn read(l: &RwLock<Hnsw>) -> RwLockReadGuard<'_, Hnsw> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn write(l: &RwLock<Hnsw>) -> RwLockWriteGuard<'_, Hnsw> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

type Found<'py> = (Bound<'py, PyArray2<f32>>, Bound<'py, PyArray2<i64>>);

impl HnswCore {
    #[allow(clippy::too_many_arguments)]
    fn search_any<'py, 'a, T: Element>(
        &self,
        py: Python<'py>,
        q: &'a PyReadonlyArray2<'py, T>,
        wrap: fn(&'a [T]) -> Vectors<'a>,
        k: usize,
        ef: Option<usize>,
        filter_ids: Option<PyReadonlyArray1<'py, i64>>,
        filter_mask: Option<PyReadonlyArray1<'py, bool>>,
        n_jobs: Option<isize>,
    ) -> PyResult<Found<'py>> {
        let nq = q.shape()[0];
        let q = wrap(slice2(q, "Q")?);
        let ids = filter_ids
            .as_ref()
            .map(|a| slice1(a, "filter"))
            .transpose()?;
        let mask = filter_mask
            .as_ref()
            .map(|a| slice1(a, "filter"))
            .transpose()?;
        let filter = match (ids, mask) {
            (Some(i), _) => Some(Filter::Ids(i)),
            (None, Some(m)) => Some(Filter::Mask(m)),
            _ => None,
        };
        let threads = crate::run::threads(n_jobs)?;
        let (d, i) = if nq <= BLOCK || threads.get() == 1 {
            let width = q.len() / nq.max(1);
            let (mut d, mut i) = (Vec::with_capacity(nq * k), Vec::with_capacity(nq * k));
            for start in (0..nq.max(1)).step_by(BLOCK) {
                let rows = start..(start + BLOCK).min(nq);
                let part = match q {
                    Vectors::F32(v) => Vectors::F32(&v[rows.start * width..rows.end * width]),
                    Vectors::Codes(v) => Vectors::Codes(&v[rows.start * width..rows.end * width]),
                };
                let (bd, bi) = run_here(py, "HNSW search", |t, c| {
                    read(&self.inner).search(part, k, ef, filter, t, c)
                })?;
                d.extend(bd);
                i.extend(bi);
                py.check_signals()?;
            }
            (d, i)
        } else {
            run(py, n_jobs, false, "search", |t, c| {
                read(&self.inner).search(q, k, ef, filter, t, c)
            })?
        };
        Ok((to_array2(py, d, nq, k)?, to_array2(py, i, nq, k)?))
    }

    fn add_any(
        &self,
        py: Python<'_>,
        x: Vectors<'_>,
        ids: Option<PyReadonlyArray1<'_, i64>>,
        n_jobs: Option<isize>,
        progress: bool,
    ) -> PyResult<()> {
        let ids = ids.as_ref().map(|a| slice1(a, "ids")).transpose()?;
        run(py, n_jobs, progress, "HNSW add", |t, c| {
            write(&self.inner).add(x, ids, t, c)
        })
    }
}

#[pymethods]
impl HnswCore {
    #[new]
    #[pyo3(signature = (dim, metric, m, ef_construction, ef, seed))]
    fn new(
        dim: usize,
        metric: &str,
        m: usize,
        ef_construction: usize,
        ef: usize,
        seed: u64,
    ) -> PyResult<Self> {
        let params = Params {
            metric: Metric::parse(metric).map_err(to_py)?,
            dim,
            m,
            ef_construction,
            ef,
            seed,
        };
        Ok(HnswCore {
            inner: RwLock::new(Hnsw::new(params).map_err(to_py)?),
        })
    }

    #[pyo3(signature = (x, ids, n_jobs, progress))]
    fn add_f32(
        &self,
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f32>,
        ids: Option<PyReadonlyArray1<'_, i64>>,
        n_jobs: Option<isize>,
        progress: bool,
    ) -> PyResult<()> {
        let v = slice2(&x, "X")?;
        self.add_any(py, Vectors::F32(v), ids, n_jobs, progress)
    }

    #[pyo3(signature = (x, ids, n_jobs, progress))]
    fn add_codes(
        &self,
        py: Python<'_>,
        x: PyReadonlyArray2<'_, u8>,
        ids: Option<PyReadonlyArray1<'_, i64>>,
        n_jobs: Option<isize>,
        progress: bool,
    ) -> PyResult<()> {
        let v = slice2(&x, "X")?;
        self.add_any(py, Vectors::Codes(v), ids, n_jobs, progress)
    }

    #[pyo3(signature = (q, k, ef, filter_ids, filter_mask, n_jobs))]
    #[allow(clippy::too_many_arguments)]
    fn search_f32<'py>(
        &self,
        py: Python<'py>,
        q: PyReadonlyArray2<'py, f32>,
        k: usize,
        ef: Option<usize>,
        filter_ids: Option<PyReadonlyArray1<'py, i64>>,
        filter_mask: Option<PyReadonlyArray1<'py, bool>>,
        n_jobs: Option<isize>,
    ) -> PyResult<Found<'py>> {
        self.search_any(py, &q, Vectors::F32, k, ef, filter_ids, filter_mask, n_jobs)
    }

    #[pyo3(signature = (q, k, ef, filter_ids, filter_mask, n_jobs))]
    #[allow(clippy::too_many_arguments)]
    fn search_codes<'py>(
        &self,
        py: Python<'py>,
        q: PyReadonlyArray2<'py, u8>,
        k: usize,
        ef: Option<usize>,
        filter_ids: Option<PyReadonlyArray1<'py, i64>>,
        filter_mask: Option<PyReadonlyArray1<'py, bool>>,
        n_jobs: Option<isize>,
    ) -> PyResult<Found<'py>> {
        self.search_any(
            py,
            &q,
            Vectors::Codes,
            k,
            ef,
            filter_ids,
            filter_mask,
            n_jobs,
        )
    }

    #[pyo3(signature = (ids, n_jobs))]
    fn remove(
        &self,
        py: Python<'_>,
        ids: PyReadonlyArray1<'_, i64>,
        n_jobs: Option<isize>,
    ) -> PyResult<()> {
        let ids = slice1(&ids, "ids")?;
        run(py, n_jobs, false, "HNSW remove", |t, c| {
            write(&self.inner).remove(ids, t, c)
        })
    }

    fn __len__(&self, py: Python<'_>) -> usize {
        py.detach(|| read(&self.inner).len())
    }

    fn ids<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        py.detach(|| read(&self.inner).ids()).into_pyarray(py)
    }

    fn contains(&self, py: Python<'_>, id: i64) -> bool {
        py.detach(|| read(&self.inner).contains(id))
    }

    /// Stored vectors as f32 rows (float metrics).
    fn get_f32<'py>(
        &self,
        py: Python<'py>,
        ids: PyReadonlyArray1<'py, i64>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let ids = slice1(&ids, "ids")?;
        let (bytes, dim) = py.detach(|| {
            let g = read(&self.inner);
            (g.get_vectors(ids), g.params().dim)
        });
        let v: Vec<f32> = bytes
            .map_err(to_py)?
            .chunks_exact(4)
            .map(|c| f32::from_ne_bytes(c.try_into().expect("4 bytes")))
            .collect();
        to_array2(py, v, ids.len(), dim)
    }

    /// Stored packed codes (Hamming).
    fn get_codes<'py>(
        &self,
        py: Python<'py>,
        ids: PyReadonlyArray1<'py, i64>,
    ) -> PyResult<Bound<'py, PyArray2<u8>>> {
        let ids = slice1(&ids, "ids")?;
        let (bytes, dim) = py.detach(|| {
            let g = read(&self.inner);
            (g.get_vectors(ids), g.params().dim)
        });
        to_array2(py, bytes.map_err(to_py)?, ids.len(), dim.div_ceil(8))
    }

    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| read(&self.inner).save(&path)).map_err(to_py)
    }

    #[staticmethod]
    #[pyo3(signature = (path, mmap))]
    fn load(py: Python<'_>, path: PathBuf, mmap: bool) -> PyResult<Self> {
        let h = py.detach(|| Hnsw::load(&path, mmap)).map_err(to_py)?;
        Ok(HnswCore {
            inner: RwLock::new(h),
        })
    }

    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let b = py.detach(|| read(&self.inner).to_bytes());
        PyBytes::new(py, &b)
    }

    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        let h = py.detach(|| Hnsw::from_bytes(data)).map_err(to_py)?;
        Ok(HnswCore {
            inner: RwLock::new(h),
        })
    }

    /// `(metric, dim, M, ef_construction, ef, seed)`.
    fn params(&self, py: Python<'_>) -> (&'static str, usize, usize, usize, usize, u64) {
        let p = py.detach(|| *read(&self.inner).params());
        (p.metric.name(), p.dim, p.m, p.ef_construction, p.ef, p.seed)
    }

    fn set_ef(&self, py: Python<'_>, ef: usize) -> PyResult<()> {
        py.detach(|| write(&self.inner).set_ef(ef)).map_err(to_py)
    }

    fn memory_bytes(&self, py: Python<'_>) -> usize {
        py.detach(|| read(&self.inner).memory_bytes())
    }

    fn is_mapped(&self, py: Python<'_>) -> bool {
        py.detach(|| read(&self.inner).is_mapped())
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<HnswCore>()
}
