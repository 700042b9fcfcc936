//! The messages in flight, painted on a `<canvas>` that lies exactly under the SVG canvas, and
//! each retry's attempt number beside it ("#2", "#3"), so a storm reads as many numbered
//! messages; a write of a numbered edit carries its number ("edit 7"), drawn in vermillion once
//! a newer edit has passed it on the wire (`docs/models/ordering.md`).
//!
//! Why a canvas: the dots change every frame. Drawn as SVG path text, a thousand of them were
//! one long attribute the browser parsed, laid out and painted again sixty times a second
//! (`bench/frames.mjs`). Painted here, a frame is no markup at all: Yew compares the frame's dots
//! and the effect stamps them into a bitmap of our own (`faultline-raster`: as canvas arcs, the
//! browser's software rasteriser spent about 11 ms a frame on them) and copies it in at once.
//!
//! The layer sits *under* the SVG (whose background is transparent), so nodes, their pictures,
//! gates and labels stay on top of the messages, as they were when the dots were SVG. It is
//! decorative for assistive technology (`aria-hidden`): the count in flight is in the time
//! controls' text, and reduced motion draws counts per link as SVG text instead. What it drew
//! is kept in `data-` attributes for the end-to-end tests: `data-messages` (dots painted),
//! `data-numbered` (attempt numbers drawn), `data-top-attempt` (the highest drawn),
//! `data-edits` (edit numbers drawn), `data-overtaken` (of those, edits a newer one passed) and
//! `data-label-px` (their size in CSS pixels).

use std::cell::RefCell;
use std::rc::Rc;

use faultline_core::msg::{Op, Payload, Request};
use faultline_core::world::World;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use yew::prelude::*;

use crate::layout::{HEIGHT, WIDTH};
use faultline_raster as raster;

/// Attempt numbers drawn at most in one frame: past this many the canvas is a blur anyway,
/// and each is text to shape and paint.
pub const MAX_LABELS: usize = 150;

/// How a message is painted: a colour by what it does (asks blue, answers green, failures
/// vermillion, votes orange, events sky blue) and a size. The palette is `web/style.css`'s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Style {
    /// A request, an append, a publish, a vote request.
    Ask,
    /// A success, an append's reply, an acknowledgement.
    Answer,
    /// An error response, an invalidation.
    Failure,
    /// A vote, a decision.
    Vote,
    /// An event, a queue's delivery.
    Event,
    /// A heartbeat: small, it is not news.
    Heartbeat,
    /// Anything else.
    Other,
}

impl Style {
    /// Every style, in painting order.
    const ALL: [Style; 7] = [
        Style::Heartbeat,
        Style::Other,
        Style::Event,
        Style::Vote,
        Style::Answer,
        Style::Ask,
        Style::Failure,
    ];

    /// The style of a message of this kind (`Payload::kind`).
    pub fn of(kind: &str) -> Style {
        match kind {
            "request" | "append" | "publish" | "vote_request" => Style::Ask,
            "response" | "append_reply" | "ack" => Style::Answer,
            "error" | "invalidate" => Style::Failure,
            "vote" | "decision" => Style::Vote,
            "event" | "deliver" => Style::Event,
            "heartbeat" => Style::Heartbeat,
            _ => Style::Other,
        }
    }

    /// Its colour as bytes, for the bitmap.
    fn rgb(self) -> [u8; 3] {
        let plotters::style::RGBColor(r, g, b) = crate::charts::hex(self.colour());
        [r, g, b]
    }

    fn colour(self) -> &'static str {
        match self {
            Style::Ask => "#0072b2",
            Style::Answer => "#009e73",
            Style::Failure => "#d55e00",
            Style::Vote => "#e69f00",
            Style::Event => "#56b4e9",
            Style::Heartbeat | Style::Other => "#5b6570",
        }
    }

    /// The dot's radius in canvas units (the SVG's stroke widths were 12 and 5).
    fn radius(self) -> f64 {
        match self {
            Style::Heartbeat => 2.5,
            _ => 6.0,
        }
    }
}

/// One message in flight, where it is now.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dot {
    /// Its position in the canvas's units.
    pub x: f32,
    /// Its position in the canvas's units.
    pub y: f32,
    /// Its direction of travel (a unit vector; zero for a message between a node and itself).
    pub dir: (f32, f32),
    /// Its kind, as `Payload::kind` names it.
    pub kind: &'static str,
    /// How it is painted.
    pub style: Style,
    /// It will be lost: painted faint.
    pub doomed: bool,
    /// Which try of its sender it is (`Payload::attempt`), 0 when it is not a try.
    pub attempt: u32,
    /// The edit a write carries (`Op::Write`), 0 when it is not one.
    pub edit: u64,
    /// A write that a newer edit of the same sender has passed on the same wire.
    pub overtaken: bool,
}

/// The edit number a message carries, 0 when it is not a write.
fn edit_of(p: &Payload) -> u64 {
    match p {
        Payload::Request(Request {
            op: Op::Write { value, .. },
            ..
        }) => *value,
        _ => 0,
    }
}

/// The messages in flight at the world's playhead, at the fraction of their journey.
pub fn dots(world: &World, pos: &[(f64, f64)]) -> Vec<Dot> {
    let now = world.now_us();
    let at = |i: usize| pos.get(i).copied().unwrap_or((0.0, 0.0));
    // Writes of numbered edits: (wire, edit, fraction travelled, index in `out`), to find the
    // ones a newer edit has passed.
    let mut writes: Vec<((u16, u16), u64, f64, usize)> = Vec::new();
    let mut out: Vec<Dot> = Vec::new();
    for m in world.in_flight() {
        let ((fx, fy), (tx, ty)) = (at(m.from.index()), at(m.to.index()));
        let span = m.deliver_us.saturating_sub(m.sent_us).max(1) as f64;
        let f = if m.held {
            1.0
        } else {
            (now.saturating_sub(m.sent_us) as f64 / span).clamp(0.0, 1.0)
        };
        let (dx, dy) = (tx - fx, ty - fy);
        let len = dx.hypot(dy);
        let kind = m.payload.kind();
        let edit = edit_of(&m.payload);
        if edit > 0 {
            writes.push(((m.from.0, m.to.0), edit, f, out.len()));
        }
        out.push(Dot {
            x: (fx + dx * f) as f32,
            y: (fy + dy * f) as f32,
            dir: if len > 0.0 {
                ((dx / len) as f32, (dy / len) as f32)
            } else {
                (0.0, 0.0)
            },
            kind,
            style: Style::of(kind),
            doomed: m.doomed.is_some(),
            attempt: m.payload.attempt().unwrap_or(0),
            edit,
            overtaken: false,
        });
    }
    // A handful of writes are on a wire at once, so comparing every pair costs nothing.
    for &(wire, edit, f, i) in &writes {
        if writes
            .iter()
            .any(|&(w, e, g, _)| w == wire && e > edit && g > f)
        {
            out[i].overtaken = true;
        }
    }
    out
}

/// How the SVG's `viewBox` (`preserveAspectRatio` "xMidYMid meet") maps onto a box of `w` x `h`
/// CSS pixels: the scale and the offsets of the drawing inside the box.
pub fn fit(w: f64, h: f64) -> (f64, f64, f64) {
    let s = (w / WIDTH).min(h / HEIGHT);
    (s, (w - WIDTH * s) / 2.0, (h - HEIGHT * s) / 2.0)
}

/// The attempt numbers' text size in CSS pixels for a canvas `w` CSS pixels wide: at least 11
/// on a desktop, 10 on a phone (where the whole canvas is about 360 px wide).
pub fn label_px(w: f64) -> f64 {
    if w < 500.0 { 10.0 } else { 11.0 }
}

/// One attempt number to draw, centred at (x, y) in canvas units.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    /// Centre.
    pub x: f64,
    /// Centre.
    pub y: f64,
    /// "#2".
    pub text: String,
    /// The attempt.
    pub attempt: u32,
    /// The edit a write carries, 0 for a retry's number.
    pub edit: u64,
    /// A newer edit has passed this one: drawn in vermillion.
    pub overtaken: bool,
}

/// The attempt numbers to draw beside the retries (attempt 2 and up), and the edit numbers beside
/// writes, at `scale` CSS pixels per canvas unit and `px` CSS pixels of text: the highest
/// attempts first, then overtaken edits, then the newest edits, beside each dot across its
/// direction of travel (off the wire), and none over another, so each one drawn can be read.
/// At most [`MAX_LABELS`].
pub fn labels(dots: &[Dot], scale: f64, px: f64) -> Vec<Label> {
    let scale = scale.max(0.05);
    let mut tries: Vec<&Dot> = dots
        .iter()
        .filter(|d| d.attempt >= 2 || d.edit > 0)
        .collect();
    faultline_core::order::sort_by_key(&mut tries, |d| {
        (
            std::cmp::Reverse(if d.edit > 0 { 0 } else { d.attempt }),
            !d.overtaken,
            std::cmp::Reverse(d.edit),
        )
    });
    let mut out: Vec<Label> = Vec::new();
    let mut boxes: Vec<(f64, f64, f64, f64)> = Vec::new();
    for d in tries {
        if out.len() >= MAX_LABELS {
            break;
        }
        let text = match (d.edit, d.attempt) {
            (0, a) => format!("#{a}"),
            (e, a) if a >= 2 => format!("edit {e} #{a}"),
            (e, _) => format!("edit {e}"),
        };
        // Half the text's box in canvas units (digits are about 0.6 em wide), plus a margin.
        let half_w = (text.len() as f64 * 0.6 * px / 2.0 + 2.0) / scale;
        let half_h = (px / 2.0 + 1.0) / scale;
        // Across the direction of travel, to the right of a vertical wire, above a level one.
        let (dx, dy) = (f64::from(d.dir.0), f64::from(d.dir.1));
        let (mut nx, mut ny) = if dx == 0.0 && dy == 0.0 {
            (1.0, 0.0)
        } else {
            (-dy, dx)
        };
        if ny > 0.0 || (ny == 0.0 && nx < 0.0) {
            (nx, ny) = (-nx, -ny);
        }
        let away = d.style.radius() + 1.0 + nx.abs() * half_w + ny.abs() * half_h;
        let (x, y) = (f64::from(d.x) + nx * away, f64::from(d.y) + ny * away);
        let b = (x - half_w, y - half_h, x + half_w, y + half_h);
        let inside = b.0 >= 0.0 && b.1 >= 0.0 && b.2 <= WIDTH && b.3 <= HEIGHT;
        let clear = boxes
            .iter()
            .all(|o| b.2 <= o.0 || o.2 <= b.0 || b.3 <= o.1 || o.3 <= b.1);
        if inside && clear {
            boxes.push(b);
            out.push(Label {
                x,
                y,
                text,
                attempt: d.attempt,
                edit: d.edit,
                overtaken: d.overtaken,
            });
        }
    }
    out
}

/// What the last paint drew, for the `data-` attributes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Drawn {
    messages: usize,
    numbered: usize,
    top_attempt: u32,
    edits: usize,
    overtaken: usize,
    label_px: f64,
}

/// A canvas's 2D drawing context, if the browser gives one.
pub(crate) fn context_2d(
    canvas: &web_sys::HtmlCanvasElement,
) -> Option<web_sys::CanvasRenderingContext2d> {
    as_2d(canvas.get_context("2d"))
}

/// The message layer's drawing context, opaque: the layer is white where no message is, and an
/// opaque canvas is one the compositor copies rather than blends, without drawing the page under
/// it (Chromium's software compositor: 4.0 against 3.4 ms a frame drawing quads, in a trace of
/// `?bench=frames`).
fn opaque_context_2d(
    canvas: &web_sys::HtmlCanvasElement,
) -> Option<web_sys::CanvasRenderingContext2d> {
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"alpha".into(), &false.into()).ok()?;
    as_2d(canvas.get_context_with_context_options("2d", &options))
}

/// The 2D context `get_context` gave, if it gave one.
fn as_2d(
    got: Result<Option<js_sys::Object>, wasm_bindgen::JsValue>,
) -> Option<web_sys::CanvasRenderingContext2d> {
    got.ok()
        .flatten()
        .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
}

/// The canvas's size in CSS pixels, read from the layout.
fn measure(canvas: &web_sys::HtmlCanvasElement) -> (f64, f64) {
    (
        f64::from(canvas.client_width()),
        f64::from(canvas.client_height()),
    )
}

/// Paints `dots` onto `canvas` at `size` (CSS pixels) and the screen's pixel ratio.
fn paint(
    canvas: &web_sys::HtmlCanvasElement,
    (w, h): (f64, f64),
    dots: &[Dot],
    last: &RefCell<Drawn>,
    pixels: &RefCell<Pixels>,
) {
    let Some(ctx) = opaque_context_2d(canvas) else {
        return;
    };
    // Sharp on HiDPI screens: a pixel per device pixel, within the bitmap's bound.
    let dpr = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
    let (bw, bh, k) = raster::fit_resolution(w, h, dpr);
    let mut r = pixels.borrow_mut();
    if canvas.width() as usize != bw
        || canvas.height() as usize != bh
        || (r.image.is_none() && bw > 0 && bh > 0)
    {
        canvas.set_width(bw as u32); // clears it too
        canvas.set_height(bh as u32);
        *r = Pixels::new(bw, bh);
    }
    let mut drawn = Drawn {
        messages: dots.len(),
        ..Drawn::default()
    };
    // The rows last frame painted: cleared now, and copied again below, so the dots that
    // left them are erased on screen too.
    let before = r.bitmap.as_mut().and_then(raster::Bitmap::clear);
    // ...and the rows last frame's numbers were written on, which the bitmap knows nothing of:
    // copied again too, or a number stays behind on screen when its message has moved on.
    let before = match (before, r.text_rows.take()) {
        (Some(dots), text) => Some(raster::union(text, dots)),
        (None, text) => text,
    };
    let fitted = (w > 0.0 && h > 0.0).then(|| fit(w, h));
    if let Some((s, ox, oy)) = fitted {
        let scale = k * s;
        // The dots are stamped into the bitmap here and handed over in one copy: painted as
        // canvas arcs they cost the browser about 11 ms a frame (see `raster`).
        if r.discs.is_empty() || r.disc_scale != scale {
            r.disc_scale = scale;
            r.discs = Style::ALL
                .iter()
                .map(|st| (*st, raster::Disc::new(st.radius() * scale)))
                .collect();
        }
        let Pixels { bitmap, discs, .. } = &mut *r;
        if let Some(b) = bitmap {
            for (style, disc) in discs.iter() {
                let rgb = style.rgb();
                for doomed in [false, true] {
                    for d in dots
                        .iter()
                        .filter(|d| d.style == *style && d.doomed == doomed)
                    {
                        let x = k * (s * f64::from(d.x) + ox);
                        let y = k * (s * f64::from(d.y) + oy);
                        b.stamp(disc, x, y, rgb, if doomed { 0.45 } else { 1.0 });
                    }
                }
            }
        }
    }
    let now = r.bitmap.as_ref().and_then(raster::Bitmap::dirty);
    r.show(&ctx, before.map_or(now, |b| Some(raster::union(now, b))));
    if let Some((s, ox, oy)) = fitted {
        let _ = ctx.set_transform(k * s, 0.0, 0.0, k * s, k * ox, k * oy);
        let px = label_px(w);
        let labels = labels(dots, s, px);
        if !labels.is_empty() {
            ctx.set_font(&format!("700 {:.2}px system-ui, sans-serif", px / s));
            ctx.set_text_align("center");
            ctx.set_text_baseline("middle");
            // A white halo keeps the number readable over wires and other dots.
            ctx.set_line_width(3.0 / s);
            ctx.set_line_join("round");
            ctx.set_stroke_style_str("white");
            ctx.set_fill_style_str("#1d232a");
            for l in &labels {
                let _ = ctx.stroke_text(&l.text, l.x, l.y);
                ctx.set_fill_style_str(if l.overtaken { "#a33f00" } else { "#1d232a" });
                let _ = ctx.fill_text(&l.text, l.x, l.y);
            }
        }
        // Glyphs reach about 0.6 em either side of a middle baseline; 3 px more covers the
        // halo (1.5 px) and the anti-aliased edge.
        r.text_rows = text_rows(&labels, (k * s, k * oy), k * (0.6 * px + 3.0), bh);
        drawn.label_px = px;
        drawn.numbered = labels.len();
        drawn.top_attempt = labels
            .iter()
            .filter(|l| l.edit == 0)
            .map(|l| l.attempt)
            .max()
            .unwrap_or(0);
        drawn.edits = labels.iter().filter(|l| l.edit > 0).count();
        drawn.overtaken = labels.iter().filter(|l| l.overtaken).count();
    }
    if *last.borrow() != drawn {
        let _ = canvas.set_attribute("data-messages", &drawn.messages.to_string());
        let _ = canvas.set_attribute("data-numbered", &drawn.numbered.to_string());
        let _ = canvas.set_attribute("data-top-attempt", &drawn.top_attempt.to_string());
        let _ = canvas.set_attribute("data-edits", &drawn.edits.to_string());
        let _ = canvas.set_attribute("data-overtaken", &drawn.overtaken.to_string());
        let _ = canvas.set_attribute("data-label-px", &drawn.label_px.to_string());
        *last.borrow_mut() = drawn;
    }
}

/// The layer's bitmap, the browser's `ImageData` it is copied into, and the discs stamped, for
/// the current size and scale: kept between frames so a frame allocates nothing.
#[derive(Default)]
struct Pixels {
    bitmap: Option<raster::Bitmap>,
    image: Option<(web_sys::ImageData, js_sys::Uint32Array)>,
    discs: Vec<(Style, raster::Disc)>,
    disc_scale: f64,
    /// The rows the last frame's numbers were written on (see [`text_rows`]).
    text_rows: Option<(usize, usize)>,
}

/// The bitmap rows (`from..to`, device pixels) that `labels` cover: each `half` pixels either
/// side of its centre, drawn at row `a * y + b`. The rows to wipe on the next frame.
fn text_rows(
    labels: &[Label],
    (a, b): (f64, f64),
    half: f64,
    height: usize,
) -> Option<(usize, usize)> {
    labels.iter().fold(None, |rows, l| {
        let y = a * l.y + b;
        let from = (y - half).floor().clamp(0.0, height as f64) as usize;
        let to = (y + half).ceil().clamp(0.0, height as f64) as usize;
        if from < to {
            Some(raster::union(rows, (from, to)))
        } else {
            rows
        }
    })
}

impl Pixels {
    fn new(w: usize, h: usize) -> Pixels {
        // White, as the canvas's box (web/style.css, `.message-layer`).
        let bitmap = raster::Bitmap::opaque(w, h, [255, 255, 255]);
        let image = bitmap.as_ref().and_then(|b| {
            let img = web_sys::ImageData::new_with_sw(b.width() as u32, b.height() as u32).ok()?;
            let data = js_sys::Reflect::get(&img, &wasm_bindgen::JsValue::from_str("data"))
                .ok()?
                .dyn_into::<js_sys::Uint8ClampedArray>()
                .ok()?;
            // A view of the same bytes a pixel at a time: the bitmap is copied in as it is.
            Some((img, js_sys::Uint32Array::new(&data.buffer())))
        });
        Pixels {
            bitmap,
            image,
            discs: Vec::new(),
            disc_scale: 0.0,
            text_rows: None,
        }
    }

    /// Copies the bitmap's rows `from..to` onto the canvas, replacing what was there.
    fn show(&self, ctx: &web_sys::CanvasRenderingContext2d, rows: Option<(usize, usize)>) {
        if let (Some(b), Some((img, data)), Some((from, to))) = (&self.bitmap, &self.image, rows)
            && data.length() as usize == b.pixels().len()
            && from < to
            && to <= b.height()
        {
            let (start, end) = (from * b.width(), to * b.width());
            data.subarray(start as u32, end as u32)
                .copy_from(&b.pixels()[start..end]);
            let _ = ctx.put_image_data_with_dirty_x_and_dirty_y_and_dirty_width_and_dirty_height(
                img,
                0.0,
                0.0,
                0.0,
                from as f64,
                b.width() as f64,
                (to - from) as f64,
            );
        }
    }
}

/// The layer's properties.
#[derive(Properties, PartialEq)]
pub struct MessageLayerProps {
    /// The messages to draw (none under reduced motion).
    pub dots: Rc<Vec<Dot>>,
}

/// The layer of messages in flight, under the SVG canvas in the same box.
#[function_component(MessageLayer)]
pub fn message_layer(props: &MessageLayerProps) -> Html {
    let canvas = use_node_ref();
    let last = use_mut_ref(Drawn::default);
    let pixels = use_mut_ref(Pixels::default);
    let current = use_mut_ref(|| Rc::new(Vec::new()));
    // The size as last measured. Read once, then kept by the resize observer: reading it in
    // every frame's paint, right after the frame's DOM patch, made the browser lay the page out
    // inside the script (a forced layout) on every frame.
    let size = use_mut_ref(|| None::<(f64, f64)>);
    {
        let (canvas, last, current, size, pixels) = (
            canvas.clone(),
            last.clone(),
            current.clone(),
            size.clone(),
            pixels.clone(),
        );
        use_effect_with(props.dots.clone(), move |dots| {
            *current.borrow_mut() = dots.clone();
            if let Some(c) = canvas.cast::<web_sys::HtmlCanvasElement>() {
                let wh = *size.borrow_mut().get_or_insert_with(|| measure(&c));
                paint(&c, wh, dots, &last, &pixels);
            }
        });
    }
    {
        // A new size (a window resized, a panel opened) repaints at once, even while paused.
        let canvas = canvas.clone();
        use_effect_with((), move |_| {
            let observer = canvas.cast::<web_sys::HtmlCanvasElement>().and_then(|c| {
                let repaint = Closure::<dyn FnMut()>::new({
                    let c = c.clone();
                    move || {
                        // An observer runs after layout: the size is read for free.
                        let wh = measure(&c);
                        *size.borrow_mut() = Some(wh);
                        paint(&c, wh, &current.borrow(), &last, &pixels)
                    }
                });
                let o = web_sys::ResizeObserver::new(repaint.as_ref().unchecked_ref()).ok()?;
                o.observe(&c);
                Some((o, repaint))
            });
            move || {
                if let Some((o, _repaint)) = observer {
                    o.disconnect();
                }
            }
        });
    }
    html! {
        <canvas ref={canvas} class="message-layer" aria-hidden="true"
            data-messages="0" data-numbered="0" data-top-attempt="0" data-edits="0" data-overtaken="0" />
    }
}

/// The dots as SVG paths, one per kind, for the still pictures of compare mode.
pub fn svg_paths(dots: &[Dot]) -> Html {
    let mut paths: std::collections::BTreeMap<(&'static str, bool), String> =
        std::collections::BTreeMap::new();
    for d in dots {
        // A dot: a zero-length segment with a round cap.
        let p = paths.entry((d.kind, d.doomed)).or_default();
        let _ = std::fmt::Write::write_fmt(p, format_args!("M{:.1} {:.1}h0", d.x, d.y));
    }
    html! {
        <>{ for paths.into_iter().map(|((kind, doomed), d)| {
            let class = format!("msg {kind}{}", if doomed { " doomed" } else { "" });
            html! { <path {class} {d} /> }
        }) }</>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Session;
    use faultline_core::scenario::Scenario;

    /// The rows wiped next frame hold every number written this frame, halo and all, within
    /// the bitmap: on a phone (and anywhere) a number does not stay behind its message.
    #[test]
    fn the_rows_a_number_was_written_on_are_wiped_next_frame() {
        let at = |y: f64| Label {
            x: 50.0,
            y,
            text: "#2".into(),
            attempt: 2,
            edit: 0,
            overtaken: false,
        };
        assert_eq!(text_rows(&[], (2.0, 10.0), 14.0, 500), None);
        // Row 2 * 100 + 10 = 210, 14 pixels either side.
        assert_eq!(
            text_rows(&[at(100.0)], (2.0, 10.0), 14.0, 500),
            Some((196, 224))
        );
        // Two numbers: every row from the first's top to the second's bottom.
        assert_eq!(
            text_rows(&[at(150.0), at(100.0)], (2.0, 10.0), 14.0, 500),
            Some((196, 324))
        );
        // Clipped to the bitmap; a number wholly outside it covers nothing.
        assert_eq!(
            text_rows(&[at(-2.0)], (2.0, 10.0), 14.0, 500),
            Some((0, 20))
        );
        assert_eq!(text_rows(&[at(400.0)], (2.0, 10.0), 14.0, 500), None);
    }

    /// The retry-storm template's messages in flight every 50 ms from `from_us` to `to_us`.
    fn storm(from_us: u64, to_us: u64) -> Vec<Vec<Dot>> {
        let sc = crate::templates::TEMPLATES
            .iter()
            .map(|t| Scenario::parse(t).expect("valid"))
            .find(|s| s.title == "A retry storm")
            .expect("the retry-storm template");
        let pos = crate::layout::positions(&sc);
        let mut s = Session::new(sc).expect("builds");
        (from_us..to_us)
            .step_by(50_000)
            .map(|t| {
                s.seek(t);
                dots(&s.world, &pos)
            })
            .collect()
    }

    /// In the storm the retries on the wire carry their attempt numbers; in the calm start
    /// every message is a first attempt.
    #[test]
    fn a_storm_is_drawn_as_numbered_retries() {
        let calm = storm(500_000, 5_000_000);
        assert!(
            calm.iter().flatten().any(|d| d.attempt == 1),
            "first attempts"
        );
        assert!(
            calm.iter().all(|ds| labels(ds, 1.0, 11.0).is_empty()),
            "no numbers"
        );
        let stormy = storm(15_000_000, 20_000_000);
        let numbered: Vec<Vec<Label>> = stormy.iter().map(|ds| labels(ds, 1.5, 11.0)).collect();
        let frames = numbered.iter().filter(|ls| !ls.is_empty()).count();
        let top = numbered
            .iter()
            .flatten()
            .map(|l| l.attempt)
            .max()
            .unwrap_or(0);
        assert!(
            frames * 2 > numbered.len(),
            "numbers in {frames} of {} moments",
            numbered.len()
        );
        assert!(top >= 3, "up to attempt {top}");
    }

    /// Saves that overtake each other on a reordering link: some frame shows an edit that a newer
    /// one has passed, labelled with its number and marked overtaken; a FIFO link never does.
    #[test]
    fn an_overtaken_write_is_marked_with_its_edit() {
        let frames = |reorder: bool| {
            let mut sc = crate::templates::TEMPLATES
                .iter()
                .map(|t| Scenario::parse(t).expect("valid"))
                .find(|s| s.title == "Writes out of order")
                .expect("the out-of-order template");
            sc.links[0].reorder = reorder;
            let pos = crate::layout::positions(&sc);
            let mut s = Session::new(sc).expect("builds");
            (0..20_000_000u64)
                .step_by(50_000)
                .map(|t| {
                    s.seek(t);
                    dots(&s.world, &pos)
                })
                .collect::<Vec<_>>()
        };
        let reordering = frames(true);
        let marked: Vec<Label> = reordering
            .iter()
            .flat_map(|ds| labels(ds, 1.5, 11.0))
            .filter(|l| l.overtaken)
            .collect();
        assert!(!marked.is_empty(), "an overtaken save is drawn");
        assert!(
            marked
                .iter()
                .all(|l| l.edit > 0 && l.text == format!("edit {}", l.edit))
        );
        let fifo = frames(false);
        assert!(fifo.iter().flatten().any(|d| d.edit > 0), "saves travel");
        assert!(
            fifo.iter().flatten().all(|d| !d.overtaken),
            "nothing overtakes on a FIFO link"
        );
    }

    /// Many retries on one wire: the highest attempts are drawn first, each clear of the others
    /// and inside the canvas, at most [`MAX_LABELS`], at a phone's scale and a desktop's.
    #[test]
    fn numbers_never_cover_each_other() {
        let dots: Vec<Dot> = (0..400)
            .map(|i| Dot {
                x: 20.0 + (i % 40) as f32 * 14.0,
                y: 30.0 + (i / 40) as f32 * 34.0,
                dir: (0.0, 1.0),
                kind: "request",
                style: Style::Ask,
                doomed: false,
                attempt: 2 + (i % 3) as u32,
                edit: 0,
                overtaken: false,
            })
            .collect();
        for scale in [0.6, 1.0, 1.5] {
            let px = label_px(WIDTH * scale);
            let ls = labels(&dots, scale, px);
            assert!(
                !ls.is_empty() && ls.len() <= MAX_LABELS,
                "{} at {scale}",
                ls.len()
            );
            assert_eq!(ls[0].attempt, 4, "the highest attempt is drawn first");
            assert!(ls.iter().all(|l| l.text == format!("#{}", l.attempt)));
            assert!(
                ls.iter()
                    .all(|l| (0.0..=WIDTH).contains(&l.x) && (0.0..=HEIGHT).contains(&l.y))
            );
            // The text's own box (without the margin `labels` keeps between them).
            let half_w = |l: &Label| l.text.len() as f64 * 0.6 * px / 2.0 / scale;
            let half_h = px / 2.0 / scale;
            for (i, a) in ls.iter().enumerate() {
                for b in &ls[i + 1..] {
                    let apart = (a.x - b.x).abs() >= half_w(a) + half_w(b)
                        || (a.y - b.y).abs() >= 2.0 * half_h;
                    assert!(apart, "{a:?} over {b:?} at scale {scale}");
                }
            }
        }
    }

    /// A number sits off its wire: beside a vertical link, above a level one.
    #[test]
    fn a_number_sits_beside_its_dot_not_on_the_wire() {
        let dot = |dir| Dot {
            x: 300.0,
            y: 200.0,
            dir,
            kind: "request",
            style: Style::Ask,
            doomed: false,
            attempt: 3,
            edit: 0,
            overtaken: false,
        };
        let down = labels(&[dot((0.0, 1.0))], 1.0, 11.0);
        assert!(
            down[0].x > 306.0 && (down[0].y - 200.0).abs() < 0.01,
            "{down:?}"
        );
        let left = labels(&[dot((-1.0, 0.0))], 1.0, 11.0);
        assert!(
            left[0].y < 194.0 && (left[0].x - 300.0).abs() < 0.01,
            "{left:?}"
        );
    }

    #[test]
    fn the_drawing_is_centred_in_its_box_as_the_svg_draws_it() {
        assert_eq!(fit(600.0, 400.0), (1.0, 0.0, 0.0));
        let (s, ox, oy) = fit(1200.0, 400.0);
        assert_eq!((s, ox, oy), (1.0, 300.0, 0.0));
        let (s, ox, oy) = fit(300.0, 400.0);
        assert_eq!((s, ox, oy), (0.5, 0.0, 100.0));
    }

    #[test]
    fn text_is_large_enough_to_read_on_a_phone_and_a_desktop() {
        // At 375 px the canvas is about 360 px wide; at 1280, about 900.
        assert!(label_px(360.0) >= 9.0);
        assert!(label_px(900.0) >= 11.0);
    }
}
