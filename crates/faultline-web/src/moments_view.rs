//! The moments under the time line: a button per moment (a click seeks there), and a band per
//! breaker coloured by its state, with a minimum width so a 50 ms half-open stays visible.

use std::rc::Rc;

use yew::prelude::*;

use crate::action::Action;
use crate::moments::{Band, Kind, Moment};

/// Where time `t_us` falls on the time line, as a CSS length: the range input's thumb is 16 px
/// wide, so its centre runs from 8 px to the width less 8 px.
fn at(t_us: u64, end_us: u64) -> String {
    let f = t_us.min(end_us) as f64 / end_us.max(1) as f64;
    format!("calc(8px + (100% - 16px) * {f:.5})")
}

/// A row of markers, in pixels.
const LANE_PX: usize = 24;
/// Rows of markers at most; past them, markers overlap in the first.
const LANES: usize = 3;
/// Markers closer than this share of the time line go to the next row (18 px of 720).
const GAP: f64 = 0.025;

/// The row of each marker: the first whose last marker is far enough, so a half-open 60 ms
/// after an open is not hidden behind it.
pub fn lanes(moments: &[Moment], end_us: u64) -> Vec<usize> {
    let mut last: Vec<Option<f64>> = vec![None; LANES];
    moments
        .iter()
        .map(|m| {
            let f = m.time_us as f64 / end_us.max(1) as f64;
            let lane = last
                .iter()
                .position(|l| l.is_none_or(|l| f - l >= GAP))
                .unwrap_or(0);
            last[lane] = Some(f);
            lane
        })
        .collect()
}

/// The markers' properties.
#[derive(Properties, PartialEq)]
pub struct MomentMarksProps {
    /// The moments, in time order.
    pub moments: Rc<Vec<Moment>>,
    /// The end of the run, virtual microseconds.
    pub end_us: u64,
    /// Where the learner's acts go.
    pub on: Callback<Action>,
}

/// A button per moment, placed at its time.
#[function_component(MomentMarks)]
pub fn moment_marks(props: &MomentMarksProps) -> Html {
    if props.moments.is_empty() {
        return html! {};
    }
    let end = props.end_us;
    let lanes = lanes(&props.moments, end);
    let rows = lanes.iter().copied().max().unwrap_or(0) + 1;
    html! {
        <div class="moment-marks" role="group" aria-label="Moments: crashes, cuts, breaker and leader changes, violations"
             style={format!("height: {}px", rows * LANE_PX)}>
            { for props.moments.iter().zip(lanes).map(|(m, lane)| {
                let t = m.time_us;
                let label = m.label();
                html! {
                    <button class={classes!("moment", m.kind.name())} data-moment-kind={m.kind.name()} data-time-us={t.to_string()}
                            title={label.clone()} style={format!("left: {}; top: {}px; --moment: {}", at(t, end), lane * LANE_PX, m.kind.colour())}
                            onclick={props.on.reform(move |_| Action::Seek(t))}>
                        <span aria-hidden="true">{ m.kind.glyph() }</span>
                        <span class="visually-hidden">{ label }</span>
                    </button>
                }
            }) }
        </div>
    }
}

/// The bands' properties.
#[derive(Properties, PartialEq)]
pub struct StateBandsProps {
    /// One per breaker.
    pub bands: Rc<Vec<Band>>,
    /// The playhead (the last state runs to it).
    pub now_us: u64,
    /// The end of the run.
    pub end_us: u64,
}

fn state_word(k: Kind) -> &'static str {
    match k {
        Kind::Open => "open",
        Kind::HalfOpen => "half-open",
        _ => "closed",
    }
}

/// A strip per breaker under the time line, coloured (and patterned) by its state.
#[function_component(StateBands)]
pub fn state_bands(props: &StateBandsProps) -> Html {
    let end = props.end_us.max(1);
    html! {
        { for props.bands.iter().take(3).map(|b| {
            let summary = b.segments.iter().map(|s| format!("{} from {}", state_word(s.state), faultline_core::fmt_time(s.from_us)))
                .collect::<Vec<_>>();
            let n = summary.len();
            let mut label = format!("{}: {}", b.label, summary.into_iter().rev().take(6).rev().collect::<Vec<_>>().join(", "));
            if n > 6 {
                label = format!("{} (last 6 of {n} states)", label);
            }
            html! {
                <div class="state-band" role="img" aria-label={label.clone()} title={label}>
                    { for b.segments.iter().filter(|s| s.from_us <= props.now_us).map(|s| {
                        let to = s.to_us.unwrap_or(props.now_us).min(props.now_us);
                        let f = (to.saturating_sub(s.from_us)) as f64 / end as f64;
                        let style = format!("left: {}; width: max(4px, calc((100% - 16px) * {f:.5}))", at(s.from_us, end));
                        html! { <span class={classes!("band", state_word(s.state))} data-state={state_word(s.state)}
                                      data-from-us={s.from_us.to_string()} {style}></span> }
                    }) }
                </div>
            }
        }) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_core::scenario::Scenario;

    #[test]
    fn close_markers_take_the_next_row_instead_of_hiding() {
        let s = Scenario::parse(crate::templates::TEMPLATES[2]).expect("valid");
        let mut w = s.build(None).expect("builds");
        w.run_until(25_000_000, u64::MAX);
        let mut m = crate::moments::Moments::default();
        m.sync(&w);
        let list = m.list([], w.names());
        let rows = lanes(&list, 30_000_000);
        // A failed trial reopens the breaker within 100 ms of half-opening: never the same row.
        let mut close = 0;
        for (i, x) in list.iter().enumerate().skip(1) {
            if x.time_us - list[i - 1].time_us < 200_000 {
                close += 1;
                assert_ne!(rows[i], rows[i - 1], "{}", x.label());
            }
        }
        assert!(close >= 3, "{list:?}");
        assert_eq!(rows[0], 0);
        assert!(rows.iter().all(|r| *r < LANES));
    }
}
