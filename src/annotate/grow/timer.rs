//! GPU timestamps of each grow pass (TIMESTAMP_QUERY), when the device has them.

use crate::gpu::GpuError;
use crate::gpu::readback::read_buffer;

/// A begin/end timestamp pair per compute pass, when the device has TIMESTAMP_QUERY.
pub(crate) struct Timer {
    queries: Option<(wgpu::QuerySet, wgpu::Buffer)>,
    passes: u32,
}

impl Timer {
    pub(crate) fn new(device: &wgpu::Device, passes: u32) -> Self {
        if !device.features().contains(wgpu::Features::TIMESTAMP_QUERY) || passes == 0 {
            return Timer {
                queries: None,
                passes,
            };
        }
        let set = device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("grow::timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count: 2 * passes,
        });
        let resolve = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("grow::timestamp_resolve"),
            size: u64::from(passes) * 16,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        Timer {
            queries: Some((set, resolve)),
            passes,
        }
    }

    /// Timestamp writes around pass number `pass`.
    pub(crate) fn writes(&self, pass: u32) -> Option<wgpu::ComputePassTimestampWrites<'_>> {
        let (set, _) = self.queries.as_ref()?;
        (pass < self.passes).then_some(wgpu::ComputePassTimestampWrites {
            query_set: set,
            beginning_of_pass_write_index: Some(2 * pass),
            end_of_pass_write_index: Some(2 * pass + 1),
        })
    }

    /// Milliseconds of passes `0..used`, or `None` without timestamps.
    pub(crate) fn read(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        used: u32,
    ) -> Result<Option<Vec<f64>>, GpuError> {
        let Some((set, resolve)) = &self.queries else {
            return Ok(None);
        };
        let used = used.min(self.passes);
        if used == 0 {
            return Ok(Some(Vec::new()));
        }
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("grow::timestamp_encoder"),
        });
        encoder.resolve_query_set(set, 0..2 * used, resolve, 0);
        queue.submit([encoder.finish()]);
        let bytes = read_buffer(device, queue, resolve, 0, u64::from(used) * 16)?;
        let tick = |n: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[8 * n..8 * n + 8]);
            u64::from_le_bytes(b)
        };
        let period_ns = f64::from(queue.get_timestamp_period());
        Ok(Some(
            (0..used as usize)
                .map(|p| tick(2 * p + 1).saturating_sub(tick(2 * p)) as f64 * period_ns / 1e6)
                .collect(),
        ))
    }
}
