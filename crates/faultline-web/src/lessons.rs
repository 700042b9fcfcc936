//! The lessons the page fetches, the learner's progress, and the words for a lesson's parts.
//!
//! Plain Rust with no browser types (the page reads and writes the progress text), so the rules
//! are unit-tested natively.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use faultline_core::lesson::{Change, Lesson, Prepared};
use faultline_core::scenario::Intervention;

include!(concat!(env!("OUT_DIR"), "/lessons.rs"));

/// The key the progress is saved under in `localStorage`.
pub const PROGRESS_KEY: &str = "faultline.progress.v1";
/// The largest progress text read; anything larger is treated as corrupt.
pub const MAX_PROGRESS_BYTES: usize = 64 * 1024;

/// The largest lessons file read; anything larger is refused with a message.
pub const MAX_LESSONS_BYTES: usize = 8 * 1024 * 1024;

/// The lessons, parsed at build time (`faultline lessons`) and fetched when one is first wanted:
/// (id, the lesson with its text as HTML, or why it does not parse), in course order. Empty
/// until then. Cheap to clone and to compare (by identity: it is replaced whole, never changed).
#[derive(Clone, Debug, Default)]
pub struct Catalog(pub Rc<Prepared>);

impl PartialEq for Catalog {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl std::ops::Deref for Catalog {
    type Target = [(String, Result<Lesson, String>)];
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Catalog {
    /// Reads the fetched lessons file. `Err` is a sentence for people.
    pub fn from_json(text: &str) -> Result<Catalog, String> {
        if text.len() > MAX_LESSONS_BYTES {
            return Err(format!(
                "the lessons file is {} bytes, over the limit of {MAX_LESSONS_BYTES}",
                text.len()
            ));
        }
        // Read as `Scenario::parse` reads (text to a `Value`, then the types from it), so the
        // scenario reader inside each lesson is the one the page already carries, not a second
        // copy. Either step's error says where: a line and column, or the field's path.
        fn damaged(e: impl std::fmt::Display) -> String {
            format!("the lessons file is damaged (at {e})")
        }
        let value: serde_json::Value = serde_json::from_str(text).map_err(damaged)?;
        let list: Prepared = serde_path_to_error::deserialize(value).map_err(damaged)?;
        if list.is_empty() {
            return Err("the lessons file lists no lesson".into());
        }
        Ok(Catalog(Rc::new(list)))
    }

    /// The index of a lesson by id.
    pub fn find(&self, id: &str) -> Option<usize> {
        self.iter().position(|(l, _)| l == id)
    }
}

/// The lessons as the tests see them: parsed here from the Markdown (the page's are prepared at
/// build time, with their text as HTML).
#[cfg(test)]
pub fn test_catalog() -> Catalog {
    Catalog(Rc::new(
        LESSONS
            .iter()
            .map(|(id, text)| {
                (
                    id.to_string(),
                    Lesson::parse(text).map_err(|e| e.to_string()),
                )
            })
            .collect(),
    ))
}

/// The lessons file the page would fetch, for the tests.
#[cfg(test)]
pub fn test_catalog_json() -> String {
    serde_json::to_string(&*test_catalog().0).expect("lessons serialise")
}

/// The lesson step on screen and what the learner has revealed in it.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenLesson {
    /// Index in the catalog.
    pub lesson: usize,
    /// Step index, from 0.
    pub step: usize,
    /// Hints shown.
    pub hints: usize,
    /// The solution is shown.
    pub solution: bool,
    /// The prediction chosen.
    pub predicted: Option<usize>,
}

/// Steps met, by lesson id (step indexes from 0).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress(pub BTreeMap<String, BTreeSet<usize>>);

impl Progress {
    /// Reads saved progress. `Err` carries the sentence to show when the text is corrupt; the
    /// caller starts from empty progress then (and overwrites the bad text on the next save).
    pub fn parse(text: &str) -> Result<Progress, String> {
        let bad =
            || "Your saved lesson progress could not be read, so it starts afresh.".to_string();
        if text.len() > MAX_PROGRESS_BYTES {
            return Err(bad());
        }
        let map: BTreeMap<String, Vec<usize>> = serde_json::from_str(text).map_err(|_| bad())?;
        // `extend`, not `collect`: collecting into a B-tree compiles a sort of its own (order.rs).
        let mut progress = BTreeMap::new();
        for (id, steps) in map {
            if LESSON_IDS.contains(&id.as_str()) {
                let mut done = BTreeSet::new();
                done.extend(
                    steps
                        .into_iter()
                        .filter(|s| *s < faultline_core::lesson::MAX_STEPS),
                );
                progress.insert(id, done);
            }
        }
        Ok(Progress(progress))
    }

    /// The text to save.
    pub fn to_text(&self) -> String {
        serde_json::to_string(&self.0).expect("a map of lists serialises")
    }

    /// Marks a step met; returns whether it is new.
    pub fn mark(&mut self, lesson: &str, step: usize) -> bool {
        self.0.entry(lesson.to_string()).or_default().insert(step)
    }

    /// Whether a step was met.
    pub fn done(&self, lesson: &str, step: usize) -> bool {
        self.0.get(lesson).is_some_and(|s| s.contains(&step))
    }

    /// How many of a lesson's steps were met.
    pub fn count(&self, lesson: &str) -> usize {
        self.0.get(lesson).map_or(0, BTreeSet::len)
    }
}

fn value_words(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "off".into(),
        serde_json::Value::Bool(true) => "on".into(),
        serde_json::Value::Bool(false) => "off".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A change in words, as the "show solution" box says it.
pub fn describe(change: &Change) -> String {
    match change {
        Change::Node { node, param, value } => {
            format!("Set {node}'s {param} to {}.", value_words(value))
        }
        Change::Link { a, b, param, value } => {
            format!("Set the link {a}–{b}'s {param} to {}.", value_words(value))
        }
        Change::Do(i) => {
            let at = faultline_core::fmt_time(faultline_core::dist::ms_to_us(i.at_ms()));
            match i {
                Intervention::Crash { node, .. } => format!("Crash {node} at {at}."),
                Intervention::Restart { node, .. } => format!("Restart {node} at {at}."),
                Intervention::Cut { a, b, .. } => format!("Cut the link {a}–{b} at {at}."),
                Intervention::Heal { a, b, .. } => format!("Heal the link {a}–{b} at {at}."),
                Intervention::Set {
                    node, param, value, ..
                } => format!("At {at}, set {node}'s {param} to {}.", value_words(value)),
                other => format!(
                    "At {at}: {}.",
                    faultline_core::jsonpos::value_of(other)["do"]
                        .as_str()
                        .unwrap_or_default()
                        .replace('_', " ")
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_lesson_parses() {
        let c = test_catalog();
        assert!(c.len() >= 3);
        for (id, l) in c.iter() {
            assert!(l.is_ok(), "{id}: {l:?}");
        }
    }

    #[test]
    fn the_lessons_file_reads_back_and_a_bad_one_says_why() {
        let c = Catalog::from_json(&test_catalog_json()).unwrap();
        assert_eq!(c.len(), LESSON_IDS.len());
        assert_eq!(c.find(LESSON_IDS[1]), Some(1));
        assert_eq!(c.find("no-such-lesson"), None);
        for (bad, says) in [
            ("", "damaged"),
            ("<html>404</html>", "damaged"),
            ("[]", "no lesson"),
            (&*" ".repeat(MAX_LESSONS_BYTES + 1), "over the limit"),
        ] {
            let e = Catalog::from_json(bad).unwrap_err();
            assert!(e.contains(says), "{bad:.20}: {e}");
        }
    }

    #[test]
    fn progress_round_trips_and_a_corrupt_store_starts_afresh() {
        let mut p = Progress::default();
        let id = LESSON_IDS[0];
        assert!(p.mark(id, 1));
        assert!(!p.mark(id, 1));
        let back = Progress::parse(&p.to_text()).unwrap();
        assert_eq!(back, p);
        assert!(back.done(id, 1) && !back.done(id, 0));
        assert_eq!(back.count(id), 1);
        for bad in [
            "",
            "{",
            "[1,2]",
            "{\"x\": \"y\"}",
            &"9".repeat(MAX_PROGRESS_BYTES + 1),
        ] {
            let e = Progress::parse(bad).unwrap_err();
            assert!(e.contains("starts afresh"), "{bad:.20}");
        }
        // Lessons that no longer exist and absurd step numbers are dropped, not kept forever.
        let p = Progress::parse(&format!("{{\"gone\": [1], \"{id}\": [0, 999999]}}")).unwrap();
        assert_eq!(p.0.len(), 1);
        assert!(p.done(id, 0) && !p.done(id, 999_999));
    }

    #[test]
    fn solutions_read_as_sentences() {
        let c = test_catalog();
        let l = c
            .iter()
            .find(|(id, _)| id.ends_with("idempotency"))
            .unwrap()
            .1
            .as_ref()
            .unwrap();
        let words: Vec<String> = l.steps[0].solution.iter().map(describe).collect();
        assert_eq!(words, vec!["Set checkout's idempotency_keys to on."]);
    }
}
