//! The names a lesson step mentions, highlighted on the canvas while the step is open (The
//! Secret Lives of Data puts its narration next to the thing it names, which is highlighted).
//!
//! A node is mentioned when a code span of the step's text, or of its task once the
//! task is shown, is exactly the node's name (`` `web` ``), or a whole word of their prose is
//! (lessons name their nodes in plain words too: "the log", "r3"; names are case-sensitive, so
//! "Alice" is not the node `alice`). A link is mentioned when a code span names both its ends
//! (`` `web–api` ``, `` `web-api` ``, `` `web -> api` ``) or when the step's own changes set it,
//! cut it or heal it. Fenced blocks and the solution are never read: a highlight must not give
//! the answer away. Plain Rust, unit-tested natively.

use faultline_core::NodeId;
use faultline_core::lesson::{Change, Step};
use faultline_core::scenario::Intervention;

/// What a step names, by node id and link index.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mentions {
    /// The nodes named.
    pub nodes: Vec<NodeId>,
    /// The links named, by their index in the world.
    pub links: Vec<usize>,
}

/// The most code spans and words read from a step: lesson text is trusted, but a limit keeps
/// the work per refresh bounded whatever is written.
const MAX_SPANS: usize = 2_000;

/// The text between tags of some HTML, with the five entities lesson HTML uses unescaped.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The code spans of a step's text and the words of its prose, outside code blocks. The page's
/// lessons come prepared at build time with their Markdown as HTML (`faultline lessons`), so this
/// reads HTML: `<code>` outside `<pre>` is a span, text outside any code is prose.
fn spans_and_words(html: &str) -> (Vec<String>, Vec<String>) {
    let (mut spans, mut words) = (Vec::new(), Vec::new());
    let (mut in_block, mut in_code) = (false, false);
    let mut rest = html;
    while !rest.is_empty() && spans.len() + words.len() < MAX_SPANS {
        let (text, after) = rest.split_once('<').unwrap_or((rest, ""));
        let text = unescape(text);
        if in_code && !in_block {
            spans.push(text.trim().to_string());
        } else if !in_block && !in_code {
            words.extend(
                text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
                    .map(|w| w.trim_matches('-'))
                    .filter(|w| !w.is_empty())
                    .map(str::to_string),
            );
        }
        let (tag, after) = after.split_once('>').unwrap_or((after, ""));
        let name = tag.split_whitespace().next().unwrap_or("");
        match name {
            "pre" => in_block = true,
            "/pre" => in_block = false,
            "code" => in_code = true,
            "/code" => in_code = false,
            _ => {}
        }
        rest = after;
    }
    (spans, words)
}

/// A code span read as a link's two ends, when it is written as one.
fn as_link(span: &str) -> Option<(&str, &str)> {
    ["->", "→", "–", "—", "-", " to "]
        .iter()
        .find_map(|sep| span.split_once(sep))
        .map(|(a, b)| (a.trim(), b.trim()))
}

/// What `step` names among `names` (node `i` is `names[i]`) and `links` (each link's two ends);
/// `task_shown` says whether the task is on screen (it waits for the prediction).
pub fn of(step: &Step, task_shown: bool, names: &[String], links: &[(NodeId, NodeId)]) -> Mentions {
    let id = |name: &str| {
        names
            .iter()
            .position(|n| n == name)
            .map(|i| NodeId(i as u16))
    };
    let link = |a: &str, b: &str| {
        let (a, b) = (id(a)?, id(b)?);
        links
            .iter()
            .position(|&(x, y)| (x, y) == (a, b) || (x, y) == (b, a))
    };
    let (mut spans, mut words) = spans_and_words(&step.text);
    if task_shown && let Some(t) = &step.task {
        let (s, w) = spans_and_words(t);
        spans.extend(s);
        words.extend(w);
    }
    let mut m = Mentions::default();
    m.nodes.extend(words.iter().filter_map(|w| id(w)));
    for s in &spans {
        // A whole name first: a node may be called `s-1`.
        if let Some(n) = id(s) {
            m.nodes.push(n);
        } else if let Some(l) = as_link(s).and_then(|(a, b)| link(a, b)) {
            m.links.push(l);
        }
    }
    for c in &step.changes {
        let ends = match c {
            Change::Link { a, b, .. } => Some((a, b)),
            Change::Do(Intervention::Cut { a, b, .. } | Intervention::Heal { a, b, .. }) => {
                Some((a, b))
            }
            Change::Node { .. } | Change::Do(_) => None,
        };
        if let Some(l) = ends.and_then(|(a, b)| link(a, b)) {
            m.links.push(l);
        }
    }
    faultline_core::order::sort(&mut m.nodes);
    m.nodes.dedup();
    faultline_core::order::sort(&mut m.links);
    m.links.dedup();
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_core::lesson::Lesson;

    /// Markdown as `faultline lessons` prepares it for the page.
    fn html(markdown: &str) -> String {
        let mut out = String::new();
        pulldown_cmark::html::push_html(&mut out, pulldown_cmark::Parser::new(markdown));
        out
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Code spans that are node names are mentioned; other code (a figure's name) is not; a
    /// span naming two ends is their link.
    #[test]
    fn code_spans_that_name_nodes_and_links_are_mentioned() {
        let step = Step {
            title: "t".into(),
            text: html(
                "Watch `web` retry against `api` while `attempts` climbs; the link `web–api` \
                 drops answers. `db` is not here, and neither is Web.\n\n```json\n\"cache\"\n```",
            ),
            task: Some(html("Set the cache's TTL.")),
            hints: vec![],
            changes: vec![],
            predict: None,
            goal: None,
            solution: vec![],
        };
        let n = names(&["web", "api", "cache"]);
        let links = [(NodeId(0), NodeId(1)), (NodeId(1), NodeId(2))];
        let m = of(&step, false, &n, &links);
        assert_eq!(
            m.nodes,
            vec![NodeId(0), NodeId(1)],
            "the task is not shown yet"
        );
        assert_eq!(m.links, vec![0]);
        let m = of(&step, true, &n, &links);
        assert_eq!(m.nodes, vec![NodeId(0), NodeId(1), NodeId(2)]);
    }

    /// Every shipped lesson's steps mention nodes of their own scenario (the lessons name their
    /// nodes in code spans), so the highlight has something to show.
    #[test]
    fn shipped_lessons_mention_their_nodes() {
        let mut steps = 0;
        let mut mentioning = 0;
        for (id, l) in crate::lessons::test_catalog().iter() {
            let l: &Lesson = l.as_ref().unwrap_or_else(|e| panic!("{id}: {e}"));
            let n: Vec<String> = l.scenario.nodes.iter().map(|x| x.id.clone()).collect();
            for st in &l.steps {
                steps += 1;
                let mut st = st.clone();
                st.text = html(&st.text);
                st.task = st.task.as_deref().map(html);
                if !of(&st, true, &n, &[]).nodes.is_empty() {
                    mentioning += 1;
                }
            }
        }
        assert!(
            mentioning * 4 >= steps * 3,
            "{mentioning} of {steps} steps mention a node"
        );
    }
}
