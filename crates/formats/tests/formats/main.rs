//! The formats crate's integration tests, one binary: the splat readers and writers against bombs,
//! real files and the ecosystem's tools, and the dataset readers against bad and real datasets.

mod dataset_errors;
mod dataset_real;
mod formats_ecosystem;
mod ply;
mod splat_bombs;
