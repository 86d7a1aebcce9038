//! Segment-editor effects as pure functions on a label's mask in a box (one
//! module per kind, each with its CPU reference tests). The segmentation
//! document turns their result into an edit (`document::effects`).

pub mod components;
pub mod distance;
pub mod interpolate;
pub mod mask;
pub mod morphology;

use thiserror::Error;

/// Why an effect refused its parameters.
#[derive(Debug, Error)]
pub enum EffectError {
    #[error(transparent)]
    Morphology(#[from] morphology::MorphologyError),
    #[error(transparent)]
    Components(#[from] components::ComponentsError),
    #[error(transparent)]
    Interpolate(#[from] interpolate::InterpolateError),
    #[error(transparent)]
    Seeds(#[from] crate::annotate::seeds::SeedsError),
}
