//! WGSL shaders and their variants, all made by one mechanism.
//!
//! Every file under shaders/ is a [`Shader`]. A shader may name *shader defs*, to
//! which a [`Variant`] gives values; naga_oil's preprocessor applies them:
//!
//! - `#if NAME == value`, `#else if NAME == value`, `#else` and `#endif` keep or
//!   drop lines: for what a pipeline-overridable constant cannot vary, such as a
//!   texture's sample type or a binding's type;
//! - `#{NAME}` is replaced by the value (`true`/`false` or a decimal integer): for
//!   constants the driver must see as literals (`override` constants were not
//!   folded out of the raymarch loop by lavapipe 22.3).
//!
//! The preprocessed text, which keeps every line where it was, goes to wgpu as
//! WGSL. [`Variant::source`] refuses a variant that gives a def its shader never
//! names, a shader that names a def the variant does not give (naga_oil rejects
//! `#if` on an unknown def; a `#{NAME}` left over is caught here), and any other
//! directive (`#ifdef`/`#ifndef` would read a misspelt def as absent, `#define` and
//! `#import` need naga_oil's composer, which these shaders do not use).
//! [`crate::shader_variants::all`] lists every variant the crate builds, and
//! tests/shader_validation.rs parses and validates each one with naga.
//!
//! The volume's texel type is the def `FORMAT` in every shader that reads the
//! volume texture: see [`format_def`].

use std::fmt;
use std::sync::LazyLock;

use naga_oil::compose::preprocess::Preprocessor;
use naga_oil::compose::{ComposerErrorInner, ShaderDefValue};
use thiserror::Error;

use crate::gpu::volume_texture::VolumeFormat;

/// A WGSL file under shaders/.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shader {
    SelfCheck,
    Mpr,
    Raymarch,
    BrickMinmax,
    Brush,
    GrowThreshold,
    GrowRuns,
    GrowUnion,
    GrowFlatten,
    GrowSeeds,
    GrowWrite,
    Mesh,
}

impl Shader {
    /// Every shader, one per file under shaders/.
    pub const ALL: [Shader; 12] = [
        Shader::SelfCheck,
        Shader::Mpr,
        Shader::Raymarch,
        Shader::BrickMinmax,
        Shader::Brush,
        Shader::GrowThreshold,
        Shader::GrowRuns,
        Shader::GrowUnion,
        Shader::GrowFlatten,
        Shader::GrowSeeds,
        Shader::GrowWrite,
        Shader::Mesh,
    ];

    /// The file's name under shaders/.
    pub fn file_name(self) -> &'static str {
        match self {
            Shader::SelfCheck => "selfcheck.wgsl",
            Shader::Mpr => "mpr.wgsl",
            Shader::Raymarch => "raymarch.wgsl",
            Shader::BrickMinmax => "brick_minmax.wgsl",
            Shader::Brush => "brush.wgsl",
            Shader::GrowThreshold => "grow_threshold.wgsl",
            Shader::GrowRuns => "grow_runs.wgsl",
            Shader::GrowUnion => "grow_union.wgsl",
            Shader::GrowFlatten => "grow_flatten.wgsl",
            Shader::GrowSeeds => "grow_seeds.wgsl",
            Shader::GrowWrite => "grow_write.wgsl",
            Shader::Mesh => "mesh.wgsl",
        }
    }

    /// The file's text, as built into the crate (before preprocessing).
    pub fn text(self) -> &'static str {
        match self {
            Shader::SelfCheck => include_str!("../../shaders/selfcheck.wgsl"),
            Shader::Mpr => include_str!("../../shaders/mpr.wgsl"),
            Shader::Raymarch => include_str!("../../shaders/raymarch.wgsl"),
            Shader::BrickMinmax => include_str!("../../shaders/brick_minmax.wgsl"),
            Shader::Brush => include_str!("../../shaders/brush.wgsl"),
            Shader::GrowThreshold => include_str!("../../shaders/grow_threshold.wgsl"),
            Shader::GrowRuns => include_str!("../../shaders/grow_runs.wgsl"),
            Shader::GrowUnion => include_str!("../../shaders/grow_union.wgsl"),
            Shader::GrowFlatten => include_str!("../../shaders/grow_flatten.wgsl"),
            Shader::GrowSeeds => include_str!("../../shaders/grow_seeds.wgsl"),
            Shader::GrowWrite => include_str!("../../shaders/grow_write.wgsl"),
            Shader::Mesh => include_str!("../../shaders/mesh.wgsl"),
        }
    }
}

/// Every volume texture format, in the order of their [`format_def`] values.
pub const FORMATS: [VolumeFormat; 3] = [VolumeFormat::I16, VolumeFormat::F32, VolumeFormat::U8Pair];

/// The value of the def `FORMAT` for a volume texture of `format`: 0 `r16sint`
/// (`texture_3d<i32>`), 1 `r32float` (`texture_3d<f32>`), 2 `rg8uint` voxel pairs
/// (`texture_3d<u32>`, the voxel in x).
pub const fn format_def(format: VolumeFormat) -> u32 {
    match format {
        VolumeFormat::I16 => 0,
        VolumeFormat::F32 => 1,
        VolumeFormat::U8Pair => 2,
    }
}

/// The value of a shader def.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefValue {
    Bool(bool),
    UInt(u32),
}

impl From<bool> for DefValue {
    fn from(v: bool) -> Self {
        DefValue::Bool(v)
    }
}

impl From<u32> for DefValue {
    fn from(v: u32) -> Self {
        DefValue::UInt(v)
    }
}

impl fmt::Display for DefValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DefValue::Bool(v) => write!(f, "{v}"),
            DefValue::UInt(v) => write!(f, "{v}"),
        }
    }
}

/// Why a shader variant could not be made.
#[derive(Debug, Error)]
pub enum ShaderError {
    #[error("shader variant {variant}: the def {def} is given but shaders/{file} never names it")]
    UnusedDef {
        variant: String,
        file: &'static str,
        def: &'static str,
    },
    #[error(
        "shader variant {variant}: shaders/{file} line {line} names the def {def}, which is not given"
    )]
    MissingDef {
        variant: String,
        file: &'static str,
        line: usize,
        def: String,
    },
    #[error(
        "shaders/{file} line {line}: unsupported directive {directive:?} (only #if NAME op value, \
         #else if, #else, #endif and #{{NAME}})"
    )]
    UnsupportedDirective {
        file: &'static str,
        line: usize,
        directive: String,
    },
    #[error("shader variant {variant}: shaders/{file} line {line}: {message}")]
    Preprocess {
        variant: String,
        file: &'static str,
        line: usize,
        message: String,
    },
}

/// A shader with values for the defs it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variant {
    pub shader: Shader,
    pub defs: Vec<(&'static str, DefValue)>,
}

static PREPROCESSOR: LazyLock<Preprocessor> = LazyLock::new(Preprocessor::default);

impl Variant {
    /// `shader` with no defs given yet.
    pub fn new(shader: Shader) -> Self {
        Variant {
            shader,
            defs: Vec::new(),
        }
    }

    /// Gives the def `name` the value `value`.
    pub fn with(mut self, name: &'static str, value: impl Into<DefValue>) -> Self {
        self.defs.push((name, value.into()));
        self
    }

    /// `file.wgsl` or `file.wgsl[NAME=value,...]`, for labels and messages.
    pub fn name(&self) -> String {
        let file = self.shader.file_name();
        if self.defs.is_empty() {
            return file.to_owned();
        }
        let defs: Vec<String> = self.defs.iter().map(|(n, v)| format!("{n}={v}")).collect();
        format!("{file}[{}]", defs.join(","))
    }

    /// The WGSL of this variant: the shader with its defs applied (see the module
    /// documentation for what is refused).
    pub fn source(&self) -> Result<String, ShaderError> {
        let file = self.shader.file_name();
        let text = self.shader.text();
        let named = named_defs(file, text)?;
        for &(def, _) in &self.defs {
            if !named.contains(&def) {
                return Err(ShaderError::UnusedDef {
                    variant: self.name(),
                    file,
                    def,
                });
            }
        }
        let defs = self
            .defs
            .iter()
            .map(|&(n, v)| {
                let v = match v {
                    DefValue::Bool(b) => ShaderDefValue::Bool(b),
                    DefValue::UInt(u) => ShaderDefValue::UInt(u),
                };
                (n.to_owned(), v)
            })
            .collect();
        let out = PREPROCESSOR.preprocess(text, &defs).map_err(|e| {
            let line = error_offset(&e).map_or(0, |pos| line_of(text, pos));
            match e {
                ComposerErrorInner::UnknownShaderDef {
                    shader_def_name, ..
                } => ShaderError::MissingDef {
                    variant: self.name(),
                    file,
                    line,
                    def: shader_def_name,
                },
                e => ShaderError::Preprocess {
                    variant: self.name(),
                    file,
                    line,
                    message: e.to_string(),
                },
            }
        })?;
        let source = out.preprocessed_source;
        // naga_oil leaves a `#{NAME}` whose def is not given as it is.
        for (n, line) in source.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if let Some(at) = code.find("#{") {
                let def = code[at + 2..].split('}').next().unwrap_or_default();
                return Err(ShaderError::MissingDef {
                    variant: self.name(),
                    file,
                    line: n + 1,
                    def: def.to_owned(),
                });
            }
        }
        Ok(source)
    }
}

/// The 1-based line holding byte `pos` of `text`.
fn line_of(text: &str, pos: usize) -> usize {
    let pos = pos.min(text.len());
    text.as_bytes()[..pos]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn error_offset(e: &ComposerErrorInner) -> Option<usize> {
    use ComposerErrorInner as E;
    match e {
        E::NotEnoughEndIfs(pos)
        | E::TooManyEndIfs(pos)
        | E::ElseWithoutCondition(pos)
        | E::UnknownShaderDefOperator { pos, .. }
        | E::UnknownShaderDef { pos, .. }
        | E::InvalidShaderDefComparisonValue { pos, .. } => Some(*pos),
        _ => None,
    }
}

/// The defs `text` names (in `#if`/`#else if` lines and as `#{NAME}`, outside
/// `//` comments); fails on any other directive.
fn named_defs<'a>(file: &'static str, text: &'a str) -> Result<Vec<&'a str>, ShaderError> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut names = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("#{") {
            rest = &rest[at + 2..];
            let name = rest.split('}').next().unwrap_or_default();
            names.push(name);
        }
        let Some(directive) = code.trim_start().strip_prefix('#') else {
            continue;
        };
        if directive.starts_with('{') {
            continue;
        }
        let directive = directive.trim_start();
        let after_else = directive
            .strip_prefix("else")
            .filter(|r| r.is_empty() || r.starts_with(char::is_whitespace))
            .map(str::trim_start);
        let cond = match after_else {
            Some("") => continue,
            Some(r) => r,
            None if directive.trim_end() == "endif" => continue,
            None => directive,
        };
        let Some(name) = cond
            .strip_prefix("if")
            .filter(|r| r.starts_with(char::is_whitespace))
            .map(|r| r.trim_start())
            .map(|r| &r[..r.find(|c: char| !is_name(c)).unwrap_or(r.len())])
            .filter(|name| !name.is_empty())
        else {
            return Err(ShaderError::UnsupportedDirective {
                file,
                line: n + 1,
                directive: line.trim().to_owned(),
            });
        };
        names.push(name);
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_directives() {
        let text = "a\n#if A == 1\nx #{B} y\n#else if C == true\n#else\n#endif // ok\n";
        assert_eq!(named_defs("t", text).unwrap(), ["A", "B", "C"]);
        for bad in ["#ifdef A", "#define A 1", "#import x", "  # else ifndef A"] {
            assert!(
                matches!(
                    named_defs("t", bad),
                    Err(ShaderError::UnsupportedDirective { line: 1, .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn every_def_is_checked() {
        let mpr = Variant::new(Shader::Mpr)
            .with("FORMAT", 1u32)
            .with("OVERLAY", false);
        let source = mpr.source().unwrap();
        assert!(source.contains("texture_3d<f32>"), "{source}");
        assert!(!source.contains("texture_3d<i32>"));

        let unused = mpr.clone().with("MODE", 1u32);
        let e = unused.source().unwrap_err();
        assert!(
            matches!(e, ShaderError::UnusedDef { def: "MODE", .. }),
            "{e}"
        );

        let e = Variant::new(Shader::Mpr)
            .with("OVERLAY", false)
            .source()
            .unwrap_err();
        assert!(
            matches!(&e, ShaderError::MissingDef { def, .. } if def == "FORMAT"),
            "{e}"
        );
        assert!(e.to_string().contains("mpr.wgsl line"), "{e}");

        // A `#{NAME}` without its def.
        let e = Variant::new(Shader::GrowThreshold)
            .with("IMAGE", 0u32)
            .source()
            .unwrap_err();
        assert!(
            matches!(&e, ShaderError::MissingDef { def, .. } if def == "LOCKS"),
            "{e}"
        );
    }

    #[test]
    fn lines_keep_their_numbers() {
        let v = Variant::new(Shader::Mpr)
            .with("FORMAT", 2u32)
            .with("OVERLAY", true);
        let source = v.source().unwrap();
        assert_eq!(source.lines().count(), Shader::Mpr.text().lines().count());
    }
}
