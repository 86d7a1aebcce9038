//! App-level flows driven through the accessible UI with egui_kittest on the wgpu
//! renderer (lavapipe in CI): the unsaved-changes prompt and saving, drag-and-drop
//! opening, the recent-files list and restoring journaled edits after a crash. Each asserts on real state
//! (files on disk, the document's voxels, which dialog is shown), not only pixels.
//! A missing GPU fails these tests: they never skip.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::{Event, Modifiers, PointerButton, Pos2, Vec2, ViewportEvent, ViewportId};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use rayseg::annotate::label_files::{load_sidecar, sidecar_path};
use rayseg::app::gpu_callback::ViewKind;
use rayseg::app::loading::Source;
use rayseg::app::{AppConfig, RaysegApp, wgpu_setup};
use rayseg::volume::phantom::PhantomSpec;
use rayseg::volume::{LoadOptions, load};

type H = Harness<'static, RaysegApp>;

const SIZE: Vec2 = Vec2::new(1000.0, 640.0);

fn kmeans_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/nifti/itk_kmeans/KmeansTest_T1UCharRaw.nii.gz")
}

/// A small noise-free phantom so the tests stay fast on two CPU cores.
fn small_sample() -> Source {
    Source::Sample(PhantomSpec {
        shape: [64, 48, 56],
        spacing_mm: [6.0; 3],
        seed: 1,
        noise_sd_hu: 0.0,
        supersample: 1,
    })
}

fn harness(source: Source, config_dir: Option<PathBuf>) -> H {
    harness_with(source, config_dir, None)
}

fn harness_with(source: Source, config_dir: Option<PathBuf>, draft_model: Option<&str>) -> H {
    harness_config(AppConfig {
        source,
        screenshot: None,
        config_dir,
        draft_model: draft_model.map(str::to_owned),
        second: None,
    })
}

fn harness_config(config: AppConfig) -> H {
    harness_checked(config, true)
}

/// `accessibility_check`: false where the labels panel shows more than one
/// label: its per-label name fields and the review/terminology combo boxes
/// have no accessible names (not this test's subject).
fn harness_checked(config: AppConfig, accessibility_check: bool) -> H {
    let mut h = Harness::builder()
        .with_size(SIZE)
        .with_accessibility_check(accessibility_check)
        .wgpu_setup(wgpu_setup())
        .build_eframe(move |cc| RaysegApp::new(cc, config));
    assert_eq!(h.state().fatal_error(), None, "GPU self-check must pass");
    settle(&mut h);
    assert!(
        h.state().document().is_some(),
        "the first image did not load"
    );
    h
}

/// Steps until loading, grow previews, GPU brush strokes and statistics are
/// done; renders while busy so the views' `prepare` records queued strokes.
fn settle(h: &mut H) {
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

fn press(h: &mut H, pos: Pos2, pressed: bool) {
    h.event(Event::PointerButton {
        pos,
        button: PointerButton::Primary,
        pressed,
        modifiers: Modifiers::NONE,
    });
    h.step();
}

fn move_to(h: &mut H, pos: Pos2) {
    h.event(Event::PointerMoved(pos));
    h.step();
}

/// A short horizontal brush stroke in the axial view, `dy` points below its centre.
fn paint_stroke(h: &mut H, dy: f32) {
    h.get_by_label("Brush").click();
    h.step();
    let c = RaysegApp::view_rect(&h.ctx, ViewKind::Axial)
        .expect("axial view laid out")
        .center()
        + Vec2::new(0.0, dy);
    move_to(h, c);
    press(h, c, true);
    move_to(h, c + Vec2::new(12.0, 0.0));
    move_to(h, c + Vec2::new(24.0, 0.0));
    press(h, c + Vec2::new(24.0, 0.0), false);
    settle(h);
}

fn labels(h: &H) -> Vec<u8> {
    h.state().document().expect("document").labels().to_vec()
}

fn dirty(h: &H) -> bool {
    h.state().document().expect("document").dirty
}

/// The window manager's close button: a close request for the root viewport.
fn request_close(h: &mut H) {
    h.input_mut()
        .viewports
        .entry(ViewportId::ROOT)
        .or_default()
        .events
        .push(ViewportEvent::Close);
    h.step();
    h.step();
}

/// A file dropped on the window (egui 0.37's dropped files are trait objects; this is
/// what egui-winit's native one does).
#[derive(Debug)]
struct DroppedPath(PathBuf);

impl egui::DroppedFile for DroppedPath {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

fn drop_file(h: &mut H, path: &Path) {
    h.input_mut()
        .dropped_files
        .push(Arc::new(DroppedPath(path.to_path_buf())));
    h.step();
}

/// Types `text` into the (single-line) text field currently showing `current`.
fn replace_text(h: &mut H, current: &str, text: &str) {
    h.get_all_by_value(current)
        .next()
        .unwrap_or_else(|| panic!("no text field showing {current:?}"))
        .focus();
    h.step();
    h.key_press_modifiers(Modifiers::COMMAND, egui::Key::A);
    h.step();
    h.event(Event::Text(text.into()));
    h.step();
}

fn file_menu(h: &mut H, item: &str) {
    h.get_by_label("File").click();
    h.step();
    h.step();
    h.get_by_label(item).click();
    h.step();
    h.step();
}

/// The saved label map, read back with the engine's loader, as one label per voxel.
fn read_label_map(path: &Path) -> ([usize; 3], Vec<u8>) {
    let v = load(path, &LoadOptions::default()).expect("saved label map loads");
    let values = (0..v.voxel_count())
        .map(|n| v.data.get_f64(n).expect("voxel") as u8)
        .collect();
    (v.shape, values)
}

/// Voxels where two label maps differ (asserting on the count keeps failures readable).
fn differing(a: &[u8], b: &[u8]) -> usize {
    assert_eq!(a.len(), b.len(), "label maps of different sizes");
    a.iter().zip(b).filter(|(x, y)| x != y).count()
}

fn close_was_sent(h: &H) -> bool {
    h.output()
        .viewport_output
        .get(&ViewportId::ROOT)
        .is_some_and(|o| {
            o.commands
                .iter()
                .any(|c| matches!(c, egui::ViewportCommand::Close))
        })
}

const QUIT_PROMPT: &str = "The labels have unsaved changes. Save before quitting?";
const OPEN_PROMPT: &str = "The labels have unsaved changes. Save before opening another image?";

#[test]
fn unsaved_prompt_cancel_keeps_and_save_writes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("lesions.nii.gz");
    let mut h = harness(small_sample(), None);

    // A clean document quits without asking.
    request_close(&mut h);
    assert!(h.query_by_label(QUIT_PROMPT).is_none());

    paint_stroke(&mut h, 0.0);
    let first = labels(&h);
    assert!(first.iter().filter(|&&l| l == 1).count() >= 2);
    assert!(dirty(&h));

    // Choose the save path through File > "Save labels to path...".
    file_menu(&mut h, "Save labels to path...");
    replace_text(
        &mut h,
        "sample_labels.nii.gz",
        out.to_str().expect("utf-8 path"),
    );
    h.get_by_label("OK").click();
    settle(&mut h);
    assert!(out.exists() && sidecar_path(&out).exists());
    assert!(!dirty(&h), "saving clears the unsaved flag");
    assert_eq!(differing(&read_label_map(&out).1, &first), 0);

    // A second stroke, then the close button: the prompt appears.
    paint_stroke(&mut h, 30.0);
    let second = labels(&h);
    assert!(
        second.iter().filter(|&&l| l == 1).count() > first.iter().filter(|&&l| l == 1).count(),
        "the second stroke painted new voxels"
    );
    assert!(dirty(&h));
    request_close(&mut h);
    h.get_by_label(QUIT_PROMPT);
    h.get_by_label("Save");
    h.get_by_label("Discard");

    // Cancel: the prompt goes, the document and its unsaved edits stay, nothing is written.
    h.get_by_label("Cancel").click();
    h.step();
    h.step();
    assert!(
        h.query_by_label(QUIT_PROMPT).is_none(),
        "prompt still shown"
    );
    assert!(!close_was_sent(&h));
    assert_eq!(differing(&labels(&h), &second), 0);
    assert!(dirty(&h));
    assert_eq!(
        differing(&read_label_map(&out).1, &first),
        0,
        "Cancel must not save"
    );

    // Close again and Save: the map with both strokes and its sidecar are written, then the
    // app closes its window.
    request_close(&mut h);
    h.get_by_label(QUIT_PROMPT);
    h.get_by_label("Save").click();
    h.step();
    assert!(close_was_sent(&h), "Save in the quit prompt must then quit");
    assert!(!dirty(&h));
    let (shape, saved) = read_label_map(&out);
    assert_eq!(shape, [64, 48, 56]);
    assert_eq!(
        differing(&saved, &second),
        0,
        "saved map differs from the painted document"
    );
    let set = load_sidecar(&out)
        .expect("sidecar reads")
        .expect("sidecar exists");
    let names: Vec<&str> = set.labels.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["Lesion"]);
}

/// Never-saved labels: Save in the quit prompt asks for a path first; the
/// prompt waits behind that window and the quit goes on once the save worked.
#[test]
fn unsaved_prompt_save_asks_for_a_path_then_quits() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("first_save.nii.gz");
    let mut h = harness(small_sample(), None);
    paint_stroke(&mut h, 0.0);
    let painted = labels(&h);
    assert!(dirty(&h));

    request_close(&mut h);
    h.get_by_label(QUIT_PROMPT);
    h.get_by_label("Save").click();
    h.step();
    h.step();
    assert!(!close_was_sent(&h), "no path yet: nothing may quit");
    assert!(
        h.query_by_label(QUIT_PROMPT).is_none(),
        "the prompt waits behind the path window"
    );
    // The path field has the keyboard as soon as its window opens.
    let field = h
        .query_all_by_role(egui::accesskit::Role::TextInput)
        .find(|n| n.value().as_deref() == Some("sample_labels.nii.gz"))
        .expect("path field");
    assert!(
        field.is_focused(),
        "the path field should take the keyboard"
    );
    replace_text(
        &mut h,
        "sample_labels.nii.gz",
        out.to_str().expect("utf-8 path"),
    );
    assert!(
        h.query_all_by_value(out.to_str().expect("utf-8 path"))
            .next()
            .is_some(),
        "the typed path did not reach the field"
    );
    h.get_by_label("OK").click();
    h.step();
    // The close command is in the output of the frame that saved.
    assert!(close_was_sent(&h), "the quit goes on after the save");
    assert!(
        out.exists() && sidecar_path(&out).exists(),
        "map and sidecar written"
    );
    assert_eq!(differing(&read_label_map(&out).1, &painted), 0);
    assert!(!dirty(&h));
}

#[test]
fn unsaved_prompt_on_open_cancel_keeps_document() {
    let mut h = harness(small_sample(), None);
    paint_stroke(&mut h, 0.0);
    let painted = labels(&h);
    let volume_id = h.state().document().expect("document").volume_id;

    // Dropping another image while the labels are unsaved asks first.
    drop_file(&mut h, &kmeans_path());
    h.step();
    h.get_by_label(OPEN_PROMPT);
    h.get_by_label("Cancel").click();
    h.step();
    settle(&mut h);
    assert!(h.query_by_label(OPEN_PROMPT).is_none());
    let doc = h.state().document().expect("document");
    assert_eq!(doc.volume_id, volume_id, "Cancel must keep the document");
    assert_eq!(doc.volume.shape, [64, 48, 56]);
    assert_eq!(differing(doc.labels(), &painted), 0);
    assert!(doc.dirty);

    // Discard opens the dropped image.
    drop_file(&mut h, &kmeans_path());
    h.step();
    h.get_by_label("Discard").click();
    h.step();
    settle(&mut h);
    let doc = h.state().document().expect("document");
    assert_eq!(doc.volume.shape, [128, 128, 62]);
    assert_eq!(doc.image_path.as_deref(), Some(kmeans_path().as_path()));
}

#[test]
fn dropped_file_opens_and_is_remembered_in_recent_files() {
    let config = tempfile::tempdir().expect("tempdir");
    let dir = config.path().join("rayseg");
    let path = kmeans_path();
    let mut h = harness(small_sample(), Some(dir.clone()));
    assert!(
        !dir.join("recent.json").exists(),
        "the sample is not a file"
    );

    drop_file(&mut h, &path);
    settle(&mut h);
    {
        let doc = h.state().document().expect("document");
        assert_eq!(doc.image_path.as_deref(), Some(path.as_path()));
        assert_eq!(doc.volume.shape, [128, 128, 62]);
        assert!(!doc.dirty);
    }
    assert_eq!(h.state().errors(), &[] as &[String]);

    // Persisted under the config dir...
    let json = std::fs::read(dir.join("recent.json")).expect("recent.json written");
    let recent: rayseg::app::config::RecentFiles =
        serde_json::from_slice(&json).expect("recent.json parses");
    assert_eq!(recent.paths, std::slice::from_ref(&path));
    drop(h);

    // ...and a fresh app with the same config dir lists it under File > Recent; choosing it
    // opens it.
    let mut h = harness(small_sample(), Some(dir));
    h.get_by_label("File").click();
    h.step();
    h.step();
    h.get_by_label("Recent").hover();
    h.step();
    h.step();
    h.get_by_label("Recent").click();
    h.step();
    h.step();
    let label = path.display().to_string();
    h.get_by_label(&label).click();
    h.step();
    settle(&mut h);
    let doc = h.state().document().expect("document");
    assert_eq!(doc.image_path.as_deref(), Some(path.as_path()));
    assert_eq!(doc.volume.shape, [128, 128, 62]);
}

#[test]
fn unsaved_edits_are_journaled_and_offered_back_after_a_crash() {
    let config = tempfile::tempdir().expect("tempdir");
    let dir = config.path().join("rayseg");
    let path = kmeans_path();
    let source = || Source::Path {
        image: path.clone(),
        labels: None,
    };
    let mut h = harness(source(), Some(dir.clone()));
    assert!(h.query_by_label("Restore unsaved edits?").is_none());
    paint_stroke(&mut h, 0.0);
    let painted = labels(&h);
    assert!(painted.iter().filter(|&&l| l == 1).count() >= 2);
    // The stroke is on disk as soon as it ends: no autosave interval, no save.
    let journals: Vec<_> = std::fs::read_dir(dir.join("journals"))
        .expect("journal folder")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(journals.len(), 1, "{journals:?}");
    let replayed = rayseg::annotate::journal::replay(&journals[0], None).expect("journal");
    assert_eq!(differing(&replayed.labels, &painted), 0);
    drop(h); // a crash: the document was never saved

    // A new app on the same image and config dir offers the edits; Restore brings them back.
    let mut h = harness(source(), Some(dir.clone()));
    h.get_by_label("Restore unsaved edits?");
    assert!(
        labels(&h).iter().all(|&l| l == 0),
        "fresh map before restoring"
    );
    h.get_by_label("Restore").click();
    h.step();
    settle(&mut h);
    assert!(h.query_by_label("Restore unsaved edits?").is_none());
    assert_eq!(h.state().errors(), &[] as &[String]);
    let doc = h.state().document().expect("document");
    assert_eq!(
        differing(doc.labels(), &painted),
        0,
        "restored map differs from the painted one"
    );
    assert!(doc.dirty, "restored edits are unsaved");
    let names: Vec<&str> = doc
        .label_set()
        .labels
        .iter()
        .map(|l| l.name.as_str())
        .collect();
    assert_eq!(names, ["Lesion"]);
}

#[test]
fn nrrd_image_opens_with_a_slicer_segmentation() {
    // `rayseg view CTChest4.nrrd --labels Segmentation.seg.nrrd`: 3D Slicer's
    // formats (slicerio's test data), read by the same loader as every command.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/third_party");
    let seg = dir.join("Segmentation.seg.nrrd");
    let h = harness(
        Source::Path {
            image: dir.join("CTChest4.nrrd"),
            labels: Some(seg.clone()),
        },
        None,
    );
    assert_eq!(h.state().errors(), &[] as &[String]);
    let doc = h.state().document().expect("document");
    assert_eq!(doc.volume.shape, [128, 128, 34]);
    let (shape, want) = read_label_map(&seg);
    assert_eq!(shape, doc.volume.shape);
    assert_eq!(labels(&h), want);
    assert!(want.iter().filter(|&&l| l != 0).count() > 200_000);
}

/// "HU" appears only for CT: the k-means MR (NIfTI, no modality) shows plain
/// values in the grow and brush settings, and the CT sample shows HU.
#[test]
fn units_follow_the_modality() {
    let has_hu = |h: &H| {
        h.query_all_by(|n| {
            n.label().is_some_and(|l| l.contains("HU"))
                || n.value().is_some_and(|v| v.contains("HU"))
        })
        .next()
        .is_some()
    };
    let mut mr = harness(
        Source::Path {
            image: kmeans_path(),
            labels: None,
        },
        None,
    );
    mr.get_by_label("Region grow").click();
    settle(&mut mr);
    mr.get_by_label("Fixed bounds").click();
    settle(&mut mr);
    assert!(mr.query_all_by_label("Lower").next().is_some());
    assert!(!has_hu(&mr), "an MR image shows HU");
    mr.get_by_label("Brush").click();
    settle(&mut mr);
    mr.get_by_label("Limit to intensity range").click();
    settle(&mut mr);
    assert!(!has_hu(&mr), "an MR image shows HU");

    let mut ct = harness(small_sample(), None);
    ct.get_by_label("Region grow").click();
    settle(&mut ct);
    ct.get_by_label("Fixed bounds").click();
    settle(&mut ct);
    assert!(ct.query_all_by_label("Lower (HU)").next().is_some());
    assert!(has_hu(&ct), "the check finds HU where it is shown");
}

/// `view IMAGE --labels DRAFT --draft-model NAME`: the draft is the journal's
/// first entry after the image's, and the labels panel shows per label what
/// a person's stroke kept, removed and added.
#[test]
fn a_draft_opens_and_its_provenance_follows_the_edits() {
    let config = tempfile::tempdir().expect("tempdir");
    let dir = config.path().join("rayseg");
    let path = kmeans_path();
    let image = load(&path, &LoadOptions::default()).expect("image");
    let [ni, nj, nk] = image.shape;
    // The model proposes a block around the axial view's centre.
    let mut draft = vec![0u8; image.voxel_count()];
    for k in nk / 2 - 3..nk / 2 + 3 {
        for j in nj / 2 - 6..nj / 2 + 6 {
            for i in ni / 2 - 20..ni / 2 - 4 {
                draft[i + ni * (j + nj * k)] = 1;
            }
        }
    }
    let draft_path = config.path().join("draft.nii.gz");
    let mut set = rayseg::annotate::labels::LabelSet::default();
    set.labels
        .push(rayseg::annotate::labels::LabelInfo::new(1, "Tumour"));
    rayseg::annotate::label_formats::write_label_map(&draft_path, &draft, &set, &image, None)
        .expect("write draft");
    let source = Source::Path {
        image: path.clone(),
        labels: Some(draft_path.clone()),
    };
    let mut h = harness_with(source, Some(dir.clone()), Some("TestNet"));
    assert_eq!(h.state().errors(), &[] as &[String]);
    h.get_by_label("Draft: TestNet");
    h.get_by_label("Human edits since: 0");
    assert_eq!(labels(&h), draft, "the draft is the map");

    paint_stroke(&mut h, 0.0);
    let now = labels(&h);
    let doc = h.state().document().expect("document");
    let report = doc.seg.provenance().expect("provenance");
    assert_eq!(report.draft.model, "TestNet");
    assert_eq!(report.human_edits, 1);
    // Independent counts from the two maps.
    let count = |f: &dyn Fn(u8, u8) -> bool| {
        draft.iter().zip(&now).filter(|(d, c)| f(**d, **c)).count() as u64
    };
    let l = &report.labels[0];
    assert_eq!(l.label, 1);
    assert_eq!(l.proposed_voxels, count(&|d, _| d == 1));
    assert_eq!(l.kept_voxels, count(&|d, c| d == 1 && c == 1));
    assert_eq!(l.added_voxels, count(&|d, c| d != 1 && c == 1));
    assert!(
        l.added_voxels > 0,
        "the stroke added voxels outside the draft"
    );
    assert_eq!(l.human_edits, 1);
    let at = l.first_edit.clone().expect("edit time")[11..19].to_owned();
    h.step();
    h.step();
    h.get_by_label(&format!("Human edits since: 1, at {at}"));

    // On disk (the journal beside the opened map): the second entry is the
    // draft, with the file's hash.
    let journal = rayseg::annotate::journal::journal_path(&draft_path);
    let replayed = rayseg::annotate::journal::replay(&journal, None).expect("journal");
    let second = &replayed.entries[1];
    assert_eq!(second.tool.as_deref(), Some("draft"));
    assert_eq!(second.params["model"], "TestNet");
    use sha2::Digest;
    let sha = sha2::Sha256::digest(std::fs::read(&draft_path).unwrap());
    let hex: String = sha.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(second.params["file_sha256"], hex.as_str());
}

/// Two time points of one small synthetic patient: the second scan's grid is
/// the first's moved by `shift_mm` in scanner space (same voxels), so
/// moving_ras_from_fixed_ras is that translation. Lesion 1 shrinks, lesion 2
/// goes, lesion 3 is new. Returns (image 1, labels 1, image 2, labels 2,
/// transform JSON).
fn two_time_points(dir: &Path, shift_mm: glam::DVec3) -> [PathBuf; 5] {
    use glam::{DMat4, DVec3};
    use rayseg::volume::nifti::save_label_map;
    use rayseg::volume::{Modality, Volume, VoxelData};
    let shape = [40usize, 36, 30];
    let fixed_ras_from_voxel = DMat4::from_translation(DVec3::new(-60.0, -54.0, -45.0))
        * DMat4::from_scale(DVec3::splat(3.0));
    let n: usize = shape.iter().product();
    let grid = |m: DMat4| Volume::new(shape, VoxelData::U8(vec![0; n]), m, Modality::Mr);
    let fixed = grid(fixed_ras_from_voxel).expect("fixed grid");
    let moving = grid(DMat4::from_translation(shift_mm) * fixed_ras_from_voxel).expect("grid");
    // Anatomy by the first scan's RAS (mm): the same voxel arrays for both.
    let ras = |idx: usize| {
        let ijk = [
            idx % shape[0],
            (idx / shape[0]) % shape[1],
            idx / (shape[0] * shape[1]),
        ];
        fixed.ras_from_index(DVec3::new(ijk[0] as f64, ijk[1] as f64, ijk[2] as f64))
    };
    let ball = |p: DVec3, c: DVec3, r: f64| (p - c).length() <= r;
    let (c1, c2, c3) = (
        DVec3::new(6.0, 3.0, 0.0),
        DVec3::new(-30.0, 21.0, -12.0),
        DVec3::new(27.0, -24.0, 15.0),
    );
    let mut image = vec![0u8; n];
    let (mut labels1, mut labels2) = (vec![0u8; n], vec![0u8; n]);
    for idx in 0..n {
        let p = ras(idx);
        image[idx] = if ball(p, DVec3::ZERO, 50.0) { 60 } else { 5 };
        if ball(p, c1, 12.0) {
            image[idx] = 200;
            labels1[idx] = 1;
        }
        if ball(p, c1, 9.0) {
            labels2[idx] = 1;
        }
        if ball(p, c2, 6.0) {
            labels1[idx] = 2;
        }
        if ball(p, c3, 6.0) {
            labels2[idx] = 3;
        }
    }
    let paths = [
        "t1.nii.gz",
        "t1_labels.nii.gz",
        "t2.nii.gz",
        "t2_labels.nii.gz",
        "t2_from_t1.json",
    ]
    .map(|n| dir.join(n));
    save_label_map(&paths[0], &image, &fixed).expect("image 1");
    save_label_map(&paths[1], &labels1, &fixed).expect("labels 1");
    save_label_map(&paths[2], &image, &moving).expect("image 2");
    save_label_map(&paths[3], &labels2, &moving).expect("labels 2");
    let json = serde_json::json!({
        "moving_ras_from_fixed_ras": [
            [1.0, 0.0, 0.0, shift_mm.x],
            [0.0, 1.0, 0.0, shift_mm.y],
            [0.0, 0.0, 1.0, shift_mm.z],
            [0.0, 0.0, 0.0, 1.0],
        ],
    });
    std::fs::write(&paths[4], json.to_string()).expect("transform");
    paths
}

#[test]
fn second_time_point_side_by_side_fused_and_lesion_table() {
    use glam::DVec3;
    use rayseg::app::second_image::{CompareMode, SecondSource};
    let dir = tempfile::tempdir().expect("tempdir");
    let shift_mm = DVec3::new(9.0, -6.0, 12.0);
    let [image1, labels1, image2, labels2, transform] = two_time_points(dir.path(), shift_mm);
    let mut h = harness_checked(
        AppConfig {
            source: Source::Path {
                image: image1,
                labels: Some(labels1),
            },
            screenshot: None,
            config_dir: None,
            draft_model: None,
            second: Some(SecondSource {
                image: image2,
                labels: Some(labels2),
                transform: Some(transform),
                fused: false,
            }),
        },
        false,
    );
    settle(&mut h);
    assert_eq!(h.state().errors(), &[] as &[String]);
    let second = h.state().second().expect("second image loaded");
    assert_eq!(second.mode, CompareMode::SideBySide);
    let t = second
        .moving_ras_from_fixed_ras
        .transform_point3(DVec3::ZERO);
    assert!((t - shift_mm).length() < 1e-9, "transform read: {t}");

    // Side by side: the first image's axial view on the left, the second's on the right.
    let left = RaysegApp::view_rect(&h.ctx, ViewKind::Axial).expect("axial view");
    let right = RaysegApp::second_view_rect(&h.ctx).expect("second image's pane");
    assert!(left.max.x <= right.min.x && (left.width() - right.width()).abs() < 1.0);
    // The linked crosshair: the first image's point p shows at p + shift.
    let linked = |h: &H| {
        let cursor = h.state().viewer().expect("viewer").cursor_ras_mm;
        let s = h.state().second().expect("second");
        (cursor, s.cursor_ras_mm, s.cursor_voxel())
    };
    let (p, q, _) = linked(&h);
    assert!((q - (p + shift_mm)).length() < 1e-9, "{p} -> {q}");

    // A click in the second image moves both crosshairs (through the inverse),
    // onto the same anatomy: the same voxel of both scans (same voxel arrays).
    let target = right.center() + Vec2::new(-37.0, 23.0);
    move_to(&mut h, target);
    press(&mut h, target, true);
    press(&mut h, target, false);
    h.step();
    let (p2, q2, voxel2) = linked(&h);
    assert!((p2 - p).length() > 3.0, "the first image's crosshair moved");
    assert!((q2 - (p2 + shift_mm)).length() < 1e-9);
    let doc = h.state().document().expect("document");
    let voxel1 = doc.volume.index_from_ras(p2);
    assert!(
        (voxel1 - voxel2).length() < 1e-6,
        "same anatomy: first {voxel1}, second {voxel2}"
    );

    // Fused: the overlay's own colour map and opacity.
    h.get_by_label("Fused").click();
    h.step();
    h.step();
    assert_eq!(h.state().second().expect("second").mode, CompareMode::Fused);
    assert!(RaysegApp::view_rect(&h.ctx, ViewKind::Coronal).is_some());
    h.get_by_role_and_label(egui::accesskit::Role::Slider, "Fusion opacity")
        .set_value_accesskit(0.25);
    h.step();
    h.step();
    let opacity = h.state().second().expect("second").opacity;
    assert!((opacity - 0.25).abs() < 1e-6, "opacity {opacity}");
    let frames = h.state().gpu_frames();
    h.render().expect("render the fused views");
    assert!(
        h.state().gpu_frames() > frames,
        "the overlays were rendered"
    );
    assert_eq!(h.state().errors(), &[] as &[String], "no GPU errors");

    // The lesion table: lesion 1 shrank, 2 went, 3 is new: progression.
    h.get_by_label("Lesion table").click();
    // The tracker runs on a worker.
    for _ in 0..500 {
        h.step();
        if h.state().lesion_table().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    h.step();
    let table = h.state().lesion_table().expect("table").clone();
    let ids: Vec<u32> = table.rows.iter().map(|r| r.lesion_id).collect();
    assert_eq!(ids, [1, 2, 3]);
    let statuses: Vec<&str> = table.rows.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses[1..], ["gone", "new"]);
    assert!(
        statuses[0].starts_with('-'),
        "lesion 1 shrank: {}",
        statuses[0]
    );
    assert!(table.response.starts_with("PD"), "{}", table.response);
    for text in ["1 Label 1", "2 Label 2", "3 Label 3", "gone"] {
        h.get_by_label(text);
    }
    // Lesion 3's role and status.
    assert_eq!(h.get_all_by_label("new").count(), 2);
}
