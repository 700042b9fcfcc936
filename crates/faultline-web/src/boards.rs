//! Pictures beside a node, for models whose state is a list rather than a level: a payment
//! service's idempotency store as a small table whose row lights up when a repeated request hits
//! it, an event log as a strip of offsets with each projection's offset marked on it, and a
//! service's row written by numbered edits, with its edit and version and, for a moment, a
//! stale write refused or the row going back to an older edit.
//!
//! A board is plain data in the [`crate::canvas::Scene`], built from the core's typed views
//! ([`PaymentView`], [`EventLogView`] and the [`ProjectionView`]s that follow the log), placed
//! under its node (or above it, near the bottom edge), and drawn in its own layer with an
//! accessible name that says what it shows. Every state has a word: colour only repeats it.

use faultline_core::NodeId;
use faultline_core::view::{
    EventLogView, KeyHit, KeyRow, KeyState, NodeView, PaymentView, ProjectionView, RowView,
};
use yew::prelude::*;

use crate::layout::{HEIGHT, WIDTH};

/// The rows of the key store drawn (the most recently touched).
pub const KEY_ROWS: usize = 4;
/// How long a row stays marked after a repeat hit it, virtual microseconds: long enough to read
/// at normal speed, short enough that the next hit shows as new.
pub const HIT_SHOW_US: u64 = 1_500_000;
/// The offsets drawn as cells on the log's strip (the newest).
pub const LOG_CELLS: u64 = 16;
/// The most projections marked on a strip (one line each).
const LOG_MARKS: usize = 4;

/// A board's size in canvas units, before the phone's enlargement.
const BOARD_W: f64 = 168.0;
const ROW_H: f64 = 13.0;
const HEAD_H: f64 = 15.0;
/// How much a phone enlarges a board (`web/style.css`); placement leaves room for it.
const PHONE_SCALE: f64 = 1.6;

/// One row of a key store.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyLine {
    /// The key (the data attribute carries it whole; the text shows its first hex digits).
    pub key: u64,
    /// What the row shows for the key: a named key's name (cut to fit), or a generated key's
    /// first hex digits.
    pub label: String,
    /// "in progress" or "done".
    pub state: &'static str,
    /// The stored result's status, once done.
    pub result: Option<u16>,
    /// A repeat hit the row in the last [`HIT_SHOW_US`].
    pub hit: Option<KeyHit>,
}

/// A projection's place on the log's strip.
#[derive(Clone, Debug, PartialEq)]
pub struct LogMark {
    /// The projection's name.
    pub name: String,
    /// The offset of the next event it applies (= events applied).
    pub offset: u64,
    /// Events in the log it has not applied.
    pub lag: u64,
}

/// What a board shows.
#[derive(Clone, Debug, PartialEq)]
pub enum BoardKind {
    /// A payment service's idempotency store.
    Keys {
        /// Keys stored in all.
        stored: usize,
        /// The newest rows.
        rows: Vec<KeyLine>,
    },
    /// An event log and the projections that follow it.
    Log {
        /// Events in the log (its next offset).
        length: u64,
        /// Its followers, furthest behind first.
        marks: Vec<LogMark>,
    },
    /// A service's row written by numbered edits (`docs/models/ordering.md`).
    Row {
        /// The edit it holds.
        value: u64,
        /// Its version.
        version: u64,
        /// Stale writes refused in all.
        refused: u64,
        /// Steps back in all.
        backwards: u64,
        /// What happened last, while it is news (within [`HIT_SHOW_US`]).
        news: Option<RowNews>,
    },
}

/// The latest thing that happened to a row, shown for a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowNews {
    /// A write of this edit arrived after a newer one and was refused.
    Refused(u64),
    /// The row went from the first edit back to the second, older one.
    WentBack(u64, u64),
}

impl RowNews {
    fn words(self) -> String {
        match self {
            RowNews::Refused(e) => format!("edit {e} refused: older"),
            RowNews::WentBack(from, to) => format!("went back: {from} → {to}"),
        }
    }

    fn class(self) -> &'static str {
        match self {
            RowNews::Refused(_) => "refused",
            RowNews::WentBack(..) => "went-back",
        }
    }
}

/// A picture beside a node.
#[derive(Clone, Debug, PartialEq)]
pub struct Board {
    /// The node it belongs to.
    pub owner: String,
    /// Its top centre, canvas units.
    pub at: (f64, f64),
    /// What it shows.
    pub kind: BoardKind,
}

impl BoardKind {
    /// A payment service's key store at `now_us`.
    pub fn keys(p: &PaymentView, now_us: u64) -> BoardKind {
        BoardKind::Keys {
            stored: p.keys_stored,
            rows: p
                .keys
                .iter()
                .take(KEY_ROWS)
                .map(|r| KeyLine {
                    key: r.key,
                    label: key_label(r),
                    state: match r.state {
                        KeyState::Running => "in progress",
                        KeyState::Done { .. } => "done",
                    },
                    result: match r.state {
                        KeyState::Running => None,
                        KeyState::Done { status } => Some(status),
                    },
                    hit: r
                        .last_hit
                        .filter(|(_, at)| now_us.saturating_sub(*at) < HIT_SHOW_US)
                        .map(|(h, _)| h),
                })
                .collect(),
        }
    }

    /// An event log with the projections that follow it (`followers`: name and view).
    pub fn log<'a>(
        log: &EventLogView,
        followers: impl Iterator<Item = (&'a str, &'a ProjectionView)>,
    ) -> BoardKind {
        let mut marks: Vec<LogMark> = followers
            .map(|(name, p)| LogMark {
                name: name.to_string(),
                offset: p.offset.min(log.length),
                lag: log.length.saturating_sub(p.offset),
            })
            .collect();
        faultline_core::order::sort_by(&mut marks, |a, b| {
            b.lag.cmp(&a.lag).then_with(|| a.name.cmp(&b.name))
        });
        marks.truncate(LOG_MARKS);
        BoardKind::Log {
            length: log.length,
            marks,
        }
    }

    /// A service's row at `now_us`: the newest of its refusal and its step back while news.
    pub fn row(r: &RowView, now_us: u64) -> BoardKind {
        let fresh = |at: u64| now_us.saturating_sub(at) < HIT_SHOW_US;
        let refused = r
            .last_refused
            .filter(|&(_, at)| fresh(at))
            .map(|(e, at)| (at, RowNews::Refused(e)));
        let back = r
            .last_backwards
            .filter(|&(_, _, at)| fresh(at))
            .map(|(from, to, at)| (at, RowNews::WentBack(from, to)));
        BoardKind::Row {
            value: r.value,
            version: r.version,
            refused: r.stale_writes,
            backwards: r.went_backwards,
            news: refused
                .into_iter()
                .chain(back)
                .max_by_key(|n| n.0)
                .map(|n| n.1),
        }
    }

    fn height(&self) -> f64 {
        match self {
            BoardKind::Row { .. } => HEAD_H + ROW_H * 2.0 + 4.0,
            BoardKind::Keys { rows, .. } => HEAD_H + ROW_H * rows.len().max(1) as f64 + 4.0,
            BoardKind::Log { marks, .. } => HEAD_H + 16.0 + ROW_H * marks.len() as f64 + 4.0,
        }
    }

    /// The board's words for its accessible name.
    fn words(&self, owner: &str) -> String {
        match self {
            BoardKind::Keys { stored, rows } => {
                let rows: Vec<String> = rows.iter().map(row_words).collect();
                format!(
                    "{owner}'s key store, {stored} keys; newest: {}",
                    if rows.is_empty() {
                        "none".to_string()
                    } else {
                        rows.join("; ")
                    }
                )
            }
            BoardKind::Log { length, marks } => {
                let marks: Vec<String> = marks
                    .iter()
                    .map(|m| format!("{} at offset {}, {} behind", m.name, m.offset, m.lag))
                    .collect();
                format!("{owner}: {length} events; {}", marks.join("; "))
            }
            BoardKind::Row {
                value,
                version,
                refused,
                backwards,
                news,
            } => {
                let mut w = format!(
                    "{owner}'s row holds edit {value}, version {version}; {}",
                    totals(*refused, *backwards)
                );
                if let Some(n) = news {
                    w.push_str(&format!("; just now: {}", n.words()));
                }
                w
            }
        }
    }
}

impl Board {
    /// A board for the node at `node_at`: under it, or above it when there is no room below,
    /// and moved in from the sides, with room for a phone's enlargement.
    pub fn place(owner: &str, node_at: (f64, f64), kind: BoardKind) -> Board {
        let h = kind.height() * PHONE_SCALE;
        let half = BOARD_W * PHONE_SCALE / 2.0;
        let (x, y) = node_at;
        // Below the node's state line, which a phone draws 1.35 times larger (to y + 69).
        let below = y + 72.0;
        let top = if below + h <= HEIGHT - 2.0 || y - 46.0 - h < 2.0 {
            below
        } else {
            y - 46.0 - h
        };
        Board {
            owner: owner.to_string(),
            at: (
                x.clamp(half.min(WIDTH / 2.0), (WIDTH - half).max(WIDTH / 2.0)),
                top,
            ),
            kind,
        }
    }
}

/// The boards of a world's nodes that are up, from their views (`views[i]` is node `i`'s,
/// `at[i]` its centre). The one place the page decides which models have a board.
pub fn of(
    names: &[String],
    views: &[NodeView],
    up: &[bool],
    at: &[(f64, f64)],
    now_us: u64,
) -> Vec<Board> {
    views
        .iter()
        .enumerate()
        .filter(|(i, _)| up.get(*i).copied().unwrap_or(false))
        .filter_map(|(i, v)| {
            let kind = match v {
                NodeView::Payment(p) => BoardKind::keys(p, now_us),
                NodeView::EventLog(l) => BoardKind::log(
                    l,
                    views.iter().enumerate().filter_map(|(j, f)| match f {
                        NodeView::Projection(p) if p.log == NodeId(i as u16) => {
                            Some((names.get(j)?.as_str(), p))
                        }
                        _ => None,
                    }),
                ),
                NodeView::Service(sv) => BoardKind::row(sv.row.as_ref()?, now_us),
                NodeView::Client(_)
                | NodeView::Database(_)
                | NodeView::Cache(_)
                | NodeView::App(_)
                | NodeView::OrderWriter(_)
                | NodeView::Projection(_)
                | NodeView::Raft(_)
                | NodeView::Producer(_)
                | NodeView::Queue(_)
                | NodeView::Consumer(_)
                | NodeView::SagaOrchestrator(_)
                | NodeView::SagaParticipant(_)
                | NodeView::TpcCoordinator(_)
                | NodeView::TpcParticipant(_)
                | NodeView::KvReplica(_)
                | NodeView::KvClient(_) => return None,
            };
            Some(Board::place(names.get(i)?, *at.get(i)?, kind))
        })
        .collect()
}

/// A key's short name: its first four hex digits (keys are random 64-bit numbers).
fn short_key(key: u64) -> String {
    format!("k{:04x}", key >> 48)
}

/// A row's key as the board shows it: a named key (`"order-1042"`) by its name, cut to the
/// width of a generated key's label and a little more; a generated one by [`short_key`].
fn key_label(r: &KeyRow) -> String {
    const MAX: usize = 9;
    match &r.name {
        Some(n) if n.chars().count() > MAX => {
            format!("{}…", n.chars().take(MAX - 1).collect::<String>())
        }
        Some(n) => n.clone(),
        None => short_key(r.key),
    }
}

fn hit_words(h: KeyHit) -> &'static str {
    match h {
        KeyHit::Replayed => "replayed",
        KeyHit::Conflict => "409 busy",
        KeyHit::Mismatch => "400 other amount",
    }
}

fn hit_class(h: KeyHit) -> &'static str {
    match h {
        KeyHit::Replayed => "replayed",
        KeyHit::Conflict => "conflict",
        KeyHit::Mismatch => "mismatch",
    }
}

/// A row's totals in words.
fn totals(refused: u64, backwards: u64) -> String {
    format!("went back {backwards}×, refused {refused}")
}

fn row_words(r: &KeyLine) -> String {
    let mut w = format!("{} {}", r.label, r.state);
    if let Some(s) = r.result {
        w.push_str(&format!(" {s}"));
    }
    if let Some(h) = r.hit {
        w.push_str(&format!(", hit: {}", hit_words(h)));
    }
    w
}

/// The boards, in their own layer: not focusable, each an image with its words.
pub fn boards_html(boards: &[Board]) -> Html {
    html! {
        <g class="boards">
            { for boards.iter().map(board_html) }
        </g>
    }
}

fn board_html(b: &Board) -> Html {
    let (x, y) = b.at;
    let label = b.kind.words(&b.owner);
    let h = b.kind.height();
    let x0 = -BOARD_W / 2.0;
    let body = match &b.kind {
        BoardKind::Keys { stored, rows } => html! {
            <g class="board keys" data-owner={b.owner.clone()} data-stored={stored.to_string()}>
                <rect class="board-frame" x={x0.to_string()} y="0" width={BOARD_W.to_string()} height={format!("{h:.1}")} rx="4" />
                <text class="board-title" x={(x0 + 5.0).to_string()} y="11">{ format!("key store: {stored} keys") }</text>
                { for rows.iter().enumerate().map(|(i, r)| {
                    let top = HEAD_H + ROW_H * i as f64;
                    let class = classes!("key-row", r.hit.map(|_| "hit"), r.hit.map(hit_class));
                    html! {
                        <g {class} data-key={r.key.to_string()} data-state={r.state} data-hit={r.hit.map(hit_class).unwrap_or("")}>
                            <rect class="row-back" x={(x0 + 1.0).to_string()} y={format!("{:.1}", top - 1.0)} width={(BOARD_W - 2.0).to_string()} height={ROW_H.to_string()} />
                            <text class="key" x={(x0 + 5.0).to_string()} y={format!("{:.1}", top + 9.0)}>{ r.label.clone() }</text>
                            {" "}
                            <text class="key-state" x={(x0 + 44.0).to_string()} y={format!("{:.1}", top + 9.0)}>
                                { match r.result { Some(s) => format!("{} {s}", r.state), None => r.state.to_string() } }
                            </text>
                            {" "}
                            if let Some(hit) = r.hit {
                                <text class="key-hit" x={(x0 + BOARD_W - 5.0).to_string()} y={format!("{:.1}", top + 9.0)}>{ format!("◀ {}", hit_words(hit)) }</text>
                            }
                        </g>
                    }
                }) }
            </g>
        },
        BoardKind::Log { length, marks } => {
            let first = length.saturating_sub(LOG_CELLS);
            let cells = length - first;
            let cell_w = (BOARD_W - 10.0) / LOG_CELLS as f64;
            let cx = |offset: u64| x0 + 5.0 + offset.saturating_sub(first) as f64 * cell_w;
            html! {
                <g class="board log-strip" data-owner={b.owner.clone()} data-length={length.to_string()}>
                    <rect class="board-frame" x={x0.to_string()} y="0" width={BOARD_W.to_string()} height={format!("{h:.1}")} rx="4" />
                    <text class="board-title" x={(x0 + 5.0).to_string()} y="11">
                        { if first > 0 { format!("log: offsets {first}–{}", length - 1) } else { format!("log: {length} events") } }
                    </text>
                    { for (0..cells).map(|i| html! {
                        <rect class="cell" x={format!("{:.1}", cx(first + i) + 0.5)} y={HEAD_H.to_string()} width={format!("{:.1}", cell_w - 1.0)} height="10" />
                    }) }
                    { for marks.iter().enumerate().map(|(i, m)| {
                        // Further behind than the strip shows: the mark waits at its left end.
                        let behind = m.offset < first;
                        let mx = cx(m.offset.max(first));
                        let ty = HEAD_H + 16.0 + ROW_H * i as f64 + 9.0;
                        html! {
                            <g class={classes!("log-mark", behind.then_some("off-strip"))} data-projection={m.name.clone()}
                               data-offset={m.offset.to_string()} data-lag={m.lag.to_string()}>
                                <line x1={format!("{mx:.1}")} y1={(HEAD_H - 2.0).to_string()} x2={format!("{mx:.1}")} y2={format!("{:.1}", ty - 8.0)} />
                                <text class="mark-label" x={(x0 + 5.0).to_string()} y={format!("{ty:.1}")}>
                                    { format!("{}{} @{}: {} behind", if behind { "« " } else { "" }, m.name, m.offset, m.lag) }
                                </text>
                            </g>
                        }
                    }) }
                </g>
            }
        }
        BoardKind::Row {
            value,
            version,
            refused,
            backwards,
            news,
        } => html! {
            <g class={classes!("board", "row-board", news.map(RowNews::class))} data-owner={b.owner.clone()}
               data-value={value.to_string()} data-version={version.to_string()}
               data-refused={refused.to_string()} data-went-back={backwards.to_string()}
               data-news={news.map(RowNews::class).unwrap_or("")}>
                <rect class="board-frame" x={x0.to_string()} y="0" width={BOARD_W.to_string()} height={format!("{h:.1}")} rx="4" />
                <text class="board-title" x={(x0 + 5.0).to_string()} y="11">{ format!("row: edit {value} · v{version}") }</text>
                <text class="row-totals" x={(x0 + 5.0).to_string()} y={format!("{:.1}", HEAD_H + 9.0)}>{ totals(*refused, *backwards) }</text>
                if let Some(n) = news {
                    <g class={classes!("row-news", n.class())}>
                        <rect class="row-back" x={(x0 + 1.0).to_string()} y={format!("{:.1}", HEAD_H + ROW_H - 1.0)} width={(BOARD_W - 2.0).to_string()} height={ROW_H.to_string()} />
                        <text class="key-hit" x={(x0 + 5.0).to_string()} y={format!("{:.1}", HEAD_H + ROW_H + 9.0)}>{ format!("◀ {}", n.words()) }</text>
                    </g>
                }
            </g>
        },
    };
    html! {
        <g class="board-at" transform={format!("translate({x:.1},{y:.1})")} role="img" aria-label={label}>
            { body }
        </g>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(rows: Vec<KeyRow>) -> PaymentView {
        PaymentView {
            keys_stored: rows.len(),
            keys: rows,
            executing: 0,
            charges: 0,
            duplicate_charges: 0,
            replays: 0,
            conflicts: 0,
            rejected: 0,
        }
    }

    /// A repeat's mark lasts [`HIT_SHOW_US`] and then goes, so the next hit shows as news.
    #[test]
    fn a_hit_row_is_marked_for_a_while_with_its_words() {
        let row = KeyRow {
            key: 0xabcd_0000_0000_0001,
            name: None,
            state: KeyState::Done { status: 200 },
            amount_cents: 4999,
            stored_at_us: 1_000_000,
            last_hit: Some((KeyHit::Replayed, 2_000_000)),
        };
        let p = payment(vec![row]);
        let BoardKind::Keys { rows, .. } = BoardKind::keys(&p, 2_500_000) else {
            panic!("a key store")
        };
        assert_eq!(rows[0].hit, Some(KeyHit::Replayed));
        assert_eq!(row_words(&rows[0]), "kabcd done 200, hit: replayed");
        let BoardKind::Keys { rows, .. } = BoardKind::keys(&p, 2_000_000 + HIT_SHOW_US) else {
            panic!("a key store")
        };
        assert_eq!(rows[0].hit, None, "the mark has gone");
    }

    /// A row's board says what it holds, and for a moment the latest thing that happened to it
    /// (the newer of a refusal and a step back), in words.
    #[test]
    fn a_row_board_says_when_it_went_back_or_refused_a_stale_write() {
        let row = RowView {
            value: 7,
            version: 9,
            stale_writes: 0,
            went_backwards: 2,
            last_refused: None,
            last_backwards: Some((8, 7, 3_000_000)),
        };
        let kind = BoardKind::row(&row, 3_200_000);
        assert_eq!(
            kind,
            BoardKind::Row {
                value: 7,
                version: 9,
                refused: 0,
                backwards: 2,
                news: Some(RowNews::WentBack(8, 7)),
            }
        );
        assert_eq!(
            kind.words("drafts"),
            "drafts's row holds edit 7, version 9; went back 2×, refused 0; just now: went back: 8 → 7"
        );
        let later = BoardKind::row(&row, 3_000_000 + HIT_SHOW_US);
        assert!(
            matches!(later, BoardKind::Row { news: None, .. }),
            "no longer news"
        );
        let refused = RowView {
            last_refused: Some((5, 3_100_000)),
            stale_writes: 1,
            ..row
        };
        let BoardKind::Row { news, .. } = BoardKind::row(&refused, 3_200_000) else {
            panic!("a row")
        };
        assert_eq!(news, Some(RowNews::Refused(5)), "the newer news wins");
        assert_eq!(RowNews::Refused(5).words(), "edit 5 refused: older");
    }

    /// A board stays inside the canvas even enlarged for a phone, under its node or above it.
    #[test]
    fn a_board_is_placed_inside_the_canvas() {
        let kind = BoardKind::Log {
            length: 40,
            marks: vec![],
        };
        for node in [(50.0, 60.0), (550.0, 60.0), (300.0, 344.0), (470.0, 197.0)] {
            let b = Board::place("log", node, kind.clone());
            let half = BOARD_W * PHONE_SCALE / 2.0;
            assert!(
                b.at.0 - half >= 0.0 && b.at.0 + half <= WIDTH,
                "{node:?}: {:?}",
                b.at
            );
            assert!(
                b.at.1 >= 0.0 && b.at.1 + kind.height() * PHONE_SCALE <= HEIGHT,
                "{node:?}: {:?}",
                b.at
            );
        }
    }
}
