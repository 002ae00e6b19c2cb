//! zstd frames with one compression and one decompression context per thread, for what is
//! stored compressed: an email's html and text (`emails::body`) and a request log's request
//! body (`logs`). Making a context (`ZSTD_createCCtx` / `ZSTD_createDCtx`) allocates and
//! clears its tables, which costs as much as compressing or decompressing a small body
//! (docs/performance.md, "Large messages: where a 50 KB message's CPU goes").

use std::cell::RefCell;

/// zstd's default level: on email-sized html and JSON it is no slower than level 1 and
/// compresses better (a 5 KB html in about 17 µs to 1.1 KB; docs/performance.md).
pub const LEVEL: i32 = 3;

thread_local! {
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// `plain` as one zstd frame at [`LEVEL`], with its content size; `None` if zstd fails.
/// The frame's buffer is its own size: zstd writes into one of the worst case's (a little
/// over `plain`'s), and a 50 KB html kept in a 50 KB buffer for its 7 KB frame until its
/// batch is stored held 21 MB at the peak of 64 clients sending batches (docs/performance.md).
pub fn compress(plain: &[u8]) -> Option<Vec<u8>> {
    let mut frame = COMPRESSOR
        .with(|cell| {
            let mut cell = cell.borrow_mut();
            let compressor = match cell.as_mut() {
                Some(compressor) => compressor,
                None => cell.insert(zstd::bulk::Compressor::new(LEVEL).ok()?),
            };
            compressor.compress(plain).ok()
        })
        .or_else(|| zstd::bulk::compress(plain, LEVEL).ok())?;
    frame.shrink_to_fit();
    Some(frame)
}

/// The content of a frame made by [`compress`]; an error (as text) for a frame that is
/// damaged, has no content size or claims more than `max` bytes.
pub fn decompress(frame: &[u8], max: usize) -> Result<Vec<u8>, String> {
    let size = zstd::zstd_safe::get_frame_content_size(frame)
        .ok()
        .flatten()
        .ok_or_else(|| "no content size".to_string())?;
    let size = usize::try_from(size)
        .ok()
        .filter(|&size| size <= max)
        .ok_or_else(|| format!("{size} bytes claimed"))?;
    DECOMPRESSOR
        .with(|cell| {
            let mut cell = cell.borrow_mut();
            let decompressor = match cell.as_mut() {
                Some(decompressor) => decompressor,
                None => cell.insert(zstd::bulk::Decompressor::new()?),
            };
            decompressor.decompress(frame, size)
        })
        .map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_read_back_and_damage_is_an_error() {
        let plain = b"{\"html\":\"<p>a newsletter</p>\"}".repeat(100);
        let frame = compress(&plain).unwrap();
        assert!(frame.len() < plain.len() / 10);
        assert_eq!(decompress(&frame, plain.len()).unwrap(), plain);
        assert!(decompress(&frame, plain.len() - 1).is_err());
        assert!(decompress(&frame[..frame.len() / 2], plain.len()).is_err());
        assert!(decompress(b"not zstd", 100).is_err());
    }
}
