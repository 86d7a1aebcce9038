//! Phase timings for scripted benchmarks: with `RAYSEG_TIMINGS=1` a command
//! prints one `timings {json}` line on stderr (milliseconds per phase).

use std::time::Instant;

pub struct Phases {
    last: Instant,
    phases: Vec<(&'static str, f64)>,
}

impl Phases {
    pub fn start() -> Self {
        Phases {
            last: Instant::now(),
            phases: Vec::new(),
        }
    }

    /// Ends the current phase under `name` and starts the next one.
    pub fn mark(&mut self, name: &'static str) {
        let now = Instant::now();
        self.phases
            .push((name, (now - self.last).as_secs_f64() * 1e3));
        self.last = now;
    }

    pub fn report(&self) {
        if std::env::var_os("RAYSEG_TIMINGS").is_none() {
            return;
        }
        let map: serde_json::Map<String, serde_json::Value> = self
            .phases
            .iter()
            .map(|(k, v)| (format!("{k}_ms"), serde_json::json!(v)))
            .collect();
        eprintln!("timings {}", serde_json::Value::Object(map));
    }
}
