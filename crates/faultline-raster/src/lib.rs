//! A small software rasteriser for the messages in flight: discs stamped into an RGBA bitmap
//! that the page hands to its `<canvas>` in one `putImageData`.
//!
//! Why not the canvas's own `arc` and `fill`: in Chromium's software mode a canvas's drawing is
//! recorded and rasterised on the page's main thread when the frame is produced, and a thousand
//! anti-aliased arcs took about 11 ms of each frame there, most of the 16.7 ms budget. Blitting
//! the canvas's own pre-drawn disc instead costs as much again in calls (measured in headless
//! Chromium: arcs 12.3 ms a frame, `drawImage` 11.6, a copied bitmap 0.5 plus the stamping).
//! Stamping a pre-computed coverage mask here is a few hundred thousand integer blends, about a
//! millisecond, and the browser's part is a copy.
//!
//! Pixels are straight (not premultiplied) RGBA bytes, as `ImageData` holds them.
//!
//! A crate of its own so the page's wasm can build it for speed while the rest of the page is
//! built for size: at the page's opt-level "z" its per-pixel blend was not inlined, and
//! stamping a thousand dots took about 2.9 ms of every frame against 2.0 at opt-level 3.

/// The most pixels the bitmap holds (2048 x 2048, 16 MiB): past this the page draws it at a
/// lower resolution and lets the browser scale it up, rather than allocate without bound.
pub const MAX_PIXELS: usize = 2048 * 2048;

/// An RGBA bitmap: a pixel per `u32`, red in the low byte, so that on a little-endian machine
/// (wasm is one) the memory holds `ImageData`'s bytes.
#[derive(Debug, Default, Clone)]
pub struct Bitmap {
    width: usize,
    height: usize,
    px: Vec<u32>,
    /// The rows painted since the last clear (`from..to`), if any: a frame clears and copies
    /// only those, where the messages are, not the whole bitmap.
    dirty: Option<(usize, usize)>,
    /// What a clear leaves: transparent, or an opaque colour ([`Bitmap::opaque`]).
    background: u32,
}

impl Bitmap {
    /// A transparent bitmap of `width` x `height` pixels, at most [`MAX_PIXELS`] (a larger size
    /// is refused: the caller picks a resolution that fits, see [`fit_resolution`]). Over a
    /// transparent pixel a soft edge is a plain write; over an opaque one ([`Bitmap::opaque`])
    /// it is a blend, which costs the stamping a little and saves the browser more.
    pub fn new(width: usize, height: usize) -> Option<Bitmap> {
        let n = width.checked_mul(height)?;
        (n <= MAX_PIXELS).then(|| Bitmap {
            width,
            height,
            px: vec![0; n],
            dirty: None,
            background: 0,
        })
    }

    /// An opaque bitmap, `rgb` everywhere, for a canvas the browser may treat as opaque: its
    /// compositor then neither blends the canvas over the page nor draws what lies under it.
    /// Every row counts as painted, so the first copy fills the whole canvas.
    pub fn opaque(width: usize, height: usize, [r, g, b]: [u8; 3]) -> Option<Bitmap> {
        let mut bitmap = Bitmap::new(width, height)?;
        bitmap.background = 0xff00_0000 | (u32::from(b) << 16) | (u32::from(g) << 8) | u32::from(r);
        bitmap.px.fill(bitmap.background);
        bitmap.dirty = (height > 0).then_some((0, height));
        Some(bitmap)
    }

    /// Its width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Its height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Its background everywhere. Returns the rows it cleared (those painted since the last
    /// clear; everything else already was).
    pub fn clear(&mut self) -> Option<(usize, usize)> {
        let rows = self.dirty.take();
        if let Some((from, to)) = rows {
            self.px[from * self.width..to * self.width].fill(self.background);
        }
        rows
    }

    /// The rows painted since the last clear (`from..to`), if any.
    pub fn dirty(&self) -> Option<(usize, usize)> {
        self.dirty
    }

    /// The pixel at (x, y) as straight RGBA bytes, or `None` outside.
    #[cfg(test)]
    pub fn pixel(&self, x: usize, y: usize) -> Option<[u8; 4]> {
        (x < self.width && y < self.height).then(|| self.px[y * self.width + x].to_le_bytes())
    }

    /// The pixels, row by row.
    pub fn pixels(&self) -> &[u32] {
        &self.px
    }

    /// Stamps `disc` centred on the pixel corner nearest (x, y), in `rgb` at `alpha` (0 to 1),
    /// over what is there ("source-over"). Parts outside the bitmap are clipped.
    pub fn stamp(&mut self, disc: &Disc, x: f64, y: f64, rgb: [u8; 3], alpha: f64) {
        let a = (alpha.clamp(0.0, 1.0) * 255.0).round() as u32;
        if a == 0 || !x.is_finite() || !y.is_finite() {
            return;
        }
        let solid = over(0, rgb, 255);
        let half = (disc.side / 2) as i64;
        // Far outside (or absurd) coordinates clip to nothing rather than overflow.
        let (x0, y0) = (
            (x.round().clamp(-1e6, 1e6) as i64) - half,
            (y.round().clamp(-1e6, 1e6) as i64) - half,
        );
        let (w, h) = (self.width as i64, self.height as i64);
        let i_from = (-x0).max(0);
        let i_to = (w - x0).min(disc.side as i64);
        if i_from >= i_to {
            return;
        }
        let rows = (
            y0.clamp(0, h) as usize,
            (y0 + disc.side as i64).clamp(0, h) as usize,
        );
        if rows.0 < rows.1 {
            self.dirty = Some(union(self.dirty, rows));
        }
        for (j, span) in disc.spans.iter().enumerate() {
            let py = y0 + j as i64;
            if py < 0 || py >= h || span.from == span.to {
                continue;
            }
            let row = &disc.coverage[j * disc.side..][..disc.side];
            let line = &mut self.px[(py * w) as usize..][..self.width];
            // Columns of the disc, clipped to the bitmap, as columns of the line.
            let clip = |from: u16, to: u16| {
                let (p, q) = (i64::from(from).max(i_from), i64::from(to).min(i_to));
                ((x0 + p) as usize, (x0 + q.max(p)) as usize)
            };
            // The fully covered middle of a row is one fill (most of a dot's pixels); only the
            // soft edges either side are blended. A faint dot blends the whole row.
            let (lo, hi) = if a == 255 {
                clip(span.lo, span.hi)
            } else {
                (0, 0)
            };
            if lo < hi {
                line[lo..hi].fill(solid);
            }
            let (from, to) = clip(span.from, span.to);
            let edges = if lo < hi {
                [(from, lo), (hi, to)]
            } else {
                [(from, to), (to, to)]
            };
            let at = (-x0) as isize; // the line's column 0 in the disc's columns
            for (p, q) in edges {
                let cover = &row[(p as isize + at) as usize..(q as isize + at) as usize];
                for (px, c) in line[p..q].iter_mut().zip(cover) {
                    *px = over(*px, rgb, (u32::from(*c) * a + 127) / 255);
                }
            }
        }
    }
}

/// One row of a [`Disc`]: the columns `from..to` have some coverage, `lo..hi` (inside them) are
/// fully covered.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Span {
    from: u16,
    to: u16,
    lo: u16,
    hi: u16,
}

/// The rows `a` and `b` cover, as one range (what lies between is included).
pub fn union(a: Option<(usize, usize)>, b: (usize, usize)) -> (usize, usize) {
    a.map_or(b, |a| (a.0.min(b.0), a.1.max(b.1)))
}

/// `rgb` at alpha `sa` (0 to 255) over the straight RGBA pixel `dst` (red in the low byte).
fn over(dst: u32, [r, g, b]: [u8; 3], sa: u32) -> u32 {
    let da = dst >> 24;
    if sa >= 255 || da == 0 {
        return (sa.min(255) << 24) | (u32::from(b) << 16) | (u32::from(g) << 8) | u32::from(r);
    }
    if sa == 0 {
        return dst;
    }
    if da == 255 {
        // Over an opaque pixel (where dots overlap): the result is opaque, a plain mix.
        let mix = |src: u8, shift: u32| {
            let d = (dst >> shift) & 0xff;
            (u32::from(src) * sa + d * (255 - sa) + 127) / 255
        };
        return (255 << 24) | (mix(b, 16) << 16) | (mix(g, 8) << 8) | mix(r, 0);
    }
    // Straight alpha: the result's alpha, then each channel weighted by its share of it.
    let rest = da * (255 - sa); // the destination's weight, scaled by 255
    let oa255 = sa * 255 + rest; // the result's alpha, scaled by 255
    let mix = |src: u8, shift: u32| {
        let d = (dst >> shift) & 0xff;
        (u32::from(src) * sa * 255 + d * rest + oa255 / 2) / oa255
    };
    let oa = (oa255 + 127) / 255;
    (oa << 24) | (mix(b, 16) << 16) | (mix(g, 8) << 8) | mix(r, 0)
}

/// A disc's anti-aliased coverage: a square of `side` x `side` values from 0 to 255, centred
/// on the square's middle pixel corner.
#[derive(Debug, Clone, PartialEq)]
pub struct Disc {
    side: usize,
    coverage: Vec<u8>,
    /// Per row, which columns are covered.
    spans: Vec<Span>,
}

impl Disc {
    /// A disc of `radius` pixels (clamped to 0.5 to 64: a dot, never a huge stamp).
    pub fn new(radius: f64) -> Disc {
        let radius = if radius.is_finite() {
            radius.clamp(0.5, 64.0)
        } else {
            0.5
        };
        let side = 2 * (radius.ceil() as usize + 1);
        let c = (side / 2) as f64;
        let mut coverage = Vec::with_capacity(side * side);
        for j in 0..side {
            for i in 0..side {
                // A pixel's coverage, approximated by its centre's distance to the edge: exact
                // enough at the sizes drawn, and what makes the edge smooth.
                let d = (i as f64 + 0.5 - c).hypot(j as f64 + 0.5 - c);
                coverage.push(((radius + 0.5 - d).clamp(0.0, 1.0) * 255.0).round() as u8);
            }
        }
        let spans = coverage
            .chunks(side)
            .map(|row| {
                let first = |full: bool| row.iter().position(|c| *c > 0 && (!full || *c == 255));
                let last = |full: bool| row.iter().rposition(|c| *c > 0 && (!full || *c == 255));
                let (from, to) = (first(false).unwrap_or(0), last(false).map_or(0, |i| i + 1));
                let (lo, hi) = (
                    first(true).unwrap_or(from),
                    last(true).map_or(from, |i| i + 1),
                );
                let n = |i: usize| i as u16;
                Span {
                    from: n(from),
                    to: n(to.max(from)),
                    lo: n(lo),
                    hi: n(hi.max(lo)),
                }
            })
            .collect();
        Disc {
            side,
            coverage,
            spans,
        }
    }
}

/// The bitmap size for a box of `w` x `h` CSS pixels at `dpr` device pixels each: one pixel per
/// device pixel, or fewer when that would pass [`MAX_PIXELS`]. Returns (width, height, pixels
/// per CSS pixel).
pub fn fit_resolution(w: f64, h: f64, dpr: f64) -> (usize, usize, f64) {
    let (w, h) = (w.max(0.0), h.max(0.0));
    let mut k = if dpr.is_finite() {
        dpr.clamp(0.25, 4.0)
    } else {
        1.0
    };
    let area = w * h * k * k;
    if area > MAX_PIXELS as f64 {
        k *= (MAX_PIXELS as f64 / area).sqrt() * 0.999;
    }
    let (bw, bh) = ((w * k).floor() as usize, (h * k).floor() as usize);
    (bw, bh, k)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dot is solid in its middle, clear outside its radius, and soft only at its edge.
    #[test]
    fn a_disc_is_round_and_smooth() {
        let d = Disc::new(6.5);
        let c = d.side / 2;
        let at = |i: usize, j: usize| d.coverage[j * d.side + i];
        assert_eq!(at(c, c), 255, "solid centre");
        assert_eq!(at(c + 2, c - 3), 255, "solid inside");
        assert_eq!(at(0, 0), 0, "clear corner");
        assert_eq!(at(c + 7, c), 0, "clear past the radius");
        let edge = at(c + 6, c); // its centre 6.52 from the middle: about half covered
        assert!(edge > 64 && edge < 192, "a soft edge: {edge}");
        // The spans are exactly the covered and the fully covered pixels.
        for (j, sp) in d.spans.iter().enumerate() {
            for i in 0..d.side {
                let i16 = i as u16;
                assert_eq!(
                    at(i, j) == 255,
                    (sp.lo..sp.hi).contains(&i16),
                    "row {j} col {i}"
                );
                assert_eq!(
                    at(i, j) > 0,
                    (sp.from..sp.to).contains(&i16),
                    "row {j} col {i}"
                );
            }
        }
        // Symmetric about the centre in both directions.
        for j in 0..d.side {
            for i in 0..d.side {
                assert_eq!(at(i, j), at(d.side - 1 - i, j));
                assert_eq!(at(i, j), at(i, d.side - 1 - j));
            }
        }
    }

    /// A stamp paints the colour where the disc is and nothing elsewhere, clipped at the
    /// bitmap's edges, and an absurd position draws nothing rather than panic.
    #[test]
    fn stamps_land_where_asked_and_clip() {
        let mut b = Bitmap::new(40, 30).unwrap();
        let disc = Disc::new(4.0);
        b.stamp(&disc, 10.0, 10.0, [0, 0x72, 0xb2], 1.0);
        assert_eq!(b.pixel(10, 10), Some([0, 0x72, 0xb2, 255]));
        assert_eq!(b.pixel(20, 20), Some([0, 0, 0, 0]));
        // Half off the left edge and the bottom: the inside half is painted.
        b.stamp(&disc, 0.0, 29.0, [0xd5, 0x5e, 0x00], 1.0);
        assert_eq!(b.pixel(1, 28), Some([0xd5, 0x5e, 0x00, 255]));
        for (x, y) in [
            (f64::NAN, 1.0),
            (1e300, 5.0),
            (-1e300, -1e300),
            (5.0, f64::INFINITY),
        ] {
            b.stamp(&disc, x, y, [1, 2, 3], 1.0);
        }
        assert_eq!(b.pixel(39, 0), Some([0, 0, 0, 0]));
        // In each corner, and wholly outside each edge.
        for (x, y) in [
            (0.0, 0.0),
            (40.0, 0.0),
            (0.0, 30.0),
            (40.0, 30.0),
            (-20.0, 5.0),
            (60.0, 5.0),
            (5.0, -20.0),
            (5.0, 50.0),
        ] {
            b.stamp(&disc, x, y, [9, 9, 9], 0.5);
            b.stamp(&disc, x, y, [9, 9, 9], 1.0);
        }
        assert_eq!(b.pixel(0, 0), Some([9, 9, 9, 255]));
        assert_eq!(b.pixel(39, 29), Some([9, 9, 9, 255]));
    }

    /// A faint dot over a solid one keeps the solid one showing through; alone it is partly
    /// transparent. Straight alpha: the colour stays the dot's own.
    #[test]
    fn faint_dots_blend_over() {
        let mut b = Bitmap::new(20, 20).unwrap();
        let disc = Disc::new(3.0);
        b.stamp(&disc, 5.0, 5.0, [0, 0x72, 0xb2], 0.45);
        let [r, g, bl, a] = b.pixel(5, 5).unwrap();
        assert_eq!((r, g, bl), (0, 0x72, 0xb2));
        assert_eq!(a, 115);
        b.stamp(&disc, 12.0, 12.0, [255, 255, 255], 1.0);
        b.stamp(&disc, 12.0, 12.0, [0, 0, 0], 0.5);
        let [r, _, _, a] = b.pixel(12, 12).unwrap();
        assert_eq!(a, 255);
        assert!(
            (120..=136).contains(&r),
            "half black over white is grey: {r}"
        );
        // Over an opaque pixel the result is opaque and mixed.
        let mut white = Bitmap::new(8, 8).unwrap();
        white.stamp(&disc, 4.0, 4.0, [255, 255, 255], 1.0);
        white.stamp(&disc, 4.0, 4.0, [0, 0, 0], 0.5);
        let [r, g, _, a] = white.pixel(4, 4).unwrap();
        assert_eq!((r, g, a), (127, 127, 255));
        assert_eq!(white.clear(), Some((0, 8)));
        assert_eq!(white.pixel(4, 4), Some([0, 0, 0, 0]));
        // Translucent over translucent: more opaque than either.
        b.stamp(&disc, 5.0, 5.0, [0, 0x72, 0xb2], 0.45);
        assert!(b.pixel(5, 5).unwrap()[3] > 115);
    }

    /// A clear wipes the rows painted since the one before, and says which they were: the
    /// page copies those, so a dot that moved away is erased on screen too.
    #[test]
    fn clear_reports_and_wipes_the_painted_rows() {
        let mut b = Bitmap::new(50, 50).unwrap();
        assert_eq!(b.clear(), None);
        let disc = Disc::new(2.0);
        b.stamp(&disc, 10.0, 10.0, [1, 2, 3], 1.0);
        b.stamp(&disc, 30.0, 40.0, [1, 2, 3], 1.0);
        let (from, to) = b.dirty().unwrap();
        assert!(
            (6..=8).contains(&from) && (42..=44).contains(&to),
            "{from}..{to}"
        );
        b.stamp(&disc, 30.0, 100.0, [1, 2, 3], 1.0); // wholly below: no rows
        assert_eq!(b.dirty(), Some((from, to)));
        assert_eq!(b.clear(), Some((from, to)));
        assert!(b.pixels().iter().all(|p| *p == 0));
        assert_eq!(b.dirty(), None);
        b.stamp(&disc, 0.0, 0.0, [1, 2, 3], 1.0);
        assert_eq!(b.dirty().map(|d| d.0), Some(0));
        assert_eq!(union(Some((3, 5)), (10, 12)), (3, 12));
        assert_eq!(union(None, (10, 12)), (10, 12));
    }

    /// The bitmap never passes its bound, however large the box or the pixel ratio.
    #[test]
    fn resolution_is_bounded() {
        assert_eq!(fit_resolution(900.0, 600.0, 1.0), (900, 600, 1.0));
        assert_eq!(fit_resolution(900.0, 600.0, 2.0), (1800, 1200, 2.0));
        for (w, h, dpr) in [
            (5000.0, 4000.0, 4.0),
            (1e9, 1e9, 1.0),
            (3000.0, 2000.0, f64::NAN),
        ] {
            let (bw, bh, _) = fit_resolution(w, h, dpr);
            assert!(bw * bh <= MAX_PIXELS, "{w}x{h}@{dpr}: {bw}x{bh}");
            assert!(Bitmap::new(bw, bh).is_some());
        }
        assert!(Bitmap::new(4096, 4096).is_none());
        assert!(Bitmap::new(usize::MAX, 2).is_none());
    }

    /// An opaque bitmap starts all background and all to be copied; a dot's soft edge is
    /// mixed with the background, and a clear restores it.
    #[test]
    fn an_opaque_bitmap_mixes_edges_with_its_background() {
        let mut b = Bitmap::opaque(40, 30, [255, 255, 255]).expect("small");
        assert_eq!(
            b.dirty(),
            Some((0, 30)),
            "the first copy is the whole canvas"
        );
        assert_eq!(b.pixel(3, 3), Some([255, 255, 255, 255]));
        assert_eq!(b.clear(), Some((0, 30)));
        let disc = Disc::new(6.5);
        b.stamp(&disc, 20.0, 15.0, [0, 0x72, 0xb2], 1.0);
        assert_eq!(b.pixel(20, 15), Some([0, 0x72, 0xb2, 255]), "solid centre");
        let [r, g, bl, a] = b.pixel(26, 15).expect("inside");
        assert_eq!(a, 255, "still opaque at the edge");
        assert!(
            r > 0 && r < 255 && g > 0x72 && bl > 0xb2,
            "a mix with white: {r} {g} {bl}"
        );
        b.clear();
        assert_eq!(
            b.pixel(20, 15),
            Some([255, 255, 255, 255]),
            "cleared to white"
        );
    }
}
