//! Where an array's element bytes are: a range of a file named by path
//! (an npy file, opened only while read or copied), or bytes in memory
//! that their owner keeps alive (a caller's array, shared without a copy).

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::io;
use std::sync::Arc;

use super::PathRange;

/// What holds shared bytes: anything that lends them, and that its
/// creator can recognise again (to give a caller back its own array).
pub trait Owner: AsRef<[u8]> + Any + Send + Sync {
    fn as_any(&self) -> &dyn Any;
}

impl<T: AsRef<[u8]> + Any + Send + Sync> Owner for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Bytes in memory, owned by someone else (a Python array, a buffer) and
/// shared between threads without copying.
#[derive(Clone)]
pub struct SharedBytes(Arc<dyn Owner>);

impl SharedBytes {
    /// Shares `owner`'s bytes; they live as long as any clone does.
    pub fn new(owner: impl Owner) -> SharedBytes {
        SharedBytes(Arc::new(owner))
    }

    pub fn as_slice(&self) -> &[u8] {
        (*self.0).as_ref()
    }

    /// The owner, as its creator made it.
    pub fn owner(&self) -> &dyn Any {
        self.0.as_any()
    }

    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<Vec<u8>> for SharedBytes {
    fn from(bytes: Vec<u8>) -> SharedBytes {
        SharedBytes::new(bytes)
    }
}

impl fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedBytes({} bytes)", self.len())
    }
}

impl PartialEq for SharedBytes {
    fn eq(&self, other: &SharedBytes) -> bool {
        self.as_slice() == other.as_slice()
    }
}

/// Element bytes, wherever they are.
#[derive(Clone, Debug, PartialEq)]
pub enum DataSource {
    File(PathRange),
    Memory(SharedBytes),
}

impl DataSource {
    pub fn len(&self) -> u64 {
        match self {
            DataSource::File(r) => r.len,
            DataSource::Memory(b) => b.len() as u64,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes: read now from a file, borrowed from memory.
    pub fn read(&self) -> io::Result<Cow<'_, [u8]>> {
        match self {
            DataSource::File(r) => r.read().map(Cow::Owned),
            DataSource::Memory(b) => Ok(Cow::Borrowed(b.as_slice())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_shared_not_copied() {
        let bytes = SharedBytes::from(vec![1u8, 2, 3]);
        let copy = bytes.clone();
        assert_eq!(bytes.as_slice().as_ptr(), copy.as_slice().as_ptr());
        assert!(copy.owner().downcast_ref::<Vec<u8>>().is_some());
        let source = DataSource::Memory(copy);
        assert_eq!(source.len(), 3);
        assert!(matches!(source.read().unwrap(), Cow::Borrowed(b) if b == [1, 2, 3]));
    }
}
