//! Charts, drawn by plotters into SVG text: the latency histogram with the timeout on it, and
//! rates and queue lengths over time from the core's metric series.
//!
//! Pure functions of the world's numbers, so they are tested natively; the page redraws them a
//! few times a second, not every frame.

use faultline_core::NodeId;
use faultline_core::world::World;
use plotters::prelude::*;

const W: u32 = 560;
const H: u32 = 200;
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

fn draw(
    f: impl FnOnce(
        DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    ) -> Result<(), Box<dyn std::error::Error + '_>>,
) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        // A chart that fails to draw is left empty rather than taking the page down.
        if root.fill(&WHITE).is_ok() {
            let _ = f(root);
        }
    }
    svg
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
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(44)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)
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
    let svg = draw(|root| {
        let mut chart = axes(&root, x_max, y_max)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("latency (ms)")
            .y_desc("requests")
            .draw()?;
        chart.draw_series(counts.iter().enumerate().map(|(i, c)| {
            let x0 = i as f64 * width;
            Rectangle::new([(x0, 0.0), (x0 + width * 0.92, *c as f64)], BLUE.filled())
        }))?;
        if let Some(t) = timeout_ms {
            chart.draw_series(LineSeries::new(
                [(t, 0.0), (t, y_max)],
                VERMILLION.stroke_width(2),
            ))?;
            chart.draw_series(std::iter::once(Text::new(
                format!("timeout {t:.0} ms"),
                (t, y_max * 0.95),
                ("sans-serif", 13).into_font().color(&VERMILLION),
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
pub fn rates(world: &World, id: NodeId) -> Option<Chart> {
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
    let svg = draw(|root| {
        let mut chart = axes(&root, x_max, y_max)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("time (s)")
            .y_desc("per second")
            .draw()?;
        chart
            .draw_series(LineSeries::new(ok, GREEN.stroke_width(2)))?
            .label("succeeded")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 14, y)], GREEN.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(failed, VERMILLION.stroke_width(2)))?
            .label("failed")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 14, y)], VERMILLION.stroke_width(2)));
        if has_attempts {
            chart
                .draw_series(LineSeries::new(attempts, BLUE.stroke_width(1)))?
                .label("attempts")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 14, y)], BLUE.stroke_width(1)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.2))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
        Ok(())
    });
    Some(Chart {
        title: format!("{name}: requests per second"),
        svg,
    })
}

/// A gauge (queue length) over time.
pub fn gauge(world: &World, id: NodeId, gauge: &'static str, label: &str) -> Option<Chart> {
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
    let svg = draw(|root| {
        let mut chart = axes(&root, x_max, y_max)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("time (s)")
            .y_desc(label)
            .draw()?;
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
        let r = rates(&w, NodeId(0)).expect("rates");
        assert!(r.svg.contains("succeeded") && r.svg.contains("<polyline"));
        assert!(gauge(&w, NodeId(1), "busy", "busy workers").is_some());
        assert!(
            gauge(&w, NodeId(0), "queue", "queue").is_none(),
            "a client has no queue"
        );
    }
}
