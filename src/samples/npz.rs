//! `.npz` archives as numpy writes them (`savez`: stored members;
//! `savez_compressed`: deflated members), each member an `.npy` file named
//! after its array.

use std::io::{Cursor, Read};
use std::path::Path;

use super::SampleError;

/// Members larger than this are refused before they are inflated: a zip
/// can claim any size, and a sample is never this large.
const MAX_MEMBER: u64 = 4 << 30;

/// Room for an npy header beside its data (numpy pads headers to 64 bytes;
/// long ones stay far below this).
pub const HEADER_ROOM: u64 = 64 << 10;

/// The archive's arrays: (name without `.npy`, the npy file's bytes). A
/// member is read to at most `limit` bytes (and [`MAX_MEMBER`]): what it
/// claims or inflates to beyond that is refused, so that a small archive
/// cannot make memory grow past what the inputs take.
pub fn members(
    path: &Path,
    bytes: &[u8],
    limit: u64,
) -> Result<Vec<(String, Vec<u8>)>, SampleError> {
    let limit = limit.min(MAX_MEMBER);
    let not = |why: String| SampleError::NotNpz {
        path: path.to_path_buf(),
        why,
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| not(e.to_string()))?;
    let mut out = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).map_err(|e| not(e.to_string()))?;
        let name = member.name().map_err(|e| not(e.to_string()))?.into_owned();
        let Some(array) = name.strip_suffix(".npy") else {
            return Err(not(format!("its member `{name}` is not an .npy file")));
        };
        let too_large = |size: u64| {
            not(format!(
                "its member `{name}` holds {size} bytes or more, more than any input of the model takes"
            ))
        };
        if member.size() > limit {
            return Err(too_large(member.size()));
        }
        let mut data = Vec::with_capacity(member.size() as usize);
        (&mut member)
            .take(limit + 1)
            .read_to_end(&mut data)
            .map_err(|e| not(format!("its member `{name}` cannot be read: {e}")))?;
        if data.len() as u64 > limit {
            return Err(too_large(data.len() as u64));
        }
        out.push((array.to_string(), data));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn archive(members: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        for (name, data) in members {
            zip.start_file(*name, options).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap();
        out.into_inner()
    }

    #[test]
    fn stored_and_deflated_members_are_read() {
        for method in [
            zip::CompressionMethod::Stored,
            zip::CompressionMethod::Deflated,
        ] {
            let bytes = archive(&[("x.npy", b"abc"), ("arr_1.npy", b"de")], method);
            let m = members(Path::new("s.npz"), &bytes, u64::MAX).unwrap();
            assert_eq!(m[0], ("x".to_string(), b"abc".to_vec()));
            assert_eq!(m[1], ("arr_1".to_string(), b"de".to_vec()));
        }
    }

    #[test]
    fn a_member_past_the_limit_is_refused_before_it_is_inflated_whole() {
        let zeros = vec![0u8; 1 << 20];
        let bytes = archive(&[("x.npy", &zeros)], zip::CompressionMethod::Deflated);
        assert!(bytes.len() < 8 << 10, "a small archive: {}", bytes.len());
        let err = members(Path::new("s.npz"), &bytes, 4096).unwrap_err();
        assert!(err.to_string().contains("s.npz"), "{err}");
        assert!(members(Path::new("s.npz"), &bytes, 1 << 20).is_ok());
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let err = members(Path::new("s.npz"), b"not a zip", u64::MAX).unwrap_err();
        assert!(err.to_string().contains("s.npz"), "{err}");
        let bytes = archive(&[("x.txt", b"abc")], zip::CompressionMethod::Stored);
        let err = members(Path::new("s.npz"), &bytes, u64::MAX).unwrap_err();
        assert!(err.to_string().contains("x.txt"), "{err}");
    }
}
