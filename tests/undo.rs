//! Undo/redo: exact round trips, redo cleared by a new edit, and a 512³ map
//! with 200 brush edits kept within the byte budget.

use glam::{DMat4, DVec3};
use rayseg::annotate::brush::{BrushStroke, cpu::apply_stroke, stroke_bounds};
use rayseg::annotate::undo::{DEFAULT_UNDO_BUDGET_BYTES, UndoStack, VoxelBox};
use rayseg::volume::{Modality, Volume, VoxelData};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A random edit: a box of one label, or scattered voxels, anywhere.
fn random_edit(rng: &mut Rng, labels: &mut [u8], shape: [usize; 3]) {
    if rng.below(2) == 0 {
        let lo = shape.map(|n| rng.below(n as u64) as usize);
        let hi = [0, 1, 2].map(|a| (lo[a] + 1 + rng.below(20) as usize).min(shape[a]));
        let v = rng.below(256) as u8;
        for k in lo[2]..hi[2] {
            for j in lo[1]..hi[1] {
                for i in lo[0]..hi[0] {
                    labels[i + shape[0] * (j + shape[1] * k)] = v;
                }
            }
        }
    } else {
        for _ in 0..1 + rng.below(50) {
            let n = rng.below(labels.len() as u64) as usize;
            labels[n] = rng.below(256) as u8;
        }
    }
}

#[test]
fn undo_all_then_redo_all_is_exact() {
    let shape = [70, 45, 33]; // not multiples of the brick size
    let mut rng = Rng(7);
    let mut labels = vec![0u8; shape.iter().product()];
    random_edit(&mut rng, &mut labels, shape);
    let original = labels.clone();
    let mut stack = UndoStack::default();
    let mut states = vec![labels.clone()];
    for e in 0..40 {
        let before = labels.clone();
        random_edit(&mut rng, &mut labels, shape);
        if e % 2 == 0 {
            stack
                .record(&before, &labels, shape, &format!("edit {e}"))
                .unwrap();
        } else {
            // The same edit recorded from a snapshot of the whole grid.
            let snap = stack
                .snapshot(&before, shape, VoxelBox::whole(shape))
                .unwrap();
            stack.commit(snap, &labels, &format!("edit {e}")).unwrap();
        }
        states.push(labels.clone());
    }
    let final_state = labels.clone();
    let n = stack.undo_len();
    assert!(n >= 35, "only {n} edits changed something");
    for step in (0..n).rev() {
        let applied = stack.undo(&mut labels).unwrap().expect("an undo step");
        assert!(applied.description.starts_with("edit"));
        assert!(
            states.contains(&labels),
            "undo step {step} gave an unknown state"
        );
    }
    assert_eq!(labels, original);
    assert!(stack.undo(&mut labels).unwrap().is_none());
    while stack.redo(&mut labels).unwrap().is_some() {}
    assert_eq!(labels, final_state);
}

#[test]
fn a_new_edit_clears_redo() {
    let shape = [40, 40, 40];
    let mut labels = vec![0u8; 64000];
    let mut stack = UndoStack::new(1 << 20);
    let before = labels.clone();
    labels[100] = 1;
    assert!(stack.record(&before, &labels, shape, "a").unwrap());
    let before = labels.clone();
    labels[200] = 2;
    stack.record(&before, &labels, shape, "b").unwrap();
    assert_eq!(stack.undo(&mut labels).unwrap().unwrap().description, "b");
    assert_eq!(stack.redo_len(), 1);
    let used_with_redo = stack.bytes_used();
    let before = labels.clone();
    labels[300] = 3;
    stack.record(&before, &labels, shape, "c").unwrap();
    assert_eq!(stack.redo_len(), 0);
    assert!(stack.redo(&mut labels).unwrap().is_none());
    assert!(stack.bytes_used() <= used_with_redo + 200);
    assert_eq!(stack.undo(&mut labels).unwrap().unwrap().description, "c");
    assert_eq!(stack.undo(&mut labels).unwrap().unwrap().description, "a");
    assert!(labels.iter().all(|&x| x == 0));
    // Nothing changed: nothing recorded.
    assert!(
        !stack
            .record(&labels.clone(), &labels, shape, "noop")
            .unwrap()
    );
}

#[test]
fn map_512_cubed_with_200_brush_edits_stays_within_budget() {
    let shape = [512, 512, 512];
    // 1 mm voxels; without an intensity range only the geometry matters.
    let image = Volume::new(
        shape,
        VoxelData::U8(vec![0; 512 * 512 * 512]),
        DMat4::IDENTITY,
        Modality::Ct,
    )
    .unwrap();
    let mut labels = vec![0u8; 512 * 512 * 512];
    let mut rng = Rng(99);
    let mut big = UndoStack::new(DEFAULT_UNDO_BUDGET_BYTES);
    let small_budget = 256 << 10;
    let mut small = UndoStack::new(small_budget);
    let started = std::time::Instant::now();
    for e in 0..200 {
        let a = DVec3::new(
            rng.below(512) as f64,
            rng.below(512) as f64,
            rng.below(512) as f64,
        );
        let b = a + DVec3::new(rng.below(40) as f64, rng.below(40) as f64, 0.0) - 20.0;
        let stroke = BrushStroke::paint(vec![a, b], 4.0 + rng.below(12) as f64, 1 + (e % 5) as u8);
        let region = stroke_bounds(&stroke, shape, &image.ras_from_voxel)
            .unwrap()
            .expect("stroke inside the grid");
        // Only the bricks the stroke can touch are copied and compared.
        let snap_big = big.snapshot(&labels, shape, region).unwrap();
        let snap_small = small.snapshot(&labels, shape, region).unwrap();
        apply_stroke(&image, &mut labels, &stroke).unwrap();
        assert!(big.commit(snap_big, &labels, "brush").unwrap());
        small.commit(snap_small, &labels, "brush").unwrap();
        assert!(small.bytes_used() <= small_budget);
    }
    let elapsed = started.elapsed();
    eprintln!(
        "200 edits in {elapsed:?}: default budget {} edits, {} bytes; {small_budget}-byte budget {} edits, {} bytes",
        big.undo_len(),
        big.bytes_used(),
        small.undo_len(),
        small.bytes_used()
    );
    assert_eq!(big.undo_len(), 200, "all 200 edits fit the default budget");
    assert!(big.bytes_used() <= DEFAULT_UNDO_BUDGET_BYTES);
    assert!(
        small.undo_len() < 200,
        "the small budget dropped the oldest edits"
    );
    assert!(small.undo_len() > 10);
    // Undo what the small stack holds, then everything the default one holds.
    let mut partial = labels.clone();
    while small.undo(&mut partial).unwrap().is_some() {}
    assert_ne!(partial, labels);
    while big.undo(&mut labels).unwrap().is_some() {}
    assert!(labels.iter().all(|&x| x == 0));
}
