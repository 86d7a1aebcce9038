//! Label surfaces for the 3-D view: a per-label mesh cache, rebuilt label by
//! label on a worker thread when edits change a label (the labels the
//! document's edits touched, [`Document::surfaces_due`]), each over its label's
//! box. The GPU side uploads a mesh when its id changes (see `gpu_callback`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, channel};

use glam::{DMat4, DVec3};

use super::state::Document;
use crate::annotate::document::change::gather;
use crate::annotate::mesh::{MeshOptions, SurfaceMesh, label_surface};
use crate::annotate::undo::VoxelBox;

/// Mesh ids, unique in the process (across documents: the GPU keeps meshes by id).
static NEXT_MESH_ID: AtomicU64 = AtomicU64::new(1);

/// One label's newest surface.
#[derive(Clone, Debug)]
pub struct LabelSurface {
    /// Unique per build: the GPU re-uploads when it changes.
    pub id: u64,
    pub mesh: Arc<SurfaceMesh>,
}

/// (volume id, statistics epoch) a job was started for, and its meshes per
/// label (`None`: the label has no surface).
type Reply = ((u64, u64), Vec<(u8, Option<SurfaceMesh>)>);

/// Meshes of the labels of one document, kept current label by label.
#[derive(Default)]
pub struct SurfaceCache {
    meshes: BTreeMap<u8, LabelSurface>,
    /// Labels changed since their mesh was built, waiting for the running job
    /// or the end of a stroke.
    due: BTreeSet<u8>,
    job: Option<Receiver<Reply>>,
    /// The document the meshes belong to: (volume id, statistics epoch, bumped
    /// when the segmentation is replaced).
    source: Option<(u64, u64)>,
    options: MeshOptions,
}

/// The box grown by one voxel on every side, within the grid.
fn with_margin(bx: &VoxelBox, shape: [usize; 3]) -> VoxelBox {
    VoxelBox {
        min: bx.min.map(|m| m.saturating_sub(1)),
        max: [0, 1, 2].map(|a| (bx.max[a] + 1).min(shape[a].saturating_sub(1))),
    }
}

/// `label`'s surface from the labels of `region` (cropped from the grid with
/// `ras_from_voxel`): RAS mm, as over the whole grid.
pub fn surface_in_box(
    cropped: &[u8],
    region: &VoxelBox,
    ras_from_voxel: DMat4,
    label: u8,
    options: &MeshOptions,
) -> SurfaceMesh {
    let origin = DVec3::new(
        region.min[0] as f64,
        region.min[1] as f64,
        region.min[2] as f64,
    );
    let ras_from_crop = ras_from_voxel * DMat4::from_translation(origin);
    label_surface(cropped, region.size(), ras_from_crop, label, options)
}

impl SurfaceCache {
    /// The current meshes, by label.
    pub fn meshes(&self) -> &BTreeMap<u8, LabelSurface> {
        &self.meshes
    }

    /// A job runs or labels wait for one.
    pub fn busy(&self) -> bool {
        self.job.is_some() || !self.due.is_empty()
    }

    /// Takes the labels `doc`'s edits changed, collects a finished job and
    /// starts the next (not during a stroke: its label changes until it ends).
    pub fn poll(&mut self, doc: &mut Document) {
        let source = (doc.volume_id, doc.stats_epoch);
        if self.source != Some(source) {
            // A new document or segmentation: every label with voxels.
            self.meshes.clear();
            self.job = None;
            self.due = (1..=255u8)
                .filter(|&l| doc.seg.voxel_count(l) > 0)
                .collect();
            self.source = Some(source);
        }
        self.due.append(&mut doc.surfaces_due);
        if let Some(rx) = &self.job
            && let Ok((from, built)) = rx.try_recv()
        {
            self.job = None;
            if Some(from) == self.source {
                for (label, mesh) in built {
                    match mesh {
                        Some(mesh) if !mesh.triangles.is_empty() => {
                            let id = NEXT_MESH_ID.fetch_add(1, Ordering::Relaxed);
                            let mesh = Arc::new(mesh);
                            self.meshes.insert(label, LabelSurface { id, mesh });
                        }
                        _ => {
                            self.meshes.remove(&label);
                        }
                    }
                }
            }
        }
        if self.job.is_some() || self.due.is_empty() || doc.in_stroke() {
            return;
        }
        let shape = doc.volume.shape;
        let mut work = Vec::new();
        for label in std::mem::take(&mut self.due) {
            match doc.seg.label_box(label) {
                Some(bx) => {
                    let region = with_margin(&bx, shape);
                    work.push((label, region, gather(doc.labels(), shape, &region)));
                }
                None => {
                    self.meshes.remove(&label);
                }
            }
        }
        if work.is_empty() {
            return;
        }
        let (tx, rx) = channel();
        let ras_from_voxel = doc.volume.ras_from_voxel;
        let options = self.options;
        std::thread::spawn(move || {
            let built = work
                .into_iter()
                .map(|(label, region, cropped)| {
                    let mesh = surface_in_box(&cropped, &region, ras_from_voxel, label, &options);
                    (label, Some(mesh))
                })
                .collect();
            let _ = tx.send((source, built));
        });
        self.job = Some(rx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::surfaces::mesh_bounds;
    use crate::volume::{Modality, Volume, VoxelData};

    /// Polls until the cache has nothing left to build (as the app does per frame).
    fn settle(cache: &mut SurfaceCache, doc: &mut Document) {
        let start = std::time::Instant::now();
        loop {
            // The app takes the changed labels for its statistics each frame.
            doc.take_stats_due();
            cache.poll(doc);
            if !cache.busy() {
                return;
            }
            assert!(start.elapsed().as_secs() < 60, "surfaces never finished");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Two balls: both built on a worker, in RAS mm as over the whole grid
    /// (the crop is undone); an edit of one rebuilds only that one.
    #[test]
    fn rebuilds_only_changed_labels_over_their_boxes() {
        let shape = [26usize, 20, 18];
        let n: usize = shape.iter().product();
        let ras_from_voxel = DMat4::from_cols_array(&[
            1.5, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 2.5, 0.0, 10.0, -20.0, 5.0, 1.0,
        ]);
        let volume = Volume::new(
            shape,
            VoxelData::I16(vec![0; n]),
            ras_from_voxel,
            Modality::Ct,
        )
        .expect("volume");
        let ball = |labels: &mut Vec<u8>, centre: [f64; 3], r: f64, label: u8| {
            for (at, l) in labels.iter_mut().enumerate() {
                let p = [
                    at % shape[0],
                    (at / shape[0]) % shape[1],
                    at / (shape[0] * shape[1]),
                ];
                let d2: f64 = (0..3).map(|a| (p[a] as f64 - centre[a]).powi(2)).sum();
                if d2 <= r * r {
                    *l = label;
                }
            }
        };
        let mut labels = vec![0u8; n];
        ball(&mut labels, [7.0, 10.0, 9.0], 4.0, 1);
        ball(&mut labels, [18.0, 9.0, 8.0], 3.0, 2);
        let mut doc = Document::new(volume, None);
        doc.set_labels(labels.clone(), None).expect("labels");
        let mut cache = SurfaceCache::default();
        settle(&mut cache, &mut doc);
        let ids = |cache: &SurfaceCache| [1u8, 2].map(|l| cache.meshes().get(&l).map(|s| s.id));
        let before = ids(&cache);
        assert!(before.iter().all(Option::is_some), "{before:?}");
        for label in [1u8, 2] {
            let cropped = &cache.meshes()[&label].mesh;
            let whole = label_surface(
                &labels,
                shape,
                ras_from_voxel,
                label,
                &MeshOptions::default(),
            );
            let (a, b) = (mesh_bounds(cropped), mesh_bounds(&whole));
            assert!(
                (a[0] - b[0]).abs().max_element() < 1e-3
                    && (a[1] - b[1]).abs().max_element() < 1e-3,
                "label {label}: cropped {a:?} vs whole grid {b:?}"
            );
        }
        // Grow label 2: only its surface is rebuilt.
        ball(&mut labels, [18.0, 9.0, 8.0], 4.0, 2);
        doc.set_labels(labels, None).expect("labels");
        settle(&mut cache, &mut doc);
        let after = ids(&cache);
        assert_eq!(after[0], before[0], "label 1 did not change");
        assert_ne!(after[1], before[1], "label 2 changed");
    }

    #[test]
    fn margins_stay_on_the_grid() {
        let bx = VoxelBox {
            min: [0, 3, 5],
            max: [9, 4, 5],
        };
        let m = with_margin(&bx, [10, 8, 6]);
        assert_eq!(m.min, [0, 2, 4]);
        assert_eq!(m.max, [9, 5, 5]);
    }
}
