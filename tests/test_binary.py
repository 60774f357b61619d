"""Binary retrieval: packing, popcount kernels, Binarizer, BinaryIndex and its files."""

from __future__ import annotations

import doctest
import threading
from collections.abc import Iterator
from pathlib import Path

import hartley
import hartley.binary
import numpy as np
import pytest
from hartley import Binarizer, BinaryIndex, _core
from scipy.spatial.distance import cdist

TIERS = _core._simd_info()[0]


@pytest.fixture(params=TIERS)
def tier(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test once with the kernels capped at each tier the CPU has."""
    _core._set_simd_cap(request.param)
    yield request.param
    _core._set_simd_cap(None)


def random_codes(n: int, n_bits: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.packbits(rng.random((n, n_bits)) < 0.5, axis=1)


def clustered(n: int = 3000, d: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(30, d))
    x = centres[rng.integers(0, 30, n)] + 0.6 * rng.normal(size=(n, d)) + 0.3
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def brute_hamming(q: np.ndarray, db: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    bits_q = np.unpackbits(q, axis=1)
    bits_d = np.unpackbits(db, axis=1)
    dist = (bits_q[:, None, :] != bits_d[None, :, :]).sum(axis=2)
    ids = np.lexsort((np.broadcast_to(np.arange(len(db)), dist.shape), dist), axis=1)[:, :k]
    return np.take_along_axis(dist, ids, axis=1).astype(np.float32), ids


def recall(ids: np.ndarray, gt: np.ndarray) -> float:
    return float(
        np.mean([len(set(a) & set(b)) / gt.shape[1] for a, b in zip(ids, gt, strict=True)])
    )


# ====================================================================== packing


@pytest.mark.parametrize("n_bits", [1, 7, 8, 9, 64, 383, 384])
def test_pack_and_unpack_match_numpy(n_bits: int) -> None:
    bits = np.random.default_rng(n_bits).integers(0, 2, size=(5, n_bits))
    packed = hartley.pack_bits(bits)
    assert np.array_equal(packed, np.packbits(bits, axis=1))
    assert np.array_equal(hartley.unpack_bits(packed, n_bits), bits)
    assert hartley.unpack_bits(packed).shape == (5, packed.shape[1] * 8)


def test_pack_and_unpack_reject_bad_input() -> None:
    with pytest.raises(TypeError, match=r"^bits: "):
        hartley.pack_bits(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match=r"^bits: must be 2-D"):
        hartley.pack_bits([1, 0, 1])
    with pytest.raises(ValueError, match=r"^bits: has 0 columns"):
        hartley.pack_bits(np.zeros((2, 0)))
    with pytest.raises(TypeError, match=r"^codes: packed codes must have dtype uint8"):
        hartley.unpack_bits(np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(ValueError, match=r"^n_bits: the codes hold 16 bits"):
        hartley.unpack_bits(np.zeros((2, 2), dtype=np.uint8), 17)


# ==================================================================== distances


@pytest.mark.parametrize("n_bits", [8, 24, 64, 72, 256, 384, 520, 1024, 4096])
def test_hamming_and_jaccard_match_scipy_on_every_tier(tier: str, n_bits: int) -> None:
    a = random_codes(13, n_bits, 1)
    b = random_codes(29, n_bits, 2)
    b[0] = 0
    a[0] = 0
    ua, ub = np.unpackbits(a, axis=1).astype(bool), np.unpackbits(b, axis=1).astype(bool)
    ham = hartley.hamming_distances(a, b)
    assert ham.dtype == np.uint32 and ham.shape == (13, 29)
    assert np.array_equal(ham, np.rint(cdist(ua, ub, "hamming") * ua.shape[1]).astype(np.uint32))
    jac = hartley.jaccard_distances(a, b)
    expected = cdist(ua, ub, "jaccard")
    expected[0, 0] = 0.0  # both empty: distance 0, as scipy.spatial.distance.jaccard
    assert np.allclose(jac, np.nan_to_num(expected), atol=1e-12)
    assert np.array_equal(hartley.hamming_distances(a), hartley.hamming_distances(a, a))


def test_distances_reject_bad_input() -> None:
    a = random_codes(3, 16)
    with pytest.raises(TypeError, match=r"^A: packed codes must have dtype uint8"):
        hartley.hamming_distances(a.astype(np.int32))
    with pytest.raises(ValueError, match=r"^B: codes of 3 bytes, but A has codes of 2 bytes"):
        hartley.hamming_distances(a, random_codes(3, 24))
    with pytest.raises(ValueError, match=r"^A: must be 2-D"):
        hartley.jaccard_distances(np.zeros((2, 2, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"^n_jobs: "):
        hartley.hamming_distances(a, n_jobs=0)


# ==================================================================== binarizer


def test_median_bits_carry_one_bit_each_and_sign_bits_do_not() -> None:
    x = np.random.default_rng(0).normal(size=(4000, 32)) + np.linspace(-2, 2, 32)
    med = Binarizer().fit(x)
    assert med.bit_entropy_.shape == (32,)
    assert np.all(med.bit_entropy_ > 0.999)
    sign = Binarizer(method="zero").fit(x)
    assert sign.bit_entropy_.min() < 0.2
    mean = Binarizer(method="mean").fit(x)
    assert np.allclose(mean.thresholds_[:, 0], x.mean(axis=0), atol=1e-5)
    assert np.array_equal(sign.thresholds_, np.zeros((32, 1), dtype=np.float32))


def test_transform_matches_numpy_thresholding() -> None:
    x = np.random.default_rng(1).normal(size=(500, 21)).astype(np.float32)
    b = Binarizer().fit(x)
    assert np.array_equal(b.transform(x), np.packbits(x > b.thresholds_[:, 0], axis=1))
    assert np.array_equal(b.fit_transform(x), b.transform(x))


@pytest.mark.parametrize("bits", [2, 3, 5, 8])
def test_thermometer_hamming_counts_bins_apart(bits: int) -> None:
    x = np.random.default_rng(bits).normal(size=(300, 9)).astype(np.float32)
    b = Binarizer(bits).fit(x)
    qs = np.arange(1, bits + 1) / (bits + 1)
    assert np.allclose(b.thresholds_, np.quantile(x, qs, axis=0).T, atol=1e-6)
    codes = b.transform(x)
    assert codes.shape == (300, (9 * bits + 7) // 8)
    level = (x[:, :, None] > b.thresholds_[None]).sum(axis=2)
    expect = np.abs(level[:, None, :] - level[None, :, :]).sum(axis=2)
    assert np.array_equal(hartley.hamming_distances(codes), expect)
    # Equally populated bins: each thermometer bit is set for its quantile's share.
    ones = hartley.unpack_bits(codes, 9 * bits).reshape(300, 9, bits).mean(axis=(0, 1))
    assert np.allclose(ones, 1 - qs, atol=0.02)


def test_dequantize_gives_bin_means() -> None:
    x = np.random.default_rng(2).normal(size=(2000, 6)).astype(np.float32)
    b = Binarizer(2).fit(x)
    level = (x[:, :, None] > b.thresholds_[None]).sum(axis=2)
    for m in range(3):
        assert np.allclose(
            b.centres_[:, m], np.nanmean(np.where(level == m, x, np.nan), axis=0), atol=1e-5
        )
    deq = b.dequantize(b.transform(x))
    assert np.allclose(deq, np.take_along_axis(b.centres_.T, level, axis=0), atol=1e-6)


@pytest.mark.parametrize("rotation", ["pca", "itq"])
def test_rotations_are_orthogonal_and_decorrelate(rotation: str) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3000, 8)) @ rng.normal(size=(8, 8))
    b = Binarizer(rotation=rotation, itq_iterations=20).fit(x)
    r = b.rotation_
    assert r is not None and b.mean_ is not None
    assert np.allclose(r.T @ r, np.eye(8), atol=1e-4)
    z = (x - b.mean_) @ r
    c = np.corrcoef(z.T)
    assert np.abs(c - np.diag(np.diag(c))).max() < (0.05 if rotation == "pca" else 1.0)
    # Dequantize maps back to the original space.
    assert b.dequantize(b.transform(x)).shape == x.shape


def test_itq_lowers_the_quantization_error_of_pca() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(4000, 16)) @ rng.normal(size=(16, 16))

    def error(rotation: str) -> float:
        b = Binarizer(rotation=rotation, method="zero").fit(x)
        assert b.rotation_ is not None and b.mean_ is not None
        v = (x - b.mean_) @ b.rotation_
        v /= np.abs(v).mean()
        return float(np.square(np.sign(v) - v).sum())

    assert error("itq") < error("pca")


def test_binarizer_rejects_bad_input() -> None:
    x = np.random.default_rng(0).normal(size=(10, 4))
    with pytest.raises(ValueError, match=r"^bits: must be between 1 and 8"):
        Binarizer(9).fit(x)
    with pytest.raises(ValueError, match=r"^bits: must be at least 1"):
        Binarizer(0).fit(x)
    with pytest.raises(ValueError, match=r"^method: must be one of"):
        Binarizer(method="sign").fit(x)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^method: multi-bit codes use quantile"):
        Binarizer(2, method="mean").fit(x)
    with pytest.raises(ValueError, match=r"^rotation: must be one of"):
        Binarizer(rotation="svd").fit(x)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^X: need at least 2 rows"):
        Binarizer().fit(x[:1])
    with pytest.raises(ValueError, match=r"^X: contains a non-finite value .* row 1, column 2"):
        bad = x.copy()
        bad[1, 2] = np.nan
        Binarizer().fit(bad)
    with pytest.raises(TypeError, match=r"^X: must be numeric"):
        Binarizer().fit(np.array([["a"]]))
    with pytest.raises(ValueError, match=r"not fitted yet"):
        Binarizer().transform(x)
    with pytest.raises(
        ValueError, match=r"^X: has 3 dimensions, but the Binarizer was fitted on 4"
    ):
        Binarizer().fit(x).transform(x[:, :3])


# ======================================================================== index


@pytest.mark.parametrize("n_bits", [20, 256, 384, 600])
def test_scan_matches_brute_force_with_ties_to_the_lower_id(tier: str, n_bits: int) -> None:
    db = random_codes(700, n_bits, 5)
    db[350:400] = db[:50]  # duplicates tie
    q = np.concatenate([db[:5], random_codes(5, n_bits, 6)])
    index = BinaryIndex(n_bits)
    index.add(db[:300])
    index.add(db[300:])
    assert len(index) == 700
    d, i = index.search(q, k=12)
    bd, bi = brute_hamming(q, db, 12)
    assert d.dtype == np.float32 and i.dtype == np.int64
    assert np.array_equal(d, bd) and np.array_equal(i, bi)
    for n_jobs in (1, 2, 3):
        _, i2 = index.search(q, k=12, n_jobs=n_jobs)
        assert np.array_equal(i2, i)


@pytest.mark.parametrize("n_bits", [64, 384, 1000, 1100])
def test_single_queries_over_many_blocks_match_brute_force(tier: str, n_bits: int) -> None:
    # Enough rows for several scan blocks (and a partial group of eight rows
    # at the end); planted near-duplicates of the queries so that the k-th
    # distance is small and most rows are rejected by the bound.
    n = 40_003
    db = random_codes(n, n_bits, 7)
    q = random_codes(4, n_bits, 8)
    rng = np.random.default_rng(9)
    for j in range(4):
        for at in rng.choice(n, 6, replace=False):
            near = np.unpackbits(q[j])
            flip = rng.choice(n_bits, 3 + int(at) % 7, replace=False)
            near[flip] ^= 1
            db[at] = np.packbits(near)[: db.shape[1]]
    index = BinaryIndex(n_bits)
    index.add(db)
    bd, bi = brute_hamming(q, db, 10)
    for n_jobs in (1, 2):
        for j in range(len(q)):
            d, i = index.search(q[j], k=10, n_jobs=n_jobs)
            assert np.array_equal(d[0], bd[j]) and np.array_equal(i[0], bi[j])


def test_k_beyond_the_index_pads_with_minus_one_and_inf() -> None:
    index = BinaryIndex(16)
    index.add(random_codes(3, 16))
    d, i = index.search(random_codes(2, 16, 1), k=5)
    assert (i[:, 3:] == -1).all() and np.isinf(d[:, 3:]).all()
    assert sorted(i[0, :3].tolist()) == [0, 1, 2]


def test_its_score_follows_its_formula() -> None:
    n_bits = 128
    db = random_codes(200, n_bits, 7)
    q = random_codes(3, n_bits, 8)
    index = BinaryIndex(n_bits)
    index.add(db)
    d, i = index.search(q, k=200, score="its")
    ub, uq = np.unpackbits(db, axis=1).astype(float), np.unpackbits(q, axis=1).astype(float)

    def h(v: np.ndarray) -> np.ndarray:
        return np.where(v > 0, v * np.log(np.maximum(v, 1)), 0.0)

    for r in range(3):
        a = ub @ uq[r]
        nq, nd = uq[r].sum(), ub.sum(axis=1)
        b, c, dd = nq - a, nd - a, n_bits - nq - nd + a
        mi = (
            h(a) + h(b) + h(c) + h(dd) - h(nq) - h(n_bits - nq) - h(nd) - h(n_bits - nd) + h(n_bits)
        )
        hq = h(n_bits) - h(nq) - h(n_bits - nq)
        hd = h(n_bits) - h(nd) - h(n_bits - nd)
        its = np.sign(a * dd - b * c) * np.maximum(mi, 0) / np.sqrt(hq * hd)
        assert np.allclose(d[r], (1 - its)[i[r]], atol=1e-5)
        assert np.all(np.diff(d[r]) >= 0)
    self_d, self_i = index.search(db[:4], k=1, score="its")
    assert np.allclose(self_d[:, 0], 0, atol=1e-6) and self_i[:, 0].tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("kw", [{}, {"bits": 2}, {"rotation": "pca"}])
def test_asymmetric_distance_is_cosine_to_the_dequantized_code(kw: dict) -> None:
    x = clustered(600, 24)
    index = BinaryIndex.from_vectors(x, rescore=None, **kw)
    b = index.binarizer
    assert b is not None
    deq = b.dequantize(b.transform(x)).astype(np.float64)
    q = x[:4]
    d, i = index.search(q, k=600, asymmetric=True)
    cos = (q @ deq.T) / np.linalg.norm(deq, axis=1)
    for r in range(4):
        assert np.allclose(d[r], 1 - cos[r, i[r]], atol=2e-4)


@pytest.mark.parametrize("bits", [1, 2])
def test_asymmetric_reranks_the_hamming_short_list(bits: int) -> None:
    x = clustered(3000, 32, seed=3)
    index = BinaryIndex.from_vectors(x, bits=bits, rescore=None)
    b = index.binarizer
    assert b is not None
    codes = b.transform(x)
    deq = b.dequantize(codes).astype(np.float64)
    q = x[:5]
    cos = (q @ deq.T) / np.linalg.norm(deq, axis=1)
    for shortlist in (None, 40, 500):
        d, i = index.search(q, k=8, asymmetric=True, shortlist=shortlist)
        size = 256 if shortlist is None else shortlist  # max(8 * 8, 256)
        _, short = brute_hamming(b.transform(q), codes, size)
        for r in range(5):
            # The best 8 of the Hamming short list (ties there to the lower id).
            assert set(i[r]) <= set(short[r])
            assert np.allclose(d[r], np.sort(1 - cos[r, short[r]])[:8], atol=2e-4)
            assert np.allclose(d[r], 1 - cos[r, i[r]], atol=2e-4)
    # A short list as long as the index scores every code asymmetrically.
    d_all, _ = index.search(q, k=8, asymmetric=True, shortlist=len(x))
    for r in range(5):
        assert np.allclose(d_all[r], np.sort(1 - cos[r])[:8], atol=2e-4)


def test_asymmetric_short_list_keeps_recall_and_is_thread_independent() -> None:
    x = clustered(6000, 64, seed=4)
    q, db = x[:100], x[100:]
    gt = np.argsort(-(q @ db.T), axis=1)[:, :10]
    index = BinaryIndex.from_vectors(db)
    short = index.search(q, k=10, asymmetric=True, oversample=4)
    full = index.search(q, k=10, asymmetric=True, oversample=4, shortlist=len(db))
    assert recall(short[1], gt) >= recall(full[1], gt) - 0.01
    one = index.search(q, k=10, asymmetric=True, oversample=4, n_jobs=1)
    assert np.array_equal(one[0], short[0]) and np.array_equal(one[1], short[1])


def test_rescoring_returns_exact_cosine_and_high_recall() -> None:
    x = clustered(4000, 64)
    q, db = x[:100], x[100:]
    gt = np.argsort(-(q @ db.T), axis=1)[:, :10]
    index = BinaryIndex.from_vectors(db)
    assert index.rescore == "float32" and index.n_bits == 64
    d, i = index.search(q, k=10, oversample=10)
    assert np.allclose(d, 1 - np.take_along_axis(q @ db.T, i, axis=1), atol=1e-5)
    alone = recall(index.search(q, k=10, rescore=False)[1], gt)
    rescored = recall(i, gt)
    asym = recall(index.search(q, k=10, asymmetric=True, oversample=4)[1], gt)
    ham4 = recall(index.search(q, k=10, oversample=4)[1], gt)
    assert rescored > 0.9 and rescored > alone
    # Asymmetric scores rank candidates better than code-to-code Hamming.
    assert asym > ham4
    small = BinaryIndex.from_vectors(db, rescore="int8")
    di, ii = small.search(q, k=10, oversample=10)
    assert recall(ii, gt) > 0.88
    assert np.allclose(di, 1 - np.take_along_axis(q @ db.T, ii, axis=1), atol=0.02)
    assert small.memory_bytes < index.memory_bytes


def test_add_on_an_index_from_vectors_encodes_and_appends() -> None:
    x = clustered(1000, 32)
    full = BinaryIndex.from_vectors(x)
    part = BinaryIndex.from_vectors(x[:500])
    part.add(x[500:])
    assert len(part) == 1000
    b = part.binarizer
    assert b is not None
    assert np.array_equal(part.codes(np.arange(500, 1000)), b.transform(x[500:]))
    _, i = part.search(x[990:], k=1)
    assert i[:, 0].tolist() == list(range(990, 1000))
    assert len(full) == 1000


def test_index_rejects_bad_input() -> None:
    codes = random_codes(10, 20)
    with pytest.raises(ValueError, match=r"^index: is empty"):
        BinaryIndex(20).search(codes, k=1)
    index = BinaryIndex(20)
    with pytest.raises(ValueError, match=r"^X: rows must be 3 bytes for 20-bit codes, got 4"):
        index.add(random_codes(2, 32))
    with pytest.raises(ValueError, match=r"^codes: row 1 has bits set beyond the 20-bit"):
        bad = codes.copy()
        bad[1, 2] |= 1
        index.add(bad)
    index.add(codes)
    with pytest.raises(ValueError, match=r"^k: must be at least 1"):
        index.search(codes, k=0)
    with pytest.raises(ValueError, match=r"^Q: rows must be 3 bytes"):
        index.search(random_codes(1, 8), k=1)
    with pytest.raises(TypeError, match=r"^Q: this index holds codes given by the user"):
        index.search(np.zeros((1, 20)), k=1)
    with pytest.raises(ValueError, match=r"^oversample: only applies when candidates are rescored"):
        index.search(codes, k=1, oversample=2)
    with pytest.raises(ValueError, match=r"^rescore: this index keeps no vectors"):
        index.search(codes, k=1, rescore=True)
    with pytest.raises(ValueError, match=r"^asymmetric: needs float query vectors"):
        index.search(codes, k=1, asymmetric=True)
    with pytest.raises(ValueError, match=r"^score: must be one of 'hamming', 'its'"):
        index.search(codes, k=1, score="cosine")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^n_bits: must be at least 1"):
        BinaryIndex(0)
    x = clustered(50, 8)
    vec = BinaryIndex.from_vectors(x)
    with pytest.raises(ValueError, match=r"^X: contains a non-finite value"):
        vec.search(np.full((1, 8), np.nan), k=1)
    with pytest.raises(ValueError, match=r"^X: has 7 dimensions"):
        vec.search(np.ones((1, 7)), k=1)
    with pytest.raises(ValueError, match=r"^rescore: needs float query vectors"):
        vec.search(vec.codes([0]), k=1, rescore=True)
    with pytest.raises(ValueError, match=r"^score: asymmetric scoring replaces"):
        vec.search(x[:1], k=1, asymmetric=True, score="its")
    with pytest.raises(ValueError, match=r"^rescore: must be one of"):
        BinaryIndex.from_vectors(x, rescore="float16")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^oversample: must be at least 1"):
        vec.search(x[:1], k=1, oversample=0)
    with pytest.raises(ValueError, match=r"^shortlist: only applies with asymmetric=True"):
        vec.search(x[:1], k=1, shortlist=10)
    with pytest.raises(ValueError, match=r"^shortlist: must be at least 1"):
        vec.search(x[:1], k=1, asymmetric=True, shortlist=0)
    with pytest.raises(ValueError, match=r"^shortlist: must be at least the 8 candidates kept"):
        vec.search(x[:1], k=2, oversample=4, asymmetric=True, shortlist=7)
    with pytest.raises(ValueError, match=r"^shortlist: must be at least the 2 candidates kept"):
        vec.search(x[:1], k=2, rescore=False, asymmetric=True, shortlist=1)
    with pytest.raises(TypeError, match=r"^shortlist: "):
        vec.search(x[:1], k=1, asymmetric=True, shortlist=2.5)  # type: ignore[arg-type]


def test_concurrent_searches_agree() -> None:
    index = BinaryIndex(256)
    index.add(random_codes(20_000, 256))
    q = random_codes(40, 256, 9)
    expected = index.search(q, k=7)
    results: list[tuple[np.ndarray, np.ndarray]] = []

    def work() -> None:
        results.append(index.search(q, k=7, n_jobs=1))

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6
    assert all(np.array_equal(r[1], expected[1]) for r in results)


# ======================================================================== files


@pytest.mark.parametrize("mmap", [False, True])
@pytest.mark.parametrize(
    "kw", [{}, {"bits": 3, "rescore": "int8"}, {"rotation": "itq", "rescore": None}]
)
def test_save_load_round_trip(tmp_path: Path, mmap: bool, kw: dict) -> None:
    x = clustered(800, 16)
    index = BinaryIndex.from_vectors(x, **kw)
    path = tmp_path / "index.hbin"
    index.save(path)
    back = BinaryIndex.load(path, mmap=mmap)
    assert len(back) == len(index) and back.n_bits == index.n_bits
    assert back.rescore == index.rescore
    for opts in ({}, {"asymmetric": True}, {"score": "its"}):
        a = index.search(x[:20], k=5, **opts)  # type: ignore[arg-type]
        b = back.search(x[:20], k=5, **opts)  # type: ignore[arg-type]
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    bz, iz = back.binarizer, index.binarizer
    assert bz is not None and iz is not None
    assert np.array_equal(bz.thresholds_, iz.thresholds_)
    assert np.array_equal(bz.transform(x), iz.transform(x))
    if mmap:
        assert back.memory_bytes < index.memory_bytes
        back.add(x[:10])  # copies out of the mapping
        assert len(back) == 810
    assert BinaryIndex.load(path, mmap=True, verify=True).n_bits == index.n_bits


def test_save_replaces_atomically_and_leaves_no_temporaries(tmp_path: Path) -> None:
    path = tmp_path / "codes.hbin"
    first = BinaryIndex(64)
    first.add(random_codes(10, 64))
    first.save(path)
    second = BinaryIndex(64)
    second.add(random_codes(30, 64, 3))
    second.save(str(path))
    assert len(BinaryIndex.load(path)) == 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["codes.hbin"]
    with pytest.raises(OSError):
        second.save(tmp_path / "missing-dir" / "x.hbin")
    with pytest.raises(OSError):
        BinaryIndex.load(tmp_path / "nope.hbin")


def test_corrupted_and_truncated_files_raise_value_error(tmp_path: Path) -> None:
    index = BinaryIndex.from_vectors(clustered(300, 16), bits=2)
    path = tmp_path / "good.hbin"
    index.save(path)
    raw = path.read_bytes()
    bad = tmp_path / "bad.hbin"

    def load(data: bytes, **kw: bool) -> BinaryIndex:
        bad.write_bytes(data)
        return BinaryIndex.load(bad, **kw)

    with pytest.raises(ValueError, match=r"^file: .* is not a hartley binary index"):
        load(b"not an index" * 40)
    with pytest.raises(ValueError, match=r"^file: .*only 100 bytes"):
        load(raw[:100])
    for cut in (300, len(raw) // 2, len(raw) - 1):
        with pytest.raises(ValueError, match=r"^file: "):
            load(raw[:cut])
    flipped = bytearray(raw)
    flipped[20] ^= 0xFF
    with pytest.raises(ValueError, match=r"header checksum mismatch"):
        load(bytes(flipped))
    payload = bytearray(raw)
    payload[600] ^= 0x01  # a code byte
    with pytest.raises(ValueError, match=r"payload checksum mismatch"):
        load(bytes(payload))
    with pytest.raises(ValueError, match=r"payload checksum mismatch"):
        load(bytes(payload), mmap=True, verify=True)
    version = bytearray(raw)
    version[8] = 9
    with pytest.raises(ValueError, match=r"format version 9 is not supported"):
        load(bytes(version))


def test_fuzzed_headers_never_crash(tmp_path: Path) -> None:
    import zlib

    index = BinaryIndex.from_vectors(clustered(100, 16), rescore="int8")
    path = tmp_path / "good.hbin"
    index.save(path)
    raw = bytearray(path.read_bytes())
    rng = np.random.default_rng(0)
    bad = tmp_path / "fuzz.hbin"
    outcomes = {"rejected": 0, "loaded": 0}
    for trial in range(300):
        data = bytearray(raw)
        for _ in range(rng.integers(1, 4)):
            pos = int(rng.integers(16, 252))
            data[pos] = int(rng.integers(0, 256))
        if trial % 2:
            # Re-sign the header so the mutation reaches the size checks.
            data[252:256] = zlib.crc32(bytes(data[:252])).to_bytes(4, "little")
        bad.write_bytes(bytes(data))
        try:
            loaded = BinaryIndex.load(bad, mmap=bool(trial % 3 == 0))
        except ValueError:
            outcomes["rejected"] += 1
            continue
        outcomes["loaded"] += 1
        # Whatever loads must be consistent enough to search safely.
        if len(loaded):
            q = loaded.codes([0])
            loaded.search(q, k=3, rescore=False)
    assert outcomes["rejected"] > 200


# ================================================================== information


def test_information_retained_grows_with_bits() -> None:
    x = clustered(2000, 32)
    one = information_retained = hartley.information_retained(x, Binarizer(1).fit(x))
    four = hartley.information_retained(x, Binarizer(4).fit(x))
    assert isinstance(information_retained, float)
    assert 0 < one < four
    est = hartley.information_retained(x, Binarizer(2).fit(x), ci=0.9, n_pairs=3000)
    assert isinstance(est, hartley.Estimate) and est.low <= est.value <= est.high
    with pytest.raises(TypeError, match=r"^binarizer: must be a fitted Binarizer"):
        hartley.information_retained(x, "median")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^n_pairs: must be at least 10"):
        hartley.information_retained(x, Binarizer().fit(x), n_pairs=5)


def test_docstring_examples() -> None:
    result = doctest.testmod(hartley.binary, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 5 and result.failed == 0
