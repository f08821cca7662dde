//! A progress line on stderr for work that takes over a second: what is
//! being done and for how long, redrawn in place, erased when done. Only
//! on a terminal: a pipe or a CI log gets nothing. `Q_IMPLANT_PROGRESS_DELAY`
//! (milliseconds) sets how long work runs before the line appears.

use std::io::{IsTerminal, Write};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long work runs before the line appears, unless the environment
/// says otherwise: shorter work is over before a line would be read.
const DELAY: Duration = Duration::from_secs(1);

/// The delay, from `Q_IMPLANT_PROGRESS_DELAY` when it holds milliseconds.
fn delay() -> Duration {
    std::env::var("Q_IMPLANT_PROGRESS_DELAY")
        .ok()
        .and_then(|ms| ms.trim().parse().ok())
        .map_or(DELAY, Duration::from_millis)
}
const TICK: Duration = Duration::from_millis(120);
const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// The progress line; dropping it erases the line.
pub struct Progress {
    phase: Arc<Mutex<String>>,
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts the line for `phase`, when stderr is a terminal and `enabled`.
    pub fn start(phase: &str, enabled: bool) -> Progress {
        let phase = Arc::new(Mutex::new(phase.to_string()));
        // A dumb terminal cannot redraw a line in place.
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        if !enabled || dumb || !std::io::stderr().is_terminal() {
            return Progress {
                phase,
                stop: None,
                thread: None,
            };
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let shown = Arc::clone(&phase);
        let delay = delay();
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            if !matches!(stopped.recv_timeout(delay), Err(RecvTimeoutError::Timeout)) {
                return;
            }
            let mut frame = 0;
            loop {
                let text = shown.lock().map(|p| p.clone()).unwrap_or_default();
                let line = format!(
                    "{} {text} ({:.1} s)",
                    FRAMES[frame % FRAMES.len()],
                    started.elapsed().as_secs_f64()
                );
                // Cut to the terminal's width: a wrapped line cannot be
                // redrawn in place.
                let width = terminal_size::terminal_size_of(std::io::stderr())
                    .map_or(80, |(w, _)| w.0 as usize);
                let line: String = line.chars().take(width.saturating_sub(1)).collect();
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r\x1b[2K{line}");
                let _ = err.flush();
                drop(err);
                frame += 1;
                if !matches!(stopped.recv_timeout(TICK), Err(RecvTimeoutError::Timeout)) {
                    break;
                }
            }
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        });
        Progress {
            phase,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Names the work now under way.
    pub fn phase(&self, phase: &str) {
        if let Ok(mut p) = self.phase.lock() {
            *p = phase.to_string();
        }
    }

    /// Erases the line (before anything else is printed).
    pub fn finish(mut self) {
        self.stop_thread();
    }

    fn stop_thread(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop_thread();
    }
}
