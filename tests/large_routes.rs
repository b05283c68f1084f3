//! Goals too large to derive by unfolding every definition at once: the engine then goes
//! through the names the goal's definition holds, one at a time, as `via` would. Each file
//! in `tests/large/` must derive and pass every kernel and numeric check, and its result
//! must equal the hand derivation in its `# expected:` line at random points. Their steps
//! may be larger than one move (`tests/step_size.rs` does not read this folder).

#[path = "common/writeups.rs"]
mod writeups;

use deriv::numeric::{check_equal, CheckOptions};
use deriv::report::derive_and_check;
use deriv::syntax::{parse_expr_in, parse_file, IndexScope};

#[test]
fn large_goals_derive_through_their_names() {
    let files = writeups::deriv_files("tests/large");
    assert!(!files.is_empty(), "no files in tests/large");
    for path in files {
        let src = std::fs::read_to_string(&path).expect("readable");
        let doc = parse_file(&src).unwrap_or_else(|d| panic!("{path:?}: {d}"));
        let report = derive_and_check(&doc).unwrap_or_else(|e| panic!("{path:?}: {e:?}"));
        let wanted: Vec<&str> = src
            .lines()
            .filter_map(|l| l.strip_prefix("# expected:"))
            .map(|l| l.split_once("->").expect("`GOAL -> RESULT`").1.trim())
            .collect();
        assert_eq!(wanted.len(), report.goals.len(), "{path:?}: one `# expected:` per goal");
        let ctx = &report.context;
        for (want, goal) in wanted.iter().zip(&report.goals) {
            let want = parse_expr_in(want, IndexScope::Declared(&ctx.indices))
                .unwrap_or_else(|d| panic!("{path:?}: {d}"));
            check_equal(ctx, goal.proof.current(), &want, &CheckOptions::default())
                .unwrap_or_else(|e| panic!("{path:?}: not the hand derivation `{want}`: {e}"));
        }
    }
}
