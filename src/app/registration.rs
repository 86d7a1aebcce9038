//! Every use of registration by the app, behind one seam: reading a transform
//! file and the "Register" action's worker. Transforms are
//! `moving_ras_from_fixed_ras` (ITK's convention: a point of the first, fixed
//! image in RAS mm to the same anatomy in the second, moving image).
//!

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, channel};

use glam::DMat4;

use crate::volume::Volume;

/// What registration found.
#[derive(Clone, Debug, PartialEq)]
pub struct Registered {
    pub moving_ras_from_fixed_ras: DMat4,
    pub final_metric: f64,
}

/// Reads a transform file: rayseg's JSON or an ITK .tfm (see `rayseg::register`).
pub fn read_transform(path: &Path) -> Result<DMat4, String> {
    crate::register::read_transform(path).map_err(|e| e.to_string())
}

/// Registers the second image to the first: rigid, Mattes mutual
/// information, so another modality or contrast phase works too.
pub fn register_volumes(fixed: &Volume, moving: &Volume) -> Result<Registered, String> {
    let reg =
        crate::register::register(fixed, moving, &crate::register::RegisterOptions::default())
            .map_err(|e| e.to_string())?;
    Ok(Registered {
        moving_ras_from_fixed_ras: reg.moving_ras_from_fixed_ras,
        final_metric: reg.final_metric,
    })
}

/// A registration running on a worker thread.
pub struct RegisterJob {
    rx: Receiver<Result<Registered, String>>,
}

impl RegisterJob {
    pub fn start(fixed: Arc<Volume>, moving: Arc<Volume>) -> Self {
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let _ = tx.send(register_volumes(&fixed, &moving));
        });
        RegisterJob { rx }
    }

    /// `Some` once done (or the worker died).
    pub fn poll(&self) -> Option<Result<Registered, String>> {
        match self.rx.try_recv() {
            Ok(r) => Some(r),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                Some(Err("registration stopped unexpectedly".into()))
            }
        }
    }
}
