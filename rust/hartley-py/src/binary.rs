//! Bindings of the binary codes: kernels, binarisation and the index.
//! Argument types and option strings are checked by the facade; shapes and
//! contents by the core.

use std::path::PathBuf;
use std::sync::RwLock;

use hartley_core::bits::binarize::{code_bytes, encode};
use hartley_core::bits::index::{
    stride_words, to_words, BinaryIndex, Quantizer, Queries, Rescore, Score, SearchOptions,
};
use hartley_core::bits::topk::Neighbour;
use hartley_core::bits::{io, pairwise, scan::Codes};
use hartley_core::simd;
use numpy::ndarray::Array2;
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::arrays::{slice1, slice2, to_array2};
use crate::errors::{to_py, HartleyError};
use crate::run::{run, run_here};

/// Searches that scan at most this many bytes of codes run on the calling
/// thread (about 30 microseconds of scanning): handing them to the pool
/// and back would take longer than the work.
const INLINE_BYTES: usize = 1 << 20;

/// Binarizations of at most this many values times bits (a few queries) run
/// on the calling thread, for the same reason.
const INLINE_VALUES: usize = 1 << 16;

fn words_of(a: &PyReadonlyArray2<'_, u8>, n_bits: usize, name: &str) -> PyResult<Vec<u64>> {
    if a.shape()[1] != code_bytes(n_bits) {
        return Err(PyValueError::new_err(format!(
            "{name}: rows must be {} bytes for {n_bits}-bit codes, got {}",
            code_bytes(n_bits),
            a.shape()[1]
        )));
    }
    Ok(to_words(slice2(a, name)?, n_bits))
}

#[pyfunction]
#[pyo3(signature = (a, b, n_bits, jaccard, n_jobs))]
fn code_distances<'py>(
    py: Python<'py>,
    a: PyReadonlyArray2<'_, u8>,
    b: PyReadonlyArray2<'_, u8>,
    n_bits: usize,
    jaccard: bool,
    n_jobs: Option<isize>,
) -> PyResult<Bound<'py, PyAny>> {
    let (na, nb) = (a.shape()[0], b.shape()[0]);
    let wa = words_of(&a, n_bits, "A")?;
    let wb = words_of(&b, n_bits, "B")?;
    let stride = stride_words(n_bits);
    let level = simd::level();
    if jaccard {
        let out = run(py, n_jobs, false, "jaccard", |t, c| {
            let ca = Codes::new(&wa, stride, n_bits)?;
            let cb = Codes::new(&wb, stride, n_bits)?;
            pairwise::jaccard_matrix(ca, cb, level, t, c)
        })?;
        Ok(to_array2(py, out, na, nb)?.into_any())
    } else {
        let out = run(py, n_jobs, false, "hamming", |t, c| {
            let ca = Codes::new(&wa, stride, n_bits)?;
            let cb = Codes::new(&wb, stride, n_bits)?;
            pairwise::hamming_matrix(ca, cb, level, t, c)
        })?;
        Ok(to_array2(py, out, na, nb)?.into_any())
    }
}

#[pyfunction]
#[pyo3(signature = (x, thresholds, bits, n_jobs, progress))]
fn binarize<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'_, f32>,
    thresholds: PyReadonlyArray1<'_, f32>,
    bits: usize,
    n_jobs: Option<isize>,
    progress: bool,
) -> PyResult<Bound<'py, PyArray2<u8>>> {
    let (n, dim) = (x.shape()[0], x.shape()[1]);
    let xs = slice2(&x, "X")?;
    let ts = slice1(&thresholds, "thresholds")?;
    let work = |t, c: &_| encode(xs, dim, ts, bits, t, c);
    let out = if !progress && xs.len().saturating_mul(bits) <= INLINE_VALUES {
        run_here(py, "binarize", work)?
    } else {
        run(py, n_jobs, progress, "binarize", work)?
    };
    to_array2(py, out, n, code_bytes(dim * bits))
}

/// The index behind `hartley.BinaryIndex`. Searches take a read lock and
/// run without the GIL, so many threads can search at once; `add` takes the
/// write lock and waits for running searches.
#[pyclass(module = "hartley._core", name = "BinaryIndex", frozen)]
pub struct PyBinaryIndex {
    inner: RwLock<BinaryIndex>,
}

/// `(distances, ids)` as search returns them.
type SearchResult<'py> = (Bound<'py, PyArray2<f32>>, Bound<'py, PyArray2<i64>>);

fn poisoned() -> PyErr {
    HartleyError::new_err("the index lock was poisoned by an earlier internal error")
}

fn vec1(a: Option<PyReadonlyArray1<'_, f32>>, name: &str) -> PyResult<Vec<f32>> {
    match a {
        None => Ok(Vec::new()),
        Some(a) => Ok(slice1(&a, name)?.to_vec()),
    }
}

impl PyBinaryIndex {
    /// `f` of the index under its read lock, taken with the GIL released
    /// (as every lock is: a thread holding the GIL never waits on a lock).
    fn read<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&BinaryIndex) -> R + Send,
    ) -> PyResult<R> {
        py.detach(|| Ok(f(&*self.inner.read().map_err(|_| poisoned())?)))
    }
}

#[pymethods]
impl PyBinaryIndex {
    #[new]
    #[pyo3(signature = (n_bits, dim=0, bits=1, method=0, rotation_kind=0, thresholds=None, centres=None, mean=None, rotation=None, rescore=0, vector_dim=0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        n_bits: usize,
        dim: usize,
        bits: usize,
        method: u32,
        rotation_kind: u32,
        thresholds: Option<PyReadonlyArray1<'_, f32>>,
        centres: Option<PyReadonlyArray1<'_, f32>>,
        mean: Option<PyReadonlyArray1<'_, f32>>,
        rotation: Option<PyReadonlyArray1<'_, f32>>,
        rescore: u32,
        vector_dim: usize,
    ) -> PyResult<Self> {
        let quantizer = if dim == 0 {
            None
        } else {
            Some(Quantizer {
                dim,
                bits,
                method,
                rotation_kind,
                thresholds: vec1(thresholds, "thresholds")?,
                centres: vec1(centres, "centres")?,
                mean: vec1(mean, "mean")?,
                rotation: vec1(rotation, "rotation")?,
            })
        };
        let rescore = Rescore::from_code(rescore)
            .ok_or_else(|| PyValueError::new_err("rescore: unknown kind"))?;
        let index =
            BinaryIndex::with_parts(n_bits, quantizer, rescore, vector_dim).map_err(to_py)?;
        Ok(PyBinaryIndex {
            inner: RwLock::new(index),
        })
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        self.read(py, |i| i.len())
    }

    #[getter]
    fn n_bits(&self, py: Python<'_>) -> PyResult<usize> {
        self.read(py, |i| i.n_bits())
    }

    #[getter]
    fn rescore(&self, py: Python<'_>) -> PyResult<u32> {
        self.read(py, |i| i.rescore() as u32)
    }

    #[getter]
    fn vector_dim(&self, py: Python<'_>) -> PyResult<usize> {
        self.read(py, |i| i.vector_dim())
    }

    #[getter]
    fn is_mapped(&self, py: Python<'_>) -> PyResult<bool> {
        self.read(py, |i| i.is_mapped())
    }

    #[getter]
    fn memory_bytes(&self, py: Python<'_>) -> PyResult<usize> {
        self.read(py, |i| i.memory_bytes())
    }

    /// `(dim, bits, method, rotation_kind, thresholds, centres, mean, rotation)`
    /// or `None` for an index of user codes.
    #[allow(clippy::type_complexity)]
    fn quantizer<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<
        Option<(
            usize,
            usize,
            u32,
            u32,
            Bound<'py, PyArray1<f32>>,
            Bound<'py, PyArray1<f32>>,
            Bound<'py, PyArray1<f32>>,
            Bound<'py, PyArray1<f32>>,
        )>,
    > {
        let quantizer = self.read(py, |i| i.quantizer().cloned())?;
        Ok(quantizer.map(|q| {
            (
                q.dim,
                q.bits,
                q.method,
                q.rotation_kind,
                PyArray1::from_slice(py, &q.thresholds),
                PyArray1::from_slice(py, &q.centres),
                PyArray1::from_slice(py, &q.mean),
                PyArray1::from_slice(py, &q.rotation),
            )
        }))
    }

    /// Copies of the packed codes of `ids`.
    fn codes<'py>(
        &self,
        py: Python<'py>,
        ids: PyReadonlyArray1<'_, i64>,
    ) -> PyResult<Bound<'py, PyArray2<u8>>> {
        let ids = slice1(&ids, "ids")?;
        let (out, width) = self
            .read(py, |index| {
                let width = code_bytes(index.n_bits());
                let mut out = Vec::with_capacity(ids.len() * width);
                for &i in ids {
                    if i < 0 || i as usize >= index.len() {
                        return Err(format!(
                            "ids: {i} is not a row of this index of {} rows",
                            index.len()
                        ));
                    }
                    out.extend_from_slice(index.code(i as usize));
                }
                Ok((out, width))
            })?
            .map_err(PyValueError::new_err)?;
        to_array2(py, out, ids.len(), width)
    }

    #[pyo3(signature = (codes, vectors=None))]
    fn add(
        &self,
        py: Python<'_>,
        codes: PyReadonlyArray2<'_, u8>,
        vectors: Option<PyReadonlyArray2<'_, f32>>,
    ) -> PyResult<()> {
        let c = slice2(&codes, "X")?;
        let v = match &vectors {
            Some(v) => Some(slice2(v, "X")?),
            None => None,
        };
        let inner = &self.inner;
        py.detach(|| {
            let mut index = inner.write().map_err(|_| poisoned())?;
            index.add(c, v).map_err(to_py)
        })
    }

    #[pyo3(signature = (k, oversample, score, rescore, codes, projected, vectors, n_jobs, progress, shortlist=None))]
    #[allow(clippy::too_many_arguments)]
    fn search<'py>(
        &self,
        py: Python<'py>,
        k: usize,
        oversample: usize,
        score: &str,
        rescore: bool,
        codes: Option<PyReadonlyArray2<'_, u8>>,
        projected: Option<PyReadonlyArray2<'_, f32>>,
        vectors: Option<PyReadonlyArray2<'_, f32>>,
        n_jobs: Option<isize>,
        progress: bool,
        shortlist: Option<usize>,
    ) -> PyResult<SearchResult<'py>> {
        let score = match score {
            "hamming" => Score::Hamming,
            "its" => Score::Its,
            "asymmetric" => Score::Asymmetric,
            other => {
                return Err(PyValueError::new_err(format!(
                    "score: must be 'hamming', 'its' or 'asymmetric', got {other:?}"
                )))
            }
        };
        let n = [
            codes.as_ref().map(|a| a.shape()[0]),
            projected.as_ref().map(|a| a.shape()[0]),
            vectors.as_ref().map(|a| a.shape()[0]),
        ]
        .into_iter()
        .flatten()
        .next()
        .unwrap_or(0);
        let queries = Queries {
            n,
            codes: codes.as_ref().map(|a| slice2(a, "Q")).transpose()?,
            projected: projected.as_ref().map(|a| slice2(a, "Q")).transpose()?,
            vectors: vectors.as_ref().map(|a| slice2(a, "Q")).transpose()?,
        };
        let opts = SearchOptions {
            k,
            oversample,
            score,
            shortlist,
            rescore,
            level: simd::level(),
        };
        let inner = &self.inner;
        let work = |t, c: &_| {
            let index = inner.read().map_err(|_| {
                hartley_core::Error::invalid("index", "lock poisoned by an earlier internal error")
            })?;
            if index.is_empty() {
                return Err(hartley_core::Error::invalid(
                    "index",
                    "is empty: add codes before searching",
                ));
            }
            index.search(&queries, &opts, t, c)
        };
        let scanned = self
            .read(py, |i| i.len().saturating_mul(code_bytes(i.n_bits())))
            .unwrap_or(0);
        let results = if !progress && scanned.saturating_mul(n) <= INLINE_BYTES {
            run_here(py, "search", work)?
        } else {
            run(py, n_jobs, progress, "search", work)?
        };
        let mut dist = Array2::<f32>::from_elem((n, k), f32::INFINITY);
        let mut ids = Array2::<i64>::from_elem((n, k), -1);
        for (q, list) in results.iter().enumerate() {
            for (j, Neighbour { distance, id }) in list.iter().enumerate().take(k) {
                dist[(q, j)] = *distance;
                ids[(q, j)] = *id as i64;
            }
        }
        Ok((dist.into_pyarray(py), ids.into_pyarray(py)))
    }

    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        self.read(py, |index| io::save(index, &path))?
            .map_err(to_py)
    }

    #[staticmethod]
    #[pyo3(signature = (path, mmap, verify))]
    fn load(py: Python<'_>, path: PathBuf, mmap: bool, verify: bool) -> PyResult<Self> {
        let index = py.detach(|| io::load(&path, mmap, verify)).map_err(to_py)?;
        Ok(PyBinaryIndex {
            inner: RwLock::new(index),
        })
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(code_distances, m)?)?;
    m.add_function(wrap_pyfunction!(binarize, m)?)?;
    m.add_class::<PyBinaryIndex>()?;
    Ok(())
}
