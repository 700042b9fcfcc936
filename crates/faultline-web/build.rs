//! Lists every lesson in `lessons/`, so a new lesson file needs no code change. The page itself
//! carries only the ids and a version of the lessons' text (the lessons come from
//! `lessons.json`, written beside the page at build time by `faultline lessons`); the unit tests
//! also get the Markdown, to parse it natively.
//!
//! The same for the sandbox's templates, the sample scenarios in `tests/scenarios/`: the page
//! carries each one's title (for the picker) and a version of their text, and fetches a
//! template's file (copied beside the page by Trunk's build hook) when a learner picks it.

use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The files of `dir` (under the workspace) with extension `ext`, sorted, each watched.
fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(dir);
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext) && !p.ends_with("README.md"))
        .collect();
    #[allow(clippy::disallowed_methods)] // a build script: native, not in the page
    files.sort();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    files
}

/// FNV-1a, continued over a file's name and text: a version that changes with any of them, for
/// the address of what the page fetches, so a browser never pairs a new page with files it
/// cached before.
fn fnv(mut hash: u64, name: &str, text: &[u8]) -> u64 {
    for b in name.as_bytes().iter().chain(&[0]).chain(text) {
        hash = (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

fn main() {
    let files = files("lessons", "md");
    let mut hash = FNV_START;
    let mut ids = String::from(
        "/// Every lesson's id, in course order.\npub const LESSON_IDS: &[&str] = &[\n",
    );
    let mut texts = String::from(
        "/// Every lesson, as (id, Markdown text), in course order.\n#[cfg(test)]\npub const LESSONS: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        let id = f.file_stem().unwrap().to_string_lossy();
        let text = std::fs::read(f).expect("a lesson file");
        hash = fnv(hash, &id, &text);
        let path = f.canonicalize().expect("a lesson path");
        writeln!(ids, "    {id:?},").unwrap();
        writeln!(
            texts,
            "    ({id:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    ids.push_str("];\n");
    texts.push_str("];\n");
    let out = format!(
        "{ids}{texts}/// Where the prepared lessons are, relative to the page, with their version.\npub const LESSONS_URL: &str = \"lessons.json?v={hash:016x}\";\n"
    );
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("lessons.rs");
    std::fs::write(dest, out).expect("write lessons.rs");
    scenarios();
}

/// `scenarios.rs`: every sample scenario's title by file name, and a version of their text.
fn scenarios() {
    let files = files("tests/scenarios", "json");
    let mut hash = FNV_START;
    let mut titles = String::from(
        "/// Every sample scenario's title, by file name (without `.json`).\npub const SCENARIO_TITLES: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        let name = f.file_stem().unwrap().to_string_lossy();
        let text = std::fs::read(f).expect("a scenario file");
        hash = fnv(hash, &name, &text);
        let doc: serde_json::Value =
            serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let title = doc["title"].as_str().unwrap_or_default();
        writeln!(titles, "    ({name:?}, {title:?}),").unwrap();
    }
    titles.push_str("];\n");
    let out = format!(
        "{titles}/// A version of every sample's text, for their addresses: a browser never pairs a new page\n/// with a template it cached before.\npub const SCENARIOS_VERSION: &str = \"{hash:016x}\";\n"
    );
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("scenarios.rs");
    std::fs::write(dest, out).expect("write scenarios.rs");
}
