//! Region growing on the GPU for the app: the grower's pipelines are built
//! once, the image is the renderer's own texture (published by the views'
//! `prepare`, so the app keeps one copy: 2 bytes per voxel for 16-bit data),
//! and each grow runs on a worker thread (it waits on the GPU, so never on the
//! UI thread). Before the views have rendered, the grower uploads its own copy.

use std::sync::{Arc, Mutex};

use crate::annotate::grow::{
    GrowImage, GrowOutcome, GrowRequest, PackedImage, RegionGrower, VoxelBits,
};
use crate::gpu::volume_texture::VolumeTexture;
use crate::volume::Volume;

/// The image in whichever form the grower reads fastest.
enum ImageOnGpu {
    Packed(PackedImage),
    Texture(VolumeTexture),
}

/// The renderer's image texture and the document volume id it belongs to.
pub type SharedImage = Arc<Mutex<Option<(u64, VolumeTexture)>>>;

pub struct GpuGrow {
    device: wgpu::Device,
    queue: wgpu::Queue,
    grower: RegionGrower,
    /// Set by the views' `prepare`.
    pub renderer_image: SharedImage,
    /// (pointer identity of the volume, its upload) when the renderer's is missing.
    image: Mutex<Option<(usize, ImageOnGpu)>>,
}

impl GpuGrow {
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue) -> Result<Arc<Self>, String> {
        let grower = RegionGrower::new(device).map_err(|e| e.to_string())?;
        Ok(Arc::new(GpuGrow {
            device: device.clone(),
            queue: queue.clone(),
            grower,
            renderer_image: SharedImage::default(),
            image: Mutex::new(None),
        }))
    }

    /// The region of `request` as a bitmask (`labels`, the document's map,
    /// only for the locks).
    pub fn grow_region(
        &self,
        volume: &Arc<Volume>,
        volume_id: u64,
        labels: &[u8],
        request: &GrowRequest,
    ) -> Result<(VoxelBits, GrowOutcome), String> {
        let (device, queue) = (&self.device, &self.queue);
        let shared = self
            .renderer_image
            .lock()
            .ok()
            .and_then(|s| s.as_ref().filter(|(id, _)| *id == volume_id).cloned());
        if let Some((_, texture)) = shared {
            // The renderer's copy: drop ours if an earlier grow made one.
            if let Ok(mut own) = self.image.lock() {
                *own = None;
            }
            return self.grow_with(GrowImage::Texture(&texture), volume, labels, request);
        }
        let key = Arc::as_ptr(volume) as usize;
        let mut cached = self
            .image
            .lock()
            .map_err(|_| "GPU grow cache poisoned".to_string())?;
        if cached.as_ref().is_none_or(|(k, _)| *k != key) {
            let upload =
                match PackedImage::upload(device, queue, volume).map_err(|e| e.to_string())? {
                    Some(p) => ImageOnGpu::Packed(p),
                    None => ImageOnGpu::Texture(
                        VolumeTexture::upload(device, queue, volume).map_err(|e| e.to_string())?,
                    ),
                };
            *cached = Some((key, upload));
        }
        let Some((_, image)) = cached.as_ref() else {
            return Err("no GPU copy of the image".into());
        };
        let image = match image {
            ImageOnGpu::Packed(p) => GrowImage::Packed(p),
            ImageOnGpu::Texture(t) => GrowImage::Texture(t),
        };
        self.grow_with(image, volume, labels, request)
    }

    fn grow_with(
        &self,
        image: GrowImage<'_>,
        volume: &Volume,
        labels: &[u8],
        request: &GrowRequest,
    ) -> Result<(VoxelBits, GrowOutcome), String> {
        let (device, queue) = (&self.device, &self.queue);
        if labels.len() != volume.voxel_count() {
            return Err(format!(
                "label map has {} voxels, the image {}",
                labels.len(),
                volume.voxel_count()
            ));
        }
        let locked = VoxelBits::locked(labels, volume.shape, &request.locked_bits)
            .map_err(|e| e.to_string())?;
        self.grower
            .grow_region(device, queue, image, locked.as_ref(), request)
            .map_err(|e| e.to_string())
    }
}
