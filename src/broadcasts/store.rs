//! The `broadcasts` table.
