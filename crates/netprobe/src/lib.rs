//! `netprobe`: filled in by its own issue; see the README for what works today.
#![deny(missing_docs)]
