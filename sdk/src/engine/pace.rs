//! Pacing under a server's rate limit: once a request is refused with 429 (CloudStack's API
//! throttling: at most `max` requests per account per `interval`, counted in windows that start
//! at an account's first request), the client learns a safe spacing from what the server let
//! through and spaces every later request by it, so throttling refuses one request, not one per
//! window.
//!
//! What is learned: the requests admitted since counting began, over the time from the first of
//! them to the end of the refusing window (refusal time + the wait the server asked for). When
//! counting begins with a request that opens a fresh window, that rate is never above the
//! server's `max / interval` (k windows admit at most `k · max` requests and span at least
//! `k · interval`), so spacing requests by its inverse (plus a margin for network jitter) keeps
//! every window at or under `max`. Counting begins with the client's first request, with the
//! first request after a refusing window ended, and with the first request after a pause in
//! sending of [`QUIET`] or of the longest wait a refusal asked for, whichever is longer (a
//! window is at least as long as the wait its refusal states): a fresh window where the
//! server's interval is no longer (CloudStack's default is 1 s).
//!
//! Only the recent past counts: a long-lived client's history (a dashboard open for an hour,
//! polling now and then) would otherwise teach its average rate, far below what the server
//! allows — after one refusal every request would crawl, a burst of submits most of all.
//! Without pauses, counting reaches back one to two epochs of [`EPOCH`]; begun mid-window, it
//! then overestimates the rate by at most two windows' worth over at least `EPOCH / interval`
//! windows (7 % at 1 s, within the margin). Where the server's interval is longer than the
//! pauses that restarted counting, the rate learned may be too high: its requests get refused
//! again, and the spacing is dropped as below.
//!
//! A rate limit does not refuse a client that keeps under it. So when requests sent at the
//! learned spacing are refused again (twice), the refusals are not about this client's rate (a
//! proxy's, or another client's use of the account): the spacing is dropped and nothing is
//! learned for a while, rather than slowing down further on every refusal.

use crate::time::{Duration, Instant};

/// Extra spacing on top of the learned one, for jitter between sending and the server counting.
const MARGIN: f64 = 1.1;

/// Refusals of requests sent at the learned spacing after which the spacing is dropped.
const PACED_REFUSALS: u32 = 2;

/// Requests admitted since counting began below which a refusal teaches no spacing (its wait is
/// still obeyed). A refusal of the first or second request reveals no rate the client could keep
/// to, and learning from it would pace the client at about one request per pause ([`QUIET`]): a
/// single stray 429 (a proxy's, a fault) right after a pause once made the next 50 submits take
/// 58 s. The cost: a server limit of one request per window is never learned, only waited out.
const MIN_ADMITTED_TO_LEARN: u32 = 2;
// The spacing divides by the admitted count.
const _: () = assert!(MIN_ADMITTED_TO_LEARN >= 1);

/// How long nothing is learned after a spacing was dropped.
const COOL_DOWN: Duration = Duration::from_secs(60);

/// A pause in sending after which the next request opens a fresh window (at least; see
/// [`Pacer::refused`]).
pub const QUIET: Duration = Duration::from_secs(1);

/// How long one epoch of counting lasts; counting reaches back one to two of them.
pub const EPOCH: Duration = Duration::from_secs(30);

/// Requests counted from `since` on.
#[derive(Debug, Clone, Copy)]
struct Count {
    since: Instant,
    admitted: u32,
}

/// Decides when a client's next request may go out.
#[derive(Debug, Clone, Default)]
pub struct Pacer {
    /// The epoch being counted, once a request was sent.
    current: Option<Count>,
    /// The epoch before it, if it followed without a pause.
    previous: Option<Count>,
    /// The slot of the latest request.
    last_sent: Option<Instant>,
    /// The longest wait a refusal asked for: windows are at least that long.
    longest_wait: Duration,
    /// The learned spacing between two requests, and when it was learned.
    spacing: Option<(Duration, Instant)>,
    /// Refusals of requests sent at the learned spacing.
    paced_refusals: u32,
    /// The earliest time the next request may go out.
    next_at: Option<Instant>,
    /// No learning before this time (after a spacing was dropped).
    quiet_until: Option<Instant>,
}

impl Pacer {
    /// A pacer that lets everything through until the first refusal.
    pub fn new() -> Self {
        Pacer::default()
    }

    /// Books the next request: the time it may go out (`now` or later). Concurrent callers get
    /// successive slots, each `spacing` after the previous one.
    pub fn reserve(&mut self, now: Instant) -> Instant {
        let at = self.next_at.map_or(now, |next| next.max(now));
        if let Some((spacing, _)) = self.spacing {
            self.next_at = Some(at + spacing);
        }
        let quiet = QUIET.max(self.longest_wait);
        let paused = self.last_sent.is_none_or(|last| at.saturating_duration_since(last) >= quiet);
        match self.current {
            Some(current) if !paused => {
                if at.saturating_duration_since(current.since) >= EPOCH {
                    self.previous = Some(current);
                    self.current = Some(Count { since: at, admitted: 0 });
                }
            }
            _ => {
                self.previous = None;
                self.current = Some(Count { since: at, admitted: 0 });
            }
        }
        self.last_sent = Some(self.last_sent.map_or(at, |last| last.max(at)));
        at
    }

    /// The request sent at `sent_at` (its [`Pacer::reserve`] slot) was answered without a
    /// refusal. Requests sent before counting began are not counted.
    pub fn admitted(&mut self, sent_at: Instant) {
        for count in [&mut self.current, &mut self.previous].into_iter().flatten() {
            if sent_at >= count.since {
                count.admitted = count.admitted.saturating_add(1);
                return;
            }
        }
    }

    /// The request sent at `sent_at` (its [`Pacer::reserve`] slot) was refused with 429 at
    /// `now`; the server asked to wait `retry_after` (until its window ends). Every request is
    /// held until then. The first refusal after [`MIN_ADMITTED_TO_LEARN`] admitted requests
    /// teaches the spacing; refusals of requests sent at that spacing are counted, and drop it
    /// at `PACED_REFUSALS` (2).
    pub fn refused(&mut self, now: Instant, sent_at: Instant, retry_after: Duration) {
        let window_end = now + retry_after;
        self.longest_wait = self.longest_wait.max(retry_after);
        self.next_at = Some(self.next_at.map_or(window_end, |next| next.max(window_end)));
        // Counting begins anew after the refusing window.
        let (current, previous) = (self.current.take(), self.previous.take());
        let since = previous.or(current).map_or(now, |count| count.since);
        let admitted = [current, previous].into_iter().flatten().map(|count| count.admitted).sum::<u32>();
        if self.quiet_until.is_some_and(|until| now < until) {
            return;
        }
        match self.spacing {
            // Sent before the spacing was learned: part of the burst that taught it.
            Some((_, learned_at)) if sent_at < learned_at => {}
            Some(_) => {
                self.paced_refusals += 1;
                if self.paced_refusals >= PACED_REFUSALS {
                    self.spacing = None;
                    self.paced_refusals = 0;
                    self.quiet_until = Some(now + COOL_DOWN);
                }
            }
            None if admitted < MIN_ADMITTED_TO_LEARN => {}
            None => {
                let span = window_end.saturating_duration_since(since).max(Duration::from_millis(1));
                self.spacing = Some((span.mul_f64(MARGIN) / admitted, now));
            }
        }
    }

    /// The learned spacing, while there is one.
    pub fn spacing(&self) -> Option<Duration> {
        self.spacing.map(|(spacing, _)| spacing)
    }
}

/// The wait a CloudStack throttling refusal states in its text (`... please retry after [218]
/// ms.`), for servers that send no `Retry-After` header (CloudStack itself sends none).
pub fn retry_after_from_text(text: &str) -> Option<Duration> {
    let (_, rest) = text.split_once("retry after [")?;
    let (millis, rest) = rest.split_once(']')?;
    if !rest.trim_start().starts_with("ms") {
        return None;
    }
    millis.trim().parse::<u64>().ok().map(Duration::from_millis)
}

#[cfg(test)]
mod tests {
    // In wasm the same tests run in headless Chromium (`./dev test`).
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// A fake CloudStack throttle: windows of `interval` opened by the first request after the
    /// previous one ended, at most `max` requests each.
    struct Throttle {
        max: u32,
        interval: Duration,
        window: Option<(Instant, u32)>,
    }

    impl Throttle {
        /// `Err(wait until the window ends)` when refused.
        fn admit(&mut self, at: Instant) -> Result<(), Duration> {
            let (start, count) = match self.window {
                Some((start, count)) if at < start + self.interval => (start, count + 1),
                _ => (at, 1),
            };
            self.window = Some((start, count));
            if count <= self.max {
                Ok(())
            } else {
                Err(start + self.interval - at)
            }
        }
    }

    /// One request through `pacer` against `throttle`, ready at `now`: when it went out, and
    /// whether it was refused.
    fn send(pacer: &mut Pacer, throttle: &mut Throttle, now: Instant) -> (Instant, bool) {
        let at = pacer.reserve(now);
        match throttle.admit(at) {
            Ok(()) => {
                pacer.admitted(at);
                (at, false)
            }
            Err(wait) => {
                pacer.refused(at, at, wait);
                (at, true)
            }
        }
    }

    /// Sends `n` requests back to back (each taking `latency`) through a pacer against a
    /// throttle; answers the number refused and the time it took.
    fn run(n: u32, max: u32, interval_ms: u64, latency_ms: u64) -> (u32, Duration) {
        let start = Instant::now();
        let mut throttle = Throttle { max, interval: Duration::from_millis(interval_ms), window: None };
        let mut pacer = Pacer::new();
        let (mut now, mut refused, mut sent) = (start, 0, 0);
        while sent < n {
            let (at, was_refused) = send(&mut pacer, &mut throttle, now);
            if was_refused {
                refused += 1;
            } else {
                sent += 1;
            }
            now = at + Duration::from_millis(latency_ms);
        }
        (refused, now - start)
    }

    #[test]
    fn nothing_is_held_before_a_refusal() {
        let mut pacer = Pacer::new();
        let now = Instant::now();
        assert!((0..100).all(|_| pacer.reserve(now) == now));
        assert_eq!(pacer.spacing(), None);
    }

    #[test]
    fn one_refusal_then_a_pace_the_throttle_accepts() {
        // CloudStack's default: 25 requests per second; 500 fast requests.
        let (refused, took) = run(500, 25, 1000, 5);
        assert_eq!(refused, 1);
        // Close to the limit: 500 requests at 25/s take 20 s; the margin costs 10 %.
        assert!(took < Duration::from_secs(24), "{took:?}");
        for (max, interval_ms, latency_ms) in [(5, 1000, 1), (25, 1000, 30), (10, 200, 3), (100, 60_000, 10)] {
            let (refused, _) = run(4 * max, max, interval_ms, latency_ms);
            assert_eq!(refused, 1, "max {max} per {interval_ms} ms, latency {latency_ms} ms");
        }
    }

    #[test]
    fn a_long_quiet_history_does_not_slow_a_later_burst() {
        // A dashboard polling every 2 s for 10 minutes, then 200 submits at once against
        // CloudStack's default throttle: paced at the throttle's rate, not the history's.
        let mut throttle = Throttle { max: 25, interval: Duration::from_secs(1), window: None };
        let mut pacer = Pacer::new();
        let start = Instant::now();
        let mut now = start;
        for _ in 0..300 {
            let (at, refused) = send(&mut pacer, &mut throttle, now);
            assert!(!refused);
            now = at + Duration::from_secs(2);
        }
        let burst_started = now;
        let (mut sent, mut refused) = (0, 0);
        while sent < 200 {
            let (at, was_refused) = send(&mut pacer, &mut throttle, now);
            if was_refused {
                refused += 1;
            } else {
                sent += 1;
            }
            now = at + Duration::from_millis(5);
        }
        assert_eq!(refused, 1);
        // 200 at 25/s: 8 s, plus the margin; the history's rate (one per 2 s) would take 400 s.
        let took = now - burst_started;
        assert!(took < Duration::from_secs(10), "{took:?}");
    }

    #[test]
    fn bursts_and_pauses_of_every_length_meet_one_refusal() {
        // Random traffic against CloudStack-style throttles (windows of 1 s opened by a
        // request): bursts of 1–80 requests, 1–20 ms each, pauses between them of 0–1.5 s
        // (counting restarts after some) or of 0–0.9 s (it never does: epochs), for 10
        // minutes. Whatever the history, the spacing learned from the first refusal keeps
        // every later window under the limit.
        for seed in 0..400 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let longest_pause = if seed % 2 == 0 { 1500 } else { 900 };
            let max = [5, 25, 100][rng.usize(..3)];
            let mut throttle = Throttle { max, interval: Duration::from_secs(1), window: None };
            let mut pacer = Pacer::new();
            let start = Instant::now();
            let (mut now, mut refused) = (start, 0);
            while now - start < Duration::from_secs(600) {
                for _ in 0..rng.u32(1..=80) {
                    let (at, was_refused) = send(&mut pacer, &mut throttle, now);
                    refused += u32::from(was_refused);
                    now = at + Duration::from_millis(rng.u64(1..=20));
                }
                now += Duration::from_millis(rng.u64(0..=longest_pause));
            }
            assert!(refused <= 1, "seed {seed}, max {max}: {refused} refusals");
        }
    }

    #[test]
    fn the_window_end_holds_requests_and_concurrent_ones_get_successive_slots() {
        let start = Instant::now();
        let mut pacer = Pacer::new();
        let slots: Vec<Instant> = (0..11).map(|_| pacer.reserve(start)).collect();
        slots[..10].iter().for_each(|slot| pacer.admitted(*slot));
        let refused_at = start + Duration::from_millis(100);
        pacer.refused(refused_at, slots[10], Duration::from_millis(900));
        // 10 admitted over the 1 s window: 110 ms apart with the margin, from the window's end.
        let spacing = pacer.spacing();
        assert_eq!(spacing, Some(Duration::from_millis(110)));
        let first = pacer.reserve(refused_at);
        let second = pacer.reserve(refused_at);
        assert_eq!((first, second), (start + Duration::from_secs(1), start + Duration::from_millis(1110)));
        // More refusals of the burst sent before the spacing was learned change nothing.
        pacer.refused(refused_at, slots[3], Duration::from_millis(900));
        pacer.refused(refused_at, slots[4], Duration::from_millis(900));
        assert_eq!(pacer.spacing(), spacing);
    }

    #[test]
    fn a_refusal_after_too_few_admitted_requests_is_waited_out_but_teaches_nothing() {
        let start = Instant::now();
        let mut pacer = Pacer::new();
        let slots: Vec<Instant> = (0..MIN_ADMITTED_TO_LEARN).map(|_| pacer.reserve(start)).collect();
        slots[1..].iter().for_each(|slot| pacer.admitted(*slot));
        pacer.refused(start, slots[0], Duration::from_secs(1));
        assert_eq!(pacer.spacing(), None);
        // Held until the window ends, then unpaced.
        let after = start + Duration::from_secs(1);
        assert_eq!(pacer.reserve(start), after);
        assert_eq!(pacer.reserve(start), after);
        // One more admitted request, and the same refusal would teach a spacing.
        let slots: Vec<Instant> = (0..=MIN_ADMITTED_TO_LEARN).map(|_| pacer.reserve(after)).collect();
        slots[1..].iter().for_each(|slot| pacer.admitted(*slot));
        pacer.refused(after, slots[0], Duration::from_secs(1));
        assert!(pacer.spacing().is_some());
    }

    #[test]
    fn refusals_that_do_not_follow_the_rate_drop_the_spacing() {
        // A proxy refusing every 50th request whatever the rate: pacing would only slow the
        // client down, refusal after refusal. 2,000 requests of 10 ms, a 1 s wait per refusal.
        let start = Instant::now();
        let mut pacer = Pacer::new();
        let mut now = start;
        for n in 1..=2000 {
            let at = pacer.reserve(now);
            if n % 50 == 0 {
                pacer.refused(at, at, Duration::from_secs(1));
            } else {
                pacer.admitted(at);
            }
            now = at + Duration::from_millis(10);
        }
        // Unpaced: 20 s of requests + 40 waits of 1 s. Paced for a few refusals at most.
        let took = now - start;
        assert!(took < Duration::from_secs(66), "{took:?}");
        assert_eq!(pacer.spacing(), None);
    }

    #[test]
    fn cloudstack_refusal_texts_state_the_wait() {
        let text = "The given user has reached his/her account api limit, please retry after [218] ms.";
        assert_eq!(retry_after_from_text(text), Some(Duration::from_millis(218)));
        for other in ["", "retry after [x] ms", "retry after [5] s", "please retry later"] {
            assert_eq!(retry_after_from_text(other), None, "{other}");
        }
    }
}
