//! The lesson panel beside the canvas (the step's text, its prediction, goal, hints and
//! solution) and the list of lessons.

use std::rc::Rc;

use yew::prelude::*;

use crate::action::Action;
use crate::derive::{GoalModel, LessonModel};
use crate::lessons::{Catalog, Progress};
use crate::state::LessonsLoad;

/// The step's text, as HTML (prepared at build time), wrapped once per step (not per frame).
#[derive(PartialEq)]
struct StepHtml {
    intro: Option<AttrValue>,
    text: AttrValue,
    task: Option<AttrValue>,
    hints: Vec<AttrValue>,
}

fn md(text: &str) -> AttrValue {
    AttrValue::from(text.to_string())
}

/// The lesson panel's properties.
#[derive(Properties, PartialEq)]
pub struct LessonPanelProps {
    /// The lessons.
    pub catalog: Catalog,
    /// The step and its live goal.
    pub model: Rc<LessonModel>,
    /// Where the learner's acts go.
    pub on: Callback<Action>,
}

/// The lesson panel.
#[function_component(LessonPanel)]
pub fn lesson_panel(props: &LessonPanelProps) -> Html {
    let on = &props.on;
    let o = &props.model.open;
    let (lesson, step) = (o.lesson, o.step);
    let found = props
        .catalog
        .get(lesson)
        .and_then(|(_, l)| l.as_ref().ok())
        .and_then(|l| Some((l, l.steps.get(step)?)));
    let step_open = use_state(|| false);
    let rendered = use_memo((lesson, step), move |_| {
        found.map(|(l, st)| StepHtml {
            intro: (step == 0 && !l.intro.is_empty()).then(|| md(&l.intro)),
            text: md(&st.text),
            task: st.task.as_deref().map(md),
            hints: st.hints.iter().map(|h| md(h)).collect(),
        })
    });
    let (Some((l, st)), Some(h)) = (found, rendered.as_ref()) else {
        return html! {};
    };
    let raw = |v: &AttrValue| Html::from_html_unchecked(v.clone());
    let n = l.steps.len();
    let predict = st.predict.as_ref().map(|p| {
        let shown: Vec<usize> = if props.model.order.len() == p.choices.len() {
            props.model.order.clone()
        } else {
            (0..p.choices.len()).collect()
        };
        let choices = shown.into_iter().filter_map(|i| Some((i, p.choices.get(i)?))).map(|(i, c)| {
            let onclick = on.reform(move |_| Action::Predict(i));
            let class = match o.predicted {
                Some(_) if i == p.answer => "choice right",
                Some(k) if k == i => "choice wrong",
                _ => "choice",
            };
            html! { <li data-choice={i.to_string()}><button {class} aria-pressed={(o.predicted == Some(i)).to_string()} {onclick}>{ c }</button></li> }
        });
        html! {
            <section class="predict" aria-label="Predict">
                <h4>{"Predict first"}</h4>
                <p>{ &p.question }</p>
                <ol class="choices">{ for choices }</ol>
                if let Some(k) = o.predicted {
                    <p class="explain" role="status">
                        <strong>{ if k == p.answer { "Right. " } else { "Not quite. " } }</strong>{ &p.explain }
                    </p>
                }
            </section>
        }
    });
    // What would settle the prediction (the task and the goal's wording) waits for an answer.
    let answered = st.predict.is_none() || o.predicted.is_some();
    let goal = props
        .model
        .goal
        .as_ref()
        .filter(|_| answered)
        .map(goal_view);
    let hints = h
        .hints
        .iter()
        .take(o.hints)
        .map(|h| html! { <li>{ raw(h) }</li> });
    let more_hints = o.hints < st.hints.len();
    // On a phone the canvas comes first: the step's text waits behind this toggle (hidden by
    // `web/style.css` under 600 px only; elsewhere the text is always shown and the toggle is not).
    let shown = *step_open;
    let toggle = {
        let step_open = step_open.clone();
        Callback::from(move |_: MouseEvent| step_open.set(!*step_open))
    };
    let prev = (step > 0).then(|| on.reform(move |_| Action::OpenStep(lesson, step - 1)));
    let next = (step + 1 < n).then(|| on.reform(move |_| Action::OpenStep(lesson, step + 1)));
    html! {
        <aside class="lesson-panel" aria-labelledby="lesson-title">
            <p class="crumbs">
                <button class="link-button" onclick={on.reform(|_| Action::LessonList(true))}>{"All lessons"}</button>
                <button class="link-button" id="leave-lesson" onclick={on.reform(|_| Action::LeaveLesson)}>{"Playground"}</button>
            </p>
            <h2 id="lesson-title">{ &l.title }</h2>
            <h3 id="step-title">{ format!("Step {} of {n}: {}", step + 1, st.title) }</h3>
            <button id="step-toggle" class="step-toggle" aria-expanded={shown.to_string()} aria-controls="step-body" onclick={toggle}>
                { if shown { "Hide the step's text" } else { "Read the step" } }
            </button>
            <div id="step-body" class={classes!("step-body", shown.then_some("open"))}>
            if let Some(intro) = &h.intro {
                <div class="lesson-intro">{ raw(intro) }</div>
            }
            <div class="step-text">{ raw(&h.text) }</div>
            { for predict }
            if let (Some(t), true) = (&h.task, answered) {
                <div class="task"><strong>{"Try: "}</strong>{ raw(t) }</div>
            }
            { for goal }
            if !st.hints.is_empty() {
                <ol class="hints">{ for hints }</ol>
            }
            <div class="lesson-actions">
                if more_hints {
                    <button id="hint" onclick={on.reform(|_| Action::Hint)}>{ if o.hints == 0 { "Hint" } else { "Another hint" } }</button>
                }
                <button id="run-settings" onclick={on.reform(|_| Action::RunWithSettings)}
                        title="Start again from zero with the settings you changed in force from the start">{"Run from the start"}</button>
                <button id="reset-step" onclick={on.reform(move |_| Action::OpenStep(lesson, step))}>{"Reset step"}</button>
                if !st.solution.is_empty() && !o.solution && !props.model.hide_solution {
                    <button id="show-solution" onclick={on.reform(|_| Action::ShowSolution)}>{"Show solution"}</button>
                }
            </div>
            if o.solution {
                <section class="solution" aria-label="Solution">
                    <h4>{"Solution"}</h4>
                    <ul>{ for st.solution.iter().map(|c| html! { <li>{ crate::lessons::describe(c) }</li> }) }</ul>
                    <button id="apply-solution" onclick={on.reform(|_| Action::ApplySolution)}>{"Apply it and run"}</button>
                </section>
            }
            </div>
            <nav class="step-nav" aria-label="Steps">
                <button id="prev-step" disabled={prev.is_none()} onclick={prev.unwrap_or_default()}>{"Previous"}</button>
                <span>{ format!("{} / {n}", step + 1) }</span>
                <button id="next-step" disabled={next.is_none()} onclick={next.unwrap_or_default()}>{"Next"}</button>
            </nav>
        </aside>
    }
}

/// The goal: each condition with what the run gave, and the verdict.
fn goal_view(g: &GoalModel) -> Html {
    html! {
        <section class="goal" aria-label="Goal">
            <h4>{"Goal"}
                if g.done { <span class="done">{" (met before)"}</span> }
            </h4>
            <ul>
                // Neutral until the check at the end of the run: a dot that turns green before
                // anything is fixed teaches nothing.
                { for g.checks.iter().map(|c| {
                    let (class, dot) = match (g.at_end, c.met) {
                        (false, _) => ("pending", "◌ "),
                        (true, true) => ("met", "✓ "),
                        (true, false) => ("unmet", "✗ "),
                    };
                    html! {
                        <li {class}>
                            <span aria-hidden="true">{ dot }</span>
                            { &c.wants }<span class="got">{ format!(" ({}: {})", if g.at_end { "got" } else { "now" }, c.got) }</span>
                        </li>
                    }
                }) }
            </ul>
            <p id="goal-status" data-met={g.met.to_string()} role="status">{ &g.status }</p>
        </section>
    }
}

/// The lesson list's properties.
#[derive(Properties, PartialEq)]
pub struct LessonListProps {
    /// The lessons (empty until they arrive).
    pub catalog: Catalog,
    /// Whether they are on their way, or why they could not be fetched.
    pub load: LessonsLoad,
    /// Goals met so far.
    pub progress: Progress,
    /// Where the learner's acts go.
    pub on: Callback<Action>,
}

/// The list of lessons, each with its progress.
#[function_component(LessonList)]
pub fn lesson_list(props: &LessonListProps) -> Html {
    let on = &props.on;
    let items = props
        .catalog
        .iter()
        .enumerate()
        .map(|(i, (id, l))| match l {
            Ok(l) => {
                let done = props.progress.count(id);
                let goals = l.steps.iter().filter(|s| s.goal.is_some()).count();
                let onclick = on.reform(move |_| Action::OpenStep(i, 0));
                html! {
                    <li>
                        <button class="lesson-open" data-lesson={id.clone()} {onclick}>{ &l.title }</button>
                        <p class="hint">{ format!("{} · {} min · ", l.summary, l.minutes) }
                            <span class="progress">{ format!("{done} of {goals} {} met", if goals == 1 { "goal" } else { "goals" }) }</span></p>
                    </li>
                }
            }
            Err(e) => html! { <li><p class="error-text">{ format!("{id}: {e}") }</p></li> },
        });
    html! {
        <section id="lesson-list" class="lesson-list" aria-labelledby="lesson-list-title">
            <h2 id="lesson-list-title">{"Lessons"}</h2>
            if let LessonsLoad::Failed(e) = &props.load {
                <p class="error-text" role="alert">{ e.clone() }</p>
                <button id="lessons-retry" onclick={on.reform(|_| Action::LessonList(true))}>{"Try again"}</button>
            } else if props.catalog.is_empty() {
                <p class="hint" role="status">{"Loading the lessons…"}</p>
            }
            <ol>{ for items }</ol>
            <button onclick={on.reform(|_| Action::LessonList(false))}>{"Close"}</button>
        </section>
    }
}

/// The result card's properties.
#[derive(Properties, PartialEq)]
pub struct ResultCardProps {
    /// The lessons.
    pub catalog: Catalog,
    /// The step and its goal.
    pub model: Rc<LessonModel>,
    /// Where the learner's acts go.
    pub on: Callback<Action>,
}

/// The verdict at the end of a run, over the canvas where the learner is looking: "Goal met"
/// with Next, or "Not met yet" with a hint and a fresh run.
#[function_component(ResultCard)]
pub fn result_card(props: &ResultCardProps) -> Html {
    let on = &props.on;
    let o = &props.model.open;
    let Some(g) = props.model.goal.as_ref().filter(|g| g.at_end) else {
        return html! {};
    };
    let (lesson, step) = (o.lesson, o.step);
    let found = props.catalog.get(lesson).and_then(|(_, l)| l.as_ref().ok());
    let steps = found.map_or(0, |l| l.steps.len());
    let hints_left = found
        .and_then(|l| l.steps.get(step))
        .is_some_and(|st| o.hints < st.hints.len());
    let n = g.checks.len();
    let missing = g.checks.iter().filter(|c| !c.met).count();
    html! {
        <section id="result-card" class={classes!("result-card", if g.met { "met" } else { "unmet" })}
                 role="status" aria-label="Result of the run" data-met={g.met.to_string()}>
            <p class="result-title">{ if g.met { "✓ Goal met" } else { "✗ Not met yet" } }</p>
            <p class="result-detail">{
                if g.met {
                    format!("All {n} conditions hold at the end of the run.")
                } else {
                    format!("{missing} of {n} conditions do not hold yet. Change something, then run from the start.")
                }
            }</p>
            <div class="result-actions">
                if g.met && step + 1 < steps {
                    <button id="result-next" onclick={on.reform(move |_| Action::OpenStep(lesson, step + 1))}>{"Next step"}</button>
                } else if g.met {
                    <button id="result-next" onclick={on.reform(|_| Action::LessonList(true))}>{"All lessons"}</button>
                } else {
                    if hints_left {
                        <button id="result-hint" onclick={on.reform(|_| Action::Hint)}>{"Show a hint"}</button>
                    }
                    <button id="result-rerun" onclick={on.reform(|_| Action::RunWithSettings)}>{"Run from the start"}</button>
                }
            </div>
        </section>
    }
}
