//! Output paths checked before the work that fills them: a profile path that cannot be written
//! is an error before training, not after; names a dataset gives stay inside `--out` and are
//! unique.

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
    std::fs::OpenOptions::new().append(true).create(true).open(path).with_context(|| format!("{option} {}: cannot be written", path.display()))?;
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
}
