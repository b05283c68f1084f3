//! `--prove coq`: compile each exported theorem with `coqc` and report which goals Coq
//! accepted, so a writeup can say so (and says nothing Coq did not check in this run).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{export, Prelude, PRELUDE};
use crate::certificate::Certificate;

/// How long one theorem may take in `coqc` before it counts as not proved.
const SECONDS_PER_THEOREM: u32 = 300;

/// Why the goals could not be put to Coq at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable(pub String);

/// For each goal of the certificate (in order), the theorem `coqc` accepted for it, if any.
pub fn prove(cert: &Certificate) -> Result<Vec<Option<String>>, Unavailable> {
    let ex = export(cert, Prelude::Require);
    let dir = scratch_dir()?;
    let outcome = (|| {
        std::fs::write(dir.join("Deriv.v"), PRELUDE).map_err(io)?;
        let (ok, msg) = coqc(&dir, "Deriv.v")?;
        if !ok {
            return Err(Unavailable(format!("the Coq prelude does not compile here: {msg}")));
        }
        let compiled = crate::parallel::in_parallel(ex.parts.len(), |k| {
            let (goal, name, theorem) = &ex.parts[k];
            let file = format!("goal{}.v", goal + 1);
            std::fs::write(dir.join(&file), format!("{}\n{theorem}", ex.header)).map_err(io)?;
            Ok::<_, Unavailable>(coqc(&dir, &file)?.0.then(|| name.clone()))
        });
        let mut proved = vec![None; cert.derivations.len()];
        for (k, c) in compiled.into_iter().enumerate() {
            proved[ex.parts[k].0] = c?;
        }
        Ok(proved)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

fn io(e: std::io::Error) -> Unavailable {
    Unavailable(format!("cannot write the Coq files: {e}"))
}

/// A fresh directory for one run's Coq files.
fn scratch_dir() -> Result<PathBuf, Unavailable> {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("deriv-prove-{}-{run}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(io)?;
    Ok(dir)
}

/// `coqc` on one file of `dir`, under a time limit: whether it compiled, and its output.
fn coqc(dir: &Path, file: &str) -> Result<(bool, String), Unavailable> {
    let out = Command::new("timeout")
        .arg(SECONDS_PER_THEOREM.to_string())
        .args(["coqc", "-Q", ".", "Deriv", file])
        .current_dir(dir)
        .output()
        .map_err(|e| Unavailable(format!("cannot run coqc: {e}")))?;
    // `timeout` exits 127 when it cannot find coqc.
    if out.status.code() == Some(127) {
        return Err(Unavailable(
            "coqc is not installed (Debian: apt-get install coq libcoq-coquelicot)".into(),
        ));
    }
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    Ok((out.status.success(), text))
}
