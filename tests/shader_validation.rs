//! Parses and validates every variant of every shader (rayseg::shader_variants::all,
//! made by rayseg::gpu::shader) with naga, so a shader typo, in any variant, fails
//! `cargo test` on any machine, GPU or not, with the variant's name and naga's message.
//! Also checks that every shaders/**/*.wgsl is a `Shader` that some variant builds.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rayseg::gpu::shader::Shader;

fn wgsl_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .path();
        if path.is_dir() {
            wgsl_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "wgsl") {
            out.push(path);
        }
    }
}

#[test]
fn every_variant_parses_and_validates() {
    let variants = rayseg::shader_variants::all();
    let mut failures = Vec::new();
    for variant in &variants {
        let name = variant.name();
        let source = match variant.source() {
            Ok(s) => s,
            Err(e) => {
                failures.push(e.to_string());
                continue;
            }
        };
        let path = format!("shaders/{name}");
        let module = match naga::front::wgsl::parse_str(&source) {
            Ok(m) => m,
            Err(e) => {
                failures.push(e.emit_to_string_with_path(&source, &path));
                continue;
            }
        };
        // All capabilities a device could grant: what a shader may use is gated by
        // device features at pipeline creation, not here.
        let mut validator = naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::all(),
        );
        if let Err(e) = validator.validate(&module) {
            failures.push(format!(
                "{name}: {}",
                e.emit_to_string_with_path(&source, &path)
            ));
        }
    }
    eprintln!("{} shader variants checked", variants.len());
    assert!(
        failures.is_empty(),
        "invalid shader variants:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_shader_file_is_built() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut files = Vec::new();
    wgsl_files(&root, &mut files);
    let on_disk: BTreeSet<String> = files
        .iter()
        .map(|p| p.strip_prefix(&root).unwrap().display().to_string())
        .collect();
    let known: BTreeSet<String> = Shader::ALL
        .iter()
        .map(|s| s.file_name().to_owned())
        .collect();
    assert_eq!(
        on_disk, known,
        "shaders/ and gpu::shader::Shader::ALL differ"
    );

    let built: BTreeSet<&str> = rayseg::shader_variants::all()
        .iter()
        .map(|v| v.shader.file_name())
        .collect();
    let unbuilt: Vec<&str> = Shader::ALL
        .iter()
        .map(|s| s.file_name())
        .filter(|f| !built.contains(f))
        .collect();
    assert!(unbuilt.is_empty(), "shaders no variant builds: {unbuilt:?}");
}

#[test]
fn variant_counts() {
    // selfcheck 1, mpr 3 opaque + 3 fusion overlay, brush 6, grow 10 threshold + 5 passes, mesh 1, and per
    // format a brick pass plus the raymarch keys (each but column DVR also with
    // the surface layer).
    let all = rayseg::shader_variants::all();
    let count = |shader: Shader| all.iter().filter(|v| v.shader == shader).count();
    assert_eq!(count(Shader::SelfCheck), 1);
    assert_eq!(count(Shader::Mpr), 6);
    assert_eq!(count(Shader::BrickMinmax), 3);
    assert_eq!(count(Shader::Brush), 6);
    assert_eq!(count(Shader::GrowThreshold), 10);
    assert_eq!(count(Shader::Mesh), 1);
    let surfaces = all
        .iter()
        .filter(|v| {
            v.shader == Shader::Raymarch
                && v.defs
                    .contains(&("SURFACES", rayseg::gpu::shader::DefValue::Bool(true)))
        })
        .count();
    assert!(
        surfaces >= 3 * 10,
        "{surfaces} raymarch variants with surfaces"
    );
    assert!(
        count(Shader::Raymarch) >= 3 * 10,
        "{}",
        count(Shader::Raymarch)
    );
}
