//! Soundness of `deriv check`: untouched certificates are accepted, and certificates
//! mutated in many ways are all rejected, naming the first bad step.

use deriv::certificate::{check, Certificate};
use deriv::report::{certificate, derive_document};
use deriv::rules::RULES;
use deriv::syntax::parse_file;
use std::path::PathBuf;
use std::process::Command;

fn example_sources() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("examples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("deriv"))
        .map(|p| (p.display().to_string(), std::fs::read_to_string(&p).expect("readable")))
        .collect();
    out.sort();
    // Scalar derivations with side conditions the kernel cannot discharge.
    out.push(("sqrt".into(), "derive sqrt(1 - x^2) wrt x\nderive log(x)*x^3 wrt x".into()));
    out.push(("power".into(), "derive x^x wrt x".into()));
    out
}

fn certificates() -> Vec<(String, Certificate)> {
    example_sources()
        .into_iter()
        .map(|(name, src)| {
            let doc = parse_file(&src).unwrap_or_else(|e| panic!("{name}: {e}"));
            let report = derive_document(&doc).unwrap_or_else(|f| panic!("{name}: {}", f.error));
            (name, certificate(&report))
        })
        .collect()
}

fn assert_rejected(name: &str, what: &str, cert: &Certificate) {
    if let Ok(_) = check(cert) {
        panic!("{name}: certificate with {what} was accepted");
    }
}

#[test]
fn untouched_certificates_are_accepted() {
    for (name, cert) in certificates() {
        check(&cert).unwrap_or_else(|r| panic!("{name}: {r}"));
        // And through JSON text, as `deriv check` reads them.
        let text = serde_json::to_string(&cert).expect("serialises");
        let back: Certificate = serde_json::from_str(&text).expect("parses");
        check(&back).unwrap_or_else(|r| panic!("{name} (reparsed): {r}"));
    }
}

#[test]
fn a_changed_result_is_rejected_even_when_the_next_step_agrees() {
    let mut tried = 0;
    for (name, cert) in certificates() {
        for d in 0..cert.derivations.len() {
            for i in 0..cert.derivations[d].steps.len() {
                let mut bad = cert.clone();
                let changed = format!("({}) + 1", bad.derivations[d].steps[i].after);
                bad.derivations[d].steps[i].after = changed.clone();
                if let Some(next) = bad.derivations[d].steps.get_mut(i + 1) {
                    next.before = changed;
                } else {
                    bad.derivations[d].result = bad.derivations[d].steps[i].after.clone();
                }
                let r = check(&bad).expect_err(&format!("{name}: changed step {} accepted", i + 1));
                assert_eq!((r.derivation, r.step), (d, Some(i + 1)), "{name}: {r}");
                tried += 1;
            }
        }
    }
    assert!(tried > 50);
}

fn lhs(r: &deriv::rules::RuleSpec) -> &'static str {
    match r.shape {
        deriv::rules::Shape::Rewrite { lhs, .. } | deriv::rules::Shape::Builtin { lhs, .. } => lhs,
    }
}

#[test]
fn renamed_rules_are_rejected() {
    for (name, cert) in certificates() {
        for d in 0..cert.derivations.len() {
            for i in 0..cert.derivations[d].steps.len() {
                let mut bad = cert.clone();
                bad.derivations[d].steps[i].rule = "no-such-rule".into();
                let r = check(&bad).expect_err("unknown rule accepted");
                assert!(r.reason.contains("unknown rule"), "{name}: {r}");
                // The next rule of the table with a different left side. (Variants with the
                // same left side, like the power rules, may soundly apply under the stated
                // hypotheses.)
                let mut bad = cert.clone();
                let rule = &bad.derivations[d].steps[i].rule;
                let at = RULES.iter().position(|r| r.name == rule).expect("known rule");
                let other = (1..RULES.len())
                    .map(|k| &RULES[(at + k) % RULES.len()])
                    .find(|r| lhs(r) != lhs(&RULES[at]))
                    .expect("another rule");
                bad.derivations[d].steps[i].rule = other.name.into();
                assert_rejected(&name, &format!("step {} renamed to {}", i + 1, other.name), &bad);
            }
        }
    }
}

#[test]
fn altered_substitutions_are_rejected() {
    let mut tried = 0;
    for (name, cert) in certificates() {
        for d in 0..cert.derivations.len() {
            for i in 0..cert.derivations[d].steps.len() {
                let step = &cert.derivations[d].steps[i];
                for key in step.substitution.terms.keys() {
                    let mut bad = cert.clone();
                    let t =
                        bad.derivations[d].steps[i].substitution.terms.get_mut(key).expect("key");
                    *t = format!("({t}) + 1");
                    assert_rejected(&name, &format!("step {} with {key} altered", i + 1), &bad);
                    // A missing metavariable.
                    let mut bad = cert.clone();
                    bad.derivations[d].steps[i].substitution.terms.remove(key);
                    assert_rejected(&name, &format!("step {} without {key}", i + 1), &bad);
                    tried += 1;
                }
                // An extra metavariable.
                let mut bad = cert.clone();
                bad.derivations[d].steps[i].substitution.terms.insert("Q".into(), "1".into());
                assert_rejected(&name, &format!("step {} with an extra metavariable", i + 1), &bad);
                for key in step.substitution.indices.keys() {
                    let mut bad = cert.clone();
                    bad.derivations[d].steps[i]
                        .substitution
                        .indices
                        .insert(key.clone(), "7".into());
                    assert_rejected(
                        &name,
                        &format!("step {} with index {key} altered", i + 1),
                        &bad,
                    );
                }
                if step.replacement.is_some() {
                    let mut bad = cert.clone();
                    let r = bad.derivations[d].steps[i].replacement.as_mut().expect("replacement");
                    *r = format!("2*({r})");
                    assert_rejected(
                        &name,
                        &format!("step {} with its replacement altered", i + 1),
                        &bad,
                    );
                }
            }
        }
    }
    assert!(tried > 30);
}

#[test]
fn dropped_side_conditions_are_rejected() {
    let mut tried = 0;
    for (name, cert) in certificates() {
        for d in 0..cert.derivations.len() {
            for h in 0..cert.derivations[d].hypotheses.len() {
                let mut bad = cert.clone();
                let dropped = bad.derivations[d].hypotheses.remove(h);
                let r = check(&bad).expect_err(&format!("{name}: dropping `{dropped}` accepted"));
                assert!(r.reason.contains("side condition"), "{r}");
                tried += 1;
            }
        }
    }
    // The seed uses its hypothesis; sqrt and log need positivity; x^x needs x > 0.
    assert!(tried >= 4, "only {tried} hypotheses to drop");
}

#[test]
fn a_captured_index_is_rejected() {
    let certs = certificates();
    let (name, cert) = certs.iter().find(|(n, _)| n.ends_with("softmax_ce.deriv")).expect("seed");
    let mut tried = 0;
    for d in 0..cert.derivations.len() {
        for i in 0..cert.derivations[d].steps.len() {
            let after = &cert.derivations[d].steps[i].after;
            // Rename the bound k to the free j inside the sum: j is captured.
            if after.contains("sum_k(exp(z_k)*delta(k,j))") {
                let mut bad = cert.clone();
                let captured =
                    after.replace("sum_k(exp(z_k)*delta(k,j))", "sum_j(exp(z_j)*delta(j,j))");
                bad.derivations[d].steps[i].after = captured.clone();
                if let Some(next) = bad.derivations[d].steps.get_mut(i + 1) {
                    next.before = captured;
                }
                assert_rejected(name, "a captured index", &bad);
                tried += 1;
            }
            // Bind a sum rule's index to the free index j.
            if cert.derivations[d].steps[i].substitution.indices.contains_key("k") {
                let mut bad = cert.clone();
                bad.derivations[d].steps[i].substitution.indices.insert("k".into(), "j".into());
                assert_rejected(name, "a sum index bound to a free index", &bad);
                tried += 1;
            }
        }
    }
    assert!(tried >= 2);
}

#[test]
fn deriv_check_exits_1_naming_the_step() {
    let certs = certificates();
    let (_, cert) = certs.iter().find(|(n, _)| n.ends_with("softmax_ce.deriv")).expect("seed");
    let dir = std::env::temp_dir().join(format!("deriv-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let good = dir.join("good.json");
    std::fs::write(&good, serde_json::to_string_pretty(cert).expect("json")).expect("write");
    let out =
        Command::new(env!("CARGO_BIN_EXE_deriv")).arg("check").arg(&good).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    let mut bad = cert.clone();
    bad.derivations[1].steps[2].rule = "quotient-rule".into();
    let badp = dir.join("bad.json");
    std::fs::write(&badp, serde_json::to_string_pretty(&bad).expect("json")).expect("write");
    let out =
        Command::new(env!("CARGO_BIN_EXE_deriv")).arg("check").arg(&badp).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("derivation 2, step 3"), "{err}");

    std::fs::write(&badp, "{ not json").expect("write");
    let out =
        Command::new(env!("CARGO_BIN_EXE_deriv")).arg("check").arg(&badp).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
