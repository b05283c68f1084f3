//! Every writeup fits its page: the LaTeX document of every example and every `tests/`
//! `.deriv` file, in brief and full detail, builds with no `Overfull \hbox` over 10 pt,
//! and the HTML page, opened in headless Chromium in a 900 px wide window, scrolls
//! horizontally nowhere: neither the page nor any element in it (each element's
//! `scrollWidth` at most its `clientWidth`, measured by a script in the page).
//!
//! Without pdflatex or Chromium the test is skipped locally, and fails when `CI` is set.

#[path = "common/writeups.rs"]
mod writeups;

use deriv::render::writeup::Detail;
use deriv::render::{writeup, WriteupFormat};
use deriv::report::derive_and_check;
use deriv::syntax::parse_file;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use writeups::{chromium, finish, pdflatex, scratch, tool_available};

/// How far past the margin a line may run, in points (TeX reports smaller overruns, such
/// as a word hanging a little over the margin in running text, as overfull too).
const OVERFULL_ALLOWED: f64 = 10.0;

/// One writeup to check: which file, which detail, and its text.
struct Page {
    name: String,
    detail: Detail,
    text: String,
}

/// The `.deriv` files of `examples/` and of `tests/` (but `tests/errors/`, which holds bad
/// input), sorted.
fn deriv_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() && path.file_name().is_some_and(|n| n != "errors") {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "deriv") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    walk(&root.join("examples"), &mut out);
    walk(&root.join("tests"), &mut out);
    out.sort();
    assert!(out.len() >= 40, "expected the examples and the tests' .deriv files");
    out
}

/// The writeups of every file in `format`, each file derived once for both tests.
fn pages(format: WriteupFormat) -> Vec<&'static Page> {
    static ALL: OnceLock<Vec<(WriteupFormat, Page)>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        let mut out = Vec::new();
        for path in deriv_files() {
            let src = std::fs::read_to_string(&path).expect("readable");
            let doc = parse_file(&src).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let report =
                derive_and_check(&doc).unwrap_or_else(|f| panic!("{}: {f:?}", path.display()));
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let name = path.strip_prefix(root).unwrap_or(&path).display().to_string();
            for f in [WriteupFormat::Latex, WriteupFormat::Html] {
                for detail in [Detail::Brief, Detail::Full] {
                    let text = writeup(&report, f, detail);
                    out.push((f, Page { name: name.clone(), detail, text }));
                }
            }
        }
        out
    });
    all.iter().filter(|(f, _)| *f == format).map(|(_, p)| p).collect()
}

/// Run `check` over `pages` on two threads; the failures, in order.
fn check_all(
    pages: Vec<&Page>,
    check: impl Fn(usize, &Page) -> Option<String> + Sync,
) -> Vec<String> {
    let indexed: Vec<(usize, &Page)> = pages.into_iter().enumerate().collect();
    let (left, right) = indexed.split_at(indexed.len() / 2);
    let mut failures: Vec<(usize, String)> = std::thread::scope(|s| {
        let run = |part: &[(usize, &Page)]| -> Vec<(usize, String)> {
            part.iter().filter_map(|(k, p)| check(*k, p).map(|m| (*k, m))).collect()
        };
        let other = s.spawn(move || run(right));
        let mut mine = run(left);
        mine.extend(other.join().expect("the checking thread"));
        mine
    });
    failures.sort();
    failures.into_iter().map(|(_, m)| m).collect()
}

/// The overruns past the margin that pdflatex's log reports, in points.
fn overfull_boxes(log: &str) -> Vec<f64> {
    log.lines()
        .filter_map(|l| l.strip_prefix("Overfull \\hbox ("))
        .filter_map(|rest| rest.split("pt too wide").next()?.parse().ok())
        .collect()
}

#[test]
fn the_log_parser_finds_overfull_boxes() {
    let log = "Overfull \\hbox (12.5pt too wide) in paragraph at lines 3--4\n\
               Underfull \\hbox (badness 10000)\nOverfull \\hbox (0.3pt too wide) detected at line 9\n";
    assert_eq!(overfull_boxes(log), vec![12.5, 0.3]);
}

#[test]
fn no_latex_writeup_runs_past_the_margin() {
    if !tool_available("pdflatex", "texlive-latex-base and texlive-latex-recommended") {
        return;
    }
    let failures = check_all(pages(WriteupFormat::Latex), |k, page| {
        let dir = scratch(&format!("fit-latex-{k}"));
        let log = match pdflatex(&page.text, &dir) {
            Ok(log) => log,
            Err(e) => {
                return Some(format!("{} ({:?}): pdflatex failed:\n{e}", page.name, page.detail))
            }
        };
        let worst = overfull_boxes(&log).into_iter().fold(0.0, f64::max);
        (worst > OVERFULL_ALLOWED).then(|| {
            format!("{} ({:?}): a line runs {worst} pt past the margin", page.name, page.detail)
        })
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Appended to each page: lists every element (and the page itself) that would scroll
/// sideways, in a `<pre>` that `--dump-dom` prints.
const MEASURE: &str = r#"<script>
(function () {
  var wide = [];
  var page = document.scrollingElement;
  if (page.scrollWidth > page.clientWidth) wide.push("the page " + page.scrollWidth + " > " + page.clientWidth);
  document.querySelectorAll("body *").forEach(function (e) {
    if (e.scrollWidth > e.clientWidth)
      wide.push(e.tagName + "." + e.className + " " + e.scrollWidth + " > " + e.clientWidth + ": " + e.textContent.slice(0, 60));
  });
  var report = document.createElement("pre");
  report.id = "scroll-report";
  report.textContent = "SCROLLING " + wide.length + "\n" + wide.join("\n");
  document.body.appendChild(report);
})();
</script>
"#;

/// The page's own report of what scrolls sideways at 900 px: `None` if nothing does.
fn sideways(html: &str, dir: &Path) -> Result<Option<String>, String> {
    let page = dir.join("page.html");
    std::fs::write(&page, html.replace("</body>", &format!("{MEASURE}</body>")))
        .map_err(|e| e.to_string())?;
    let out_path = dir.join("dom.html");
    let out = std::fs::File::create(&out_path).map_err(|e| e.to_string())?;
    let child = chromium(dir, "900,1000")
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    finish(child)?;
    let dom = std::fs::read_to_string(&out_path).map_err(|e| e.to_string())?;
    let report = dom
        .split("<pre id=\"scroll-report\">SCROLLING ")
        .nth(1)
        .ok_or("the page printed no report (did its script run?)")?;
    let report = report.split("</pre>").next().unwrap_or_default();
    Ok((!report.starts_with("0\n")).then(|| report.to_string()))
}

#[test]
fn no_html_writeup_scrolls_sideways_at_900_px() {
    if !tool_available("chromium", "Debian's chromium package") {
        return;
    }
    let failures = check_all(pages(WriteupFormat::Html), |k, page| {
        let dir = scratch(&format!("fit-html-{k}"));
        match sideways(&page.text, &dir) {
            Ok(None) => None,
            Ok(Some(report)) => Some(format!("{} ({:?}): {report}", page.name, page.detail)),
            Err(e) => Some(format!("{} ({:?}): {e}", page.name, page.detail)),
        }
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The measuring script does see sideways scrolling: a page with a wide formula that
/// cannot wrap, as every writeup had before formulas were cut into pieces.
#[test]
fn a_page_that_scrolls_sideways_is_seen() {
    if !tool_available("chromium", "Debian's chromium package") {
        return;
    }
    let dir = scratch("fit-html-wide");
    let wide = format!(
        "<!DOCTYPE html><html><body><div style=\"overflow-x: auto\"><math display=\"block\"><mrow>{}</mrow></math></div></body></html>",
        "<mi>x</mi><mo>+</mo>".repeat(400)
    );
    let report = sideways(&wide, &dir).expect("chromium runs");
    assert!(report.is_some_and(|r| r.contains("DIV")), "the wide formula went unseen");
}
