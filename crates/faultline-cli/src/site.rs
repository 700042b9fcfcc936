//! `faultline lessons`: the lessons as the page reads them, prepared at build time.
//!
//! The page does not carry the lessons in its WebAssembly: Trunk runs this command as a build
//! hook (Trunk.toml) and it writes one JSON file beside the page with every lesson parsed and
//! its Markdown already HTML. The page fetches that file when a lesson is first wanted, so the
//! first download has neither the lesson text, nor the Markdown parser, nor the lesson reader,
//! and opening the page parses no lesson.

use std::path::{Path, PathBuf};

use faultline_core::lesson::{Lesson, Prepared};

/// Markdown to HTML, for lesson text (which ships with the page: it is trusted). Tables are
/// GitHub's, as the lesson files are read on GitHub too.
pub fn html(markdown: &str) -> String {
    let mut out = String::new();
    let parser = pulldown_cmark::Parser::new_ext(markdown, pulldown_cmark::Options::ENABLE_TABLES);
    pulldown_cmark::html::push_html(&mut out, parser);
    out
}

/// The lesson with every Markdown text (introduction, step texts, tasks, hints) as HTML.
pub fn as_html(mut lesson: Lesson) -> Lesson {
    lesson.intro = html(&lesson.intro);
    for st in &mut lesson.steps {
        st.text = html(&st.text);
        st.task = st.task.as_deref().map(html);
        st.hints = st.hints.iter().map(|h| html(h)).collect();
    }
    lesson
}

/// The lesson files of a folder, in course order (`NN-name.md`; the README is not a lesson).
pub fn lesson_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md") && !p.ends_with("README.md"))
        .collect();
    files.sort();
    Ok(files)
}

/// Every lesson of `dir` as the page's catalog: (id, the lesson or why it does not parse). A
/// lesson that does not parse is kept with its error, so the page lists it and says so (the
/// tests refuse it long before it ships).
pub fn catalog(
    dir: &Path,
    read: impl Fn(&Path) -> Result<String, String>,
) -> Result<Prepared, String> {
    let files = lesson_files(dir)?;
    if files.is_empty() {
        return Err(format!("{}: no lesson (*.md) found", dir.display()));
    }
    Ok(files
        .iter()
        .map(|f| {
            let id = f
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let lesson = read(f)
                .and_then(|text| Lesson::parse(&text).map(as_html).map_err(|e| e.to_string()));
            (id, lesson)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_in_lesson_text_is_a_table() {
        let h = html("| view | answers |\n|---|---|\n| **traces** | *where* |\n");
        assert!(h.contains("<table>"), "{h}");
        assert!(
            h.contains("<th>view</th>") && h.contains("<td><strong>traces</strong></td>"),
            "{h}"
        );
        assert!(!h.contains('|'), "no pipe is left as text: {h}");
        assert!(html("Text *here*.").contains("<em>here</em>"));
    }

    #[test]
    fn every_shipped_lesson_is_prepared_as_html_with_no_table_left_as_text() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../lessons");
        let c = catalog(&dir, |p| {
            std::fs::read_to_string(p).map_err(|e| e.to_string())
        })
        .unwrap();
        assert!(c.len() >= 3);
        for (id, l) in &c {
            let l = l.as_ref().unwrap_or_else(|e| panic!("{id}: {e}"));
            assert!(
                l.steps.iter().all(|s| s.text.starts_with('<')),
                "{id}: HTML"
            );
            let texts = std::iter::once(&l.intro).chain(l.steps.iter().map(|s| &s.text));
            for t in texts {
                assert!(
                    !t.contains("| ---") && !t.contains("|---"),
                    "{id}: a table left as text"
                );
            }
        }
        // What the page reads back is what was written.
        let text = serde_json::to_string(&c).unwrap();
        let back: Prepared = serde_json::from_str(&text).unwrap();
        assert_eq!(back, c);
    }
}
