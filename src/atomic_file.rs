//! The temporary file behind every atomic save (temp file in the target's
//! folder, then rename): created with the permissions a plain create would give
//! (0666 less the umask, or the replaced file's own), not tempfile's 0600, so a
//! saved label map is as readable as any other file the user writes.

use std::path::Path;

/// A temporary file next to `target`, to be persisted onto it.
pub fn temp_file_for(target: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    builder.prefix(".rayseg-").suffix(".tmp");
    #[cfg(unix)]
    let permissions = match std::fs::metadata(target) {
        Ok(existing) => existing.permissions(),
        Err(_) => std::os::unix::fs::PermissionsExt::from_mode(0o666),
    };
    #[cfg(unix)]
    builder.permissions(permissions);
    builder.tempfile_in(dir)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    fn umask() -> u32 {
        let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix("Umask:"))
            .expect("Umask line");
        u32::from_str_radix(line.trim(), 8).expect("octal umask")
    }

    #[test]
    fn saved_files_get_plain_create_permissions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("labels.nii.gz");
        let mut tmp = super::temp_file_for(&target).expect("temp file");
        tmp.write_all(b"x").expect("write");
        tmp.persist(&target).expect("persist");
        let mode = std::fs::metadata(&target)
            .expect("meta")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o666 & !umask(), "mode {mode:o}");
        // Replacing an existing file keeps its permissions.
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let tmp = super::temp_file_for(&target).expect("temp file");
        tmp.persist(&target).expect("persist");
        let mode = std::fs::metadata(&target)
            .expect("meta")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o640);
    }
}
