//! The one module that carries out the page's [`Effect`]s in the browser (downloads, the
//! clipboard, local storage, the address bar) and reads what the page starts from.
//!
//! Architecture invariant: the reducer (`state.rs`) never calls the browser; it returns effects,
//! and only this module and the components' event handlers touch `web_sys`.

use crate::action::Effect;
use crate::lessons;
use crate::state::{Action, Start};

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

fn storage() -> Option<web_sys::Storage> {
    window()?.local_storage().ok().flatten()
}

/// `performance.now()`, in milliseconds.
pub fn now_ms() -> f64 {
    window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// What the page starts from: the address, saved progress and the system's motion setting.
pub fn start() -> Start {
    let loc = window().map(|w| w.location());
    let read = |f: fn(&web_sys::Location) -> Result<String, wasm_bindgen::JsValue>| {
        loc.as_ref().and_then(|l| f(l).ok()).unwrap_or_default()
    };
    let query = read(web_sys::Location::search);
    let progress = storage().and_then(|s| s.get_item(lessons::PROGRESS_KEY).ok().flatten());
    let reduced_motion = window()
        .and_then(|w| {
            w.match_media("(prefers-reduced-motion: reduce)")
                .ok()
                .flatten()
        })
        .is_some_and(|m| m.matches());
    Start {
        learner: learner(),
        bench: query.contains("bench=frames"),
        hash: read(web_sys::Location::hash),
        base_url: format!(
            "{}{}",
            read(web_sys::Location::origin),
            read(web_sys::Location::pathname)
        ),
        query,
        progress,
        reduced_motion,
    }
}

/// Where this learner's own number is kept.
const LEARNER_KEY: &str = "faultline.learner.v1";

/// This learner's own number: read from local storage, or drawn once and kept there. It only
/// orders prediction choices, so a store that cannot keep it costs nothing but a new order.
fn learner() -> u64 {
    let stored = storage().and_then(|s| s.get_item(LEARNER_KEY).ok().flatten());
    if let Some(n) = stored.and_then(|t| t.trim().parse::<u64>().ok()) {
        return n;
    }
    let n = (js_sys::Math::random() * 9.0e15) as u64;
    if let Some(s) = storage() {
        let _ = s.set_item(LEARNER_KEY, &n.to_string());
    }
    n
}

/// Carries out one effect; `Err` says, for people, why it could not be done. An effect whose
/// answer comes later (a fetch) sends it to `on` as an action.
pub fn run(effect: Effect, on: &yew::Callback<Action>) -> Result<(), String> {
    match effect {
        Effect::FetchLessons => {
            fetch_then(lessons::LESSONS_URL.into(), on, Action::LessonsArrived);
            Ok(())
        }
        Effect::FetchTemplate(i) => {
            let url = crate::templates::template_url(i).ok_or("There is no such template.")?;
            fetch_then(url, on, move |r| Action::TemplateArrived(i, r));
            Ok(())
        }
        Effect::Download { name, mime, text } => download(&name, mime, &text),
        Effect::SavePng { name, svg } => {
            save_png(name, &svg);
            Ok(())
        }
        Effect::Clipboard(text) => {
            if let Some(w) = window() {
                let p = w.navigator().clipboard().write_text(&text);
                // A refused clipboard is not an error: the page shows the link for copying by
                // hand.
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = wasm_bindgen_futures::JsFuture::from(p).await;
                });
            }
            Ok(())
        }
        Effect::SaveProgress(text) => {
            // Progress that cannot be saved (private mode, a full store) still counts now.
            if let Some(s) = storage() {
                let _ = s.set_item(lessons::PROGRESS_KEY, &text);
            }
            Ok(())
        }
        Effect::ForgetProgress => {
            if let Some(s) = storage() {
                let _ = s.remove_item(lessons::PROGRESS_KEY);
            }
            Ok(())
        }
        Effect::OpenTab(url) => {
            // `noopener`: the full page need not reach back into the page that embeds it.
            let w = window().ok_or("This page has no window to open a tab from.")?;
            w.open_with_url_and_target_and_features(&url, "_blank", "noopener")
                .map(|_| ())
                .map_err(|_| {
                    "The browser would not open a new tab. Copy the page's link instead.".into()
                })
        }
        Effect::StartWorker(id) => {
            start_worker(id, on);
            Ok(())
        }
        Effect::PostToWorker(id, text) => {
            SWEEP_WORKER.with_borrow(|w| {
                if let Some(w) = w.as_ref().filter(|w| w.id == id) {
                    // A refused message shows as the worker's error event.
                    let _ = w
                        .worker
                        .post_message(&wasm_bindgen::JsValue::from_str(&text));
                }
            });
            Ok(())
        }
        Effect::StopWorker => {
            stop_worker();
            Ok(())
        }
        Effect::Reveal(id) => {
            if let Some(el) = window()
                .and_then(|w| w.document())
                .and_then(|d| d.get_element_by_id(id))
            {
                el.scroll_into_view();
            }
            Ok(())
        }
        Effect::Fragment(text) => {
            // Replaces the history entry: Back leaves the page, as people expect.
            if let Some(h) = window().and_then(|w| w.history().ok()) {
                let _ = h.replace_state_with_url(
                    &wasm_bindgen::JsValue::NULL,
                    "",
                    Some(&format!("#{text}")),
                );
            }
            Ok(())
        }
    }
}

/// The sweep's worker, while it runs, with its handlers (dropped with it).
struct SweepWorker {
    id: u64,
    worker: web_sys::Worker,
    _on_message: wasm_bindgen::closure::Closure<dyn FnMut(web_sys::MessageEvent)>,
    _on_error: wasm_bindgen::closure::Closure<dyn FnMut(web_sys::Event)>,
}

thread_local! {
    static SWEEP_WORKER: std::cell::RefCell<Option<SweepWorker>> = const { std::cell::RefCell::new(None) };
}

/// Starts the sweep's worker number `id` (its script is fetched now, not with the page), which
/// reports to `on` as [`crate::state::Action::SweepWorker`]; a worker that cannot start is
/// reported as failed, and the page sweeps on its own thread.
fn start_worker(id: u64, on: &yew::Callback<Action>) {
    use crate::sweep_state::WorkerEvent;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    stop_worker();
    let worker = match web_sys::Worker::new(faultline_worker::LOADER_URL) {
        Ok(w) => w,
        Err(e) => {
            let why = e
                .dyn_ref::<js_sys::Error>()
                .map_or("the browser refused it".into(), |e| {
                    String::from(e.message())
                });
            on.emit(Action::SweepWorker(id, WorkerEvent::Failed(why)));
            return;
        }
    };
    let said = on.clone();
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            let text = e.data().as_string().unwrap_or_default();
            said.emit(Action::SweepWorker(id, WorkerEvent::Message(text)));
        });
    let failed = on.clone();
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
        // Handled here: the panel says it, so the console need not.
        e.prevent_default();
        let why = e
            .dyn_ref::<web_sys::ErrorEvent>()
            .map(|e| e.message())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| "its script did not load".into());
        failed.emit(Action::SweepWorker(id, WorkerEvent::Failed(why)));
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    SWEEP_WORKER.set(Some(SweepWorker {
        id,
        worker,
        _on_message: on_message,
        _on_error: on_error,
    }));
}

/// Terminates the sweep's worker, if one runs: a cancel stops it at once, mid-seed.
fn stop_worker() {
    if let Some(w) = SWEEP_WORKER.take() {
        w.worker.terminate();
    }
}

/// Fetches `url` as text and sends the answer (or why there is none) to `on` as `arrived(..)`.
fn fetch_then(
    url: String,
    on: &yew::Callback<Action>,
    arrived: impl FnOnce(Result<String, String>) -> Action + 'static,
) {
    let on = on.clone();
    wasm_bindgen_futures::spawn_local(async move { on.emit(arrived(fetch_text(&url).await)) });
}

/// Fetches a file of the site (relative to the page, so it works under any sub-path) as text.
/// `Err` is a sentence for people: offline, a missing file, a server error.
async fn fetch_text(url: &str) -> Result<String, String> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let w = window().ok_or("there is no window")?;
    let offline = |_| "the network did not answer (are you offline?)".to_string();
    let resp: web_sys::Response = JsFuture::from(w.fetch_with_str(url))
        .await
        .map_err(offline)?
        .dyn_into()
        .map_err(|_| "the answer was not a response".to_string())?;
    if !resp.ok() {
        return Err(format!("the server answered {} for {url}", resp.status()));
    }
    let text = JsFuture::from(resp.text().map_err(offline)?)
        .await
        .map_err(offline)?;
    text.as_string()
        .ok_or_else(|| "the answer was not text".to_string())
}

/// Offers `text` as a file download.
fn download(name: &str, mime: &str, text: &str) -> Result<(), String> {
    let fail = |e: wasm_bindgen::JsValue| format!("The download could not start: {e:?}");
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts).map_err(fail)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(fail)?;
    let clicked = click_download(&url, name).map_err(fail);
    let _ = web_sys::Url::revoke_object_url(&url);
    clicked
}

/// Starts the browser's download of `href` as a file called `name`.
fn click_download(href: &str, name: &str) -> Result<(), wasm_bindgen::JsValue> {
    let doc = window().and_then(|w| w.document()).ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement =
        wasm_bindgen::JsCast::unchecked_into(doc.create_element("a")?);
    a.set_href(href);
    a.set_download(name);
    a.click();
    Ok(())
}

/// Saves an SVG drawing as a PNG at twice its size: the browser draws the SVG onto a canvas,
/// on white (a chart's background is transparent), and the canvas gives the PNG.
fn save_png(name: String, svg: &str) {
    use wasm_bindgen::JsCast;
    let Some(doc) = window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(img) = web_sys::HtmlImageElement::new() else {
        return;
    };
    let src = format!(
        "data:image/svg+xml;charset=utf-8,{}",
        String::from(js_sys::encode_uri_component(svg))
    );
    let loaded = img.clone();
    let onload = wasm_bindgen::closure::Closure::once_into_js(move || {
        let (w, h) = (loaded.natural_width() * 2, loaded.natural_height() * 2);
        let Some(canvas) = doc
            .create_element("canvas")
            .ok()
            .and_then(|c| c.dyn_into::<web_sys::HtmlCanvasElement>().ok())
        else {
            return;
        };
        canvas.set_width(w.max(1));
        canvas.set_height(h.max(1));
        let Some(ctx) = crate::message_layer::context_2d(&canvas) else {
            return;
        };
        ctx.set_fill_style_str("white");
        ctx.fill_rect(0.0, 0.0, f64::from(w), f64::from(h));
        let _ = ctx.draw_image_with_html_image_element_and_dw_and_dh(
            &loaded,
            0.0,
            0.0,
            f64::from(w),
            f64::from(h),
        );
        if let Ok(url) = canvas.to_data_url() {
            let _ = click_download(&url, &name);
        }
    });
    img.set_onload(Some(onload.unchecked_ref()));
    img.set_src(&src);
}

/// Reads the file chosen in `input` (within the scenario size limit) and sends its text, or
/// why it could not be read, to the page as [`Action::Imported`](crate::state::Action).
pub fn read_file(input: web_sys::HtmlInputElement, on: yew::Callback<crate::state::Action>) {
    let Some(file) = input.files().and_then(|f| f.get(0)) else {
        return;
    };
    input.set_value(""); // choosing the same file again is a new import
    let limit = faultline_core::limits::MAX_SCENARIO_BYTES;
    if file.size() > limit as f64 {
        on.emit(Action::Imported(Err(format!(
            "{} is {} bytes; a scenario is at most {limit}. Nothing changed.",
            file.name(),
            file.size()
        ))));
        return;
    }
    wasm_bindgen_futures::spawn_local(async move {
        let text = wasm_bindgen_futures::JsFuture::from(file.text()).await;
        on.emit(Action::Imported(
            text.ok().and_then(|t| t.as_string()).ok_or_else(|| {
                format!(
                    "{} could not be read as text. Nothing changed.",
                    file.name()
                )
            }),
        ));
    });
}

/// Watches the panels below the stage (`[data-panel]`) and says when each comes into view or
/// leaves it (`Action::InView`): a panel out of view is not recomputed while a run plays.
/// Panels come and go (a lesson, a classroom link): [`PanelWatch::scan`] after a render picks up
/// new ones and forgets removed ones.
pub struct PanelWatch {
    observer: web_sys::IntersectionObserver,
    watched: Vec<web_sys::Element>,
    // Kept alive on purpose: the observer calls it.
    _callback: wasm_bindgen::closure::Closure<dyn FnMut(js_sys::Array)>,
}

impl PanelWatch {
    /// A watch that sends what it sees to `on`; `None` where the browser has no observer.
    pub fn new(on: yew::Callback<crate::action::Action>) -> Option<PanelWatch> {
        use crate::action::{Action, Panel};
        use wasm_bindgen::JsCast;
        let callback = wasm_bindgen::closure::Closure::<dyn FnMut(js_sys::Array)>::new(
            move |entries: js_sys::Array| {
                for entry in entries.iter() {
                    let Ok(entry) = entry.dyn_into::<web_sys::IntersectionObserverEntry>() else {
                        continue;
                    };
                    let name = entry
                        .target()
                        .get_attribute("data-panel")
                        .unwrap_or_default();
                    if let Some(p) = Panel::ALL.into_iter().find(|p| p.name() == name) {
                        on.emit(Action::InView(p, entry.is_intersecting()));
                    }
                }
            },
        );
        let init = web_sys::IntersectionObserverInit::new();
        // A little ahead of the view, so a panel is fresh as it scrolls in.
        init.set_root_margin("200px 0px");
        let observer = web_sys::IntersectionObserver::new_with_options(
            callback.as_ref().unchecked_ref(),
            &init,
        )
        .ok()?;
        Some(PanelWatch {
            observer,
            watched: Vec::new(),
            _callback: callback,
        })
    }

    /// Observes the panels now in the page and stops observing those that left it.
    pub fn scan(&mut self) {
        let Some(doc) = window().and_then(|w| w.document()) else {
            return;
        };
        let observer = &self.observer;
        self.watched.retain(|el| {
            let here = el.is_connected();
            if !here {
                observer.unobserve(el);
            }
            here
        });
        let Ok(found) = doc.query_selector_all("[data-panel]") else {
            return;
        };
        for i in 0..found.length() {
            let Some(el) = found
                .item(i)
                .and_then(|n| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(n).ok())
            else {
                continue;
            };
            if !self.watched.contains(&el) {
                // The observer reports its first state at once.
                self.observer.observe(&el);
                self.watched.push(el);
            }
        }
    }
}

impl Drop for PanelWatch {
    fn drop(&mut self) {
        self.observer.disconnect();
    }
}
