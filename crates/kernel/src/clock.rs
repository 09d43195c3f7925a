//! One monotonic clock for every profile timestamp: microseconds since the first call in this
//! process (natively `std::time::Instant`; in the browser `performance.now()`, which works in
//! workers too, where `std::time::Instant` would panic).

#[cfg(not(target_arch = "wasm32"))]
pub fn now_us() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_secs_f64() * 1e6
}

#[cfg(target_arch = "wasm32")]
pub fn now_us() -> f64 {
    use wasm_bindgen::JsCast;
    thread_local! {
        static PERFORMANCE: Option<web_sys::Performance> = js_sys::Reflect::get(&js_sys::global(), &"performance".into())
            .ok()
            .and_then(|p| p.dyn_into::<web_sys::Performance>().ok());
    }
    PERFORMANCE.with(|p| p.as_ref().map_or_else(js_sys::Date::now, |p| p.now())) * 1e3
}
