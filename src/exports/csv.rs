//! CSV text an export writes: RFC 4180 quoting by the `csv` crate, and cells neutralised for
//! spreadsheets. A cell starting with `=`, `+`, `-` or `@` (or a tab or carriage return,
//! which some spreadsheets skip before reading a formula) would be run as a formula when the
//! file is opened ("CSV injection"); such a cell gets a leading `'`, which spreadsheets show
//! as text and do not display.

use std::borrow::Cow;

/// `cell`, made safe to open in a spreadsheet.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// Records written into a growing buffer, taken out a chunk at a time.
pub struct CsvBuf {
    writer: csv::Writer<Vec<u8>>,
}

fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::with_capacity(64 * 1024))
}

impl Default for CsvBuf {
    fn default() -> Self {
        Self { writer: writer() }
    }
}

impl CsvBuf {
    pub fn record(&mut self, cells: &[String]) -> std::io::Result<()> {
        let safe: Vec<Cow<'_, str>> = cells.iter().map(|c| neutralise(c)).collect();
        self.writer
            .write_record(safe.iter().map(|c| c.as_bytes()))
            .map_err(std::io::Error::other)
    }

    /// Bytes written so far and not taken.
    pub fn len(&mut self) -> usize {
        let _ = self.writer.flush();
        self.writer.get_ref().len()
    }

    pub fn is_empty(&mut self) -> bool {
        self.len() == 0
    }

    /// Everything written so far; the buffer starts again empty.
    pub fn take(&mut self) -> std::io::Result<Vec<u8>> {
        std::mem::replace(&mut self.writer, writer())
            .into_inner()
            .map_err(|err| std::io::Error::other(err.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        for bad in ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"] {
            assert_eq!(neutralise(bad), format!("'{bad}"));
        }
        for fine in ["", "a=b", "plain", "1-2", "'quoted"] {
            assert_eq!(neutralise(fine), fine);
        }
    }

    #[test]
    fn quoting_survives_commas_quotes_and_newlines() {
        let mut buf = CsvBuf::default();
        buf.record(&["id".into(), "name".into()]).unwrap();
        buf.record(&["1".into(), "Ann, \"the\"\nfirst".into()])
            .unwrap();
        buf.record(&["2".into(), "=HYPERLINK(\"x\")".into()])
            .unwrap();
        let text = String::from_utf8(buf.take().unwrap()).unwrap();
        assert_eq!(
            text,
            "id,name\n1,\"Ann, \"\"the\"\"\nfirst\"\n2,\"'=HYPERLINK(\"\"x\"\")\"\n"
        );
        assert!(buf.is_empty());
    }
}
