//! GPU timestamps of the grow phases (TIMESTAMP_QUERY), when the device has them.

use crate::gpu::GpuError;
use crate::gpu::readback::read_buffer;

/// GPU timestamps around the two GPU phases, when the device has TIMESTAMP_QUERY.
pub(crate) struct Timer {
    queries: Option<(wgpu::QuerySet, wgpu::Buffer)>,
}

impl Timer {
    pub(crate) fn new(device: &wgpu::Device) -> Self {
        if !device.features().contains(wgpu::Features::TIMESTAMP_QUERY) {
            return Timer { queries: None };
        }
        let set = device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("grow::timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count: 4,
        });
        let resolve = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("grow::timestamp_resolve"),
            size: 4 * 8,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        Timer {
            queries: Some((set, resolve)),
        }
    }

    pub(crate) fn writes(
        &self,
        first: u32,
        begin: bool,
        end: bool,
    ) -> Option<wgpu::ComputePassTimestampWrites<'_>> {
        let (set, _) = self.queries.as_ref()?;
        if !begin && !end {
            return None;
        }
        Some(wgpu::ComputePassTimestampWrites {
            query_set: set,
            beginning_of_pass_write_index: begin.then_some(first),
            end_of_pass_write_index: end.then_some(first + 1),
        })
    }

    /// Milliseconds of the phase (0, 1) and, with `count` 4, of the phase (2, 3).
    pub(crate) fn read(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        count: u32,
    ) -> Result<(Option<f64>, Option<f64>), GpuError> {
        let Some((set, resolve)) = &self.queries else {
            return Ok((None, None));
        };
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("grow::timestamp_encoder"),
        });
        encoder.resolve_query_set(set, 0..count, resolve, 0);
        queue.submit([encoder.finish()]);
        let bytes = read_buffer(device, queue, resolve, 0, u64::from(count) * 8)?;
        let tick = |n: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[8 * n..8 * n + 8]);
            u64::from_le_bytes(b)
        };
        let period_ns = f64::from(queue.get_timestamp_period());
        let span = |a: usize| Some(tick(a + 1).saturating_sub(tick(a)) as f64 * period_ns / 1e6);
        Ok((span(0), if count == 4 { span(2) } else { None }))
    }
}
