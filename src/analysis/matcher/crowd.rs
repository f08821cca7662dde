//! Constants a key's value matches in numbers the data cannot tell apart
//! (layers initialized alike, norms of ones): one piece of evidence for the
//! whole crowd, not one per constant, so that keys × equal constants cost
//! no memory. Each distinct crowd is kept once, however many keys match it.

use std::collections::HashSet;
use std::sync::Arc;

use crate::graph::TensorId;

/// The constants a key's value matches beyond those confirmed one by one,
/// with the confidence and reason they share.
#[derive(Clone, Debug)]
pub struct Crowd {
    /// Sorted.
    members: Arc<[TensorId]>,
    pub confidence: f64,
    pub reason: String,
}

impl Crowd {
    pub fn contains(&self, id: TensorId) -> bool {
        self.members.binary_search(&id).is_ok()
    }

    pub fn members(&self) -> &[TensorId] {
        &self.members
    }
}

/// Every distinct crowd, shared by the keys that match it.
#[derive(Default)]
pub struct Crowds(HashSet<Arc<[TensorId]>>);

impl Crowds {
    /// The crowd of `members`, sharing the list with any crowd before of
    /// the same members.
    pub fn crowd(&mut self, mut members: Vec<TensorId>, confidence: f64, reason: String) -> Crowd {
        members.sort_unstable();
        members.dedup();
        let members = match self.0.get(members.as_slice()) {
            Some(known) => known.clone(),
            None => {
                let new: Arc<[TensorId]> = members.into();
                self.0.insert(new.clone());
                new
            }
        };
        Crowd {
            members,
            confidence,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(index: usize) -> TensorId {
        TensorId { subgraph: 0, index }
    }

    #[test]
    fn equal_crowds_share_their_members() {
        let mut crowds = Crowds::default();
        let a = crowds.crowd(vec![id(3), id(1), id(2)], 0.97, "a".into());
        let b = crowds.crowd(vec![id(2), id(3), id(1)], 0.97, "b".into());
        let c = crowds.crowd(vec![id(2), id(4)], 0.97, "c".into());
        assert!(Arc::ptr_eq(&a.members, &b.members));
        assert!(!Arc::ptr_eq(&a.members, &c.members));
        assert_eq!(a.members(), &[id(1), id(2), id(3)]);
        assert!(a.contains(id(2)) && !a.contains(id(4)) && c.contains(id(4)));
    }
}
