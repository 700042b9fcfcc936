//! The sweep's Web Worker: the browser glue around [`faultline_worker::serve`]. Trunk builds it
//! as a worker (`data-type="worker"` in web/index.html) with a loader script that imports the
//! bindings and starts the wasm, which runs `main`: it listens for requests and says it is
//! ready (a message sent before the wasm ran would have had no listener, so the page waits for
//! this one before it sends the sweep).

#[cfg(target_arch = "wasm32")]
fn main() {
    use faultline_worker::{PROTOCOL, Reply, serve};
    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::*;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let post_scope = scope.clone();
    let post = move |r: &Reply| {
        // A page that went away cannot be told; there is nothing else to do.
        let _ = post_scope.post_message(&JsValue::from_str(&r.to_text()));
    };
    let post_ready = post.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let text = e.data().as_string().unwrap_or_default();
        // The sweep runs to its end in this one task: the page cancels by terminating us.
        serve(&text, &mut post.clone(), &mut js_sys::Date::now);
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_message.forget();
    post_ready(&Reply::Ready { protocol: PROTOCOL });
}

/// Natively there is no worker to be: the library is what the tests and the page use.
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("faultline-worker runs in a browser's Web Worker; the page starts it for a sweep.");
    std::process::exit(2);
}
