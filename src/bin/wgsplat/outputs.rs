//! Output paths checked before the work that fills them: a profile path that cannot be written
//! is an error before training, not after; names a dataset gives stay inside `--out` and are
//! unique; an output is never the input by another spelling. Outputs a person keeps (scenes,
//! evaluations, profiles) are written whole or not at all (`write_replacing`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Fails unless a file can be written at `path` (`option` names it in the error). Leaves no file
/// behind where there was none.
pub fn check_writable_file(path: &Path, option: &str) -> anyhow::Result<()> {
    if path.is_dir() {
        bail!("{option} {}: is a folder (give a file name)", path.display());
    }
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("{option} {}: cannot be written", path.display()))?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// `dir` created (with its parents) and writable, before any work goes into it.
pub fn prepare_out_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("--out {}: cannot create the folder", dir.display()))?;
    let probe = dir.join(".wgsplat-write-check");
    std::fs::write(&probe, b"").with_context(|| format!("--out {}: cannot write into the folder", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Writes `bytes` to `path` whole or not at all (see [`replace_with`]).
pub fn write_replacing(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    replace_with(path, |tmp| Ok(std::fs::write(tmp, bytes)?))
}

/// Has `write` fill a temporary file in `path`'s folder, then renames it over `path` once the
/// whole file is on disk: a failed or interrupted write (a full disk, an encoder error, ^C)
/// never leaves half a file where a good one was, and readers never see a partial file. A
/// symbolic link is followed, so the file it points to is replaced and the link kept; a path
/// that is not a regular file (`/dev/stdout`, a pipe) is written in place, as there is nothing
/// to replace there.
pub fn replace_with<T>(path: &Path, write: impl FnOnce(&Path) -> anyhow::Result<T>) -> anyhow::Result<T> {
    let target = match std::fs::canonicalize(path) {
        Ok(real) => real,
        // No file yet (or a dangling link, which is replaced): write at the name given.
        Err(_) => path.to_path_buf(),
    };
    if let Ok(meta) = std::fs::metadata(&target)
        && !meta.is_file()
    {
        if meta.is_dir() {
            bail!("writing {}: is a folder", path.display());
        }
        return write(&target).with_context(|| format!("writing {}", path.display()));
    }
    let name = target.file_name().with_context(|| format!("writing {}: not a file name", path.display()))?;
    let folder = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = folder.join(format!(".{}.{}.wgsplat-tmp", name.to_string_lossy(), std::process::id()));
    // A stale temporary file (a crashed run with the same pid) goes first.
    let _ = std::fs::remove_file(&tmp);
    let result = write(&tmp).and_then(|value| {
        put_in_place(&tmp, &target)?;
        Ok(value)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

/// Flushes the written `tmp` to disk, gives it the permissions of the file it replaces (when
/// there is one) and renames it to `target`.
fn put_in_place(tmp: &Path, target: &Path) -> std::io::Result<()> {
    // On disk before the rename: after a crash the name holds the old file or the whole new one.
    std::fs::File::open(tmp)?.sync_all()?;
    if let Ok(meta) = std::fs::metadata(target) {
        std::fs::set_permissions(tmp, meta.permissions())?;
    }
    std::fs::rename(tmp, target)
}

/// Whether `output` names the file `input` is, however either is spelt: the same device and
/// inode when `output` exists (symbolic and hard links, `..`, `./`), else the canonical path of
/// `output`'s folder joined with its name against `input`'s canonical path.
pub fn same_file(input: &Path, output: &Path) -> std::io::Result<bool> {
    if let (Ok(a), Ok(b)) = (std::fs::metadata(input), std::fs::metadata(output)) {
        return Ok(same_inode(&a, &b).unwrap_or_else(|| canonical_eq(input, output)));
    }
    let input = std::fs::canonicalize(input)?;
    let Some(name) = output.file_name() else {
        return Ok(false);
    };
    let folder = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Ok(std::fs::canonicalize(folder).is_ok_and(|folder| folder.join(name) == input))
}

#[cfg(unix)]
fn same_inode(a: &std::fs::Metadata, b: &std::fs::Metadata) -> Option<bool> {
    use std::os::unix::fs::MetadataExt;
    Some(a.dev() == b.dev() && a.ino() == b.ino())
}

/// Elsewhere std gives no file identity on stable Rust: the canonical paths decide.
#[cfg(not(unix))]
fn same_inode(_: &std::fs::Metadata, _: &std::fs::Metadata) -> Option<bool> {
    None
}

fn canonical_eq(a: &Path, b: &Path) -> bool {
    matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(a), Ok(b)) if a == b)
}

/// `out`/`name`.png for each name a dataset gives (its `file_path`s), refusing names that would
/// leave `out` (absolute, or `..` past it) and names that two frames share.
pub fn confined_outputs(out: &Path, names: &[String], source: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut seen = HashSet::new();
    names
        .iter()
        .map(|name| {
            let absolute = name.starts_with('/') || name.starts_with('\\') || name.get(1..2) == Some(":");
            let relative = wgsplat::dataset::source::normalize_path(name).filter(|p| !p.is_empty() && !absolute);
            let Some(relative) = relative else {
                bail!("{source}: the file_path {name:?} would be written outside --out {}", out.display());
            };
            if !seen.insert(relative.clone()) {
                bail!("{source}: two frames have the file_path {name:?} (each view needs its own output file)");
            }
            Ok(out.join(format!("{relative}.png")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_stay_inside_and_unique() {
        let out = Path::new("/tmp/o");
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(confined_outputs(out, &names(&["views/a", "b"]), "t.json").unwrap(), vec![out.join("views/a.png"), out.join("b.png")]);
        for bad in ["../../../x", "/etc/x", "a/../../x", "C:/x", ""] {
            let err = confined_outputs(out, &names(&[bad]), "t.json").unwrap_err().to_string();
            assert!(err.contains("outside --out"), "{bad}: {err}");
        }
        let err = confined_outputs(out, &names(&["a", "./a"]), "t.json").unwrap_err().to_string();
        assert!(err.contains("two frames"), "{err}");
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wgsplat-outputs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        dir
    }

    #[cfg(unix)]
    #[test]
    fn the_same_file_by_any_spelling() {
        let dir = scratch("same");
        let input = dir.join("a.ply");
        std::fs::write(&input, b"a").unwrap();
        std::os::unix::fs::symlink("a.ply", dir.join("link.ply")).unwrap();
        for same in [dir.join("link.ply"), dir.join("sub/../a.ply"), dir.join("./a.ply"), dir.join("sub/../link.ply")] {
            assert!(same_file(&input, &same).unwrap(), "{same:?}");
            assert!(same_file(&same, &input).unwrap(), "{same:?}");
        }
        // Outputs that do not exist yet, or exist and are other files.
        std::fs::write(dir.join("b.ply"), b"b").unwrap();
        for other in [dir.join("new.ply"), dir.join("sub/../new.ply"), dir.join("b.ply"), dir.join("missing/x.ply")] {
            assert!(!same_file(&input, &other).unwrap(), "{other:?}");
        }
        assert!(same_file(&dir.join("missing.ply"), &input).is_err(), "a missing input is an error");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn replacing_keeps_links_and_modes_and_leaves_nothing_on_failure() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("replace");
        let real = dir.join("sub/real.json");
        std::fs::write(&real, b"old").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::symlink("sub/real.json", dir.join("link.json")).unwrap();
        write_replacing(&dir.join("link.json"), b"new").unwrap();
        assert!(std::fs::symlink_metadata(dir.join("link.json")).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        assert_eq!(std::fs::metadata(&real).unwrap().permissions().mode() & 0o777, 0o640);
        write_replacing(&dir.join("fresh.json"), b"x").unwrap();
        assert_eq!(std::fs::read(dir.join("fresh.json")).unwrap(), b"x");
        // A failed write leaves the old file and no temporary one.
        let err = replace_with(&real, |tmp| -> anyhow::Result<()> {
            std::fs::write(tmp, b"half")?;
            bail!("the encoder failed")
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("real.json") && format!("{err:#}").contains("the encoder failed"), "{err:#}");
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        let names: Vec<String> =
            std::fs::read_dir(dir.join("sub")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(names, vec!["real.json".to_string()]);
        assert!(write_replacing(&dir.join("sub"), b"x").unwrap_err().to_string().contains("is a folder"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
