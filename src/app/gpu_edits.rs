//! The app's brush on the GPU. A stroke segment is queued by the UI, recorded
//! by the next view's `prepare` into the renderer's label texture (so every
//! view draws it at once, with no upload), and its box is copied back
//! asynchronously; the UI applies those boxes, in order, to the document's CPU
//! copy, which undo, statistics and saving use. Actions that need the CPU copy
//! complete (undo, save, ending a stroke) wait until nothing is in flight,
//! which is a frame or two.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::annotate::brush::Brush;
use crate::annotate::brush::{BrushStroke, TextureStroke, label_texture_writable};
use crate::gpu::volume_texture::VolumeTexture;
use crate::render::labels::LabelTexture;
use crate::volume::Volume;

/// Strokes between the UI and `prepare`.
#[derive(Default)]
pub struct EditQueue {
    /// Queued by the UI, not yet recorded.
    to_encode: Vec<(u64, BrushStroke)>,
    /// Recorded (submitted with that frame), oldest first: (volume id, readback).
    in_flight: VecDeque<(u64, TextureStroke)>,
    /// Set when `prepare` could not record strokes; the UI then applies them on the CPU.
    failure: Option<String>,
    /// Strokes recorded so far (debug overlay).
    pub recorded: u64,
}

impl EditQueue {
    /// Strokes waiting for a `prepare` to record them.
    pub fn has_queued(&self) -> bool {
        !self.to_encode.is_empty() && self.failure.is_none()
    }
}

pub type SharedEdits = Arc<Mutex<EditQueue>>;

/// What [`GpuEdits::sync`] did.
#[derive(Debug, Default)]
pub struct Synced {
    pub strokes_applied: usize,
    pub voxels_changed: u64,
    /// Strokes that must now be applied on the CPU (the GPU path failed), and why.
    pub fallback: Option<(Vec<BrushStroke>, String)>,
}

/// The UI's handle: queue strokes, then poll and apply their results.
pub struct GpuEdits {
    device: wgpu::Device,
    pub shared: SharedEdits,
}

impl GpuEdits {
    /// None when the adapter cannot write the `r8uint` label texture.
    pub fn new(adapter: &wgpu::Adapter, device: &wgpu::Device) -> Option<Self> {
        label_texture_writable(adapter, device).then(|| GpuEdits {
            device: device.clone(),
            shared: SharedEdits::default(),
        })
    }

    pub fn submit(&self, volume_id: u64, stroke: BrushStroke) {
        if let Ok(mut q) = self.shared.lock() {
            q.to_encode.push((volume_id, stroke));
        }
    }

    /// Strokes queued or in flight.
    pub fn pending(&self) -> bool {
        self.shared
            .lock()
            .map(|q| !q.to_encode.is_empty() || !q.in_flight.is_empty())
            .unwrap_or(false)
    }

    pub fn recorded(&self) -> u64 {
        self.shared.lock().map(|q| q.recorded).unwrap_or(0)
    }

    /// Requests maps for newly submitted strokes, polls without waiting and
    /// applies finished boxes, in submission order, to the map of `volume_id`
    /// through the segmentation document's stroke record (which keeps each
    /// box's bricks as they were, for undo and the journal).
    pub fn sync(
        &self,
        volume_id: u64,
        seg: &mut crate::annotate::document::SegDocument,
    ) -> Result<Synced, String> {
        let shape = seg.shape();
        let mut out = Synced::default();
        let mut q = self
            .shared
            .lock()
            .map_err(|_| "GPU edit queue poisoned".to_string())?;
        if q.in_flight.is_empty() {
            take_fallback(&mut q, volume_id, &mut out);
            return Ok(out);
        }
        // Everything in flight was recorded by an earlier frame's prepare and
        // submitted with it, so mapping is allowed now.
        for (_, s) in &q.in_flight {
            s.request_map();
        }
        // A non-blocking poll; an error here means the device was lost.
        self.device
            .poll(wgpu::PollType::Poll)
            .map_err(|e| format!("GPU poll: {e}"))?;
        while let Some((_, front)) = q.in_flight.front() {
            match front.ready() {
                None => break,
                Some(Err(e)) => return Err(e.to_string()),
                Some(Ok(())) => {}
            }
            let Some((id, stroke)) = q.in_flight.pop_front() else {
                break;
            };
            if id == volume_id {
                let labels = seg.stroke_labels_mut(stroke.bounds);
                out.voxels_changed += stroke.apply_to(labels, shape).map_err(|e| e.to_string())?;
                out.strokes_applied += 1;
            }
        }
        if q.in_flight.is_empty() {
            take_fallback(&mut q, volume_id, &mut out);
        }
        Ok(out)
    }
}

/// After a failure, once the strokes already on the GPU are back, hands the
/// rest to the CPU (in order, so nothing is applied out of sequence).
fn take_fallback(q: &mut EditQueue, volume_id: u64, out: &mut Synced) {
    if let Some(why) = q.failure.clone() {
        let strokes = std::mem::take(&mut q.to_encode)
            .into_iter()
            .filter(|(id, _)| *id == volume_id)
            .map(|(_, s)| s)
            .collect();
        out.fallback = Some((strokes, why));
    }
}

/// Renderer side, called from `prepare`: records the queued strokes of
/// `volume_id` into `encoder`. Returns how many were recorded.
pub fn record_strokes(
    shared: &SharedEdits,
    brush: Result<&Brush, &str>,
    device: &wgpu::Device,
    encoder: &mut wgpu::CommandEncoder,
    (volume_id, volume): (u64, &Volume),
    image: &VolumeTexture,
    labels: &LabelTexture,
) -> usize {
    let Ok(mut q) = shared.lock() else {
        return 0;
    };
    if q.to_encode.is_empty() || q.failure.is_some() {
        return 0;
    }
    let brush = match brush {
        Ok(b) => b,
        Err(why) => {
            q.failure = Some(why.to_owned());
            return 0;
        }
    };
    let strokes = std::mem::take(&mut q.to_encode);
    let mut recorded = 0;
    let mut rest = Vec::new();
    for (id, stroke) in strokes {
        if id != volume_id {
            continue; // a stroke on a document that is gone
        }
        if q.failure.is_some() {
            rest.push((id, stroke));
            continue;
        }
        match brush.encode_on_texture(device, encoder, volume, image, labels, &stroke) {
            Ok(Some(readback)) => {
                q.in_flight.push_back((id, readback));
                recorded += 1;
            }
            Ok(None) => {}
            Err(e) => {
                q.failure = Some(format!("GPU brush: {e}"));
                rest.push((id, stroke));
            }
        }
    }
    q.to_encode = rest;
    q.recorded += recorded as u64;
    recorded
}
