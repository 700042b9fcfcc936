//! Every lesson in `lessons/` is a real puzzle: each step's goal fails as the step opens and
//! holds once its solution is applied, and its text has what the page shows.

use faultline_core::lesson::{Lesson, run};
use std::path::{Path, PathBuf};

fn lessons() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../lessons");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the lessons folder")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md") && !p.ends_with("README.md"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_lesson_step_fails_first_and_its_solution_meets_the_goal() {
    let files = lessons();
    assert!(files.len() >= 3, "the curriculum has lessons: {files:?}");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let lesson = Lesson::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(!lesson.intro.is_empty(), "{}: an introduction", f.display());
        for (i, step) in lesson.steps.iter().enumerate() {
            let name = format!("{} step {}", f.display(), i + 1);
            assert!(!step.text.is_empty(), "{name}: text");
            let Some(goal) = &step.goal else { continue };
            assert!(
                step.task.is_some(),
                "{name}: a step with a goal says what to try"
            );
            assert!(
                !step.hints.is_empty(),
                "{name}: a step with a goal has a hint"
            );
            let before = goal.judge(&run(&step.scenario(&lesson).unwrap()).unwrap());
            assert!(!before.met, "{name}: already met: {before:?}");
            let after = goal.judge(&run(&step.solved(&lesson).unwrap()).unwrap());
            assert!(after.met, "{name}: the solution fails: {after:?}");
            assert!(after.checks.iter().all(|c| c.met));
        }
    }
}

#[test]
fn a_solution_holds_for_other_seeds_too() {
    // A goal that only one seed meets would teach luck: check the solutions over a few seeds.
    for f in lessons() {
        let lesson = Lesson::parse(&std::fs::read_to_string(&f).unwrap()).unwrap();
        for (i, step) in lesson.steps.iter().enumerate() {
            let Some(goal) = &step.goal else { continue };
            for seed in 1..=3 {
                let mut s = step.solved(&lesson).unwrap();
                s.seed = seed;
                let v = goal.judge(&run(&s).unwrap());
                assert!(v.met, "{} step {} seed {seed}: {v:?}", f.display(), i + 1);
                let mut s = step.scenario(&lesson).unwrap();
                s.seed = seed;
                let v = goal.judge(&run(&s).unwrap());
                assert!(
                    !v.met,
                    "{} step {} seed {seed} met unsolved: {v:?}",
                    f.display(),
                    i + 1
                );
            }
        }
    }
}
