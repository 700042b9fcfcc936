//! Charts, drawn by plotters into SVG text: the latency histogram with the timeout on it, and
//! rates and queue lengths over time from the core's metric series.
//!
//! Pure functions of the world's numbers, so they are tested natively; the page redraws them a
//! few times a second, not every frame.

use faultline_core::NodeId;
use faultline_core::world::World;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::moments::Moment;

// The SVG is scaled to its figure's width: drawn 480 wide with 18 px text, it keeps text of
// 12 px or more down to a figure 320 px wide (a 375 px phone).
const W: u32 = 480;
const H: u32 = 230;
/// Text size in the SVG's own pixels.
const TEXT_PX: f64 = 18.0;
/// The strip above the plot that holds the legend, so it never covers data.
const LEGEND_H: u32 = 28;
/// The margin around the plot.
const MARGIN: u32 = 8;
/// Moments drawn on a chart, the newest.
const MAX_MARKS: usize = 60;
const BLUE: RGBColor = RGBColor(0x00, 0x72, 0xb2);
const GREEN: RGBColor = RGBColor(0x00, 0x9e, 0x73);
const VERMILLION: RGBColor = RGBColor(0xd5, 0x5e, 0x00);
const ORANGE: RGBColor = RGBColor(0xe6, 0x9f, 0x00);

/// One drawn chart: a title for people and its SVG.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// What it shows.
    pub title: String,
    /// The SVG document.
    pub svg: String,
}

/// A font of `px` pixels in the SVG (plotters writes a style's size divided by 1.24).
fn font(px: f64) -> TextStyle<'static> {
    ("sans-serif", px * 1.24).into_font().color(&BLACK)
}

/// An axis label: an integer without decimals ("100", not "100.0"), otherwise as few as needed.
pub fn tick(v: &f64) -> String {
    let r = v.round();
    if (v - r).abs() <= 1e-9 * v.abs().max(1.0) {
        return format!("{}", r as i64);
    }
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

type Area<'b> = DrawingArea<SVGBackend<'b>, plotters::coord::Shift>;

fn draw(
    legend: &[(&str, RGBColor)],
    f: impl FnOnce(Area<'_>) -> Result<(), Box<dyn std::error::Error + '_>>,
) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        // A chart that fails to draw is left empty rather than taking the page down.
        if root.fill(&WHITE).is_ok() {
            let (top, body) = root.split_vertically(LEGEND_H);
            let _ = draw_legend(&top, legend);
            let _ = f(body);
        }
    }
    svg
}

/// The legend in its strip above the plot: a stroke and a name per series, in a row.
fn draw_legend(
    top: &Area<'_>,
    legend: &[(&str, RGBColor)],
) -> Result<(), Box<dyn std::error::Error>> {
    let mut x = 60i32;
    let y = LEGEND_H as i32 / 2 + 2;
    for (name, colour) in legend {
        top.draw(&PathElement::new(
            [(x, y), (x + 18, y)],
            colour.stroke_width(3),
        ))?;
        let style = font(TEXT_PX).pos(Pos::new(HPos::Left, VPos::Center));
        top.draw(&Text::new(name.to_string(), (x + 24, y), style))?;
        x += 24 + (name.chars().count() as f64 * TEXT_PX * 0.56) as i32 + 18;
    }
    Ok(())
}

type Axes<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// The frame every chart shares: margins, label areas, linear axes from zero.
fn axes<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    x_max: f64,
    y_max: f64,
) -> Result<Axes<'a, 'b>, DrawingAreaErrorKind<std::io::Error>> {
    ChartBuilder::on(root)
        .margin(MARGIN)
        .margin_right(MARGIN * 2)
        .x_label_area_size(48)
        .y_label_area_size(66)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)
}

/// The axes' lines and labels, in readable sizes, integers printed as integers.
fn mesh(
    chart: &mut Axes<'_, '_>,
    x_desc: &str,
    y_desc: &str,
    y_mesh: bool,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let mut m = chart.configure_mesh();
    m.disable_x_mesh()
        .x_labels(6)
        .y_labels(5)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .label_style(font(TEXT_PX))
        .axis_desc_style(font(TEXT_PX))
        .x_desc(x_desc)
        .y_desc(y_desc);
    if !y_mesh {
        m.disable_y_mesh();
    }
    m.draw()
}

/// The moments as thin vertical lines, each with its glyph at the top; glyphs closer than one
/// glyph's width are stacked downwards, three deep, so the fourth is left out (its line stays).
fn marks(
    chart: &mut Axes<'_, '_>,
    moments: &[Moment],
    x_max: f64,
    y_max: f64,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let (w_px, h_px) = chart.plotting_area().dim_in_pixel();
    let min_gap = x_max * TEXT_PX / f64::from(w_px.max(1));
    let step = y_max * (TEXT_PX + 2.0) / f64::from(h_px.max(1));
    let start = moments.len().saturating_sub(MAX_MARKS);
    let mut last: Option<(f64, usize)> = None;
    for m in &moments[start..] {
        let t = m.time_us as f64 / 1e6;
        if t > x_max {
            break;
        }
        let colour = hex(m.kind.colour());
        chart.draw_series(std::iter::once(PathElement::new(
            [(t, 0.0), (t, y_max)],
            colour.stroke_width(1),
        )))?;
        let level = match last {
            Some((l, level)) if t - l < min_gap => level + 1,
            _ => 0,
        };
        if level < 3 {
            if level == 0 {
                last = Some((t, 0));
            } else if let Some(l) = &mut last {
                l.1 = level;
            }
            let style = font(TEXT_PX)
                .color(&colour)
                .pos(Pos::new(HPos::Center, VPos::Top));
            chart.draw_series(std::iter::once(Text::new(
                m.kind.glyph(),
                (t, y_max - step * level as f64),
                style,
            )))?;
        }
    }
    Ok(())
}

/// A colour from `#rrggbb`.
pub(crate) fn hex(s: &str) -> RGBColor {
    let c = |i: usize| u8::from_str_radix(s.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0);
    RGBColor(c(1), c(3), c(5))
}

/// The latency histogram of a node's completed requests, with the timeout drawn on it.
pub fn latency(world: &World, id: NodeId, timeout_ms: Option<f64>) -> Option<Chart> {
    let h = &world.metrics(id).latency;
    if h.count() == 0 {
        return None;
    }
    let p99 = h.quantile_us(0.99).unwrap_or(0) as f64 / 1000.0;
    let x_max = (p99 * 1.3)
        .max(timeout_ms.map_or(0.0, |t| t * 1.15))
        .max(1.0);
    let bins = 40usize;
    let width = x_max / bins as f64;
    let mut counts = vec![0u64; bins];
    for (us, c) in h.buckets() {
        let i = ((us as f64 / 1000.0) / width) as usize;
        counts[i.min(bins - 1)] += u64::from(c);
    }
    let y_max = counts.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.1;
    let name = &world.names()[id.index()];
    let svg = draw(&[], |root| {
        let mut chart = axes(&root, x_max, y_max)?;
        mesh(&mut chart, "latency (ms)", "requests", false)?;
        chart.draw_series(counts.iter().enumerate().map(|(i, c)| {
            let x0 = i as f64 * width;
            Rectangle::new([(x0, 0.0), (x0 + width * 0.92, *c as f64)], BLUE.filled())
        }))?;
        if let Some(t) = timeout_ms {
            chart.draw_series(LineSeries::new(
                [(t, 0.0), (t, y_max)],
                VERMILLION.stroke_width(2),
            ))?;
            // Written on the side of the line with room for it.
            let right = t > x_max * 0.6;
            let h = if right { HPos::Right } else { HPos::Left };
            let style = font(TEXT_PX).color(&VERMILLION).pos(Pos::new(h, VPos::Top));
            let dx = if right { -0.01 } else { 0.01 } * x_max;
            chart.draw_series(std::iter::once(Text::new(
                format!("timeout {} ms", tick(&t)),
                (t + dx, y_max * 0.98),
                style,
            )))?;
        }
        Ok(())
    });
    Some(Chart {
        title: format!("Latency of {name}'s requests"),
        svg,
    })
}

/// Requests per second over time: succeeded, failed, and attempts (first tries and retries).
pub fn rates(world: &World, id: NodeId, moments: &[Moment]) -> Option<Chart> {
    let (series, bucket_us) = world.metrics(id).series();
    if series.is_empty() {
        return None;
    }
    let per_s = 1_000_000.0 / bucket_us as f64;
    let t = |i: usize| (i as u64 * bucket_us) as f64 / 1e6;
    let ok: Vec<(f64, f64)> = series
        .iter()
        .enumerate()
        .map(|(i, b)| (t(i), f64::from(b.requests - b.errors) * per_s))
        .collect();
    let failed: Vec<(f64, f64)> = series
        .iter()
        .enumerate()
        .map(|(i, b)| (t(i), f64::from(b.errors) * per_s))
        .collect();
    let mut prev = 0;
    let attempts: Vec<(f64, f64)> = series
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let total = b.counts.get("attempts").unwrap_or(0);
            let d = total.saturating_sub(prev);
            prev = total;
            (t(i), d as f64 * per_s)
        })
        .collect();
    let has_attempts = prev > 0;
    let y_max = ok
        .iter()
        .chain(&failed)
        .chain(&attempts)
        .map(|p| p.1)
        .fold(1.0, f64::max)
        * 1.1;
    let x_max = t(series.len()).max(1.0);
    let name = &world.names()[id.index()];
    let mut legend = vec![("succeeded", GREEN), ("failed", VERMILLION)];
    if has_attempts {
        legend.push(("attempts", BLUE));
    }
    let svg = draw(&legend, |root| {
        let mut chart = axes(&root, x_max, y_max)?;
        mesh(&mut chart, "time (s)", "per second", true)?;
        marks(&mut chart, moments, x_max, y_max)?;
        chart.draw_series(LineSeries::new(ok, GREEN.stroke_width(2)))?;
        chart.draw_series(LineSeries::new(failed, VERMILLION.stroke_width(2)))?;
        if has_attempts {
            chart.draw_series(LineSeries::new(attempts, BLUE.stroke_width(1)))?;
        }
        Ok(())
    });
    Some(Chart {
        title: format!("{name}: requests per second"),
        svg,
    })
}

/// A gauge (queue length) over time.
pub fn gauge(
    world: &World,
    id: NodeId,
    gauge: &'static str,
    label: &str,
    moments: &[Moment],
) -> Option<Chart> {
    let (series, bucket_us) = world.metrics(id).series();
    if series.iter().all(|b| b.gauges.get(gauge).is_none()) {
        return None;
    }
    let pts: Vec<(f64, f64)> = series
        .iter()
        .enumerate()
        .map(|(i, b)| {
            (
                (i as u64 * bucket_us) as f64 / 1e6,
                b.gauges.get(gauge).unwrap_or(0) as f64,
            )
        })
        .collect();
    let y_max = pts.iter().map(|p| p.1).fold(1.0, f64::max) * 1.1;
    let x_max = ((series.len() as u64 * bucket_us) as f64 / 1e6).max(1.0);
    let name = &world.names()[id.index()];
    let svg = draw(&[], |root| {
        let mut chart = axes(&root, x_max, y_max)?;
        mesh(&mut chart, "time (s)", label, true)?;
        marks(&mut chart, moments, x_max, y_max)?;
        chart.draw_series(LineSeries::new(pts, ORANGE.stroke_width(2)))?;
        Ok(())
    });
    Some(Chart {
        title: format!("{name}: {label} at the end of each second"),
        svg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_core::scenario::Scenario;

    #[test]
    fn charts_draw_the_run_and_the_timeout() {
        let s = Scenario::parse(crate::templates::DEFAULT_SCENARIO).expect("valid");
        let mut w = s.build(None).expect("builds");
        assert!(
            latency(&w, NodeId(0), Some(1000.0)).is_none(),
            "nothing completed yet: no chart"
        );
        w.run_until(10_000_000, u64::MAX);
        let c = latency(&w, NodeId(0), Some(1000.0)).expect("a histogram");
        assert!(
            c.svg.starts_with("<svg") && c.svg.contains("timeout 1000 ms"),
            "{}",
            &c.svg[..200.min(c.svg.len())]
        );
        assert!(c.svg.matches("<rect").count() > 5, "bars are drawn");
        let r = rates(&w, NodeId(0), &[]).expect("rates");
        assert!(r.svg.contains("succeeded") && r.svg.contains("<polyline"));
        assert!(gauge(&w, NodeId(1), "busy", "busy workers", &[]).is_some());
        assert!(
            gauge(&w, NodeId(0), "queue", "queue", &[]).is_none(),
            "a client has no queue"
        );
    }

    /// The texts of an SVG: (x, y, font size, content).
    fn texts(svg: &str) -> Vec<(f64, f64, f64, String)> {
        let attr = |tag: &str, name: &str| -> f64 {
            tag.split(&format!(" {name}=\""))
                .nth(1)
                .and_then(|r| r.split('"').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN)
        };
        svg.split("<text")
            .skip(1)
            .map(|t| {
                let (tag, rest) = t.split_once('>').expect("a tag");
                let body = rest
                    .split("</text>")
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_string();
                (attr(tag, "x"), attr(tag, "y"), attr(tag, "font-size"), body)
            })
            .collect()
    }

    fn breaker_run() -> (World, Vec<Moment>) {
        let s = Scenario::parse(crate::templates::TEMPLATES[2]).expect("valid");
        let mut w = s.build(None).expect("builds");
        w.run_until(25_000_000, u64::MAX);
        let mut m = crate::moments::Moments::default();
        assert!(matches!(m.sync(&w), crate::moments::Sync::Fresh(true)));
        let list = m.list([], w.names());
        (w, list)
    }

    #[test]
    fn axis_labels_print_integers_as_integers() {
        assert_eq!(tick(&100.0), "100");
        assert_eq!(tick(&0.0), "0");
        assert_eq!(tick(&-0.0), "0");
        assert_eq!(tick(&2.5), "2.5");
        assert_eq!(tick(&0.25), "0.25");
        assert_eq!(tick(&12.000_000_000_1), "12");
        let (w, moments) = breaker_run();
        for c in [
            latency(&w, NodeId(0), Some(500.0)).expect("latency"),
            rates(&w, NodeId(0), &moments).expect("rates"),
            gauge(&w, NodeId(1), "busy", "busy workers", &moments).expect("gauge"),
        ] {
            let texts = texts(&c.svg);
            assert!(texts.len() > 8, "{}", c.title);
            for (_, _, size, text) in &texts {
                assert!(!text.ends_with(".0"), "{}: {text}", c.title);
                assert!(*size >= 16.0, "{}: {text} at {size} px", c.title);
            }
        }
    }

    #[test]
    fn the_legend_sits_above_the_plot_and_moments_are_marked() {
        let (w, moments) = breaker_run();
        assert!(moments.iter().any(|m| m.kind == crate::moments::Kind::Open));
        let c = rates(&w, NodeId(0), &moments).expect("rates");
        let texts = texts(&c.svg);
        let plot_top = f64::from(LEGEND_H + MARGIN);
        for name in ["succeeded", "failed", "attempts"] {
            let (_, y, size, _) = texts
                .iter()
                .find(|t| t.3 == name)
                .unwrap_or_else(|| panic!("{name} in the legend"));
            // Centred on y: the text's box ends half a size below it, above the plot.
            assert!(y + size / 2.0 <= plot_top, "{name} at y {y}");
        }
        // Every point of every series lies inside the plot, below the legend's strip (the
        // legend's own strokes have two points).
        for poly in c.svg.split("<polyline").skip(1) {
            let pts = poly
                .split("points=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("");
            if pts.split_whitespace().count() <= 2 {
                continue;
            }
            for p in pts.split_whitespace() {
                let y: f64 = p
                    .split(',')
                    .nth(1)
                    .and_then(|v| v.parse().ok())
                    .expect("a point");
                assert!(y >= plot_top, "a point at y {y} above the plot");
            }
        }
        // The breaker's moments: a glyph each at the top of the plot.
        for glyph in ["O", "H", "C"] {
            assert!(texts.iter().any(|t| t.3 == glyph), "{glyph} marked");
        }
    }

    #[test]
    fn the_timeout_stays_on_the_histogram_inside_the_picture() {
        let (w, _) = breaker_run();
        let c = latency(&w, NodeId(0), Some(500.0)).expect("latency");
        let texts = texts(&c.svg);
        let (x, _, _, _) = texts
            .iter()
            .find(|t| t.3 == "timeout 500 ms")
            .expect("the timeout is labelled");
        assert!(*x > 0.0 && *x < f64::from(W), "{x}");
        assert!(c.svg.contains("stroke=\"#D55E00\""), "the timeout's line");
    }
}
