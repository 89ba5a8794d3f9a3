//! A list of values that holds its first two in place and then grows on the
//! heap: the values an exact quantile keeps per group.
//!
//! Why: a `median` by a key of a million groups keeps a list per group, and
//! a `Vec` that grows 4 → 8 → 16 pays three allocator calls for a group of
//! ten values. Those calls, not the values, were half the run: the workers
//! fold every partition's rows in turn, so a group's list is often grown by
//! another thread than the one that allocated it, and glibc then locks the
//! allocating thread's arena (`--by k_large --agg median:x,p99:y` on 10M
//! rows used 1.4 s more CPU on 2 threads than on one). So the list holds
//! its first [`INLINE`] values in the 24 bytes a `Vec` would take (no
//! allocation at all for groups that small: a group-by on a nearly unique
//! key), and its third value moves them into room for [`FIRST_HEAP`], which
//! covers the common small group with one allocation; past that it doubles
//! as a `Vec` does. The cost is memory for groups of 3 to 15 values: at
//! most 16 × 8 bytes each.

use std::ops::Deref;

/// Values held in place.
const INLINE: usize = 2;
/// The room a list gets when it outgrows [`INLINE`].
const FIRST_HEAP: usize = 16;

#[derive(Debug, Default)]
pub(crate) enum SmallValues<T> {
    #[default]
    Empty,
    One(T),
    Two([T; INLINE]),
    Heap(Vec<T>),
}

impl<T: Copy> SmallValues<T> {
    #[inline]
    pub(crate) fn push(&mut self, v: T) {
        match self {
            SmallValues::Heap(heap) => heap.push(v),
            SmallValues::Empty => *self = SmallValues::One(v),
            SmallValues::One(a) => *self = SmallValues::Two([*a, v]),
            SmallValues::Two([a, b]) => {
                let mut heap = Vec::with_capacity(FIRST_HEAP);
                heap.extend_from_slice(&[*a, *b, v]);
                *self = SmallValues::Heap(heap);
            }
        }
    }

    /// The values as a `Vec` to push many onto (a whole batch's column),
    /// without a check per value.
    pub(crate) fn as_vec(&mut self) -> &mut Vec<T> {
        if !matches!(self, SmallValues::Heap(_)) {
            let mut heap = Vec::with_capacity(FIRST_HEAP);
            heap.extend_from_slice(self);
            *self = SmallValues::Heap(heap);
        }
        match self {
            SmallValues::Heap(heap) => heap,
            _ => unreachable!("moved to the heap above"),
        }
    }

    /// The values as a `Vec` (the heap list itself, when on the heap).
    pub(crate) fn into_vec(self) -> Vec<T> {
        match self {
            SmallValues::Heap(heap) => heap,
            other => other.to_vec(),
        }
    }

    /// Moves every value of `other` into this list (in no particular order).
    pub(crate) fn append(&mut self, other: &mut Self) {
        match (&mut *self, &mut *other) {
            (_, SmallValues::Empty) => {}
            (SmallValues::Heap(mine), theirs) => mine.extend_from_slice(theirs),
            (mine, SmallValues::Heap(_)) => {
                // keep the bigger allocation, add the few values in place
                std::mem::swap(mine, other);
                if let SmallValues::Heap(heap) = self {
                    heap.extend_from_slice(other);
                }
            }
            (_, _) => other.iter().for_each(|&v| self.push(v)),
        }
        *other = SmallValues::Empty;
    }
}

impl<T> From<Vec<T>> for SmallValues<T> {
    fn from(mut values: Vec<T>) -> Self {
        match values.len() {
            0 => SmallValues::Empty,
            1 => SmallValues::One(values.pop().expect("one value")),
            2 => {
                let b = values.pop().expect("two values");
                let a = values.pop().expect("two values");
                SmallValues::Two([a, b])
            }
            _ => SmallValues::Heap(values),
        }
    }
}

impl<T> Deref for SmallValues<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            SmallValues::Empty => &[],
            SmallValues::One(v) => std::slice::from_ref(v),
            SmallValues::Two(v) => v,
            SmallValues::Heap(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_what_a_vec_holds() {
        for n in 0..40 {
            let mut small = SmallValues::default();
            (0..n).for_each(|i| small.push(i));
            assert_eq!(&*small, &(0..n).collect::<Vec<_>>()[..]);
            assert_eq!(&*SmallValues::from((0..n).collect::<Vec<_>>()), &*small);
            let mut pushed_at_once = SmallValues::default();
            (0..n / 2).for_each(|i| pushed_at_once.push(i));
            pushed_at_once.as_vec().extend(n / 2..n);
            assert_eq!(&*pushed_at_once, &*small);
            for m in [0, 1, 2, 3, 17] {
                let (mut a, mut b) = (SmallValues::default(), SmallValues::default());
                (0..n).for_each(|i| a.push(i));
                (100..100 + m).for_each(|i| b.push(i));
                a.append(&mut b);
                let mut got = a.to_vec();
                got.sort_unstable();
                let want: Vec<_> = (0..n).chain(100..100 + m).collect();
                assert_eq!(got, want, "{n} + {m}");
                assert!(b.is_empty());
            }
        }
    }

    #[test]
    fn is_as_small_as_a_vec() {
        assert_eq!(
            std::mem::size_of::<SmallValues<f64>>(),
            std::mem::size_of::<Vec<f64>>()
        );
    }
}
