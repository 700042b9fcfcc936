//! Share links: a whole run (scenario, seed, the learner's interventions, the playhead, the lesson
//! step and view options) as a compact, versioned text for a URL fragment.
//!
//! The text is `1.` (the link format's version) followed by the link's JSON, deflated and in
//! base64url without padding. The version comes first and uncompressed, so a link made by a newer
//! Faultline is recognised as such instead of being called damaged.
//!
//! Decoding is the page's first contact with text from strangers, so it is bounded at every
//! step: the text's length, the inflated size (a deflate bomb stops at
//! [`MAX_LINK_JSON_BYTES`]), and then every rule of the scenario format.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::{Deserialize, Serialize};

use crate::scenario::Scenario;

/// The link format this build reads and writes.
pub const LINK_VERSION: u32 = 1;
/// The longest link text read, in characters (a URL fragment of about 100 KB).
pub const MAX_LINK_CHARS: usize = 100_000;
/// The most bytes a link may inflate to: the scenario format's own limit.
pub const MAX_LINK_JSON_BYTES: usize = crate::limits::MAX_SCENARIO_BYTES;
/// The most controls or panels a classroom link may hide.
pub const MAX_HIDDEN: usize = 32;
/// The longest teacher's note a link carries, in characters: a sentence or two, not a handout.
pub const MAX_NOTE_CHARS: usize = 280;
/// The most seeds a link's sweep asks for: the page's own limit on a sweep.
pub const MAX_SWEEP_SEEDS: u64 = 1_000;
/// The longest figure name a link's sweep carries, in characters.
pub const MAX_FIGURE_CHARS: usize = 100;

/// base64url; padding is accepted on input (some tools add it) and never written.
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A lesson step a link opens.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LessonAt {
    /// The lesson's id (its file name without `.md`).
    pub id: String,
    /// The step, counted from 0.
    pub step: usize,
}

/// How the page looks when the link opens.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkView {
    /// Reduced motion on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub still: bool,
    /// Controls and panels a teacher hid, by name (the page ignores names it does not know).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hide: Vec<String>,
    /// A short note from the teacher, shown above the canvas (plain text, at most
    /// [`MAX_NOTE_CHARS`] characters).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// A seed sweep the page shows and runs as the link opens (a sweep's result, shared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepAt>,
}

/// A sweep in a link: the link's scenario over seeds 1 to `seeds`, reading `figure`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepAt {
    /// The number of seeds, 1 to [`MAX_SWEEP_SEEDS`].
    pub seeds: u64,
    /// The figure's name as `faultline sweep --figure` takes it; empty for the scenario's
    /// default.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub figure: String,
}

/// Everything a link restores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// The scenario with the learner's interventions appended, and its seed.
    pub scenario: Scenario,
    /// The playhead, in virtual milliseconds.
    #[serde(default)]
    pub at_ms: f64,
    /// The lesson step, when the link was made inside a lesson.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lesson: Option<LessonAt>,
    /// View options.
    #[serde(default, skip_serializing_if = "is_default_view")]
    pub view: LinkView,
}

fn is_default_view(v: &LinkView) -> bool {
    *v == LinkView::default()
}

impl Link {
    /// The link text (without `#`).
    // Cold code: `inline` lets the page compile it at its own opt-level "z" (see Cargo.toml).
    #[inline]
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).expect("a link always serialises");
        let packed = miniz_oxide::deflate::compress_to_vec(&json, 9);
        format!("{LINK_VERSION}.{}", B64.encode(packed))
    }

    /// Reads a link text (a leading `#` is allowed). Every error is a sentence for the learner.
    // Cold code: `inline` lets the page compile it at its own opt-level "z" (see Cargo.toml).
    #[inline]
    pub fn decode(text: &str) -> Result<Link, String> {
        let text = text.strip_prefix('#').unwrap_or(text).trim();
        if text.len() > MAX_LINK_CHARS {
            return Err(format!(
                "This link is {} characters long; the most Faultline reads is {MAX_LINK_CHARS}.",
                text.len()
            ));
        }
        let damaged = |why: &str| {
            format!("This link is damaged ({why}): it may have been cut short when it was copied.")
        };
        let (version, body) = text.split_once('.').ok_or_else(|| damaged("no version"))?;
        let version: u32 = version
            .parse()
            .map_err(|_| damaged("the version is not a number"))?;
        if version > LINK_VERSION {
            return Err(format!(
                "This link was made by a newer Faultline (link format {version}); this page reads format {LINK_VERSION}. Reload the page to get the newest version."
            ));
        }
        if version != LINK_VERSION {
            return Err(damaged("unknown version"));
        }
        let packed = B64.decode(body).map_err(|_| damaged("not base64url"))?;
        let json = miniz_oxide::inflate::decompress_to_vec_with_limit(&packed, MAX_LINK_JSON_BYTES)
            .map_err(|e| match e.status {
                miniz_oxide::inflate::TINFLStatus::HasMoreOutput => format!(
                    "This link holds more than {MAX_LINK_JSON_BYTES} bytes of scenario; the most Faultline reads is that."
                ),
                _ => damaged("it does not decompress"),
            })?;
        let json = std::str::from_utf8(&json).map_err(|_| damaged("not text"))?;
        // Read as `Scenario::parse` reads (text to a `Value`, then the types from it), so the
        // page carries one copy of the scenario reader, not two (about 20 KB of wasm each).
        let link: Link = serde_json::from_str(json)
            .and_then(|v: serde_json::Value| {
                serde_path_to_error::deserialize(v).map_err(|e| e.into_inner())
            })
            .map_err(|e| format!("This link's scenario could not be read: {e}"))?;
        link.scenario
            .validate()
            .map_err(|e| format!("This link's scenario is not valid: {e}"))?;
        if !(link.at_ms.is_finite() && (0.0..=link.scenario.duration_ms).contains(&link.at_ms)) {
            return Err(format!(
                "This link's moment, {} ms, is outside its run (0 to {} ms).",
                link.at_ms, link.scenario.duration_ms
            ));
        }
        if link.view.hide.len() > MAX_HIDDEN
            || link.view.hide.iter().any(|h| h.chars().count() > 40)
        {
            return Err(format!(
                "This link hides more than {MAX_HIDDEN} controls, or names one oddly."
            ));
        }
        if link.view.note.chars().count() > MAX_NOTE_CHARS {
            return Err(format!(
                "This link's note is longer than {MAX_NOTE_CHARS} characters; a teacher's note is a sentence or two."
            ));
        }
        if let Some(l) = &link.lesson
            && (l.id.chars().count() > 80 || l.step >= crate::lesson::MAX_STEPS)
        {
            return Err("This link names a lesson step that cannot exist.".into());
        }
        if let Some(sw) = &link.view.sweep {
            if !(1..=MAX_SWEEP_SEEDS).contains(&sw.seeds) {
                return Err(format!(
                    "This link's sweep asks for {} seeds; a sweep runs 1 to {MAX_SWEEP_SEEDS}.",
                    sw.seeds
                ));
            }
            if sw.figure.chars().count() > MAX_FIGURE_CHARS
                || sw.figure.chars().any(|c| c.is_control())
            {
                return Err(format!(
                    "This link's sweep names its figure oddly (more than {MAX_FIGURE_CHARS} characters, or control characters)."
                ));
            }
        }
        Ok(link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Link {
        let text = r#"{"version": 1, "title": "<script>alert(1)</script>", "seed": 9, "duration_ms": 5000,
          "nodes": [{"id": "c", "model": {"type": "client", "target": "s"}},
                    {"id": "s", "model": {"type": "service"}}],
          "links": [{"a": "c", "b": "s"}],
          "interventions": [{"do": "crash", "at_ms": 1000, "node": "s"}]}"#;
        Link {
            scenario: Scenario::parse(text).unwrap(),
            at_ms: 2500.0,
            lesson: Some(LessonAt {
                id: "07-idempotency".into(),
                step: 1,
            }),
            view: LinkView {
                still: true,
                hide: vec!["seed".into()],
                note: "Watch the second charge: why does it not happen?".into(),
                sweep: None,
            },
        }
    }

    #[test]
    fn a_link_round_trips_and_is_compact() {
        let l = sample();
        let text = l.encode();
        assert!(text.starts_with("1."));
        assert!(
            text.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        );
        assert_eq!(Link::decode(&text).unwrap(), l);
        assert_eq!(Link::decode(&format!("#{text}")).unwrap(), l);
        assert!(text.len() < l.scenario.to_json().len(), "compressed");
    }

    #[test]
    fn a_link_without_a_note_is_written_as_before_notes_existed() {
        let mut l = sample();
        l.view.note.clear();
        let text = l.encode();
        let packed = B64.decode(text.split_once('.').unwrap().1).unwrap();
        let json =
            String::from_utf8(miniz_oxide::inflate::decompress_to_vec(&packed).unwrap()).unwrap();
        assert!(!json.contains("note"), "{json}");
        assert_eq!(Link::decode(&text).unwrap().view.note, "");
    }

    #[test]
    fn a_sweep_rides_in_a_link_and_old_links_still_open() {
        let mut l = sample();
        l.view.sweep = Some(SweepAt {
            seeds: 200,
            figure: "payments.duplicate_charges".into(),
        });
        assert_eq!(Link::decode(&l.encode()).unwrap(), l);
        // A link made before sweeps existed (no `sweep` key) opens as it did.
        let mut old = sample();
        old.view.sweep = None;
        let text = old.encode();
        let packed = B64.decode(text.split_once('.').unwrap().1).unwrap();
        let json =
            String::from_utf8(miniz_oxide::inflate::decompress_to_vec(&packed).unwrap()).unwrap();
        assert!(!json.contains("sweep"), "{json}");
        assert_eq!(Link::decode(&text).unwrap(), old);
        // Malformed sweeps get a sentence.
        for (seeds, figure, want) in [
            (0, "", "asks for 0 seeds"),
            (MAX_SWEEP_SEEDS + 1, "", "a sweep runs 1 to"),
            (10, "x\u{7}", "oddly"),
        ] {
            l.view.sweep = Some(SweepAt {
                seeds,
                figure: figure.to_string(),
            });
            let e = Link::decode(&l.encode()).unwrap_err();
            assert!(e.contains(want), "{seeds} {figure:?}: {e}");
        }
        l.view.sweep = Some(SweepAt {
            seeds: 10,
            figure: "f".repeat(MAX_FIGURE_CHARS + 1),
        });
        assert!(Link::decode(&l.encode()).unwrap_err().contains("oddly"));
    }

    #[test]
    fn bad_links_get_a_sentence_not_a_panic() {
        let good = sample().encode();
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "damaged"),
            ("hello".into(), "damaged"),
            ("x.abc".into(), "damaged"),
            ("2.abc".into(), "newer Faultline"),
            ("99999999999.abc".into(), "damaged"),
            ("1.!!!".into(), "not base64url"),
            ("1.AAAA".into(), "does not decompress"),
            (good[..good.len() / 2].to_string(), "damaged"),
            (
                "1.".to_string() + &"A".repeat(MAX_LINK_CHARS),
                "characters long",
            ),
        ];
        for (text, want) in cases {
            let e = Link::decode(&text).unwrap_err();
            assert!(e.contains(want), "{text:.30}: {e}");
        }
    }

    #[test]
    fn a_deflate_bomb_stops_at_the_limit() {
        let big = vec![b' '; MAX_LINK_JSON_BYTES * 4];
        let packed = miniz_oxide::deflate::compress_to_vec(&big, 9);
        let text = format!("1.{}", B64.encode(packed));
        assert!(
            text.len() < MAX_LINK_CHARS,
            "small on the wire: {}",
            text.len()
        );
        let e = Link::decode(&text).unwrap_err();
        assert!(e.contains("more than"), "{e}");
    }

    #[test]
    fn the_scenario_rules_and_the_link_rules_apply() {
        let pack = |json: &str| {
            format!(
                "1.{}",
                B64.encode(miniz_oxide::deflate::compress_to_vec(json.as_bytes(), 9))
            )
        };
        let mut l = sample();
        l.at_ms = 1e12;
        assert!(
            Link::decode(&l.encode())
                .unwrap_err()
                .contains("outside its run")
        );
        let mut l = sample();
        l.scenario.nodes[0].id = "has space".into();
        assert!(Link::decode(&l.encode()).unwrap_err().contains("not valid"));
        let mut l = sample();
        l.view.note = "x".repeat(MAX_NOTE_CHARS + 1);
        assert!(
            Link::decode(&l.encode())
                .unwrap_err()
                .contains("note is longer")
        );
        l.view.note = "é".repeat(MAX_NOTE_CHARS);
        assert_eq!(
            Link::decode(&l.encode()).unwrap(),
            l,
            "the limit counts characters"
        );
        let e = Link::decode(&pack(r#"{"scenario": 1}"#)).unwrap_err();
        assert!(e.contains("could not be read"), "{e}");
        let mut v = serde_json::to_value(sample()).unwrap();
        v["extra"] = 1.into();
        let e = Link::decode(&pack(&v.to_string())).unwrap_err();
        assert!(e.contains("unknown field"), "{e}");
        let mut l = sample();
        l.view.hide = vec!["x".into(); MAX_HIDDEN + 1];
        assert!(Link::decode(&l.encode()).is_err());
    }
}
