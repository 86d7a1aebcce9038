//! The app driven through its accessible UI with egui_kittest on the wgpu renderer
//! (lavapipe in CI). Asserts on the document's mask voxels and statistics, not only pixels.
//! A missing GPU fails these tests: they never skip.

use std::time::{Duration, Instant};

use egui::{Event, Modifiers, PointerButton, Pos2, Vec2};
use egui_kittest::kittest::Queryable;
use egui_kittest::{Harness, SnapshotOptions};
use rayseg::annotate::grow::cpu::grow_cpu;
use rayseg::app::effects_panel::{Effect, EffectSettings};
use rayseg::app::gpu_callback::ViewKind;
use rayseg::app::loading::Source;
use rayseg::app::{AppConfig, RaysegApp, wgpu_setup};
use rayseg::volume::phantom::PhantomSpec;

/// A small noise-free phantom so the tests stay fast on two CPU cores.
fn small_sample() -> PhantomSpec {
    PhantomSpec {
        shape: [64, 48, 56],
        spacing_mm: [6.0; 3],
        seed: 1,
        noise_sd_hu: 0.0,
        supersample: 1,
    }
}

fn harness(size: Vec2) -> Harness<'static, RaysegApp> {
    let config = AppConfig {
        source: Source::Sample(small_sample()),
        screenshot: None,
        config_dir: None,
        draft_model: None,
        second: None,
    };
    let mut h = Harness::builder()
        .with_size(size)
        .wgpu_setup(wgpu_setup())
        .build_eframe(move |cc| RaysegApp::new(cc, config));
    assert_eq!(h.state().fatal_error(), None, "GPU self-check must pass");
    settle(&mut h);
    assert!(h.state().document().is_some(), "the sample did not load");
    h
}

/// Steps until loading, grow previews, GPU brush strokes and statistics are
/// done (workers are threads). Renders while busy: the views' `prepare`
/// records the queued brush strokes, as a real frame does.
fn settle(h: &mut Harness<'static, RaysegApp>) {
    let start = Instant::now();
    loop {
        h.step();
        if h.state().document().is_some() && !h.state().is_busy() {
            h.step();
            return;
        }
        h.render().expect("render");
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "app stayed busy for 60 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn view_centre(h: &Harness<'static, RaysegApp>, kind: ViewKind) -> Pos2 {
    RaysegApp::view_rect(&h.ctx, kind)
        .map(|r| r.center())
        .unwrap_or_else(|| panic!("{kind:?} view was not laid out"))
}

fn press(h: &mut Harness<'static, RaysegApp>, pos: Pos2, pressed: bool) {
    h.event(Event::PointerButton {
        pos,
        button: PointerButton::Primary,
        pressed,
        modifiers: Modifiers::NONE,
    });
    h.step();
}

fn move_to(h: &mut Harness<'static, RaysegApp>, pos: Pos2) {
    h.event(Event::PointerMoved(pos));
    h.step();
}

#[test]
fn brush_undo_grow_and_labels() {
    let mut h = harness(Vec2::new(1000.0, 640.0));

    // Brush: a short stroke across the axial view centre.
    h.get_by_label("Brush").click();
    h.step();
    let c = view_centre(&h, ViewKind::Axial);
    move_to(&mut h, c);
    press(&mut h, c, true);
    move_to(&mut h, c + Vec2::new(12.0, 0.0));
    move_to(&mut h, c + Vec2::new(24.0, 0.0));
    press(&mut h, c + Vec2::new(24.0, 0.0), false);
    settle(&mut h);

    let (painted, centre_label, stats_ml, voxel_ml) = {
        let doc = h.state().document().expect("document");
        let centre_ijk = h.state().viewer().map(|v| {
            let idx = doc.volume.index_from_ras(v.cursor_ras_mm).round();
            [idx.x as usize, idx.y as usize, idx.z as usize]
        });
        let painted = doc.count_label(1);
        let stats_ml = doc.stats.iter().find(|s| s.label == 1).map(|s| s.volume_ml);
        (
            painted,
            centre_ijk.and_then(|ijk| doc.label_at(ijk)),
            stats_ml,
            doc.volume.voxel_volume_mm3() / 1000.0,
        )
    };
    // The strokes were painted by the GPU kernel into the label texture and
    // copied back into the document's map.
    assert!(h.state().paints_on_gpu(), "the app must paint on the GPU");
    assert!(h.state().gpu_strokes() >= 2, "strokes recorded on the GPU");
    // Radius 5 mm on a 6 mm grid in 2-D: at least the voxel under each stroke point.
    assert!(painted >= 2, "brush painted {painted} voxels");
    assert_eq!(
        centre_label,
        Some(1),
        "voxel under the stroke start is labelled"
    );
    let stats_ml = stats_ml.expect("statistics row for label 1");
    assert!(
        (stats_ml - painted as f64 * voxel_ml).abs() < 1e-9,
        "stats {stats_ml} mL vs {painted} voxels"
    );

    // Undo removes the stroke; the statistics follow.
    h.key_press_modifiers(Modifiers::COMMAND, egui::Key::Z);
    settle(&mut h);
    {
        let doc = h.state().document().expect("document");
        assert_eq!(doc.count_label(1), 0, "undo must clear the stroke");
        assert!(doc.stats.is_empty(), "stats after undo: {:?}", doc.stats);
    }
    // Redo brings it back exactly.
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, egui::Key::Z);
    settle(&mut h);
    assert_eq!(
        h.state().document().map(|d| d.count_label(1)),
        Some(painted)
    );
    h.key_press_modifiers(Modifiers::COMMAND, egui::Key::Z);
    settle(&mut h);

    // Region grow from a click in the axial view: preview, then Accept. The app
    // grows on the GPU; the result is compared with the CPU reference below.
    assert!(h.state().grows_on_gpu(), "the app must grow on the GPU");
    assert!(
        h.state().grow_shares_renderer_image(),
        "the grower must read the renderer's image texture, not a second copy"
    );
    h.get_by_label("Region grow").click();
    h.step();
    let seed_pos = view_centre(&h, ViewKind::Axial);
    move_to(&mut h, seed_pos);
    press(&mut h, seed_pos, true);
    press(&mut h, seed_pos, false);
    settle(&mut h);
    let (preview_voxels, seed_ijk) = h
        .state()
        .document()
        .and_then(|d| d.grow_preview.as_ref().map(|p| (p.voxel_count, p.seed_ijk)))
        .expect("a grow preview after clicking a seed");
    assert!(preview_voxels > 0);
    h.get_by_label("Accept").click();
    settle(&mut h);
    {
        let app = h.state();
        let doc = app.document().expect("document");
        assert!(doc.grow_preview.is_none());
        // The accepted mask equals the engine's reference grow from the same seed.
        let grown = doc.count_label(1);
        assert_eq!(grown as u64, preview_voxels);
        let request = doc.grow_request(seed_ijk, &app.grow).expect("request");
        let mut expected = vec![0u8; doc.labels().len()];
        // Tolerance is relative to the seed value; all region voxels share the seed's HU here
        // (noise-free phantom, homogeneous tissue), so any region voxel reproduces it.
        grow_cpu(&doc.volume, &mut expected, &request).expect("reference grow");
        let differing = expected
            .iter()
            .zip(doc.labels())
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(
            differing, 0,
            "accepted region differs from the reference grow"
        );
        let stats = doc.stats.iter().find(|s| s.label == 1).expect("stats row");
        assert_eq!(stats.voxels, preview_voxels);
        assert!(stats.max_diameter_mm > 0.0);
        let v = doc.volume.value_at([
            seed_ijk[0] as usize,
            seed_ijk[1] as usize,
            seed_ijk[2] as usize,
        ]);
        assert!((stats.mean - v.unwrap_or(f64::NAN)).abs() <= app.grow.tolerance_hu);
    }

    // Add a label and rename it through its text field.
    h.get_by_label("Add label").click();
    settle(&mut h);
    assert_eq!(h.state().document().map(|d| d.active_label), Some(2));
    // The text field and its text both carry the value; the first is the editable field.
    h.get_all_by_value("Label 2")
        .next()
        .expect("name field")
        .focus();
    h.step();
    h.key_press_modifiers(Modifiers::COMMAND, egui::Key::A);
    h.step();
    h.event(Event::Text("Nodule".into()));
    settle(&mut h);
    let doc = h.state().document().expect("document");
    let names: Vec<&str> = doc
        .label_set()
        .labels
        .iter()
        .map(|l| l.name.as_str())
        .collect();
    assert_eq!(names, ["Lesion", "Nodule"]);

    // Code the active label from the terminology picker.
    h.get_by_value("None").click();
    settle(&mut h);
    h.get_by_label("Neoplasm (Morphologically Altered Structure)")
        .click();
    settle(&mut h);
    let doc = h.state().document().expect("document");
    let t = doc.label_set().get(2).and_then(|l| l.terminology.clone());
    let t = t.expect("terminology of the active label");
    assert_eq!(
        (t.category.value.as_str(), t.type_.value.as_str()),
        ("49755003", "108369006")
    );
    // The first label keeps none.
    assert!(doc.label_set().get(1).unwrap().terminology.is_none());
}

#[test]
fn layout_snapshot() {
    let mut h = harness(Vec2::new(800.0, 520.0));
    // Paint callbacks only run when rendering: render until all four views have images.
    let start = Instant::now();
    while h.state().gpu_frames() < 4 {
        h.step();
        h.render().expect("render");
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "views never rendered"
        );
    }
    h.step();
    assert_eq!(h.state().errors(), &[] as &[String]);
    // Lavapipe is deterministic; allow a handful of pixels for driver rounding.
    h.snapshot_options(
        "app_layout",
        &SnapshotOptions::new().threshold(0.6).max_failed_pixels(20),
    );
}

/// A stroke across the axial view, `dx` pixels right of its centre.
fn stroke(h: &mut Harness<'static, RaysegApp>, dx: f32) {
    let c = view_centre(h, ViewKind::Axial) + Vec2::new(dx, 0.0);
    move_to(h, c);
    press(h, c, true);
    move_to(h, c + Vec2::new(6.0, 0.0));
    press(h, c + Vec2::new(6.0, 0.0), false);
    settle(h);
}

#[test]
fn grow_from_seeds_and_effects_tools() {
    let mut h = harness(Vec2::new(1000.0, 640.0));
    h.get_by_label("Grow from seeds").click();
    h.step();
    // Seeds of label 1, then of a second label beside them: after the second
    // stroke the competition runs and its preview is shown.
    stroke(&mut h, 0.0);
    h.get_by_label("Add label").click();
    settle(&mut h);
    stroke(&mut h, 60.0);
    let (seed1, seed2) = {
        let doc = h.state().document().expect("document");
        let p = doc.seg.preview().expect("a grow-from-seeds preview");
        assert_eq!(p.tool, "seeds");
        assert!(p.voxel_count > 0);
        (doc.count_label(1), doc.count_label(2))
    };
    assert!(seed1 > 0 && seed2 > 0);
    h.get_by_label("Accept seeds").click();
    settle(&mut h);
    let (grown1, grown2) = {
        let doc = h.state().document().expect("document");
        assert!(doc.seg.preview().is_none());
        (doc.count_label(1), doc.count_label(2))
    };
    assert!(grown1 > seed1 && grown2 > seed2, "{grown1} {grown2}");
    // The accepted competition is one undoable edit.
    h.key_press_modifiers(Modifiers::COMMAND, egui::Key::Z);
    settle(&mut h);
    assert_eq!(
        h.state()
            .document()
            .map(|d| (d.count_label(1), d.count_label(2))),
        Some((seed1, seed2))
    );
    // Redo: the effects below work on the grown labels.
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, egui::Key::Z);
    settle(&mut h);

    // Each effect: Apply computes a preview, Accept commits it as one edit,
    // undo restores the map exactly.
    h.get_by_label("Effects").click();
    h.step();
    let effects = [
        (Effect::Margin, true),
        (Effect::Hollow, true),
        (Effect::Smooth, false),
        (Effect::FillHoles, false),
        (Effect::Islands, false),
        (Effect::Logical, true),
        (Effect::ThresholdMask, false),
        (Effect::Interpolate, false),
    ];
    for (effect, must_change) in effects {
        let before = h.state().document().expect("document").labels().to_vec();
        {
            let app = h.state_mut();
            // Effects may take other labels' voxels (the brush's setting).
            app.brush.overwrite_other_labels = true;
            app.effect = EffectSettings {
                effect,
                margin_mm: 6.0,
                hollow_mm: 6.0,
                smooth_mm: 6.0,
                with: 1,
                ..EffectSettings::default()
            };
        }
        // Lay the panel out for the new settings before clicking in it.
        h.step();
        h.step();
        // Label 2 is active (added last).
        h.get_by_label("Apply").click();
        settle(&mut h);
        let shown = h
            .state()
            .document()
            .expect("document")
            .seg
            .preview()
            .is_some();
        if shown {
            h.get_by_label("Accept effect").click();
            settle(&mut h);
        }
        let doc = h.state().document().expect("document");
        let after = doc.labels().to_vec();
        assert_eq!(h.state().errors(), &[] as &[String], "{effect:?}");
        if must_change {
            assert!(
                after != before,
                "{effect:?} changed nothing (preview {shown}, status {:?}, labels 1: {}, 2: {})",
                h.state().status(),
                doc.count_label(1),
                doc.count_label(2)
            );
        }
        let stats = doc
            .stats
            .iter()
            .find(|s| s.label == 2)
            .map_or(0, |s| s.voxels);
        assert_eq!(stats, doc.count_label(2) as u64, "{effect:?} statistics");
        if after != before {
            h.key_press_modifiers(Modifiers::COMMAND, egui::Key::Z);
            settle(&mut h);
            let undone = h.state().document().expect("document").labels().to_vec();
            assert!(undone == before, "{effect:?} undo");
        }
    }
}

#[test]
fn interpolate_button_fills_between_slices() {
    let mut h = harness(Vec2::new(1000.0, 640.0));
    h.get_by_label("Brush").click();
    h.step();
    stroke(&mut h, 0.0);
    let c = view_centre(&h, ViewKind::Axial);
    move_to(&mut h, c);
    for _ in 0..4 {
        h.key_press(egui::Key::PageDown);
        h.step();
    }
    stroke(&mut h, 0.0);
    let drawn = h.state().document().expect("document").count_label(1);
    h.get_by_label("Interpolate").click();
    settle(&mut h);
    h.get_by_label("Accept effect").click();
    settle(&mut h);
    let filled = h.state().document().expect("document").count_label(1);
    assert!(
        filled > drawn,
        "{filled} voxels after interpolation, {drawn} drawn"
    );
}
