"""The binding's array intake and outflow (rust/hartley-py/src/arrays.rs).

The facade always hands the extension contiguous arrays, so these paths are
reached only by calling `hartley._core` directly: a strided view must be
refused with a ValueError naming the argument, never read out of place, and
results must come back with the right shape.
"""

import numpy as np
import pytest
from hartley import _core

RNG = np.random.default_rng(0)
X64 = RNG.standard_normal((6, 4))
X32 = X64.astype(np.float32)
STRIDED64 = np.repeat(X64, 2, axis=1)[:, ::2]  # 2-D, not C-contiguous
STRIDED32 = np.repeat(X32, 2, axis=1)[:, ::2]
CODES = RNG.integers(0, 256, size=(6, 2), dtype=np.uint8)
STRIDED_CODES = np.repeat(CODES, 2, axis=1)[:, ::2]


def strided_1d(a: np.ndarray) -> np.ndarray:
    """A 1-D view of `a` with a stride of two elements."""
    return np.repeat(a, 2)[::2]


def test_strided_inputs_are_views():
    for a in (STRIDED64, STRIDED32, STRIDED_CODES):
        assert not a.flags.c_contiguous
    assert not strided_1d(np.arange(3.0)).flags.c_contiguous


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: _core.pairwise_distances_f64(STRIDED64, None, "euclidean", 1, False), "X"),
        (lambda: _core.pairwise_distances_f32(X32, STRIDED32, "euclidean", 1, False), "Y"),
        (lambda: _core.pairwise_code_distances(STRIDED_CODES, None, "hamming", 1, False), "X"),
        (
            lambda: _core.spectral_entropy(
                None, STRIDED64[:4], 1.0, "rbf", None, 3, 1, None, 1, False
            ),
            "K",
        ),
        (
            lambda: _core.frechet_from_moments(np.zeros(4), np.eye(4), np.zeros(4), STRIDED64[:4]),
            "sigma2",
        ),
        (
            lambda: _core.sliced_wasserstein(X64, X64, STRIDED64[:4], 2.0, 1, False),
            "projections",
        ),
        (lambda: _core.binarize(STRIDED32, np.zeros(4, np.float32), 1, 1, False), "X"),
        (lambda: _core.code_distances(STRIDED_CODES, CODES, 16, False, 1), "A"),
    ],
)
def test_strided_2d_is_refused(call, name):
    with pytest.raises(ValueError, match=rf"^{name}: must be C-contiguous$"):
        call()


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (
            lambda: _core.diffusion_spectral_mutual_info(
                X64, strided_1d(np.zeros(6, np.int64)), 1.0, 1, 1, False
            ),
            "labels",
        ),
        (
            lambda: _core.frechet_from_moments(
                strided_1d(np.zeros(4)), np.eye(4), np.zeros(4), np.eye(4)
            ),
            "mu1",
        ),
        (
            lambda: _core.binarize(X32, strided_1d(np.zeros(4, np.float32)), 1, 1, False),
            "thresholds",
        ),
    ],
)
def test_strided_1d_is_refused(call, name):
    with pytest.raises(ValueError, match=rf"^{name}: must be contiguous$"):
        call()


def test_hnsw_core_refuses_strided_arrays():
    index = _core.HnswCore(4, "l2", 8, 32, 16, 0)
    with pytest.raises(ValueError, match=r"^X: must be C-contiguous$"):
        index.add_f32(STRIDED32, None, 1, False)
    index.add_f32(X32, None, 1, False)
    with pytest.raises(ValueError, match=r"^Q: must be C-contiguous$"):
        index.search_f32(STRIDED32, 2, None, None, None, 1)
    with pytest.raises(ValueError, match=r"^filter: must be contiguous$"):
        index.search_f32(X32, 2, None, strided_1d(np.arange(3)), None, 1)
    with pytest.raises(ValueError, match=r"^ids: must be contiguous$"):
        index.remove(strided_1d(np.arange(2)), 1)
    with pytest.raises(ValueError, match=r"^ids: must be contiguous$"):
        index.get_f32(strided_1d(np.arange(2)))


def test_hnsw_core_outputs_have_their_shapes():
    index = _core.HnswCore(4, "l2", 8, 32, 16, 0)
    index.add_f32(X32, None, 1, False)
    d, i = index.search_f32(X32, 3, None, None, None, 1)
    assert d.shape == i.shape == (6, 3)
    assert d.dtype == np.float32 and i.dtype == np.int64
    np.testing.assert_array_equal(i[:, 0], np.arange(6))
    np.testing.assert_array_equal(index.get_f32(np.array([4, 1])), X32[[4, 1]])
    ham = _core.HnswCore(16, "hamming", 8, 32, 16, 0)
    ham.add_codes(CODES, None, 1, False)
    d, i = ham.search_codes(CODES, 2, None, None, None, 1)
    assert d.shape == i.shape == (6, 2)
    np.testing.assert_array_equal(ham.get_codes(np.array([5, 0])), CODES[[5, 0]])


def test_matrix_outputs_have_their_shapes():
    d = _core.pairwise_distances_f64(X64, X64[:3], "euclidean", 1, False)
    assert d.shape == (6, 3) and d.flags.c_contiguous
    np.testing.assert_allclose(d, np.linalg.norm(X64[:, None] - X64[None, :3], axis=2), atol=1e-12)
    h = _core.code_distances(CODES, CODES[:2], 16, False, 1)
    assert h.shape == (6, 2) and h.dtype == np.uint32
    j = _core.code_distances(CODES, CODES[:2], 16, True, 1)
    assert j.shape == (6, 2) and j.dtype == np.float64
    assert _core.random_projections(4, 7, 0).shape == (4, 7)
    assert _core.binarize(X32, np.zeros(4, np.float32), 1, 1, False).shape == (6, 1)
