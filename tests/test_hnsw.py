"""HNSWIndex: recall against brute force, agreement with hnswlib's conventions,
filters, deletes, persistence (with fuzzed files), bad input and threads."""

from __future__ import annotations

import doctest
import pickle
import struct
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import hartley
import hartley.hnsw
import hnswlib
import numpy as np
import pytest
from hartley import HNSWIndex, _core

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REAL = DATA / "stdlib-docstrings-minilm-384.f16.npy"
K = 10


# ---------------------------------------------------------------- helpers


def brute(base: np.ndarray, q: np.ndarray, metric: str) -> np.ndarray:
    """Exact distances with hnswlib's conventions (float64)."""
    b, q = base.astype(np.float64), q.astype(np.float64)
    if metric == "cosine":
        b = b / np.linalg.norm(b, axis=1, keepdims=True)
        q = q / np.linalg.norm(q, axis=1, keepdims=True)
        return 1.0 - q @ b.T
    if metric == "ip":
        return 1.0 - q @ b.T
    if metric == "l2":
        return (q**2).sum(1)[:, None] - 2 * q @ b.T + (b**2).sum(1)[None, :]
    bits_q = np.unpackbits(q.astype(np.uint8), axis=1).astype(np.int64)
    bits_b = np.unpackbits(b.astype(np.uint8), axis=1).astype(np.int64)
    return (bits_q[:, None, :] != bits_b[None, :, :]).sum(-1).astype(np.float64)


def recall(got_d: np.ndarray, got_i: np.ndarray, exact: np.ndarray, ids: np.ndarray) -> float:
    """Recall@k, tie-aware: a hit is a returned id whose true distance is at
    most the true k-th smallest distance (so equal-distance swaps count)."""
    k = got_i.shape[1]
    kth = np.sort(exact, axis=1)[:, k - 1]
    pos = {int(v): j for j, v in enumerate(ids)}
    hits = 0
    for r in range(len(got_i)):
        for v in got_i[r]:
            if v >= 0 and exact[r, pos[int(v)]] <= kth[r] + 1e-4:
                hits += 1
    return hits / got_i.size


def gaussian(n: int, d: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


def codes(n: int, bits: int, seed: int) -> np.ndarray:
    """Clustered binary codes (random codes have no neighbour structure)."""
    rng = np.random.default_rng(seed)
    centers = rng.integers(0, 2, (max(n // 50, 1), bits))
    flips = rng.random((n, bits)) < 0.1
    raw = centers[rng.integers(0, len(centers), n)] ^ flips
    return np.packbits(raw.astype(np.uint8), axis=1)


@pytest.fixture(scope="module")
def real() -> tuple[np.ndarray, np.ndarray]:
    """6,000 real embeddings and 200 held-out queries (float32, re-normalised)."""
    if not REAL.exists():
        pytest.skip(f"{REAL} not present")
    x = np.load(REAL, mmap_mode="r")[:6200].astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x[:6000]), np.ascontiguousarray(x[6000:])


# ---------------------------------------------------------------- recall


@pytest.mark.parametrize("metric", ["cosine", "l2", "ip"])
def test_recall_on_random_vectors(metric: str) -> None:
    x, q = gaussian(3000, 24, 1), gaussian(100, 24, 2)
    if metric == "ip":  # inner product on vectors of similar norms
        x /= np.linalg.norm(x, axis=1, keepdims=True)
    index = HNSWIndex(24, metric=metric, M=16, ef_construction=100, random_state=3)
    index.add(x, n_jobs=2)
    d, i = index.search(q, K, ef=100)
    exact = brute(x, q, metric)
    assert recall(d, i, exact, np.arange(3000)) >= 0.95
    # The returned distances are the documented ones, to float32 rounding.
    np.testing.assert_allclose(d, np.take_along_axis(exact, i, 1), rtol=1e-4, atol=1e-4)
    assert np.all(np.diff(d, axis=1) >= 0)


def test_recall_on_binary_codes() -> None:
    x, q = codes(3000, 256, 4), codes(100, 256, 5)
    index = HNSWIndex(256, metric="hamming", M=16, ef_construction=100)
    index.add(x, n_jobs=2)
    d, i = index.search(q, K, ef=100)
    exact = brute(x, q, "hamming")
    assert recall(d, i, exact, np.arange(3000)) >= 0.95
    assert d.dtype == np.float32 and np.all(d == np.round(d))
    np.testing.assert_array_equal(d, np.take_along_axis(exact, i, 1))


@pytest.mark.parametrize("metric", ["cosine", "l2", "ip", "hamming"])
def test_recall_on_real_embeddings(real: tuple[np.ndarray, np.ndarray], metric: str) -> None:
    x, q = real
    if metric == "hamming":  # sign bits of the embeddings, 384-bit codes
        x, q = np.packbits(x > 0, axis=1), np.packbits(q > 0, axis=1)
    index = HNSWIndex(384, metric=metric, M=16, ef_construction=100)
    index.add(x, n_jobs=2)
    d, i = index.search(q, K, ef=64)
    assert recall(d, i, brute(x, q, metric), np.arange(len(x))) >= 0.95


def test_parallel_build_recall_matches_sequential(real: tuple[np.ndarray, np.ndarray]) -> None:
    x, q = real
    exact = brute(x, q, "cosine")
    rec = {}
    for n_jobs in (1, 2):
        index = HNSWIndex(384, M=16, ef_construction=100)
        index.add(x, n_jobs=n_jobs)
        d, i = index.search(q, K, ef=32)
        rec[n_jobs] = recall(d, i, exact, np.arange(len(x)))
    assert abs(rec[1] - rec[2]) <= 0.01, rec


def test_sequential_build_is_reproducible() -> None:
    x, q = gaussian(1500, 16, 6), gaussian(50, 16, 7)
    out = []
    for _ in range(2):
        index = HNSWIndex(16, metric="l2", random_state=11)
        index.add(x, n_jobs=1)
        out.append(index.search(q, K, n_jobs=1))
    np.testing.assert_array_equal(out[0][1], out[1][1])
    np.testing.assert_array_equal(out[0][0], out[1][0])


def test_agrees_with_hnswlib_distances() -> None:
    x, q = gaussian(500, 16, 8), gaussian(20, 16, 9)
    for metric in ("cosine", "l2", "ip"):
        theirs = hnswlib.Index(space=metric, dim=16)
        theirs.init_index(max_elements=500, M=16, ef_construction=200, random_seed=0)
        theirs.add_items(x)
        theirs.set_ef(500)  # exhaustive enough to be exact on 500 points
        li, ld = theirs.knn_query(q, k=5)
        ours = HNSWIndex(16, metric=metric)
        ours.add(x)
        od, oi = ours.search(q, 5, ef=500)
        np.testing.assert_array_equal(oi, li.astype(np.int64))
        np.testing.assert_allclose(od, ld, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("level", ["portable", "popcnt", "avx2"])
def test_every_simd_tier_gives_the_same_neighbours(level: str) -> None:
    available, _ = _core._simd_info()
    if level not in available:
        pytest.skip(f"{level} not available on this CPU")
    x, q = gaussian(800, 20, 10), gaussian(30, 20, 11)
    c = codes(800, 70, 12)
    ref = {}
    for lv in (None, level):
        _core._set_simd_cap(lv)
        try:
            for metric in ("cosine", "l2", "hamming"):
                data = c if metric == "hamming" else x
                qq = c[:30] if metric == "hamming" else q
                index = HNSWIndex(70 if metric == "hamming" else 20, metric=metric)
                index.add(data, n_jobs=1)
                d, i = index.search(qq, 5, ef=200)
                if lv is None:
                    ref[metric] = (d, i)
                else:
                    np.testing.assert_allclose(d, ref[metric][0], rtol=1e-4, atol=1e-5)
        finally:
            _core._set_simd_cap(None)


# ---------------------------------------------------------------- filters


def test_filter_by_ids_and_mask_returns_only_allowed(real: tuple[np.ndarray, np.ndarray]) -> None:
    x, q = real
    index = HNSWIndex(384)
    index.add(x)
    exact = brute(x, q, "cosine")
    rng = np.random.default_rng(0)
    # 0.9 and 0.7 walk the graph; 0.05 and 0.002 fall back to an exact scan.
    for frac in (0.9, 0.7, 0.05, 0.002):
        allowed = np.sort(rng.choice(len(x), int(frac * len(x)), replace=False))
        mask = np.zeros(len(x), dtype=bool)
        mask[allowed] = True
        d1, i1 = index.search(q, K, filter=allowed)
        _, i2 = index.search(q, K, filter=mask)
        np.testing.assert_array_equal(i1, i2)
        assert np.isin(i1[i1 >= 0], allowed).all()
        k_eff = min(K, len(allowed))
        assert (i1[:, :k_eff] >= 0).all()
        sub = exact[:, allowed]
        r = recall(d1[:, :k_eff], i1[:, :k_eff], sub, allowed)
        assert r >= (1.0 if frac < 0.1 else 0.95), (frac, r)


def test_filter_edge_cases() -> None:
    x = gaussian(300, 8, 13)
    index = HNSWIndex(8, metric="l2")
    index.add(x, ids=np.arange(300) + 1000)
    d, i = index.search(x[:2], 3, filter=np.array([], dtype=np.int64))
    assert (i == -1).all() and np.isinf(d).all()
    d, i = index.search(x[:2], 3, filter=[1005, 99999])  # unknown ids ignored
    assert (i[:, 0] == 1005).all() and (i[:, 1:] == -1).all()
    mask = np.ones(1000, dtype=bool)  # covers no id (all ids >= 1000)
    assert (index.search(x[:1], 3, filter=mask)[1] == -1).all()


# ---------------------------------------------------------------- deletes


def test_removed_items_never_returned_and_recall_held(
    real: tuple[np.ndarray, np.ndarray],
) -> None:
    x, q = real
    index = HNSWIndex(384, M=16, ef_construction=100)
    index.add(x, n_jobs=2)
    rng = np.random.default_rng(1)
    gone = rng.choice(len(x), int(0.3 * len(x)), replace=False)
    index.remove(gone)
    assert len(index) == len(x) - len(gone)
    assert not any(int(g) in index for g in gone[:50])
    kept = np.setdiff1d(np.arange(len(x)), gone)
    np.testing.assert_array_equal(np.sort(index.ids()), kept)
    d, i = index.search(q, K, ef=64)
    assert not np.isin(i, gone).any()
    r = recall(d, i, brute(x[kept], q, "cosine"), kept)
    assert r >= 0.95, r
    # The repaired graph still reaches every remaining item.
    d, _ = index.search(x[kept], 1, ef=100)
    assert (d[:, 0] < 1e-5).mean() >= 0.999
    # The removed slots are reused: adding the items back keeps the recall.
    index.add(x[gone], ids=gone)
    assert len(index) == len(x)
    d, i = index.search(q, K, ef=64)
    assert recall(d, i, brute(x, q, "cosine"), np.arange(len(x))) >= 0.95


def test_remove_everything_then_add_again() -> None:
    x = gaussian(200, 8, 14)
    index = HNSWIndex(8, metric="l2")
    index.add(x)
    index.remove(np.arange(200))
    assert len(index) == 0
    assert (index.search(x[:1], 2)[1] == -1).all()
    index.add(x[:10])
    assert index.ids().tolist() == list(range(200, 210))
    assert index.search(x[3], 1)[1].tolist() == [[203]]


def test_remove_unknown_id_changes_nothing() -> None:
    index = HNSWIndex(4, metric="l2")
    index.add(np.eye(4))
    with pytest.raises(ValueError, match=r"^ids: id 7 is not in the index"):
        index.remove([0, 7])
    assert len(index) == 4


# ---------------------------------------------------------------- ids and growth


def test_growable_capacity_and_default_ids() -> None:
    x = gaussian(1000, 12, 15)
    index = HNSWIndex(12, metric="l2")
    for start in range(0, 1000, 100):
        index.add(x[start : start + 100])
    assert len(index) == 1000 and index.ids().tolist() == list(range(1000))
    index.add(x[:2], ids=[5000, -3])
    index.add(x[2:3])
    assert 5001 in index and -3 in index and "a" not in index and 2**70 not in index
    np.testing.assert_array_equal(index.get_vectors([999, -3]), x[[999, 1]])


def test_progress_bar_is_drawn(capfd: pytest.CaptureFixture[str]) -> None:
    index = HNSWIndex(8, metric="l2")
    index.add(gaussian(500, 8, 20), progress=True)
    assert "HNSW add" in capfd.readouterr().err
    assert len(index) == 500
    with pytest.raises(TypeError, match=r"^progress: must be True or False"):
        index.add(gaussian(1, 8, 21), progress="yes")  # type: ignore[arg-type]


def test_duplicate_ids_rejected() -> None:
    index = HNSWIndex(2, metric="l2")
    index.add([[0.0, 1.0]], ids=[4])
    with pytest.raises(ValueError, match=r"^ids: id 4 \(at position 1\) is already"):
        index.add([[1.0, 1.0], [2.0, 2.0]], ids=[5, 4])
    with pytest.raises(ValueError, match=r"^ids: id 6 appears more than once"):
        index.add([[1.0, 1.0], [2.0, 2.0]], ids=[6, 6])
    assert len(index) == 1


def test_k_larger_than_index_is_padded() -> None:
    index = HNSWIndex(3, metric="l2")
    index.add(np.eye(3))
    d, i = index.search(np.eye(3)[0], 5)
    assert i.tolist() == [[0, 1, 2, -1, -1]]
    assert np.isinf(d[0, 3:]).all() and d.dtype == np.float32 and i.dtype == np.int64
    empty = HNSWIndex(3)
    assert (empty.search(np.ones(3), 2)[1] == -1).all()


def test_ties_broken_by_lower_id() -> None:
    index = HNSWIndex(2, metric="l2")
    index.add(np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]]), ids=[9, 3, 7, 1])
    assert index.search([0.0, 0.0], 4)[1].tolist() == [[1, 3, 7, 9]]


def test_filtered_exact_scan_breaks_ties_by_lower_id_like_binary_index() -> None:
    # Hamming distances tie often. Ids run opposite to storage order, so a
    # scan that kept ties by storage position would keep the higher ids.
    rng = np.random.default_rng(5)
    base = np.packbits(rng.random((64, 32)) < 0.5, axis=1)
    c = base[rng.integers(0, 64, 3000)]  # many exact duplicates ...
    c ^= np.packbits(rng.random((3000, 32)) < 0.02, axis=1)  # ... and near ones
    ids = np.arange(3000, dtype=np.int64)[::-1] * 2
    index = HNSWIndex(32, metric="hamming")
    index.add(c, ids=ids)
    allowed = np.sort(rng.choice(ids, 60, replace=False))  # selective: exact scan
    sub = c[np.isin(ids, allowed)]
    sub_ids = ids[np.isin(ids, allowed)]
    order = np.argsort(sub_ids)
    ref = hartley.BinaryIndex(32)
    ref.add(sub[order])  # BinaryIndex ids are 0..n-1 in this (ascending) order
    q = c[:40]
    d, i = index.search(q, K, filter=allowed)
    rd, ri = ref.search(q, K, n_jobs=1)
    np.testing.assert_array_equal(d, rd)
    np.testing.assert_array_equal(i, sub_ids[order][ri])
    assert (np.diff(d, axis=1) >= 0).all()
    tied = (d[:, 1:] == d[:, :-1]).any()
    assert tied, "the data must produce ties for this test to mean anything"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_mmap_load_serves_rows_from_the_file_without_copying(tmp_path: Path) -> None:
    import subprocess
    import sys

    # 2,000 vectors of 2,048 floats: 16 MiB of rows, far above the noise.
    x = gaussian(2000, 2048, 21)
    index = HNSWIndex(2048, metric="l2", M=4, ef_construction=16)
    index.add(x)
    path = tmp_path / "big.hnsw"
    index.save(path)
    size = path.stat().st_size
    want = index.search(x[:20], 3)
    # Measured in a fresh process, so that this one's allocations do not blur it.
    probe = (
        "import sys, numpy as np; from pathlib import Path; from hartley import HNSWIndex\n"
        "anon = lambda: int(Path('/proc/self/status').read_text()"
        ".split('RssAnon:')[1].split()[0]) * 1024\n"
        "q = np.load(sys.argv[3])\n"
        "a = anon(); m = HNSWIndex.load(sys.argv[1], mmap=sys.argv[2] == '1'); b = anon()\n"
        "d, i = m.search(q, 3); c = anon()\n"
        "np.save(sys.argv[4], i)\n"
        "print(b - a, c - a, m.is_mapped, m.memory_bytes)\n"
    )
    np.save(tmp_path / "q.npy", x[:20])
    grown = {}
    for mapped in ("1", "0"):
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                probe,
                str(path),
                mapped,
                str(tmp_path / "q.npy"),
                str(tmp_path / f"i{mapped}.npy"),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        grown[mapped] = (int(out[0]), int(out[1]), out[2] == "True", int(out[3]))
        np.testing.assert_array_equal(np.load(tmp_path / f"i{mapped}.npy"), want[1])
    load_m, search_m, is_mapped_m, mem_m = grown["1"]
    load_r, _, is_mapped_r, mem_r = grown["0"]
    assert is_mapped_m and not is_mapped_r
    # Read into memory, the rows are private memory of the process ...
    assert load_r > 0.9 * size and mem_r > 0.9 * size
    # ... mapped, they stay file pages: loading and searching copy none of them.
    assert load_m < 0.1 * size and search_m < 0.1 * size
    assert mem_m < 0.1 * size


# ---------------------------------------------------------------- persistence


def _built(metric: str = "cosine") -> tuple[HNSWIndex, np.ndarray]:
    if metric == "hamming":
        x = codes(600, 100, 16)
        index = HNSWIndex(100, metric="hamming", ef=40)
    else:
        x = gaussian(600, 16, 16)
        index = HNSWIndex(16, metric=metric, ef=40)
    index.add(x, ids=np.arange(600) * 3)
    index.remove([0, 3, 6, 300])
    return index, x


@pytest.mark.parametrize("metric", ["cosine", "l2", "ip", "hamming"])
def test_round_trips_give_identical_results(tmp_path: Path, metric: str) -> None:
    index, x = _built(metric)
    path = tmp_path / "a.hnsw"
    index.save(path)
    copies = [
        HNSWIndex.load(path),
        HNSWIndex.load(str(path), mmap=True),
        pickle.loads(pickle.dumps(index)),
    ]
    want = index.search(x[:50], K)
    for c in copies:
        assert (c.metric, c.dim, c.M, c.ef_construction, c.ef) == (
            index.metric,
            index.dim,
            index.M,
            index.ef_construction,
            index.ef,
        )
        assert len(c) == len(index)
        got = c.search(x[:50], K)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
        np.testing.assert_array_equal(c.ids(), index.ids())
    assert copies[1].is_mapped and not copies[0].is_mapped


def test_mapped_index_can_change_without_touching_the_file(tmp_path: Path) -> None:
    index, x = _built()
    path = tmp_path / "m.hnsw"
    index.save(path)
    before = path.read_bytes()
    m = HNSWIndex.load(path, mmap=True)
    m.add(x[:5], ids=[-1, -2, -3, -4, -5])
    m.remove([9])
    assert not m.is_mapped and len(m) == len(index) + 4
    assert path.read_bytes() == before
    assert m.search(x[0], 1)[1].tolist() == [[-1]]


def test_save_replaces_atomically(tmp_path: Path) -> None:
    index, _ = _built()
    path = tmp_path / "r.hnsw"
    path.write_bytes(b"old")
    index.save(path)
    assert len(HNSWIndex.load(path)) == len(index)
    assert [p.name for p in tmp_path.iterdir()] == ["r.hnsw"]  # no temporary left
    with pytest.raises(ValueError, match=r"^path: cannot write"):
        index.save(tmp_path / "missing-dir" / "x.hnsw")


# A port of the file checksum, so that the fuzz tests below can forge files
# whose checksum is right but whose structure is hostile.
_P1, _P2, _M64 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 2**64 - 1


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M64


def _round(acc: int, w: int) -> int:
    return (_rotl((acc + w * _P2) & _M64, 31) * _P1) & _M64


def _seal(data: bytearray) -> bytes:
    data[112:120] = bytes(8)
    lanes = [(_P1 + _P2) & _M64, _P2, 0, (-_P1) & _M64]
    full = len(data) // 32 * 32
    words = np.frombuffer(bytes(data[:full]), dtype="<u8").reshape(-1, 4)
    for row in words.tolist():
        lanes = [_round(a, w) for a, w in zip(lanes, row, strict=True)]
    h = len(data)
    for i, b in enumerate(data[full:]):
        h = _round(h, ((b << (8 * (i % 8))) ^ i) & _M64)
    for i, lane in enumerate(lanes):
        h = _round(h ^ _rotl(lane, 7 * i + 1), lane)
    data[112:120] = struct.pack("<Q", h ^ (h >> 29))
    return bytes(data)


def _small_file() -> bytes:
    index = HNSWIndex(8, metric="l2", M=4, ef_construction=20)
    index.add(gaussian(120, 8, 17))
    index.remove([5, 6])
    return bytes(index._core.to_bytes())


def test_checksum_port_matches_the_writer() -> None:
    data = _small_file()
    assert _seal(bytearray(data)) == data
    assert len(HNSWIndex._from_bytes(data)) == 118


def test_truncated_or_corrupted_files_rejected(tmp_path: Path) -> None:
    data = _small_file()
    path = tmp_path / "f.hnsw"
    for cut in (0, 7, 64, 127, 128, 500, len(data) - 4, len(data) - 1):
        path.write_bytes(data[:cut])
        for mmap in (False, True):
            with pytest.raises(ValueError, match=r"^path: not a valid hartley HNSW file"):
                HNSWIndex.load(path, mmap=mmap)
    path.write_bytes(data + b"\0")
    with pytest.raises(ValueError, match=r"^path: .*length does not match"):
        HNSWIndex.load(path)
    rng = np.random.default_rng(0)
    for pos in rng.integers(0, len(data), 200):
        bad = bytearray(data)
        bad[pos] ^= 1 << int(rng.integers(0, 8))
        with pytest.raises(ValueError, match=r"^data: not a valid hartley HNSW file"):
            HNSWIndex._from_bytes(bytes(bad))
    with pytest.raises(ValueError, match=r"^path: cannot read"):
        HNSWIndex.load(tmp_path / "nope.hnsw")


def test_hostile_headers_with_valid_checksums_rejected() -> None:
    data = _small_file()
    n_slots, row = struct.unpack_from("<QQ", data, 56)
    fields = {  # offset, format, hostile values
        8: ("<I", [0, 2, 2**32 - 1]),  # version
        12: ("<I", [0, 64, 256]),  # header size
        16: ("<I", [4, 2**31]),  # metric
        20: ("<I", [0, 1, 40, 2**31]),  # M
        24: ("<Q", [0, 100, 2**40, 2**64 - 1]),  # dim
        32: ("<Q", [0, 2**63]),  # ef_construction
        40: ("<Q", [0, 2**64 - 1]),  # ef
        56: ("<Q", [0, n_slots - 1, n_slots + 1, 2**61, 2**64 - 1]),  # slots
        64: ("<Q", [0, row - 64, row + 64, 2**64 - 1]),  # row bytes
        72: ("<Q", [1, 2**62, 2**64 - 1]),  # upper pool length
        80: ("<Q", [n_slots, 2**32, 2**64 - 2]),  # entry
        88: ("<Q", [32, 2**64 - 1]),  # max level
        120: ("<Q", [1]),  # reserved
    }
    for off, (fmt, values) in fields.items():
        for v in values:
            bad = bytearray(data)
            struct.pack_into(fmt, bad, off, v)
            with pytest.raises(ValueError, match=r"^data: not a valid"):
                HNSWIndex._from_bytes(_seal(bad))


def test_hostile_rows_with_valid_checksums_rejected() -> None:
    data = _small_file()
    n_slots, row = struct.unpack_from("<QQ", data, 56)
    entry, top = struct.unpack_from("<QQ", data, 80)
    # Row layout for dim 8, M 4 (see params.rs): 8 floats, links on the
    # second cache line, then count, id, upper offset, level and flag.
    links, count, ident, upper, level, flag = 64, 96, 104, 112, 116, 117
    assert row == 128
    rng = np.random.default_rng(1)
    live = [s for s in range(n_slots) if s not in (5, 6)]
    cases = []
    for s in rng.choice(live, 12, replace=False).tolist():
        base = 128 + s * row
        cases += [
            (base + links, "<I", n_slots),  # link out of range
            (base + links, "<I", 2**32 - 1),
            (base + links, "<I", 5),  # link to a removed slot (5 was removed)
            (base + count, "<I", 9),  # more links than the 8 slots
            (base + count, "<I", 2**32 - 1),
            (base + count, "<I", 0),  # links left in the padding slots
            (base + level, "<B", 32),  # level too high
            (base + level, "<B", top + 1),  # upper block past the pool
            (base + upper, "<I", 2**31),  # upper block offset out of range
            (base + flag, "<B", 2),  # unknown flag
            (base, "<f", float("nan")),  # non-finite vector
        ]
    other = 128 + next(s for s in live if s != entry) * row
    cases += [
        (other + ident, "<q", struct.unpack_from("<q", data, 128 + entry * row + ident)[0]),
        (80, "<Q", 5),  # entry point on a removed slot
    ]
    rejected = 0
    for off, fmt, v in cases:
        bad = bytearray(data)
        old = bytes(bad[off : off + struct.calcsize(fmt)])
        struct.pack_into(fmt, bad, off, v)
        if bytes(bad[off : off + struct.calcsize(fmt)]) == old:
            continue  # the hostile value happened to be the stored one
        with pytest.raises(ValueError, match=r"^data: not a valid"):
            HNSWIndex._from_bytes(_seal(bad))
        rejected += 1
    assert rejected >= 100


def test_random_link_corruption_never_crashes() -> None:
    data = _small_file()
    (n_slots,) = struct.unpack_from("<Q", data, 56)
    rng = np.random.default_rng(2)
    q = gaussian(5, 8, 18)
    loaded = 0
    for _ in range(300):
        bad = bytearray(data)
        for _ in range(int(rng.integers(1, 4))):
            pos = 128 + int(rng.integers(0, len(data) - 132))
            struct.pack_into("<I", bad, pos, int(rng.integers(0, 2 * n_slots)))
        try:
            index = HNSWIndex._from_bytes(_seal(bad))
        except ValueError:
            continue
        loaded += 1  # accepted: then it must be fully usable
        _, i = index.search(q, 3)
        assert i.shape == (5, 3)
    assert loaded < 300


# ---------------------------------------------------------------- bad input


def test_bad_constructor_arguments() -> None:
    with pytest.raises(ValueError, match=r"^dim: must be at least 1"):
        HNSWIndex(0)
    with pytest.raises(TypeError, match=r"^dim: must be an integer"):
        HNSWIndex(2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^metric: must be one of"):
        HNSWIndex(4, metric="euclidean")
    with pytest.raises(ValueError, match=r"^M: must be at least 2"):
        HNSWIndex(4, M=1)
    with pytest.raises(ValueError, match=r"^M: must be between 2 and 512"):
        HNSWIndex(4, M=100_000)
    with pytest.raises(ValueError, match=r"^ef_construction: must be at least 1"):
        HNSWIndex(4, ef_construction=0)
    with pytest.raises(ValueError, match=r"^ef: must be at least 1"):
        HNSWIndex(4, ef=0)
    with pytest.raises(ValueError, match=r"^random_state: must be non-negative"):
        HNSWIndex(4, random_state=-1)
    index = HNSWIndex(4)
    with pytest.raises(ValueError, match=r"^ef: must be at least 1"):
        index.ef = 0


def test_bad_vectors() -> None:
    index = HNSWIndex(3)
    with pytest.raises(ValueError, match=r"^X: must have 3 columns per row"):
        index.add(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"^X: must be 1-D \(one vector\) or 2-D"):
        index.add(np.ones((2, 3, 1)))
    with pytest.raises(ValueError, match=r"^X: is empty"):
        index.add(np.ones((0, 3)))
    with pytest.raises(ValueError, match=r"^X contains a non-finite value"):
        index.add([[1.0, np.nan, 0.0]])
    with pytest.raises(ValueError, match=r"^X contains a non-finite value"):
        index.add([[1e300, 0.0, 0.0]])  # overflows float32
    with pytest.raises(ValueError, match=r"^X: row 1 is all zeros"):
        index.add([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    with pytest.raises(TypeError, match=r"^X: must be numeric"):
        index.add([["a", "b", "c"]])
    with pytest.raises(ValueError, match=r"^ids: has 1 entries for 2 vectors"):
        index.add(np.ones((2, 3)), ids=[1])
    with pytest.raises(TypeError, match=r"^ids: must be integers"):
        index.add(np.ones((1, 3)), ids=[1.5])
    with pytest.raises(ValueError, match=r"^n_jobs: must be a positive"):
        index.add(np.ones((1, 3)), n_jobs=0)
    assert len(index) == 0
    binary = HNSWIndex(12, metric="hamming")
    with pytest.raises(TypeError, match=r"^X: must be packed uint8 codes"):
        binary.add(np.ones((2, 2), dtype=np.int64))
    with pytest.raises(ValueError, match=r"^X: must have 2 bytes of packed codes"):
        binary.add(np.ones((2, 3), dtype=np.uint8))


def test_bad_search_arguments() -> None:
    index = HNSWIndex(3, metric="l2")
    index.add(np.eye(3))
    with pytest.raises(ValueError, match=r"^k: must be at least 1"):
        index.search(np.ones(3), 0)
    with pytest.raises(ValueError, match=r"^ef: must be at least 1"):
        index.search(np.ones(3), 1, ef=0)
    with pytest.raises(ValueError, match=r"^Q: must have 3 columns"):
        index.search(np.ones(4), 1)
    with pytest.raises(ValueError, match=r"^Q contains a non-finite value"):
        index.search([np.inf, 0, 0], 1)
    with pytest.raises(TypeError, match=r"^filter: must be an integer array of ids or a boolean"):
        index.search(np.ones(3), 1, filter=[0.5])
    with pytest.raises(ValueError, match=r"^filter: must be 1-D"):
        index.search(np.ones(3), 1, filter=np.ones((2, 2), dtype=bool))
    with pytest.raises(ValueError, match=r"^ids: id 9 is not in the index"):
        index.get_vectors([9])
    with pytest.raises(ValueError, match=r"^mmap: |^path: "):
        HNSWIndex.load("/nonexistent/file.hnsw")
    with pytest.raises(TypeError, match=r"^mmap: must be True or False"):
        HNSWIndex.load("x", mmap="yes")  # type: ignore[arg-type]


# ---------------------------------------------------------------- threads


def test_concurrent_searches_from_python_threads(real: tuple[np.ndarray, np.ndarray]) -> None:
    x, q = real
    index = HNSWIndex(384)
    index.add(x[:3000])
    want = index.search(q, K, n_jobs=1)
    singles = [index.search(q[j], K, n_jobs=1)[1][0] for j in range(len(q))]

    def work(j: int) -> tuple[np.ndarray, np.ndarray]:
        return index.search(q, K, n_jobs=1 + j % 2)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(16)))
    for d, i in results:
        np.testing.assert_array_equal(i, want[1])
        np.testing.assert_array_equal(d, want[0])
    np.testing.assert_array_equal(np.array(singles), want[1])


def test_add_and_search_concurrently_are_serialised() -> None:
    x = gaussian(4000, 16, 19)
    index = HNSWIndex(16, metric="l2")
    index.add(x[:1000])
    errors: list[BaseException] = []
    stop = threading.Event()

    def searcher() -> None:
        try:
            while not stop.is_set():
                d, i = index.search(x[:20], 5)
                assert (i[:, 0] >= 0).all() and np.isfinite(d[:, 0]).all()
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=searcher) for _ in range(3)]
    for t in threads:
        t.start()
    for start in range(1000, 4000, 500):
        index.add(x[start : start + 500])
        index.remove(np.arange(start - 1000, start - 900))
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(index) == 4000 - 600


# ---------------------------------------------------------------- docs


def test_docstring_examples_run() -> None:
    result = doctest.testmod(hartley.hnsw, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 15
    assert result.failed == 0


def test_exported() -> None:
    assert hartley.HNSWIndex is HNSWIndex
    assert "HNSWIndex" in hartley.__all__
