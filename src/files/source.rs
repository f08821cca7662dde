//! Where an array's element bytes are: a range of a file named by path
//! (an npy file, opened only while read or copied), or bytes in memory
//! that their owner keeps alive (a caller's array, shared without a copy).

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::sync::Arc;

use super::PathRange;

/// Bytes in memory, owned by someone else (a Python array, a buffer) and
/// shared between threads without copying.
#[derive(Clone)]
pub struct SharedBytes(Arc<dyn AsRef<[u8]> + Send + Sync>);

impl SharedBytes {
    /// Shares `owner`'s bytes; they live as long as any clone does.
    pub fn new(owner: impl AsRef<[u8]> + Send + Sync + 'static) -> SharedBytes {
        SharedBytes(Arc::new(owner))
    }

    pub fn as_slice(&self) -> &[u8] {
        (*self.0).as_ref()
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
        let source = DataSource::Memory(copy);
        assert_eq!(source.len(), 3);
        assert!(matches!(source.read().unwrap(), Cow::Borrowed(b) if b == [1, 2, 3]));
    }
}
