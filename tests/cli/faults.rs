//! Faults from outside the data: what happens to `--output`, to inputs and
//! to the store when files are truncated, replaced or are not what they
//! seem, and when a run is interrupted or killed.

mod limits;
pub(crate) mod output;
mod store;
