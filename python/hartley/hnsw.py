"""Approximate nearest-neighbour search on a hierarchical navigable small-world graph.

:class:`HNSWIndex` implements the HNSW graph of Malkov and Yashunin ("Efficient
and robust approximate nearest neighbor search using Hierarchical Navigable
Small World graphs", IEEE TPAMI 42(4), 2020): insertion by their algorithm 1,
neighbours chosen by the heuristic of their algorithm 4, search by algorithms
2 and 5. It is a drop-in for ``hnswlib.Index`` with the same parameters and
distance conventions, plus filters, real deletes, growable capacity,
memory-mapped files and a documented concurrency contract.

Distances (as hnswlib returns them):

- ``"cosine"``: ``1 - cos(q, x)``; vectors are normalised when added and when
  queried, and :meth:`HNSWIndex.get_vectors` returns the normalised vectors.
- ``"l2"``: the *squared* Euclidean distance ``|q - x|^2``.
- ``"ip"``: ``1 - <q, x>`` (smaller is more similar; may be negative).
- ``"hamming"``: the number of differing bits between packed binary codes
  (``dim`` is in bits, rows are uint8 in ``np.packbits`` layout; padding bits
  of the last byte are ignored).

Threads. Searches may run from any number of Python threads at once: they
release the GIL and share the index under a read lock. :meth:`HNSWIndex.add`
and :meth:`HNSWIndex.remove` take the lock exclusively, so a search issued
while an ``add`` runs waits for it (and vice versa). Within one call,
``n_jobs`` threads insert in parallel or answer queries in parallel.
"""

from __future__ import annotations

import numbers
import os
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core
from ._validation import (
    as_real_array,
    check_bool,
    check_int,
    check_n_jobs,
    check_option,
    check_seed,
)

__all__ = ["HNSWIndex"]

METRICS = ("cosine", "l2", "ip", "hamming")


def _ids_array(ids: Any, name: str) -> npt.NDArray[np.int64]:
    """A 1-D int64 array of ids from an int or an integer array-like."""
    if isinstance(ids, (bool, np.bool_)):
        raise TypeError(f"{name}: must be integers, got a bool")
    if isinstance(ids, numbers.Integral):
        ids = [int(ids)]
    arr = np.asarray(ids)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name}: must be integers, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name}: must be 1-D, got shape {arr.shape}")
    if arr.dtype.kind == "u" and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
        raise ValueError(f"{name}: ids must fit in int64")
    return np.ascontiguousarray(arr, dtype=np.int64)


class HNSWIndex:
    """Approximate k-nearest-neighbour index on an HNSW graph.

    The graph of Malkov and Yashunin (IEEE TPAMI 2020): every item is a node
    on level 0 and, with probability ``M^-l``, on levels 1..l; each level keeps
    at most ``M`` links per node (``2 M`` on level 0), chosen by the paper's
    neighbour-selection heuristic (algorithm 4). A search descends greedily
    from the top level and runs a beam search of width ``ef`` on level 0.

    Parameters
    ----------
    dim : int
        Vector dimension (number of bits for ``metric="hamming"``).
    metric : {"cosine", "l2", "ip", "hamming"}, default "cosine"
        Distance; see the module documentation for the exact conventions.
    M : int, default 16
        Links per node on the upper levels (``2 M`` on level 0), 2 to 512.
    ef_construction : int, default 200
        Width of the beam search while inserting (higher: better graph, slower build).
    ef : int, default 64
        Default width of the beam search of :meth:`search` (``max(ef, k)`` is used).
    random_state : int, numpy Generator or None, default 0
        Seed of the level draws; a sequential build (``n_jobs=1``) is reproducible.

    Raises
    ------
    ValueError
        A parameter out of range or an unknown metric.
    TypeError
        A parameter of the wrong type.

    Examples
    --------
    >>> import numpy as np
    >>> from hartley import HNSWIndex
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((1000, 32)).astype(np.float32)
    >>> index = HNSWIndex(32, metric="cosine")
    >>> index.add(X)
    >>> distances, ids = index.search(X[:3], k=2)
    >>> ids[:, 0].tolist()
    [0, 1, 2]
    >>> bool(abs(distances[0, 0]) < 1e-5)
    True
    >>> index.remove([1])
    >>> 1 in index, len(index)
    (False, 999)
    """

    __slots__ = ("_core",)
    _core: Any

    def __init__(
        self,
        dim: int,
        *,
        metric: str = "cosine",
        M: int = 16,
        ef_construction: int = 200,
        ef: int = 64,
        random_state: Any = 0,
    ) -> None:
        dim = check_int(dim, "dim", 1)
        metric = check_option(metric, "metric", METRICS)
        M = check_int(M, "M", 2)
        ef_construction = check_int(ef_construction, "ef_construction", 1)
        ef = check_int(ef, "ef", 1)
        seed = check_seed(random_state)
        self._core = _core.HnswCore(dim, metric, M, ef_construction, ef, seed)

    # ----------------------------------------------------------- properties

    @property
    def dim(self) -> int:
        """Vector dimension (bits for Hamming)."""
        return int(self._core.params()[1])

    @property
    def metric(self) -> str:
        """Distance name."""
        return str(self._core.params()[0])

    @property
    def M(self) -> int:
        """Links per node on the upper levels (2 M on level 0)."""
        return int(self._core.params()[2])

    @property
    def ef_construction(self) -> int:
        """Beam width while inserting."""
        return int(self._core.params()[3])

    @property
    def ef(self) -> int:
        """Default beam width of :meth:`search` (settable; saved with the index)."""
        return int(self._core.params()[4])

    @ef.setter
    def ef(self, value: int) -> None:
        self._core.set_ef(check_int(value, "ef", 1))

    @property
    def random_state(self) -> int:
        """Seed of the level draws."""
        return int(self._core.params()[5])

    @property
    def is_mapped(self) -> bool:
        """Whether the vectors and links are read from a memory-mapped file."""
        return bool(self._core.is_mapped())

    @property
    def memory_bytes(self) -> int:
        """Bytes of memory the index holds: rows (vectors and level-0 links),
        upper-level links and the id map. A mapped file's pages are not
        counted (they belong to the operating system's page cache)."""
        return int(self._core.memory_bytes())

    def __len__(self) -> int:
        return int(self._core.__len__())

    def __contains__(self, id: object) -> bool:
        if isinstance(id, (bool, np.bool_)) or not isinstance(id, numbers.Integral):
            return False
        value = int(id)
        if not -(2**63) <= value < 2**63:
            return False
        return bool(self._core.contains(value))

    def __repr__(self) -> str:
        return (
            f"HNSWIndex(dim={self.dim}, metric={self.metric!r}, M={self.M}, "
            f"ef_construction={self.ef_construction}, ef={self.ef}, len={len(self)})"
        )

    def ids(self) -> npt.NDArray[np.int64]:
        """The ids in the index (int64, in storage order: removed ids leave
        gaps that later adds fill).

        Examples
        --------
        >>> import numpy as np
        >>> from hartley import HNSWIndex
        >>> index = HNSWIndex(2, metric="l2")
        >>> index.add(np.ones((3, 2)), ids=[7, 8, 9])
        >>> index.remove(8)
        >>> index.add(np.zeros((1, 2)), ids=[1])
        >>> index.ids().tolist()
        [7, 1, 9]
        """
        return np.asarray(self._core.ids(), dtype=np.int64)

    # ---------------------------------------------------------------- input

    def _rows(self, X: Any, name: str) -> npt.NDArray[Any]:
        """`X` as a C-contiguous 2-D array the core accepts (float32 or uint8)."""
        binary = self.metric == "hamming"
        arr = as_real_array(X, name)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2:
            raise ValueError(f"{name}: must be 1-D (one vector) or 2-D, got shape {arr.shape}")
        width = (self.dim + 7) // 8 if binary else self.dim
        if arr.shape[1] != width:
            what = f"{width} bytes of packed codes" if binary else f"{width} columns"
            raise ValueError(f"{name}: must have {what} per row, got shape {arr.shape}")
        if binary:
            if arr.dtype != np.uint8:
                raise TypeError(
                    f"{name}: must be packed uint8 codes (np.packbits layout), "
                    f"got dtype {arr.dtype}"
                )
            return np.ascontiguousarray(arr)
        if arr.dtype.kind == "f" and arr.dtype.itemsize > 4:
            with np.errstate(over="ignore"):
                return np.ascontiguousarray(arr, dtype=np.float32)
        return np.ascontiguousarray(arr, dtype=np.float32)

    # ------------------------------------------------------------- building

    def add(
        self,
        X: npt.ArrayLike,
        ids: npt.ArrayLike | None = None,
        *,
        n_jobs: int | None = None,
        progress: bool = False,
    ) -> None:
        """Insert vectors (Malkov and Yashunin, algorithm 1), in parallel.

        Parameters
        ----------
        X : array_like of shape (n, dim), or (n, ceil(dim / 8)) uint8 for Hamming
            Vectors to insert (a 1-D array is one vector). Float input is
            stored as float32. Capacity grows as needed.
        ids : array_like of int, optional
            One int64 id per row, new and distinct. Default: consecutive ids
            from one past the largest id ever added (0 for a new index).
        n_jobs : int, optional
            Insertion threads (None: library default, -1: all cores). A
            parallel build differs from a sequential one only in the order
            links are made; its recall is the same to within noise.
        progress : bool, default False
            Draw a progress bar on stderr.

        Raises
        ------
        ValueError
            Wrong shape, NaN or inf, an all-zero row with the cosine metric,
            or an id already present or repeated.
        TypeError
            Non-numeric data, non-uint8 codes for Hamming, or non-integer ids.
        KeyboardInterrupt
            On Ctrl-C; the rows not yet inserted are rolled back.

        Examples
        --------
        >>> import numpy as np
        >>> from hartley import HNSWIndex
        >>> index = HNSWIndex(4, metric="l2")
        >>> index.add(np.eye(4), ids=[10, 20, 30, 40])
        >>> index.ids().tolist()
        [10, 20, 30, 40]
        """
        rows = self._rows(X, "X")
        if rows.shape[0] == 0:
            raise ValueError("X: is empty (0 vectors)")
        id_arr = None if ids is None else _ids_array(ids, "ids")
        if id_arr is not None and len(id_arr) != rows.shape[0]:
            raise ValueError(f"ids: has {len(id_arr)} entries for {rows.shape[0]} vectors")
        n_jobs = check_n_jobs(n_jobs)
        progress = check_bool(progress, "progress")
        if rows.dtype == np.uint8:
            self._core.add_codes(rows, id_arr, n_jobs, progress)
        else:
            self._core.add_f32(rows, id_arr, n_jobs, progress)

    def remove(self, ids: npt.ArrayLike, *, n_jobs: int | None = None) -> None:
        """Remove items for good: they are never returned again and their
        slots are reused by later adds.

        Every list that linked to a removed node is rebuilt from its other
        links and the removed node's own neighbours (two steps through removed
        nodes), pruned back with the selection heuristic - the delete
        consolidation of FreshDiskANN (Singh et al., arXiv:2105.09613, 2021,
        algorithm 4) with HNSW's heuristic as the pruning rule - so the graph
        stays navigable; nodes left without any neighbour are inserted again.

        Parameters
        ----------
        ids : int or array_like of int
            Ids to remove; each must be in the index (duplicates are fine).
        n_jobs : int, optional
            Repair threads.

        Raises
        ------
        ValueError
            An id that is not in the index (nothing is removed then).

        Examples
        --------
        >>> import numpy as np
        >>> from hartley import HNSWIndex
        >>> index = HNSWIndex(2, metric="l2")
        >>> index.add(np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]]))
        >>> index.remove(0)
        >>> index.search([0.0, 0.0], k=1)[1].tolist()
        [[1]]
        """
        arr = _ids_array(ids, "ids")
        self._core.remove(arr, check_n_jobs(n_jobs))

    # ------------------------------------------------------------ searching

    def search(
        self,
        Q: npt.ArrayLike,
        k: int = 10,
        *,
        ef: int | None = None,
        filter: npt.ArrayLike | None = None,
        n_jobs: int | None = None,
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """The k approximate nearest neighbours of each query (algorithm 5).

        Parameters
        ----------
        Q : array_like of shape (n_queries, dim), or packed codes for Hamming
            Queries (a 1-D array is one query).
        k : int, default 10
            Neighbours per query.
        ef : int, optional
            Beam width (default: the index's ``ef``); ``max(ef, k)`` is used.
            Larger is slower and more accurate.
        filter : array_like, optional
            Restricts results to allowed ids: either an integer array of
            allowed ids (ids not in the index are ignored) or a boolean mask
            with ``filter[id]`` for ids ``0..len(filter) - 1`` (other ids are
            excluded). The graph is still walked through every node. When the
            filter allows so few items that scanning them costs less than the
            walk (``n_allowed^2 <= max(ef, k) * 2 M * len``), they are scanned
            exactly, so recall does not collapse for selective filters.
        n_jobs : int, optional
            Threads over queries (batches of 16 queries or fewer run on the
            calling thread).

        Returns
        -------
        distances : ndarray of float32, shape (n_queries, k)
            Ascending; ties broken by the lower id.
        ids : ndarray of int64, shape (n_queries, k)
            Padded with -1 (and ``inf`` distances) when fewer than k items qualify.

        Raises
        ------
        ValueError
            Wrong shape, NaN or inf, an all-zero query with the cosine metric,
            or k < 1.
        TypeError
            Non-numeric queries or a filter that is neither bool nor integer.

        Examples
        --------
        >>> import numpy as np
        >>> from hartley import HNSWIndex
        >>> X = np.arange(20, dtype=np.float32).reshape(10, 2)
        >>> index = HNSWIndex(2, metric="l2")
        >>> index.add(X)
        >>> index.search(X[4], k=3)[1].tolist()
        [[4, 3, 5]]
        >>> index.search(X[4], k=2, filter=[7, 8, 9])[1].tolist()
        [[7, 8]]
        """
        rows = self._rows(Q, "Q")
        k = check_int(k, "k", 1)
        ef_val = None if ef is None else check_int(ef, "ef", 1)
        n_jobs = check_n_jobs(n_jobs)
        fid = fmask = None
        if filter is not None:
            arr = np.asarray(filter)
            if arr.ndim != 1:
                raise ValueError(f"filter: must be 1-D, got shape {arr.shape}")
            if arr.dtype == np.bool_:
                fmask = np.ascontiguousarray(arr)
            elif arr.size == 0:
                fid = np.zeros(0, dtype=np.int64)
            elif arr.dtype.kind in "iu":
                fid = _ids_array(arr, "filter")
            else:
                raise TypeError(
                    f"filter: must be an integer array of ids or a boolean mask, "
                    f"got dtype {arr.dtype}"
                )
        if rows.dtype == np.uint8:
            d, i = self._core.search_codes(rows, k, ef_val, fid, fmask, n_jobs)
        else:
            d, i = self._core.search_f32(rows, k, ef_val, fid, fmask, n_jobs)
        return d, i

    def get_vectors(self, ids: npt.ArrayLike) -> npt.NDArray[Any]:
        """The stored vectors of ``ids``, in that order.

        Float metrics give float32 rows (normalised for cosine); Hamming gives
        the packed uint8 codes (padding bits zeroed).

        Raises
        ------
        ValueError
            An id that is not in the index.

        Examples
        --------
        >>> import numpy as np
        >>> from hartley import HNSWIndex
        >>> index = HNSWIndex(2, metric="cosine")
        >>> index.add([[3.0, 4.0]], ids=[7])
        >>> np.round(index.get_vectors([7]).astype(np.float64), 2).tolist()
        [[0.6, 0.8]]
        """
        arr = _ids_array(ids, "ids")
        if self.metric == "hamming":
            return np.asarray(self._core.get_codes(arr))
        return np.asarray(self._core.get_f32(arr))

    # ---------------------------------------------------------- persistence

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the index to ``path`` atomically (temporary file, then rename).

        The file holds a versioned header with every parameter (``ef``
        included), the graph, the vectors and the ids, and a checksum.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> from hartley import HNSWIndex
        >>> index = HNSWIndex(3, metric="l2", ef=32)
        >>> index.add(np.eye(3))
        >>> path = os.path.join(tempfile.mkdtemp(), "index.hnsw")
        >>> index.save(path)
        >>> HNSWIndex.load(path, mmap=True).ef
        32
        """
        self._core.save(os.fspath(path))

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, mmap: bool = False) -> HNSWIndex:
        """Read an index written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like
        mmap : bool, default False
            Map the file instead of reading it into memory: searches read the
            vectors and links from the mapping, so the process holds no copy
            of them (:attr:`memory_bytes` counts only the upper-level links
            and the id map), processes mapping the same file share its pages,
            and the operating system may evict them under memory pressure.
            Loading still reads the whole file once, through the page cache,
            to verify it (checksum and every link), as for ``mmap=False``: a
            graph is only safe to walk once its links are known to be in
            range. The index stays fully usable; the first ``add`` or
            ``remove`` copies it into memory. The file must not be modified
            while mapped.

        Raises
        ------
        ValueError
            The file is missing, truncated, corrupted (checksum), from another
            format version, or inconsistent (links out of range, wrong sizes):
            it is checked completely before use.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> from hartley import HNSWIndex
        >>> index = HNSWIndex(2, metric="l2")
        >>> index.add([[0.0, 0.0], [3.0, 4.0]], ids=[5, 6])
        >>> path = os.path.join(tempfile.mkdtemp(), "small.hnsw")
        >>> index.save(path)
        >>> loaded = HNSWIndex.load(path)
        >>> loaded.search([3.0, 3.0], k=1)
        (array([[1.]], dtype=float32), array([[6]]))
        """
        mmap = check_bool(mmap, "mmap")
        obj = cls.__new__(cls)
        obj._core = _core.HnswCore.load(os.fspath(path), mmap)
        return obj

    @classmethod
    def _from_bytes(cls, data: bytes) -> HNSWIndex:
        obj = cls.__new__(cls)
        obj._core = _core.HnswCore.from_bytes(data)
        return obj

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        return (HNSWIndex._from_bytes, (bytes(self._core.to_bytes()),))
