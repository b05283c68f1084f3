//! Snapshots of every writeup format for every example, kept in the top-level `snapshots/`.

#[path = "common/writeups.rs"]
mod writeups;

use deriv::render::writeup::Detail;
use deriv::render::WriteupFormat;
use writeups::{render, render_source, scalar_document, FORMATS};

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("../snapshots");
    s.set_prepend_module_to_snapshot(false);
    s
}

#[test]
fn every_format_of_every_example() {
    settings().bind(|| {
        insta::glob!("../examples", "*.deriv", |path| {
            for (format, ext) in FORMATS {
                insta::assert_snapshot!(
                    format!("writeup_{ext}"),
                    render(path, format, Detail::Brief)
                );
            }
        });
    });
}

#[test]
fn every_kernel_step_of_every_example() {
    settings().bind(|| {
        insta::glob!("../examples", "*.deriv", |path| {
            insta::assert_snapshot!(
                "writeup_full_txt",
                render(path, WriteupFormat::Text, Detail::Full)
            );
        });
    });
}

#[test]
fn every_format_of_the_scalar_derivatives() {
    settings().bind(|| {
        for (format, ext) in FORMATS {
            insta::assert_snapshot!(
                format!("writeup_scalar_{ext}"),
                render_source(&scalar_document(), format, Detail::Brief)
            );
        }
    });
}
