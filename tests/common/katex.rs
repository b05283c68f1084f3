//! KaTeX in strict mode, for tests that validate LaTeX: `assert_katex_strict(latex)`.
//!
//! The `katex` crate renders with `throwOnError` but cannot set KaTeX's `strict` option
//! (its default, "warn", only logs), so this also runs the very KaTeX bundled in that
//! crate through quick-js with `strict: "error"`. Include it with
//! `#[path = "common/katex.rs"] mod katex;`.

use std::path::{Path, PathBuf};
use std::process::Command;

const STRICT_RENDER: &str = r#"
function derivKatexStrict(src, display) {
    try {
        katex.renderToString(src, { displayMode: display, throwOnError: true, strict: "error" });
        return "";
    } catch (e) {
        return String((e && e.message) || e);
    }
}
"#;

thread_local! {
    static STRICT: Result<quick_js::Context, String> = strict_engine();
}

/// Ok when KaTeX accepts `latex` in strict mode, inline and in display mode; else KaTeX's message.
pub fn katex_strict(latex: &str) -> Result<(), String> {
    let opts = katex::Opts::builder()
        .throw_on_error(true)
        .display_mode(true)
        .build()
        .map_err(|e| e.to_string())?;
    katex::render_with_opts(latex, &opts).map_err(|e| e.to_string())?;
    STRICT.with(|engine| {
        let engine = engine.as_ref().map_err(Clone::clone)?;
        for display in [false, true] {
            let verdict = engine
                .call_function("derivKatexStrict", [quick_js::JsValue::from(latex), display.into()])
                .map_err(|e| e.to_string())?;
            match verdict {
                quick_js::JsValue::String(s) if s.is_empty() => {}
                other => return Err(format!("{other:?}")),
            }
        }
        Ok(())
    })
}

/// Panics, naming the LaTeX and KaTeX's complaint, unless KaTeX accepts it in strict mode.
pub fn assert_katex_strict(latex: &str) {
    if let Err(e) = katex_strict(latex) {
        panic!("KaTeX (strict) rejects {latex:?}: {e}");
    }
}

fn strict_engine() -> Result<quick_js::Context, String> {
    let js = std::fs::read_to_string(katex_js()?).map_err(|e| e.to_string())?;
    let engine = quick_js::Context::new().map_err(|e| e.to_string())?;
    engine.eval(&js).map_err(|e| e.to_string())?;
    engine.eval(STRICT_RENDER).map_err(|e| e.to_string())?;
    Ok(engine)
}

/// `vendor/katex.min.js` of the `katex` crate this test links, found from Cargo.lock in the
/// cargo home, or failing that through `cargo metadata`.
fn katex_js() -> Result<PathBuf, String> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lock =
        std::fs::read_to_string(manifest_dir.join("Cargo.lock")).map_err(|e| e.to_string())?;
    let version = lock
        .split("[[package]]")
        .find(|p| p.contains("\nname = \"katex\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"').to_string())
        .ok_or("katex is not in Cargo.lock")?;
    let crate_dir = format!("katex-{version}");
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
    if let Some(Ok(registries)) = cargo_home.map(|h| std::fs::read_dir(h.join("registry/src"))) {
        for registry in registries.flatten() {
            let js = registry.path().join(&crate_dir).join("vendor/katex.min.js");
            if js.is_file() {
                return Ok(js);
            }
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .current_dir(manifest_dir)
        .output()
        .map_err(|e| e.to_string())?;
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"] == "katex" && p["version"] == version.as_str())
        .find_map(|p| p["manifest_path"].as_str())
        .map(|m| Path::new(m).with_file_name("vendor/katex.min.js"))
        .filter(|js| js.is_file())
        .ok_or_else(|| format!("cannot find the KaTeX sources of the katex {version} crate"))
}
