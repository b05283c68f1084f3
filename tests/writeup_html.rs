//! The HTML writeup: a self-contained page with escaped user text and no raw LaTeX, which
//! headless Chromium renders to a page that is not blank. Without Chromium the rendering
//! test is skipped locally, and fails when `CI` is set.

#[path = "common/writeups.rs"]
mod writeups;

use deriv::render::writeup::Detail;
use deriv::render::WriteupFormat;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use writeups::{
    chromium, examples, finish, matrix_examples, name, render, render_source, scalar_document,
    scratch, tool_available,
};

const LATEX: [&str; 7] = ["\\frac", "$$", "\\sum", "\\begin", "\\text", "\\partial", "\\delta"];

fn seed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/softmax_ce.deriv")
}

#[test]
fn no_raw_latex_and_nothing_from_the_network() {
    let scalar = (
        "scalar".to_string(),
        render_source(&scalar_document(), WriteupFormat::Html, Detail::Full),
    );
    let pages = examples()
        .into_iter()
        .chain(matrix_examples())
        .map(|p| (name(&p), render(&p, WriteupFormat::Html, Detail::Brief)));
    for (name, html) in pages.chain([scalar]) {
        for l in LATEX {
            assert!(!html.contains(l), "{name}: raw LaTeX `{l}` in the HTML");
        }
        for remote in ["http:", "https:", "src=", "<link", "@import", "<script"] {
            assert!(!html.contains(remote), "{name}: `{remote}` in the HTML");
        }
        assert!(html.contains("<math"), "{name}: no MathML");
    }
}

#[test]
fn user_text_is_escaped() {
    let src = "title \"<script>alert(1)</script> & 'q' \\\"x\\\"\"\nderive x^2 wrt x\n";
    for format in [WriteupFormat::Html, WriteupFormat::Markdown] {
        let out = render_source(src, format, Detail::Brief);
        assert!(!out.contains("<script"), "{format:?}: {out}");
        assert!(out.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{format:?}: {out}");
    }
}

/// Run Chromium on `page`, writing a screenshot; `None` when Chromium is not installed.
fn screenshot(page: &Path, png: &Path, dir: &Path) -> Option<Result<(), String>> {
    if !tool_available("chromium", "Debian's chromium package") {
        return None;
    }
    let child = chromium(dir, "1000,1400")
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    Some(match child.map_err(|e| e.to_string()).and_then(finish) {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("chromium exited with {status}")),
        Err(e) => Err(e),
    })
}

/// `(width, height, pixels unlike the background, dark pixels)` of an 8-bit RGB(A) PNG.
fn ink(png: &Path) -> (u32, u32, usize, usize) {
    let file = std::fs::File::open(png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
    let mut reader = png::Decoder::new(file).read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("a PNG frame");
    assert_eq!(info.bit_depth, png::BitDepth::Eight, "8-bit colour");
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected colour type {other:?}"),
    };
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(channels).collect();
    let background = pixels[0][..3].to_vec();
    let differ = pixels.iter().filter(|p| p[..3] != background[..]).count();
    let dark =
        pixels.iter().filter(|p| p[..3].iter().map(|&c| c as u32).sum::<u32>() < 3 * 100).count();
    (info.width, info.height, differ, dark)
}

#[test]
fn the_seed_renders_in_headless_chromium() {
    let dir = scratch("chromium-seed");
    let page = dir.join("softmax_ce.html");
    std::fs::write(&page, render(&seed(), WriteupFormat::Html, Detail::Brief)).expect("writable");
    let png = dir.join("softmax_ce.png");
    let Some(shot) = screenshot(&page, &png, &dir) else {
        return;
    };
    shot.unwrap_or_else(|e| panic!("{e}"));
    let (w, h, differ, dark) = ink(&png);
    assert_eq!((w, h), (1000, 1400), "the screenshot has the window's size");
    let total = (w * h) as usize;
    // Headings, formulas and captions cover far more than a percent of a full page.
    assert!(
        differ * 100 > total,
        "the page is blank: {differ} of {total} pixels differ from the background"
    );
    assert!(dark * 1000 > total, "no text on the page: {dark} dark pixels");
}

/// The check can fail: an empty page is blank.
#[test]
fn a_blank_page_is_seen_as_blank() {
    let dir = scratch("chromium-blank");
    let page = dir.join("blank.html");
    std::fs::write(&page, "<!DOCTYPE html><html><body style=\"background:#fff\"></body></html>\n")
        .expect("writable");
    let png = dir.join("blank.png");
    let Some(shot) = screenshot(&page, &png, &dir) else {
        return;
    };
    shot.unwrap_or_else(|e| panic!("{e}"));
    let (_, _, differ, dark) = ink(&png);
    assert_eq!((differ, dark), (0, 0));
}
