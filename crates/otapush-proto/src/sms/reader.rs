//! A bounds-checked cursor over a PDU that reports absolute octet offsets in its errors.

use super::SmsError;

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// The offset of the next octet.
    pub(crate) fn offset(&self) -> usize {
        self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, SmsError> {
        let b = *self.buf.get(self.pos).ok_or(SmsError::Truncated { field, offset: self.pos })?;
        self.pos += 1;
        Ok(b)
    }

    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], SmsError> {
        let end = self.pos.checked_add(n).ok_or(SmsError::Truncated { field, offset: self.pos })?;
        let s = self.buf.get(self.pos..end).ok_or(SmsError::Truncated { field, offset: self.pos })?;
        self.pos = end;
        Ok(s)
    }
}
