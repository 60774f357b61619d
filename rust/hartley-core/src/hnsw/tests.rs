use super::*;

fn data(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n * d)
        .map(|_| {
            s = splitmix(s);
            ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect()
}

fn params(metric: Metric, dim: usize) -> Params {
    Params {
        metric,
        dim,
        m: 12,
        ef_construction: 100,
        ef: 64,
        seed: 7,
    }
}

fn brute(idx: &Hnsw, q: &[f32], k: usize) -> Vec<i64> {
    let live = idx.ids();
    let dim = idx.params.dim;
    let v = idx.get_vectors(&live).unwrap();
    let v: Vec<f32> = v
        .chunks_exact(4)
        .map(|c| f32::from_ne_bytes(c.try_into().unwrap()))
        .collect();
    let qn: f32 = q.iter().map(|x| x * x).sum::<f32>().sqrt();
    let mut d: Vec<(f32, i64)> = live
        .iter()
        .enumerate()
        .map(|(i, &id)| {
            let r = &v[i * dim..(i + 1) * dim];
            let dot: f32 = r.iter().zip(q).map(|(a, b)| a * b).sum();
            let dd = match idx.params.metric {
                Metric::Cosine => 1.0 - dot / qn,
                Metric::Ip => 1.0 - dot,
                _ => r.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum(),
            };
            (dd, id)
        })
        .collect();
    d.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    d.iter().take(k).map(|p| p.1).collect()
}

fn recall(idx: &Hnsw, q: &[f32], k: usize, filter: Option<Filter<'_>>) -> f64 {
    let dim = idx.params.dim;
    let (_, got) = idx
        .search(
            Vectors::F32(q),
            k,
            None,
            filter,
            Threads::new(2),
            &Control::new(),
        )
        .unwrap();
    let mut hit = 0;
    for (i, qr) in q.chunks_exact(dim).enumerate() {
        let want = brute(idx, qr, k);
        hit += got[i * k..(i + 1) * k]
            .iter()
            .filter(|g| want.contains(g))
            .count();
    }
    hit as f64 / (k * q.len() / dim) as f64
}

#[test]
fn recall_on_random_data_for_each_float_metric() {
    for metric in [Metric::Cosine, Metric::L2, Metric::Ip] {
        let (n, d) = (3000, 16);
        let mut idx = Hnsw::new(params(metric, d)).unwrap();
        idx.add(
            Vectors::F32(&data(n, d, 1)),
            None,
            Threads::new(2),
            &Control::new(),
        )
        .unwrap();
        assert_eq!(idx.len(), n);
        let r = recall(&idx, &data(50, d, 2), 10, None);
        assert!(r > 0.95, "{metric:?}: recall {r}");
    }
}

#[test]
fn removed_items_are_never_returned_and_slots_reused() {
    let (n, d) = (2000, 12);
    let mut idx = Hnsw::new(params(Metric::L2, d)).unwrap();
    idx.add(
        Vectors::F32(&data(n, d, 3)),
        None,
        Threads::new(2),
        &Control::new(),
    )
    .unwrap();
    let gone: Vec<i64> = (0..n as i64).filter(|i| i % 3 == 0).collect();
    idx.remove(&gone, Threads::new(2), &Control::new()).unwrap();
    assert_eq!(idx.len(), n - gone.len());
    let q = data(40, d, 4);
    let (_, got) = idx
        .search(
            Vectors::F32(&q),
            10,
            None,
            None,
            Threads::new(1),
            &Control::new(),
        )
        .unwrap();
    assert!(got.iter().all(|id| id % 3 != 0 && *id >= 0));
    assert!(recall(&idx, &q, 10, None) > 0.93);
    let slots_before = idx.n_slots;
    idx.add(
        Vectors::F32(&data(100, d, 5)),
        None,
        Threads::new(2),
        &Control::new(),
    )
    .unwrap();
    assert_eq!(idx.n_slots, slots_before, "free slots are reused");
    assert!(idx.contains(n as i64 + 99));
}

#[test]
fn round_trip_through_bytes_and_rejection_of_corruption() {
    let (n, d) = (500, 8);
    let mut idx = Hnsw::new(params(Metric::Cosine, d)).unwrap();
    idx.add(
        Vectors::F32(&data(n, d, 6)),
        None,
        Threads::new(1),
        &Control::new(),
    )
    .unwrap();
    idx.remove(&[3, 4, 5], Threads::new(1), &Control::new())
        .unwrap();
    let bytes = idx.to_bytes();
    let back = Hnsw::from_bytes(&bytes).unwrap();
    let q = data(20, d, 7);
    let run = |i: &Hnsw| {
        i.search(
            Vectors::F32(&q),
            5,
            None,
            None,
            Threads::new(1),
            &Control::new(),
        )
        .unwrap()
    };
    assert_eq!(run(&idx), run(&back));
    for cut in [0, 10, 127, 128, bytes.len() - 1] {
        assert!(Hnsw::from_bytes(&bytes[..cut]).is_err());
    }
    let mut bad = bytes.clone();
    bad[200] ^= 1;
    assert!(Hnsw::from_bytes(&bad).is_err());
}

#[test]
fn hamming_finds_exact_duplicates() {
    let (n, bits) = (1000, 100);
    let bytes = bits / 8 + 1;
    let mut s = 9u64;
    let codes: Vec<u8> = (0..n * bytes)
        .map(|i| {
            s = splitmix(s);
            if i % bytes == bytes - 1 {
                (s as u8) & 0xF0
            } else {
                s as u8
            }
        })
        .collect();
    let mut idx = Hnsw::new(params(Metric::Hamming, bits)).unwrap();
    idx.add(
        Vectors::Codes(&codes),
        None,
        Threads::new(2),
        &Control::new(),
    )
    .unwrap();
    let (d, ids) = idx
        .search(
            Vectors::Codes(&codes[..20 * bytes]),
            1,
            None,
            None,
            Threads::new(1),
            &Control::new(),
        )
        .unwrap();
    assert_eq!(ids, (0..20).collect::<Vec<i64>>());
    assert!(d.iter().all(|&x| x == 0.0));
}

#[test]
fn cancelled_add_rolls_back_and_leaves_a_valid_index() {
    let d = 16;
    let mut idx = Hnsw::new(params(Metric::L2, d)).unwrap();
    idx.add(
        Vectors::F32(&data(500, d, 20)),
        None,
        Threads::new(2),
        &Control::new(),
    )
    .unwrap();
    let before = idx.ids();
    // Cancelled before it starts: nothing is added.
    let ctl = Control::new();
    ctl.cancel();
    let more = data(4000, d, 21);
    assert_eq!(
        idx.add(Vectors::F32(&more), None, Threads::new(2), &ctl),
        Err(Error::Cancelled)
    );
    assert_eq!(idx.ids(), before);
    // Cancelled half-way from another thread: a prefix may stay, the rest is
    // rolled back, and every remaining item is still found.
    let ctl = Control::new();
    let res = std::thread::scope(|s| {
        s.spawn(|| {
            while ctl.progress().0 < 1000 {
                std::thread::yield_now();
            }
            ctl.cancel();
        });
        idx.add(Vectors::F32(&more), None, Threads::new(2), &ctl)
    });
    assert!(res.is_ok() || res == Err(Error::Cancelled));
    let live = idx.ids();
    assert!(live.len() >= 500 && live.len() <= 4500);
    let bytes = idx.to_bytes();
    Hnsw::from_bytes(&bytes).expect("a rolled-back index is valid");
    let all: Vec<f32> = data(500, d, 20).into_iter().chain(more).collect();
    let probe: Vec<f32> = live
        .iter()
        .take(200)
        .flat_map(|&id| all[id as usize * d..(id as usize + 1) * d].to_vec())
        .collect();
    let (_, got) = idx
        .search(
            Vectors::F32(&probe),
            1,
            Some(100),
            None,
            Threads::new(1),
            &Control::new(),
        )
        .unwrap();
    assert_eq!(got, live[..200].to_vec());
    // And adding again works (reusing the rolled-back slots).
    idx.add(
        Vectors::F32(&data(50, d, 22)),
        None,
        Threads::new(2),
        &Control::new(),
    )
    .unwrap();
    assert_eq!(idx.len(), live.len() + 50);
}

#[test]
fn filtered_exact_scan_breaks_ties_by_the_lower_user_id() {
    // Forty identical codes stored with ids in decreasing order (slot order
    // and id order disagree), among other codes far from them.
    let (bits, bytes) = (64, 8);
    let mut codes = vec![0u8; 40 * bytes];
    let mut s = 3u64;
    for _ in 0..400 {
        s = splitmix(s);
        codes.extend_from_slice(&(s | 0xFFFF).to_le_bytes());
    }
    let ids: Vec<i64> = (0..440).map(|i| 1000 - i as i64).collect();
    let mut idx = Hnsw::new(params(Metric::Hamming, bits)).unwrap();
    idx.add(
        Vectors::Codes(&codes),
        Some(&ids),
        Threads::new(1),
        &Control::new(),
    )
    .unwrap();
    // A selective filter (the exact scan) allowing thirty of the duplicates.
    let allowed: Vec<i64> = ids[5..35].to_vec();
    for k in [1usize, 3, 10] {
        let (d, got) = idx
            .search(
                Vectors::Codes(&[0u8; 8]),
                k,
                None,
                Some(Filter::Ids(&allowed)),
                Threads::new(1),
                &Control::new(),
            )
            .unwrap();
        let mut want = allowed.clone();
        want.sort();
        assert_eq!(got, want[..k].to_vec(), "k = {k}");
        assert!(d.iter().all(|&x| x == 0.0));
    }
}
