//! The reducer, driven as a learner drives the page: natively, with no browser.

use super::*;
use crate::state::Panel;
use faultline_core::world::Liveness;

fn page() -> Page {
    let (page, fx) = Page::start(Start {
        base_url: "http://127.0.0.1:8080/".into(),
        ..Start::default()
    });
    assert!(fx.is_empty(), "nothing to do at start: {fx:?}");
    page
}

fn session(p: &Page) -> &Session {
    p.session.as_ref().expect("a run")
}

fn now(p: &Page) -> u64 {
    session(p).world.now_us()
}

/// Plays `ms` of wall time in 16 ms frames.
fn play_for(p: &mut Page, ms: f64) {
    let mut t = 1_000.0;
    reduce(p, Action::Frame(t));
    while t < 1_000.0 + ms {
        t += 16.0;
        reduce(p, Action::Frame(t));
    }
}

fn id_of(p: &Page, name: &str) -> NodeId {
    let i = session(p)
        .world
        .names()
        .iter()
        .position(|n| n == name)
        .unwrap_or_else(|| panic!("no node {name}"));
    NodeId(i as u16)
}

#[test]
fn play_moves_time_and_pause_stops_it() {
    let mut p = page();
    assert!(p.playing(), "the default scenario plays at once");
    play_for(&mut p, 500.0);
    let t = now(&p);
    assert!(t > 400_000, "half a second of wall time at 1x: {t}");
    reduce(&mut p, Action::Toggle);
    assert!(!p.playing());
    play_for(&mut p, 500.0);
    assert_eq!(now(&p), t, "paused: time stays");
    // The panels were derived from the run: the client's requests are charted and counted.
    assert!(!p.charts.is_empty(), "charts for the first client");
    assert!(p.stats.iter().any(|r| r.ok > 0), "{:?}", p.stats);
    assert!(!p.log.is_empty(), "the event log has lines");
}

#[test]
fn seek_back_and_forth_replays_the_same_run_and_says_so_in_the_address_bar() {
    let mut p = page();
    reduce(&mut p, Action::Toggle);
    let fx = reduce(&mut p, Action::Seek(3_000_000));
    assert_eq!(now(&p), 3_000_000);
    let hash = session(&p).world.trace().hash();
    assert!(
        matches!(fx.as_slice(), [Effect::Fragment(text)] if Link::decode(text).is_ok()),
        "the address bar follows the moment: {fx:?}"
    );
    reduce(&mut p, Action::Seek(1_000_000));
    assert_eq!(now(&p), 1_000_000);
    reduce(&mut p, Action::Seek(3_000_000));
    assert_eq!(session(&p).world.trace().hash(), hash, "the same run");
}

#[test]
fn crash_cut_and_fork_change_the_run_from_the_playhead() {
    let mut p = page();
    reduce(&mut p, Action::Toggle);
    reduce(&mut p, Action::Seek(2_000_000));
    let server = id_of(&p, "server");
    let mut plain = page();
    reduce(&mut plain, Action::Toggle);
    reduce(&mut plain, Action::Seek(4_000_000));

    reduce(&mut p, Action::Node(server, NodeAct::Crash));
    assert_eq!(session(&p).world.liveness(server), Liveness::Crashed);
    assert!(p.announce.contains("server crashed"), "{}", p.announce);
    reduce(&mut p, Action::Seek(4_000_000));
    assert_ne!(
        session(&p).world.trace().hash(),
        session(&plain).world.trace().hash(),
        "the crash forked the run"
    );
    // Back before the crash, a cut makes another future: the crash is forgotten.
    reduce(&mut p, Action::Seek(1_000_000));
    reduce(&mut p, Action::ToggleLink(0));
    assert!(session(&p).world.links()[0].is_cut(0), "the link is cut");
    assert_eq!(
        session(&p).user.len(),
        1,
        "only the cut is kept: {:?}",
        session(&p).user
    );
    reduce(&mut p, Action::Seek(4_000_000));
    assert_eq!(session(&p).world.liveness(server), Liveness::Up);
    // And a second press heals it.
    reduce(&mut p, Action::ToggleLink(0));
    assert!(!session(&p).world.links()[0].is_cut(0));
}

#[test]
fn a_setting_changes_the_node_and_a_refused_value_changes_nothing() {
    let mut p = page();
    reduce(&mut p, Action::Toggle);
    let client = id_of(&p, "client");
    reduce(&mut p, Action::Select(Some(client)));
    let timeout = |p: &Page| {
        p.inspector
            .as_ref()
            .expect("the inspector shows the selected node")
            .params
            .iter()
            .find(|v| v.param.path == "timeout_ms")
            .map(|v| v.value.clone())
    };
    reduce(
        &mut p,
        Action::Set(client, "timeout_ms", serde_json::json!(250.0)),
    );
    assert_eq!(timeout(&p), Some(serde_json::json!(250.0)));
    assert_eq!(p.error, None);
    let user = session(&p).user.len();
    reduce(
        &mut p,
        Action::Set(client, "timeout_ms", serde_json::json!(-5.0)),
    );
    assert!(
        p.error
            .as_deref()
            .is_some_and(|e| e.contains("timeout_ms not changed")),
        "{:?}",
        p.error
    );
    assert_eq!(session(&p).user.len(), user, "nothing recorded");
    assert_eq!(
        timeout(&p),
        Some(serde_json::json!(250.0)),
        "the old value stays"
    );
    // An absurd seed is refused with a message, and the run stays.
    let seed = session(&p).scenario.seed;
    reduce(&mut p, Action::Seed("twelve".into()));
    assert!(p.error.as_deref().is_some_and(|e| e.contains("not a seed")));
    assert_eq!(session(&p).scenario.seed, seed);
}

/// How many fetches of the lessons the effects ask for.
fn fetches(fx: &[Effect]) -> usize {
    fx.iter().filter(|e| **e == Effect::FetchLessons).count()
}

/// The lessons file arrives, as the browser would hand it over.
fn arrive(p: &mut Page) {
    reduce(
        p,
        Action::LessonsArrived(Ok(crate::lessons::test_catalog_json())),
    );
}

#[test]
fn lessons_are_fetched_when_first_wanted_and_a_failed_fetch_keeps_the_run() {
    let mut p = page();
    assert!(p.catalog.is_empty(), "no lesson is read at start");
    let server = id_of(&p, "server");
    reduce(&mut p, Action::Node(server, NodeAct::Crash));
    let hash = session(&p).world.trace().hash();
    // The start button, before the lessons are here: one fetch, the step opens when they arrive.
    let fx = reduce(&mut p, Action::OpenStep(0, 0));
    assert_eq!(fetches(&fx), 1, "{fx:?}");
    assert_eq!(p.lessons_load, LessonsLoad::Loading);
    assert_eq!(
        fetches(&reduce(&mut p, Action::LessonList(true))),
        0,
        "no second fetch while one is on its way"
    );
    reduce(
        &mut p,
        Action::LessonsArrived(Err("the server answered 404".into())),
    );
    let e = p.error.clone().expect("said");
    assert!(
        e.contains("could not be loaded") && e.contains("404"),
        "{e}"
    );
    assert!(matches!(p.lessons_load, LessonsLoad::Failed(_)));
    assert!(p.lesson.is_none());
    assert_eq!(session(&p).world.trace().hash(), hash, "the run is kept");
    // A damaged file is the same: said, and the run kept.
    assert_eq!(fetches(&reduce(&mut p, Action::LessonList(true))), 1);
    reduce(
        &mut p,
        Action::LessonsArrived(Ok("<html>not found</html>".into())),
    );
    assert!(p.error.as_deref().is_some_and(|e| e.contains("damaged")));
    assert_eq!(session(&p).world.trace().hash(), hash, "the run is kept");
    // Asking again fetches again; this time it arrives and the list fills.
    assert_eq!(fetches(&reduce(&mut p, Action::LessonList(true))), 1);
    arrive(&mut p);
    assert_eq!(p.catalog.len(), crate::lessons::LESSON_IDS.len());
    assert_eq!(p.lessons_load, LessonsLoad::Idle);
    assert_eq!(
        fetches(&reduce(&mut p, Action::OpenStep(0, 0))),
        0,
        "here already"
    );
    assert_eq!(p.lesson.as_ref().map(|o| (o.lesson, o.step)), Some((0, 0)));
}

#[test]
fn a_lesson_address_opens_its_step_when_the_lessons_arrive() {
    let id = crate::lessons::LESSON_IDS[1];
    let (mut p, fx) = Page::start(Start {
        query: format!("?lesson={id}&step=2"),
        ..Start::default()
    });
    assert_eq!(fetches(&fx), 1, "{fx:?}");
    assert!(p.session.is_ok(), "the default run shows meanwhile");
    arrive(&mut p);
    let o = p.lesson.clone().expect("open");
    assert_eq!((p.catalog[o.lesson].0.as_str(), o.step), (id, 1));
    // A template chosen while the lessons are on their way wins over the lesson.
    let (mut p, _) = Page::start(Start {
        query: format!("?lesson={id}"),
        ..Start::default()
    });
    reduce(&mut p, Action::Template(1));
    arrive(&mut p);
    assert!(p.lesson.is_none(), "the learner's choice is kept");
    // An unknown lesson is said at once, with no fetch.
    let (p, fx) = Page::start(Start {
        query: "?lesson=no-such-lesson".into(),
        ..Start::default()
    });
    assert_eq!(fetches(&fx), 0);
    assert!(
        p.error
            .as_deref()
            .is_some_and(|e| e.contains("no lesson 'no-such-lesson'"))
    );
}

/// The templates' fetches the effects ask for.
fn template_fetches(fx: &[Effect]) -> Vec<usize> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::FetchTemplate(i) => Some(*i),
            _ => None,
        })
        .collect()
}

#[test]
fn a_template_is_fetched_when_picked_and_the_last_pick_wins() {
    use crate::templates::{TEMPLATES, template_titles};
    let mut p = page();
    let hash = session(&p).world.trace().hash();
    // Picked: one fetch, and the run on screen stays until the file arrives.
    let fx = reduce(&mut p, Action::Template(2));
    assert_eq!(template_fetches(&fx), vec![2]);
    assert_eq!(p.template_wanted, Some(2));
    assert!(p.announce.contains(template_titles()[2]), "{}", p.announce);
    assert_eq!(session(&p).world.trace().hash(), hash);
    reduce(&mut p, Action::TemplateArrived(2, Ok(TEMPLATES[2].into())));
    assert_eq!(session(&p).scenario.title, template_titles()[2]);
    assert!(session(&p).playing, "a template plays from zero");
    assert_eq!(p.template_wanted, None);
    // Two picks in a row: the first to arrive is stale and ignored, the last one opens.
    reduce(&mut p, Action::Template(3));
    reduce(&mut p, Action::Template(4));
    reduce(&mut p, Action::TemplateArrived(3, Ok(TEMPLATES[3].into())));
    assert_eq!(session(&p).scenario.title, template_titles()[2]);
    reduce(&mut p, Action::TemplateArrived(4, Ok(TEMPLATES[4].into())));
    assert_eq!(session(&p).scenario.title, template_titles()[4]);
    // The default is in the page: no fetch.
    let fx = reduce(&mut p, Action::Template(0));
    assert!(template_fetches(&fx).is_empty(), "{fx:?}");
    assert_eq!(session(&p).scenario.title, template_titles()[0]);
    // A template past the list asks for nothing.
    assert!(template_fetches(&reduce(&mut p, Action::Template(usize::MAX))).is_empty());
}

#[test]
fn a_template_that_cannot_be_fetched_or_read_is_said_and_the_run_is_kept() {
    let mut p = page();
    let server = id_of(&p, "server");
    reduce(&mut p, Action::Node(server, NodeAct::Crash));
    let hash = session(&p).world.trace().hash();
    reduce(&mut p, Action::Template(1));
    reduce(
        &mut p,
        Action::TemplateArrived(
            1,
            Err("the network did not answer (are you offline?)".into()),
        ),
    );
    let e = p.error.clone().expect("said");
    assert!(
        e.contains("could not be loaded") && e.contains("offline"),
        "{e}"
    );
    assert_eq!(session(&p).world.trace().hash(), hash, "the run is kept");
    assert_eq!(p.template_wanted, None);
    // A file that is not a scenario (a host's error page, say) is said the same way.
    reduce(&mut p, Action::Template(1));
    reduce(
        &mut p,
        Action::TemplateArrived(1, Ok("<html>not found</html>".into())),
    );
    assert!(
        p.error
            .as_deref()
            .is_some_and(|e| e.contains("could not be loaded"))
    );
    assert_eq!(session(&p).world.trace().hash(), hash, "the run is kept");
    // Another scenario opened meanwhile supersedes the template on its way.
    reduce(&mut p, Action::Template(1));
    reduce(&mut p, Action::Template(0));
    reduce(
        &mut p,
        Action::TemplateArrived(1, Ok(crate::templates::TEMPLATES[1].into())),
    );
    assert_eq!(
        session(&p).scenario.title,
        crate::templates::template_titles()[0]
    );
}

#[test]
fn opening_a_lesson_step_shows_its_text_and_a_goal_judged_at_the_end() {
    let mut p = page();
    arrive(&mut p);
    let (i, lesson) = p
        .catalog
        .iter()
        .enumerate()
        .find_map(|(i, (_, l))| {
            let l = l.as_ref().ok()?;
            l.steps.iter().any(|s| s.goal.is_some()).then_some((i, l))
        })
        .expect("a lesson with a goal");
    let step = lesson.steps.iter().position(|s| s.goal.is_some()).unwrap();
    reduce(&mut p, Action::OpenStep(i, step));
    let o = p.lesson.clone().expect("open");
    assert_eq!((o.lesson, o.step), (i, step));
    assert!(!p.playing(), "a step opens paused, to be read first");
    let goal = p
        .lesson_view
        .as_ref()
        .and_then(|m| m.goal.clone())
        .expect("the goal is shown");
    assert!(!goal.at_end && !goal.met);
    assert!(
        goal.status.starts_with("Checked at the end"),
        "{}",
        goal.status
    );
    // Its solution, applied and played to the end, meets the goal and saves the progress.
    reduce(&mut p, Action::ShowSolution);
    reduce(&mut p, Action::ApplySolution);
    let end = session(&p).end_us();
    let fx = reduce(&mut p, Action::Seek(end));
    let goal = p.lesson_view.as_ref().and_then(|m| m.goal.clone()).unwrap();
    assert!(goal.at_end && goal.met, "{goal:?}");
    assert!(
        fx.iter().any(|e| matches!(e, Effect::SaveProgress(_))),
        "{fx:?}"
    );
    assert!(p.progress.done(&p.catalog[i].0, step));
}

#[test]
fn a_link_opens_the_same_moment_and_a_broken_link_keeps_the_default() {
    let mut p = page();
    reduce(&mut p, Action::Toggle);
    let server = id_of(&p, "server");
    reduce(&mut p, Action::Seek(1_500_000));
    reduce(&mut p, Action::Node(server, NodeAct::Crash));
    reduce(&mut p, Action::Seek(2_500_000));
    reduce(&mut p, Action::Hide("seed", true));
    let fx = reduce(&mut p, Action::CopyLink);
    let url = p.copied.clone().expect("the link is shown");
    assert!(url.starts_with("http://127.0.0.1:8080/#"), "{url}");
    assert!(fx.contains(&Effect::Clipboard(url.clone())), "{fx:?}");
    let (q, hash) = (
        String::new(),
        url.split_once('#').map(|(_, h)| format!("#{h}")).unwrap(),
    );
    let (opened, _) = Page::start(Start {
        query: q,
        hash,
        ..Start::default()
    });
    assert_eq!(now(&opened), 2_500_000);
    assert_eq!(
        session(&opened).world.trace().hash(),
        session(&p).world.trace().hash(),
        "the same run at the same moment"
    );
    assert!(!opened.playing(), "opened paused");
    assert!(opened.hides("seed"), "the teacher's choice holds");

    // A link made in a lesson step: the run opens at once, the lesson panel joins it when the
    // lessons arrive, and the run is not replaced by the step's.
    let mut p = page();
    arrive(&mut p);
    reduce(&mut p, Action::OpenStep(2, 0));
    reduce(&mut p, Action::Seek(1_000_000));
    reduce(&mut p, Action::CopyLink);
    let url = p.copied.clone().unwrap();
    let hash = url.split_once('#').map(|(_, h)| format!("#{h}")).unwrap();
    let (mut opened, fx) = Page::start(Start {
        hash,
        ..Start::default()
    });
    assert_eq!(fetches(&fx), 1, "{fx:?}");
    assert_eq!(now(&opened), 1_000_000);
    arrive(&mut opened);
    assert_eq!(
        opened.lesson.as_ref().map(|o| (o.lesson, o.step)),
        Some((2, 0))
    );
    assert_eq!(now(&opened), 1_000_000, "the shared moment is kept");
    assert_eq!(
        session(&opened).world.trace().hash(),
        session(&p).world.trace().hash()
    );

    let (broken, fx) = Page::start(Start {
        hash: "#v1.not-a-link".into(),
        progress: Some("{corrupt".into()),
        ..Start::default()
    });
    assert!(broken.error.is_some(), "a clear message");
    assert!(broken.session.is_ok(), "the default sandbox is open");
    assert!(fx.contains(&Effect::ForgetProgress), "{fx:?}");

    // A link whose scenario does not check: the reader's message, then ours, as two sentences.
    let mut bad = session(&p).scenario.clone();
    bad.duration_ms = -1.0;
    let text = Link {
        scenario: bad,
        at_ms: 0.0,
        lesson: None,
        view: Default::default(),
    }
    .encode();
    let (broken, _) = Page::start(Start {
        hash: format!("#{text}"),
        ..Start::default()
    });
    let e = broken.error.clone().expect("said");
    assert!(e.starts_with("This link's scenario is not valid: "), "{e}");
    assert!(e.ends_with(". The default sandbox is open instead."), "{e}");
    assert!(!e.contains(".. ") && !e.contains(" ."), "{e}");
}

#[test]
fn drag_moves_a_node_and_a_click_selects_it() {
    let mut p = page();
    let client = id_of(&p, "client");
    let (x, y) = p.pos[client.index()];
    reduce(&mut p, Action::DragStart(client, x, y));
    reduce(&mut p, Action::DragMove(x + 1.0, y));
    reduce(&mut p, Action::DragEnd);
    assert_eq!(p.selected, Some(client), "a click selects");
    assert_eq!(p.pos[client.index()], (x, y), "and moves nothing");
    reduce(&mut p, Action::DragStart(client, x, y));
    reduce(&mut p, Action::DragMove(x + 40.0, y + 20.0));
    reduce(&mut p, Action::DragEnd);
    assert_eq!(p.pos[client.index()], (x + 40.0, y + 20.0));
    let saved = session(&p).scenario.view.positions.get("client").copied();
    assert_eq!(saved, Some([(x + 40.0).round(), (y + 20.0).round()]));
    assert_eq!(p.selected, Some(client), "a drag keeps the selection");
}

#[test]
fn exports_are_downloads_and_a_bad_import_keeps_the_run() {
    let mut p = page();
    reduce(&mut p, Action::Toggle);
    reduce(&mut p, Action::Seek(1_000_000));
    let fx = reduce(&mut p, Action::Export(ExportKind::TraceJsonl));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Download { name, text, .. }
            if name.ends_with(".trace.jsonl") && text.lines().count() > 10)),
        "{fx:?}"
    );
    let hash = session(&p).world.trace().hash();
    reduce(&mut p, Action::Imported(Ok("{\"nodes\": 7}".into())));
    assert!(
        p.error
            .as_deref()
            .is_some_and(|e| e.contains("nothing changed"))
    );
    assert_eq!(session(&p).world.trace().hash(), hash, "the run is kept");
}

#[test]
fn the_trace_filter_reads_what_the_log_prints() {
    assert_eq!(parse_trace_id("t6"), Ok(Some(6)));
    assert_eq!(parse_trace_id(" T42 "), Ok(Some(42)));
    assert_eq!(parse_trace_id("6"), Ok(Some(6)));
    assert_eq!(parse_trace_id("  "), Ok(None));
    // What the log prints beside a trace id is not one: a request id, a status.
    for bad in [
        "r25",
        "t",
        "t-1",
        "t6 r25",
        "tt6",
        "t99999999999999999999999",
    ] {
        assert_eq!(parse_trace_id(bad), Err(()), "{bad}");
    }
}

/// Opens a copied link in a fresh page, as a student does.
fn open_copied(url: &str) -> Page {
    let hash = url.split_once('#').map(|(_, h)| format!("#{h}")).unwrap();
    Page::start(Start {
        hash,
        base_url: "http://127.0.0.1:8080/".into(),
        ..Start::default()
    })
    .0
}

#[test]
fn a_classroom_link_keeps_its_hidden_parts_and_note_for_the_student() {
    let mut teacher = page();
    reduce(&mut teacher, Action::Hide("seed", true));
    reduce(
        &mut teacher,
        Action::Note("Watch the\nqueue fill up.".into()),
    );
    reduce(&mut teacher, Action::CopyLink);
    let mut student = open_copied(&teacher.copied.clone().unwrap());
    assert!(student.hides("seed") && student.locked);
    assert_eq!(student.note, "Watch the queue fill up.", "one paragraph");
    // The student cannot untick the box nor edit the note...
    reduce(&mut student, Action::Hide("seed", false));
    reduce(&mut student, Action::Note(String::new()));
    assert!(student.hides("seed"));
    assert_eq!(student.note, "Watch the queue fill up.");
    // ...and a link they pass on keeps both.
    reduce(&mut student, Action::CopyLink);
    let next = open_copied(&student.copied.clone().unwrap());
    assert!(next.hides("seed") && next.locked);
    assert_eq!(next.note, student.note);
    // A link that hides nothing is not locked: whoever opens it may make a classroom link.
    reduce(&mut teacher, Action::Hide("seed", false));
    reduce(&mut teacher, Action::CopyLink);
    assert!(!open_copied(&teacher.copied.clone().unwrap()).locked);
    // A note longer than a link carries is cut at the limit, not refused.
    reduce(&mut teacher, Action::Note("x".repeat(1_000)));
    assert_eq!(
        teacher.note.chars().count(),
        faultline_core::share::MAX_NOTE_CHARS
    );
}

#[test]
fn hiding_what_a_step_needs_warns_the_teacher() {
    let mut p = page();
    arrive(&mut p);
    let needs = |c: &faultline_core::lesson::Change| match c {
        faultline_core::lesson::Change::Do(_) => "actions",
        _ => "settings",
    };
    let (i, step, part) = p
        .catalog
        .iter()
        .enumerate()
        .find_map(|(i, (_, l))| {
            let l = l.as_ref().ok()?;
            l.steps.iter().enumerate().find_map(|(j, s)| {
                (s.goal.is_some() && !s.solution.is_empty()).then(|| (i, j, needs(&s.solution[0])))
            })
        })
        .expect("a step solved by a change");
    reduce(&mut p, Action::OpenStep(i, step));
    assert_eq!(p.unsolvable(), None, "nothing hidden yet");
    reduce(&mut p, Action::Hide("charts", true));
    assert_eq!(
        p.unsolvable(),
        None,
        "the charts are not needed to solve it"
    );
    let part = HIDEABLE.iter().find(|(n, _)| *n == part).unwrap().0;
    reduce(&mut p, Action::Hide(part, true));
    let why = p.unsolvable().expect("a warning");
    assert!(why.contains(&format!("Step {}", step + 1)), "{why}");
    assert!(why.contains("cannot meet its goal"), "{why}");
}

#[test]
fn embedded_open_in_faultline_is_the_full_page_at_the_same_moment() {
    let (mut p, _) = Page::start(Start {
        query: "?embed=1".into(),
        base_url: "http://127.0.0.1:8080/".into(),
        ..Start::default()
    });
    assert!(p.embed);
    reduce(&mut p, Action::Toggle);
    reduce(&mut p, Action::Seek(1_200_000));
    let fx = reduce(&mut p, Action::OpenFull);
    let url = fx
        .iter()
        .find_map(|e| match e {
            Effect::OpenTab(url) => Some(url),
            _ => None,
        })
        .unwrap_or_else(|| panic!("a new tab: {fx:?}"));
    assert!(!url.contains("embed"), "the full page: {url}");
    let full = open_copied(url);
    assert!(!full.embed);
    assert_eq!(now(&full), 1_200_000);
    assert_eq!(
        session(&full).world.trace().hash(),
        session(&p).world.trace().hash()
    );
}

/// While a run plays, a panel out of view is not recomputed, but the key chart beside the canvas
/// is; the panel is refreshed as it comes into view, and every panel when the run is paused.
#[test]
fn a_panel_out_of_view_waits_and_is_fresh_when_seen() {
    let mut p = page();
    for panel in Panel::ALL {
        reduce(&mut p, Action::InView(panel, false));
    }
    play_for(&mut p, 300.0);
    let (charts, log, key) = (p.charts.clone(), p.log.clone(), p.key_chart.clone());
    play_for(&mut p, 1_500.0);
    assert!(
        Rc::ptr_eq(&charts, &p.charts),
        "the charts out of view wait"
    );
    assert!(Rc::ptr_eq(&log, &p.log), "so does the event log");
    assert_ne!(
        key, p.key_chart,
        "the key chart beside the canvas follows the run"
    );
    reduce(&mut p, Action::InView(Panel::Charts, true));
    assert!(
        !Rc::ptr_eq(&charts, &p.charts),
        "refreshed as it comes into view"
    );
    let key_now = p.key_chart.clone().expect("a key chart");
    assert!(
        p.charts.contains(&key_now),
        "the key chart is among the charts"
    );
    reduce(&mut p, Action::Toggle);
    assert!(!Rc::ptr_eq(&log, &p.log), "paused: every panel is fresh");
}

#[test]
fn a_message_ends_as_a_sentence_once() {
    assert_eq!(
        sentence("missing field `node` at line 1 column 671"),
        "missing field `node` at line 1 column 671."
    );
    assert_eq!(sentence("Reload the page."), "Reload the page.");
    assert_eq!(sentence("are you offline?"), "are you offline?");
}
