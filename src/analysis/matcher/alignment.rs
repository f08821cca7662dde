//! The dynamic programme of the order of modules, on numbers only: each
//! key's log gains per position in, the best alignment and how sure each
//! of its placements is out.
//!
//! How sure a placement is compares the best alignment with the best one
//! that puts the key elsewhere. Solving the whole alignment again for every
//! placed key costs keys² × positions; instead the forward tables (the best
//! score of every prefix, per position) and the backward tables (the best
//! score of every suffix, per position) are kept, and the best alignment
//! avoiding one placement is read from them in one pass over the positions:
//! every alignment passes through exactly one of the key's moves, so the
//! best one avoiding a move is the best over the other moves of the prefix
//! before it plus the suffix after it.

/// A score no placement reaches.
pub const UNREACHED: f64 = f64::NEG_INFINITY;

/// Where a key's best score at a position came from: the position of the
/// key (or anchor) before it, and the position it was placed on (`None`:
/// left out).
pub type Step = (usize, Option<usize>);

/// One key's log gains per position (`None`: it cannot go there). Position
/// 0 is the anchor's operator, 1..=n the candidates.
#[derive(Clone, Debug, Default)]
pub struct KeyGains {
    /// On an operator of its own, after the position of the key before it;
    /// at position 0, on the anchor's own output while no key holds it.
    pub own: Vec<Option<f64>>,
    /// On the same tensor as the key before it.
    pub shared: Vec<Option<f64>>,
    /// A block ending with the merge at a position (the index), after the
    /// key (or anchor) at an earlier position: `(earlier, gain)`, in order.
    pub merge: Vec<Vec<(usize, f64)>>,
}

/// The alignment's fixed terms: the positions' skip prices and the price
/// of leaving a key out.
#[derive(Debug)]
pub struct Alignment {
    /// Whether the first keys may take the anchor's own output.
    pub start_free: bool,
    /// The log price of leaving positions 1..=p without a key.
    pub skipped: Vec<f64>,
    /// The log price of leaving a key out.
    pub left_out: f64,
}

/// The forward tables of a solved alignment.
pub struct Solution {
    /// Before key k (and after the last one): the best score per position.
    pub tables: Vec<Vec<f64>>,
    /// Before key k: whether the best path ending at the anchor has a key
    /// on it.
    pub held: Vec<bool>,
    /// Per key: where each position's best score came from.
    pub back: Vec<Vec<Step>>,
    /// Per key: whether it went on the anchor's own output.
    pub own_start: Vec<bool>,
}

impl Solution {
    /// The best score per position after the last key.
    pub fn last(&self) -> &[f64] {
        self.tables.last().map_or(&[], Vec::as_slice)
    }
}

impl Alignment {
    fn positions(&self) -> usize {
        self.skipped.len()
    }

    /// The best alignment of `keys`, never placing key `forbid.0` at
    /// position `forbid.1`.
    pub fn solve(&self, keys: &[KeyGains], forbid: Option<(usize, usize)>) -> Solution {
        // tables[k][p]: the best score (the log of the product of the
        // placements' fits) with the last placed key (or the anchor) at
        // position p, after k keys.
        let mut best = vec![UNREACHED; self.positions()];
        if let Some(b) = best.first_mut() {
            *b = 0.0;
        }
        let mut tables = Vec::with_capacity(keys.len() + 1);
        let mut held_before = Vec::with_capacity(keys.len());
        let mut back = Vec::with_capacity(keys.len());
        let mut own_start = Vec::with_capacity(keys.len());
        let mut held = false;
        for (k, key) in keys.iter().enumerate() {
            let banned = forbid.filter(|f| f.0 == k).map(|f| f.1);
            let (next, from, on_start) = self.step(key, &best, held, banned);
            own_start.push(on_start && from.first() == Some(&(0, Some(0))));
            held_before.push(held);
            held |= from.first().is_some_and(|f| f.1.is_some());
            back.push(from);
            tables.push(std::mem::replace(&mut best, next));
        }
        tables.push(best);
        Solution {
            tables,
            held: held_before,
            back,
            own_start,
        }
    }

    /// The best final position and the score there, the operators after
    /// it left without a key.
    pub fn end(&self, best: &[f64]) -> (usize, f64) {
        let last = self.skipped.last().copied().unwrap_or(0.0);
        let total = |p: usize| best[p] + last - self.skipped[p];
        let p = (0..best.len())
            .max_by(|&a, &b| total(a).total_cmp(&total(b)).then(b.cmp(&a)))
            .unwrap_or(0);
        (p, total(p))
    }

    /// One key more after the scores `best`: the new best score per
    /// position, where each came from, and whether the key went on the
    /// anchor's own output (possible while no key is `held` there).
    fn step(
        &self,
        key: &KeyGains,
        best: &[f64],
        held: bool,
        banned: Option<usize>,
    ) -> (Vec<f64>, Vec<Step>, bool) {
        // Leaving the key out keeps the position, at a price.
        let mut next: Vec<f64> = best.iter().map(|b| b + self.left_out).collect();
        let mut from: Vec<Step> = (0..best.len()).map(|p| (p, None)).collect();
        let mut on_start = false;
        // Running maximum of best[q] − skipped[q] for q < p: with
        // skipped[p − 1] added, the best score after q with the operators
        // between q and p left without a key.
        let mut run = (UNREACHED, 0usize);
        for p in 0..best.len() {
            if banned != Some(p) {
                // On its own operator, after the previous position.
                if p > 0 {
                    let reached = run.0 + self.skipped[p - 1];
                    if let Some(g) =
                        key.own[p].filter(|g| reached > UNREACHED && reached + g > next[p])
                    {
                        next[p] = reached + g;
                        from[p] = (run.1, Some(p));
                    }
                }
                // On the same tensor as the previous key.
                if let Some(g) =
                    key.shared[p].filter(|g| best[p] > UNREACHED && best[p] + g > next[p])
                {
                    next[p] = best[p] + g;
                    from[p] = (p, Some(p));
                }
                // The output of the anchor's own operator, while no key holds it.
                if p == 0 && self.start_free && !held {
                    if let Some(g) = key.own[0].filter(|g| best[0] + g > next[0]) {
                        next[0] = best[0] + g;
                        from[0] = (0, Some(0));
                        on_start = true;
                    }
                }
                // A block may end with the merge after its last part.
                for &(q, g) in key.merge.get(p).map_or(&[][..], Vec::as_slice) {
                    let score = best[q] + self.skipped[p - 1] - self.skipped[q];
                    if score > UNREACHED && score + g > next[p] {
                        next[p] = score + g;
                        from[p] = (q, Some(p));
                    }
                }
            }
            if best[p] - self.skipped[p] > run.0 {
                run = (best[p] - self.skipped[p], p);
            }
        }
        (next, from, on_start)
    }

    /// The backward tables of `solution`: before key k (and after the last
    /// one), the best score of the keys from k on and the operators after
    /// them, per position of the key before.
    fn suffixes(&self, keys: &[KeyGains], solution: &Solution) -> Vec<Vec<f64>> {
        let n = self.positions();
        let last = self.skipped.last().copied().unwrap_or(0.0);
        let mut after: Vec<f64> = self.skipped.iter().map(|s| last - s).collect();
        let mut out = vec![Vec::new(); keys.len() + 1];
        for k in (0..keys.len()).rev() {
            let key = &keys[k];
            let mut before: Vec<f64> = after.iter().map(|a| a + self.left_out).collect();
            // Best of skipped[p − 1] + own + after[p] over positions p > q.
            let mut ahead = UNREACHED;
            for q in (0..n).rev() {
                if ahead > UNREACHED {
                    before[q] = before[q].max(ahead - self.skipped[q]);
                }
                if let Some(g) = key.shared[q] {
                    before[q] = before[q].max(after[q] + g);
                }
                if q == 0 && self.start_free && !solution.held[k] {
                    if let Some(g) = key.own[0] {
                        before[0] = before[0].max(after[0] + g);
                    }
                }
                if q > 0 {
                    if let Some(g) = key.own[q] {
                        ahead = ahead.max(self.skipped[q - 1] + g + after[q]);
                    }
                }
            }
            for (p, merges) in key.merge.iter().enumerate() {
                for &(q, g) in merges {
                    let through = self.skipped[p - 1] - self.skipped[q] + g + after[p];
                    before[q] = before[q].max(through);
                }
            }
            out[k + 1] = std::mem::replace(&mut after, before);
        }
        out[0] = after;
        out
    }

    /// How sure each placement `(key, position)` of the best path is: the
    /// chance it beats the best alignment that puts the key elsewhere, from
    /// the two scores' difference weighed by `weight`.
    pub fn certainty(
        &self,
        keys: &[KeyGains],
        solution: &Solution,
        placed: &[(usize, usize)],
        weight: f64,
    ) -> Vec<f64> {
        let suffixes = self.suffixes(keys, solution);
        placed
            .iter()
            .map(|&(k, p)| {
                let (score, other) = if p == 0 && !solution.held[k] {
                    // Forbidding the first key on the anchor's own output
                    // changes which later keys may take it: solve again
                    // from that key on (once per segment at most).
                    self.solved_again(keys, solution, k, p)
                } else {
                    self.read_off(solution, &suffixes, k, p)
                };
                1.0 / (1.0 + (weight * (other - score)).exp())
            })
            .collect()
    }

    /// The best score and the best without key `k` at position `p`, from
    /// the forward and backward tables around key `k`.
    fn read_off(
        &self,
        solution: &Solution,
        suffixes: &[Vec<f64>],
        k: usize,
        p: usize,
    ) -> (f64, f64) {
        let (before, after, rest) = (
            &solution.tables[k],
            &solution.tables[k + 1],
            &suffixes[k + 1],
        );
        let mut score = UNREACHED;
        let mut other = before[p] + self.left_out + rest[p];
        for (q, (a, r)) in after.iter().zip(rest).enumerate() {
            score = score.max(a + r);
            if q != p {
                other = other.max(a + r);
            }
        }
        (score, other)
    }

    /// The best score and the best without key `k` at position `p`, by
    /// solving the keys from `k` on again.
    fn solved_again(
        &self,
        keys: &[KeyGains],
        solution: &Solution,
        k: usize,
        p: usize,
    ) -> (f64, f64) {
        let (_, score) = self.end(solution.last());
        let mut best = solution.tables[k].clone();
        let mut held = solution.held[k];
        for (j, key) in keys.iter().enumerate().skip(k) {
            let banned = (j == k).then_some(p);
            let (next, from, _) = self.step(key, &best, held, banned);
            held |= from.first().is_some_and(|f| f.1.is_some());
            best = next;
        }
        (score, self.end(&best).1)
    }

    /// Each key's placement on the best path ending at `end`: its
    /// position, and whether it shares the tensor of the key before.
    pub fn trace_back(&self, solution: &Solution, end: usize) -> Vec<Option<(usize, bool)>> {
        let keys = solution.back.len();
        let mut p = end;
        let mut out = vec![None; keys];
        for k in (0..keys).rev() {
            let (prev, placed) = solution.back[k][p];
            if let Some(q) = placed {
                let own = q == 0 && solution.own_start[k];
                out[k] = Some((q, prev == q && !own));
            }
            p = prev;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The plain way: how sure each placement is by solving the whole
    /// alignment again with it forbidden.
    fn resolved(
        a: &Alignment,
        keys: &[KeyGains],
        placed: &[(usize, usize)],
        weight: f64,
    ) -> Vec<f64> {
        let (_, score) = a.end(a.solve(keys, None).last());
        placed
            .iter()
            .map(|&(k, p)| {
                let (_, other) = a.end(a.solve(keys, Some((k, p))).last());
                1.0 / (1.0 + (weight * (other - score)).exp())
            })
            .collect()
    }

    fn gain() -> impl Strategy<Value = Option<f64>> {
        prop_oneof![
            Just(None),
            (0.05f64..1.0).prop_map(|f| Some(f.ln())),
            Just(Some(0.35f64.ln()))
        ]
    }

    /// A key: own and shared gains per position, and merges for some.
    fn key(n: usize) -> impl Strategy<Value = KeyGains> {
        (
            proptest::collection::vec(gain(), n),
            proptest::collection::vec(gain(), n),
            proptest::collection::vec((0..n, 0..n, 0.1f64..1.0), 0..3),
        )
            .prop_map(move |(own, shared, pairs)| {
                let mut merge = vec![Vec::new(); n];
                let mut pairs: Vec<(usize, usize, f64)> =
                    pairs.into_iter().filter(|&(q, p, _)| q < p).collect();
                pairs.sort_by_key(|&(q, p, _)| (p, q));
                pairs.dedup_by_key(|&mut (q, p, _)| (q, p));
                for (q, p, g) in pairs {
                    merge[p].push((q, g.ln()));
                }
                KeyGains { own, shared, merge }
            })
    }

    fn segment() -> impl Strategy<Value = (Alignment, Vec<KeyGains>)> {
        (1usize..7, any::<bool>()).prop_flat_map(|(n, start_free)| {
            (
                proptest::collection::vec(prop_oneof![Just(0.0), Just(0.7f64.ln())], n - 1),
                proptest::collection::vec(key(n), 0..9),
            )
                .prop_map(move |(prices, keys)| {
                    let mut skipped = vec![0.0];
                    for price in prices {
                        skipped.push(skipped[skipped.len() - 1] + price);
                    }
                    let alignment = Alignment {
                        start_free,
                        skipped,
                        left_out: 0.01f64.ln(),
                    };
                    (alignment, keys)
                })
        })
    }

    proptest! {
        #[test]
        fn certainty_read_off_the_tables_is_the_plain_resolve((a, keys) in segment()) {
            let solution = a.solve(&keys, None);
            let (end, _) = a.end(solution.last());
            let placed: Vec<(usize, usize)> = a
                .trace_back(&solution, end)
                .iter()
                .enumerate()
                .filter_map(|(k, t)| Some((k, t.as_ref()?.0)))
                .collect();
            let fast = a.certainty(&keys, &solution, &placed, 1.5);
            let plain = resolved(&a, &keys, &placed, 1.5);
            for (f, p) in fast.iter().zip(&plain) {
                prop_assert!((f - p).abs() < 1e-9, "fast {f} against plain {p}");
            }
        }
    }

    #[test]
    fn a_forbidden_start_is_solved_again() {
        // Two keys that may both take the anchor's own output: forbidding
        // the first there lets the second take it.
        let key = KeyGains {
            own: vec![Some(0.9f64.ln()), None],
            shared: vec![Some(0.5f64.ln()), None],
            merge: vec![Vec::new(); 2],
        };
        let a = Alignment {
            start_free: true,
            skipped: vec![0.0, 0.0],
            left_out: 0.01f64.ln(),
        };
        let keys = vec![key.clone(), key];
        let solution = a.solve(&keys, None);
        let (end, _) = a.end(solution.last());
        let path = a.trace_back(&solution, end);
        assert_eq!(path, vec![Some((0, false)), Some((0, true))]);
        let fast = a.certainty(&keys, &solution, &[(0, 0), (1, 0)], 1.5);
        let plain = resolved(&a, &keys, &[(0, 0), (1, 0)], 1.5);
        for (f, p) in fast.iter().zip(&plain) {
            assert!((f - p).abs() < 1e-12, "fast {f} against plain {p}");
        }
    }
}
