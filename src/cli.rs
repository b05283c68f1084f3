//! The command line: `deriv run | diff | check | latex | fmt`, built on the library.
//!
//! Exit status: 0 success, 1 a failed check, 2 bad input.

use crate::expr::Expr;
use crate::render::plain::print_in;
use crate::render::WriteupFormat;
use crate::syntax::{self, Diagnostic, Document};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::Read;

/// Five lines of the input language, after `--help`; docs/LANGUAGE.md is the reference.
const SYNTAX_SUMMARY: &str = "\
Syntax of a .deriv file (one statement per line; `#` starts a comment):
  index i, j, k in 1..n                  indices and their range
  let a_i = exp(z_i)/sum_k(exp(z_k))     a definition; also delta(i, j), D(f, x), pi, e
  assume sum_i(y_i) = 1                  a hypothesis the derivation may use
  derive a_i wrt z_j                     a goal (`wrt z_i, z_j`: second derivative)
Reference: docs/LANGUAGE.md (every statement, function, reserved word and command).";

#[derive(Parser, Debug)]
#[command(
    name = "deriv",
    version,
    about = "A formally checked symbolic derivation engine",
    long_about = "deriv derives derivatives step by step. Every step applies a named rule, is replayed \
by a small trusted kernel, and is checked numerically before it is printed.\n\n\
Exit status: 0 on success, 1 when a check fails (naming the step), 2 on bad input.",
    after_help = SYNTAX_SUMMARY
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Derive every `derive` goal of a .deriv file and print the step-by-step writeup.
    Run {
        /// The .deriv file, or `-` for standard input; several files are run on every core
        /// and their outputs printed in order (a file that fails does not stop the others).
        #[arg(required = true, num_args = 1..)]
        file: Vec<String>,
        /// Output format: a writeup (markdown, latex, html, text), the proof certificate
        /// (json), or Rust source with one function per goal computing its derivative
        /// (rust).
        #[arg(long, value_enum, default_value_t = RunFormat::Markdown)]
        format: RunFormat,
        /// Write the output to this file instead of standard output (one input file only).
        #[arg(short = 'o', long = "output")]
        output: Option<String>,
        /// How much of the kernel's work to show: `brief` groups micro-steps, `full` shows every step.
        #[arg(long, value_enum, default_value_t = Detail::Brief)]
        detail: Detail,
        /// With `--format coq`: load the prelude (`require`) or paste it in (`inline`).
        #[arg(long, value_enum, default_value_t = CoqPrelude::Require)]
        coq_prelude: CoqPrelude,
        /// With `--format coq`: state each algebra step of the certificate as a lemma of its
        /// own (`before = after`), so that a step Coq refuses is named by its lemma.
        #[arg(long)]
        coq_steps: bool,
        /// How a writeup sets the vectors and matrices of its matrix forms (∇_W l = 2(Wx − y)xᵀ);
        /// scalars and index notation are never marked, and json, rust and coq keep the input
        /// syntax.
        #[arg(long, value_enum, default_value_t = VectorStyle::Bold)]
        vectors: VectorStyle,
        /// Also prove every goal in Coq/Coquelicot (runs `coqc` on the `--format coq`
        /// export) and say in the writeup which goals Coq accepted, naming each theorem.
        #[arg(long, value_enum)]
        prove: Option<ProveWith>,
    },
    /// Differentiate one expression and print the simplified derivative.
    Diff {
        /// The expression, e.g. 'sigmoid(x)', or `-` for standard input. Any identifier used
        /// as an index ranges over 1..n.
        #[arg(
            allow_hyphen_values = true,
            required_unless_present = "batch",
            conflicts_with = "batch"
        )]
        expr: Option<String>,
        /// The variable to differentiate with respect to, e.g. `x` or `z_j`; given again
        /// (`--wrt x --wrt y`), a higher derivative, taken in that order.
        #[arg(long, required_unless_present = "batch", conflicts_with = "batch")]
        wrt: Vec<String>,
        /// Differentiate every `EXPR ; VAR` line of this file (`-`: standard input) on every
        /// core, printing one line per result in the same order; a line that fails prints
        /// `error: FILE:LINE: …` in its place and the others still run. Blank lines and
        /// `#` comments are skipped.
        #[arg(long, conflicts_with = "steps")]
        batch: Option<String>,
        /// Output format: `plain` prints exactly one line that deriv parses back.
        #[arg(long, value_enum, default_value_t = DiffFormat::Plain)]
        format: DiffFormat,
        /// Print the numbered steps, each with its rule's caption.
        #[arg(long)]
        steps: bool,
        /// With `--format coq`: load the prelude (`require`) or paste it in (`inline`).
        #[arg(long, value_enum, default_value_t = CoqPrelude::Require)]
        coq_prelude: CoqPrelude,
        /// With `--format coq`: state each algebra step of the certificate as a lemma of its
        /// own (`before = after`), so that a step Coq refuses is named by its lemma.
        #[arg(long)]
        coq_steps: bool,
    },
    /// Replay a saved proof certificate (the JSON of `run --format json`) with the kernel alone.
    Check {
        /// The certificate, or `-` for standard input.
        file: String,
    },
    /// Print the LaTeX of an expression.
    Latex {
        /// The expression, e.g. 'exp(z_i)/sum_k(exp(z_k))', or `-` for standard input.
        #[arg(allow_hyphen_values = true)]
        expr: String,
    },
    /// Print a .deriv file canonically formatted: title, indices, definitions, hypotheses,
    /// goals, one statement per line (comments are not kept).
    Fmt {
        /// The .deriv file, or `-` for standard input.
        file: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RunFormat {
    /// The step-by-step writeup in Markdown with LaTeX math.
    Markdown,
    /// The writeup as a LaTeX document.
    Latex,
    /// The writeup as a standalone HTML page.
    Html,
    /// The proof certificate, which `deriv check` replays.
    Json,
    /// The writeup as plain text.
    Text,
    /// A standalone Rust source file: for each goal a function `d_<of>_d_<wrt>` that
    /// computes the derivative from input slices (a gradient or Jacobian is written to
    /// `out_`, row-major), numerically stable (the max shift on softmax terms), allocating
    /// nothing. A result with a matrix form is computed from it with loops, each product
    /// once into `work_` (2*W'*(W*x - y): O(m·n), not O(m·n²)). A goal whose result cannot
    /// be compiled is an error (exit status 1).
    Rust,
    /// A Coq/Coquelicot file: one theorem per goal, its proof following the certificate
    /// (compile with `coqc -Q coq Deriv`, or `--coq-prelude inline` for a file on its own).
    Coq,
}

/// `--vectors`: how writeups set vectors and matrices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum VectorStyle {
    /// Bold upright vectors and matrices: 𝐚 − 𝐲, 2(𝐖𝐱 − 𝐲)𝐱ᵀ (LaTeX \mathbf, \boldsymbol for
    /// Greek names).
    Bold,
    /// An arrow over each vector, matrices plain: a⃗ − y⃗, 2(Wx⃗ − y⃗)x⃗ᵀ (LaTeX \vec).
    Arrow,
    /// Vectors and matrices set like scalars: a − y.
    Plain,
}

impl From<VectorStyle> for crate::render::matrix::Vectors {
    fn from(v: VectorStyle) -> Self {
        use crate::render::matrix::Vectors;
        match v {
            VectorStyle::Bold => Vectors::Bold,
            VectorStyle::Arrow => Vectors::Arrow,
            VectorStyle::Plain => Vectors::Plain,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Plain,
    Latex,
    Json,
    /// The derivative as a Coq/Coquelicot theorem with its proof.
    Coq,
}

/// A second checker to run on a writeup's goals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProveWith {
    /// Coq with Coquelicot (`coqc` must be installed).
    Coq,
}

/// Where a `--format coq` file gets the prelude (`coq/Deriv.v`) from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CoqPrelude {
    /// `From Deriv Require Import Deriv.`
    Require,
    /// The prelude pasted in: the file compiles alone.
    Inline,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Detail {
    Brief,
    Full,
}

/// Why a command failed, mapped to the exit status.
pub enum Failure {
    /// Bad input: exit 2.
    Input(String),
    /// A failed check: exit 1.
    Check(String),
    /// Some of several independent items (batch lines, files) failed: what the others
    /// printed goes to standard output, the failures' messages to standard error, and the
    /// status is the worst of theirs.
    Partly { output: String, errors: String, status: i32 },
}

impl Failure {
    /// The exit status: 2 for bad input, 1 for a failed check.
    pub fn status(&self) -> i32 {
        match self {
            Failure::Input(_) => 2,
            Failure::Check(_) => 1,
            Failure::Partly { status, .. } => *status,
        }
    }

    /// What goes to standard error.
    pub fn message(&self) -> &str {
        match self {
            Failure::Input(m) | Failure::Check(m) => m,
            Failure::Partly { errors, .. } => errors.trim_end(),
        }
    }

    /// What goes to standard output even so.
    pub fn output(&self) -> &str {
        match self {
            Failure::Partly { output, .. } => output,
            _ => "",
        }
    }
}

/// The results of independent items in order: all of them printed, and the failures also
/// collected for standard error, with the worst status.
fn gather(results: Vec<Result<String, Failure>>) -> Result<String, Failure> {
    let (mut output, mut errors, mut status) = (String::new(), String::new(), 0);
    for r in results {
        match r {
            Ok(text) => output.push_str(&text),
            Err(f) => {
                output.push_str(f.output());
                errors.push_str(f.message());
                errors.push('\n');
                status = status.max(f.status());
            }
        }
    }
    match status {
        0 => Ok(output),
        _ => Err(Failure::Partly { output, errors, status }),
    }
}

/// A step or result of `origin` that failed its numeric check: exit status 1, naming
/// the goal's line, the step and its rule.
pub fn numeric_failure(origin: &str, f: &crate::report::CheckFailure) -> Failure {
    Failure::Check(format!("error: {origin}:{}: numeric check failed: {f}", f.line))
}

impl From<Diagnostic> for Failure {
    fn from(d: Diagnostic) -> Self {
        Failure::Input(d.to_string())
    }
}

/// Run the command line; returns the exit status.
pub fn main() -> i32 {
    // A panic is a bug of ours; it still ends with a status, not an abort trace alone.
    let run = std::panic::AssertUnwindSafe(|| {
        let cli = match Cli::try_parse() {
            Ok(cli) => cli,
            Err(e) => {
                let code = if e.use_stderr() { 2 } else { 0 };
                let _ = e.print();
                return code;
            }
        };
        match execute(cli.command) {
            Ok(out) => {
                // A reader that stops early (`deriv run … | head`) closes the pipe: that is
                // not an error of ours, and `print!` would panic on it.
                use std::io::Write;
                let mut stdout = std::io::stdout().lock();
                if let Err(e) = stdout.write_all(out.as_bytes()).and_then(|()| stdout.flush()) {
                    if e.kind() != std::io::ErrorKind::BrokenPipe {
                        let _ = writeln!(std::io::stderr(), "error: cannot write the output: {e}");
                        return 2;
                    }
                }
                0
            }
            Err(failure) => {
                use std::io::Write;
                let _ = std::io::stdout().lock().write_all(failure.output().as_bytes());
                let _ = writeln!(std::io::stderr(), "{}", failure.message());
                failure.status()
            }
        }
    });
    std::panic::catch_unwind(run).unwrap_or_else(|_| {
        eprintln!("error: internal failure");
        1
    })
}

/// Stack for commands on deep input: every stage recurses once per nesting level.
const ROOMY_STACK_BYTES: usize = 1 << 30;

/// Input nesting that every stage handles on the main thread's stack (8 MB by default on
/// Linux and macOS): at this depth the engine needs under 2 MB unoptimised, under 256 KB optimised.
const MAIN_STACK_NESTING: usize = 32;

/// A bound on how deeply terms from `texts` can nest once definitions are unfolded: every
/// bracket, power, division (`x/y/z` nests to the left) and minus (`--x`) may open a level,
/// and every statement may add a definition's level. Lines end at `\n` or `\r`, as in the
/// grammar; comments (`#` to the end of the line) and blank lines add nothing.
fn nesting_bound(texts: &[&str]) -> usize {
    let statement = |line: &str| {
        let code = line.split('#').next().unwrap_or("");
        let opening = code.bytes().filter(|b| matches!(b, b'(' | b'{' | b'[' | b'^' | b'/' | b'-'));
        usize::from(!code.trim().is_empty()) + opening.count()
    };
    texts.iter().flat_map(|t| t.split(['\n', '\r'])).map(statement).sum()
}

/// Run `f` on this thread when `texts` are shallow, else (or when `deep`) on a thread with
/// a roomy stack. Most input is shallow, and starting a thread is a noticeable share of a
/// short run. Windows gives the main thread only 1 MB, so there everything moves.
fn on_stack_for<T: Send>(
    deep: bool,
    texts: &[&str],
    f: impl FnOnce() -> T + Send,
) -> Result<T, Failure> {
    if !deep && !cfg!(windows) && nesting_bound(texts) <= MAIN_STACK_NESTING {
        return Ok(f());
    }
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .stack_size(ROOMY_STACK_BYTES)
            .spawn_scoped(scope, f)
            .map_err(|e| {
                Failure::Input(format!("error: cannot start a thread for deep input: {e}"))
            })?;
        Ok(worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}

/// Execute one command, returning what it prints on success.
pub fn execute(command: Command) -> Result<String, Failure> {
    match command {
        Command::Run { file, format, output, detail, coq_prelude, coq_steps, vectors, prove }
            if file.len() > 1 =>
        {
            if output.is_some() {
                return Err(Failure::Input("error: -o takes one input file".into()));
            }
            let one = |k: usize| {
                execute(Command::Run {
                    file: vec![file[k].clone()],
                    format,
                    output: None,
                    detail,
                    coq_prelude,
                    coq_steps,
                    vectors,
                    prove,
                })
            };
            gather(crate::parallel::in_parallel(file.len(), one))
        }
        Command::Diff { batch: Some(path), format, .. } => {
            let (text, origin) = read_input(&path)?;
            on_stack_for(true, &[], || diff_batch(&text, &origin, format))?
        }
        command => execute_single(command),
    }
}

/// [`execute`] for one input.
fn execute_single(command: Command) -> Result<String, Failure> {
    let (text, origin) = input_of(&command)?;
    let wrt = match &command {
        Command::Diff { wrt, .. } => wrt.join(" "),
        _ => String::new(),
    };
    // A certificate is JSON, whose nesting the bound cannot see (`#` in a string, escapes).
    let deep = matches!(command, Command::Check { .. });
    on_stack_for(deep, &[&text, &wrt], || execute_on(command, &text, &origin))?
}

/// The text a command works on, and its name in messages: the file or standard input it
/// reads, or its expression argument (`-` reads the expression from standard input).
fn input_of(command: &Command) -> Result<(String, String), Failure> {
    match command {
        Command::Run { file, .. } => read_input(file.first().map_or("-", String::as_str)),
        Command::Fmt { file } | Command::Check { file } => read_input(file),
        Command::Latex { expr } | Command::Diff { expr: Some(expr), .. } if expr == "-" => {
            let (text, origin) = read_input("-")?;
            Ok((text.trim_end().to_string(), origin))
        }
        Command::Latex { expr } | Command::Diff { expr: Some(expr), .. } => {
            Ok((expr.clone(), "<expr>".to_string()))
        }
        Command::Diff { expr: None, .. } => Err(Failure::Input("error: no expression".into())),
    }
}

/// [`execute`], given the command's input `src` (named `origin` in messages).
fn execute_on(command: Command, src: &str, origin: &str) -> Result<String, Failure> {
    match command {
        Command::Latex { .. } => {
            let e = parse_arg(src, origin)?;
            Ok(format!("{}\n", crate::render::latex::latex(&e)))
        }
        Command::Fmt { .. } => {
            let doc = syntax::parse_file(src).map_err(|d| d.with_origin(origin))?;
            Ok(format_document(&doc))
        }
        Command::Run { format, output, detail, coq_prelude, coq_steps, vectors, prove, .. } => {
            let doc = syntax::parse_file(src).map_err(|d| d.with_origin(origin))?;
            use crate::render::writeup;
            let detail = match detail {
                Detail::Brief => writeup::Detail::Brief,
                Detail::Full => writeup::Detail::Full,
            };
            let is_writeup = matches!(
                format,
                RunFormat::Markdown | RunFormat::Latex | RunFormat::Html | RunFormat::Text
            );
            if prove.is_some() && !is_writeup {
                return Err(Failure::Input(
                    "error: --prove coq says in a writeup which goals Coq proved: use it with \
                     --format markdown, latex, html or text (--format coq writes the proofs)"
                        .into(),
                ));
            }
            // Each goal's section is built on the thread that derived the goal.
            let writeup = |f| {
                let (report, parts) = derive_report_and(&doc, &origin, |context, goal| {
                    let section = writeup::section(context, goal, detail, vectors.into());
                    (section, prove.map(|_| crate::report::derivation(goal)))
                })?;
                let (mut sections, derivations): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
                if prove.is_some() {
                    let derivations = derivations.into_iter().flatten().collect();
                    let cert = crate::report::certificate_of(&report, derivations);
                    let proved = crate::coq::prove::prove(&cert)
                        .map_err(|e| Failure::Input(format!("error: --prove coq: {}", e.0)))?;
                    for (section, theorem) in sections.iter_mut().zip(proved) {
                        if let Some(name) = theorem {
                            section
                                .checked
                                .push_str(&format!("; proved in Coq/Coquelicot (theorem {name})"));
                        }
                    }
                }
                Ok::<_, Failure>(crate::render::set_writeup(
                    &writeup::assemble(&report, sections),
                    f,
                ))
            };
            let text = match format {
                RunFormat::Json => {
                    use crate::report::{certificate_of, derivation};
                    let (report, parts) = derive_report_and(&doc, &origin, |_, g| derivation(g))?;
                    to_json(&certificate_of(&report, parts))
                }
                RunFormat::Markdown => writeup(WriteupFormat::Markdown)?,
                RunFormat::Latex => writeup(WriteupFormat::Latex)?,
                RunFormat::Html => writeup(WriteupFormat::Html)?,
                RunFormat::Text => writeup(WriteupFormat::Text)?,
                RunFormat::Rust => rust_source(&derive_report(&doc, &origin)?, &doc, &origin)?,
                RunFormat::Coq => {
                    use crate::report::{certificate_of, derivation};
                    let (report, parts) = derive_report_and(&doc, &origin, |_, g| derivation(g))?;
                    coq_file(&certificate_of(&report, parts), coq_prelude, coq_steps)
                }
            };
            match output {
                Some(path) => {
                    std::fs::write(&path, text).map_err(|e| {
                        Failure::Input(format!("error: cannot write `{path}`: {e}"))
                    })?;
                    Ok(String::new())
                }
                None => Ok(text),
            }
        }
        Command::Diff { wrt, format: DiffFormat::Coq, coq_prelude, coq_steps, .. } => {
            let json = diff_one(src, origin, &wrt, DiffFormat::Json, Layout::Steps(false))?;
            let cert = serde_json::from_str(&json)
                .map_err(|e| Failure::Check(format!("error: no certificate: {e}")))?;
            Ok(coq_file(&cert, coq_prelude, coq_steps))
        }
        Command::Diff { wrt, format, steps, .. } => {
            diff_one(src, origin, &wrt, format, Layout::Steps(steps))
        }
        Command::Check { .. } => {
            let cert: crate::certificate::Certificate = serde_json::from_str(src).map_err(|e| {
                Failure::Input(format!("error: `{origin}` is not a deriv certificate: {e}"))
            })?;
            match crate::certificate::check(&cert) {
                Ok(proofs) => {
                    let steps: usize = proofs.iter().map(|p| p.steps().len()).sum();
                    Ok(format!(
                        "ok: {} derivations, {steps} steps replayed by the kernel\n",
                        proofs.len()
                    ))
                }
                Err(r) => Err(Failure::Check(format!("error: certificate rejected: {r}"))),
            }
        }
    }
}

/// The Coq export of a certificate; goals it cannot export are named on standard error
/// (and in the file, as comments).
fn coq_file(cert: &crate::certificate::Certificate, prelude: CoqPrelude, audit: bool) -> String {
    let prelude = match prelude {
        CoqPrelude::Require => crate::coq::Prelude::Require,
        CoqPrelude::Inline => crate::coq::Prelude::Inline,
    };
    let export = crate::coq::export_with(cert, prelude, audit);
    for (n, why) in &export.skipped {
        eprintln!("note: goal {} is not exported to Coq: {why}", n + 1);
    }
    export.text
}

/// How `deriv diff` lays out its output: with the steps first or not, or as one line of a
/// batch (JSON compacted to one line).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    Steps(bool),
    Line,
}

/// `deriv diff`: the derivative of the expression `src` (named `origin` in messages) by
/// the `variables` in turn, printed in `format`.
fn diff_one(
    src: &str,
    origin: &str,
    variables: &[String],
    format: DiffFormat,
    layout: Layout,
) -> Result<String, Failure> {
    let mut e = parse_arg(src, origin)?;
    let mut xs = Vec::new();
    for wrt in variables {
        xs.push(
            syntax::parse_variable(wrt, syntax::IndexScope::Any)
                .map_err(|d| d.with_origin("<wrt>"))?,
        );
    }
    // `--wrt x --wrt y`: the derivative by y of the derivative by x.
    let (Some(x), Some(wrt)) = (xs.pop(), variables.last()) else {
        return Err(Failure::Input("error: --wrt names no variable".into()));
    };
    for earlier in xs {
        e = Expr::d(e, earlier);
    }
    let context = diff_context(&e, &x);
    crate::kernel::validate::check_goal(&context, &Expr::d(e.clone(), x.clone()))
        .map_err(|m| syntax::Diagnostic::at(wrt, 0, m).with_origin("<wrt>"))?;
    let doc = Document {
        title: None,
        context,
        goals: vec![syntax::Goal { of: e, wrt: x, line: 1, via: vec![], inserted: false }],
        ..Document::default()
    };
    let report = derive_report(&doc, "<expr>")?;
    let ctx = report.context.clone();
    let proof = &report.goals[0].proof;
    // One printer for both text formats: the steps (with --steps), then the result.
    let show: Box<dyn Fn(&Expr) -> String> = match format {
        DiffFormat::Json if layout == Layout::Line => {
            let json = serde_json::to_string(&crate::report::certificate(&report));
            return Ok(format!("{}\n", json.unwrap_or_default()));
        }
        DiffFormat::Json | DiffFormat::Coq => {
            return Ok(to_json(&crate::report::certificate(&report)))
        }
        DiffFormat::Latex => Box::new(crate::render::latex::latex),
        DiffFormat::Plain => Box::new(move |e: &Expr| print_in(e, &ctx)),
    };
    // Numbers as the expression writes them (`0.134145`, not `26829/200000`).
    let numbers = syntax::numbers::scan(src);
    crate::render::decimals::with_style(numbers.as_ref(), || {
        let mut out = String::new();
        if layout == Layout::Steps(true) {
            for (i, s) in proof.steps().iter().enumerate() {
                // An algebra step is captioned by the move it makes, as in a writeup.
                let rule = match crate::rules::id_of(&s.step) {
                    Some(crate::rules::RuleId::RingNormalize) => {
                        let parts = crate::render::moves::step_move(s).parts();
                        let words = parts.iter().map(|m| match m.words() {
                            (words, Some(e)) => format!("{words}{}", show(e)),
                            (words, None) => words.to_string(),
                        });
                        words.collect::<Vec<_>>().join(" and ")
                    }
                    _ => caption(&s.step.rule).to_string(),
                };
                out.push_str(&format!("{}. {rule}: {}\n", i + 1, show(&s.after)));
            }
        }
        out.push_str(&format!("{}\n", show(proof.current())));
        Ok(out)
    })
}

/// `deriv diff --batch`: every `EXPR ; VAR` line of `text` on every core, one output line
/// per line in order (JSON compacted to one line); a failure prints `error: ORIGIN:LINE: …`
/// in its place, its whole message to standard error, and the others still run.
fn diff_batch(text: &str, origin: &str, format: DiffFormat) -> Result<String, Failure> {
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(n, l)| (n + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let one = |k: usize| {
        let (n, line) = lines[k];
        let at = format!("{origin}:{n}");
        let result = match line.split(';').map(str::trim).collect::<Vec<_>>().as_slice() {
            [expr, var] if !expr.is_empty() && !var.is_empty() => {
                diff_one(expr, "<expr>", &[var.to_string()], format, Layout::Line)
            }
            _ => Err(Failure::Input("error: expected `EXPR ; VAR`".into())),
        };
        result.map_err(|f| {
            let message = f.message();
            let first = message.lines().next().unwrap_or_default();
            let first = first.strip_prefix("error: ").unwrap_or(first);
            Failure::Partly {
                output: format!("error: {at}: {first}\n"),
                errors: format!("{at}: {message}"),
                status: f.status(),
            }
        })
    };
    gather(crate::parallel::in_parallel(lines.len(), one))
}

/// The Rust source of every goal's derivative, from the kernel-checked results.
fn rust_source(
    report: &crate::report::Report,
    doc: &Document,
    origin: &str,
) -> Result<String, Failure> {
    let goals: Vec<crate::numeric::RustGoal> =
        report.goals.iter().map(|g| g.rust_goal(true)).collect();
    let source = crate::numeric::emit_rust(&report.context, &goals).map_err(|e| {
        let line = doc.goals.get(e.goal).map_or(0, |g| g.line);
        let what = goals
            .get(e.goal)
            .map(|g| format!(" (d({}) / d({}) = {})", g.of, g.wrt, g.result))
            .unwrap_or_default();
        Failure::Check(format!("error: {origin}:{line}: {e}{what}"))
    })?;
    let title = report.title.as_ref().map(|t| format!("//! {t}\n//!\n")).unwrap_or_default();
    Ok(format!("{title}{source}"))
}

/// The `deriv diff` convention: every index name used ranges over `1..n`.
fn diff_context(e: &Expr, x: &Expr) -> crate::expr::Context {
    let mut names = e.all_index_names();
    names.extend(x.all_index_names());
    let mut ctx = crate::expr::Context::default();
    if !names.is_empty() {
        ctx.indices.push(crate::expr::IndexDecl {
            names: names.into_iter().collect(),
            lo: crate::expr::Bound::Int(1),
            hi: crate::expr::Bound::Sym("n".into(), 0),
        });
    }
    ctx
}

fn caption(rule: &str) -> &'static str {
    crate::rules::spec(rule).map_or("", |r| r.caption)
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// Derive every goal; a refused step or an unsupported goal is a failed check (exit 1).
fn derive_report(doc: &Document, origin: &str) -> Result<crate::report::Report, Failure> {
    derive_report_and(doc, origin, |_, _| ()).map(|(report, _)| report)
}

/// [`derive_report`], with `then` run on each goal's thread once the goal is checked.
fn derive_report_and<T: Send>(
    doc: &Document,
    origin: &str,
    then: impl Fn(&std::sync::Arc<crate::expr::Context>, &crate::report::Derived) -> T + Sync,
) -> Result<(crate::report::Report, Vec<T>), Failure> {
    use crate::report::ReportError;
    crate::report::derive_check_and(doc, then).map_err(|e| match e {
        ReportError::Goal(f) => Failure::Check(format!(
            "error: {origin}:{}: goal {} failed: {}",
            f.line,
            f.goal + 1,
            f.error
        )),
        ReportError::Check(f) => numeric_failure(origin, &f),
    })
}

/// Parse an expression argument.
fn parse_arg(src: &str, origin: &str) -> Result<Expr, Failure> {
    Ok(syntax::parse_expr(src).map_err(|d| d.with_origin(origin))?)
}

/// Read a file, or standard input for `-`.
pub fn read_input(path: &str) -> Result<(String, String), Failure> {
    if path == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Failure::Input(format!("error: cannot read standard input: {e}")))?;
        Ok((s, "<stdin>".into()))
    } else {
        std::fs::read_to_string(path)
            .map(|s| (s, path.to_string()))
            .map_err(|e| Failure::Input(format!("error: cannot read `{path}`: {e}")))
    }
}

/// The canonical text of a document.
pub fn format_document(doc: &Document) -> String {
    let mut out = String::new();
    if let Some(t) = &doc.title {
        out.push_str(&format!("title \"{}\"\n", t.replace('\\', "\\\\").replace('"', "\\\"")));
    }
    for d in &doc.context.indices {
        out.push_str(&format!("index {} in {}..{}\n", d.names.join(", "), d.lo, d.hi));
    }
    for d in &doc.context.definitions {
        out.push_str(&format!("let {} = {}\n", d.name, d.body));
    }
    for a in &doc.context.assumptions {
        out.push_str(&format!("assume {} = {}\n", a.lhs, a.rhs));
    }
    for g in doc.goals.iter().filter(|g| !g.inserted) {
        let via =
            if g.via.is_empty() { String::new() } else { format!(" via {}", g.via.join(", ")) };
        out.push_str(&format!("derive {} wrt {}{via}\n", g.of, g.wrt));
    }
    out
}
