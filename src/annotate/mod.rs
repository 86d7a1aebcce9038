//! Annotation: label maps on the GPU and the tools that edit them.

pub mod brush;
pub mod consensus;
pub mod document;
pub mod effects;
pub mod grow;
pub mod journal;
pub mod label_files;
pub mod label_formats;
pub mod label_volume;
pub mod labels;
pub mod mesh;
pub mod metrics;
pub mod palette;
pub mod provenance;
pub mod seeds;
pub mod stats;
pub mod terminology;
pub mod track;
pub mod undo;
