//! A pass over a room (members joining one after another, or leaving), timed by room size: the
//! time at which the room reached each hundredth of its full size. A join that grows the room
//! from 40% to 50% full and a leave that shrinks it from 50% to 40% are filed under the same
//! sizes, so the two compare like with like.

use std::time::{Duration, Instant};

/// Hundredths of the full size a pass is timed by; ten of them make a tenth.
const MARKS: usize = 100;

/// One timed pass over a room of (up to) `full` members.
#[derive(Clone, Debug)]
pub(crate) struct Pass {
    full: usize,
    /// When (seconds from the pass's start) the room held `i * full / 100` members, for each `i`
    /// the pass reached, starting or stopping on it.
    marks: Vec<Option<f64>>,
    /// How many members joined or left.
    pub(crate) moved: usize,
    pub(crate) elapsed: Duration,
    /// The budget ran out before every member had moved.
    pub(crate) cut: bool,
}

impl Pass {
    /// A pass over a room whose full size is `full` (at least 100, so a hundredth is a member
    /// or more).
    pub(crate) fn new(full: usize) -> Pass {
        Pass {
            full,
            marks: vec![None; MARKS + 1],
            moved: 0,
            elapsed: Duration::ZERO,
            cut: false,
        }
    }

    /// Members per hundredth.
    pub(crate) fn step(&self) -> usize {
        (self.full / MARKS).max(1)
    }

    /// Whether a room of `size` members is at a hundredth mark.
    pub(crate) fn is_mark(&self, size: usize) -> bool {
        size.is_multiple_of(self.step())
    }

    /// Files the time if the room, now of `size` members, is at a hundredth mark.
    pub(crate) fn reached(&mut self, size: usize, at: Duration) {
        if self.is_mark(size) {
            let mark = size / self.step();
            if mark <= MARKS {
                self.marks[mark] = Some(at.as_secs_f64());
            }
        }
    }

    /// Seconds the room took to cross sizes `from..to` (in hundredths), when the pass crossed
    /// all of them.
    fn between(&self, from: usize, to: usize) -> Option<f64> {
        Some((self.marks[to]? - self.marks[from]?).abs())
    }

    /// Seconds per tenth of room sizes: slot `t` is the room between `t` and `t + 1` tenths
    /// full; `None` for sizes the pass did not wholly cross.
    pub(crate) fn tenths(&self) -> Vec<Option<f64>> {
        (0..10).map(|t| self.between(t * 10, t * 10 + 10)).collect()
    }

    /// The tenth of the smallest room sizes (`0..full/10`).
    pub(crate) fn smallest(&self) -> Option<f64> {
        self.tenths()[0]
    }

    /// The tenth of the largest room sizes the pass crossed, and which tenth that is.
    pub(crate) fn largest(&self) -> Option<(usize, f64)> {
        let tenths = self.tenths();
        (1..10).rev().find_map(|t| tenths[t].map(|secs| (t, secs)))
    }

    /// The largest sizes' tenth over the smallest's: for a join, the last tenth over the first;
    /// for a leave, the first tenth to leave (from the fullest room) over the last.
    pub(crate) fn growth(&self) -> Option<f64> {
        Some(self.largest()?.1 / self.smallest()?)
    }

    /// Microseconds per member in the hundredth of the largest sizes the pass crossed: what one
    /// more join (or leave) costs "at the end".
    pub(crate) fn per_member_at_largest(&self) -> Option<f64> {
        (1..=MARKS)
            .rev()
            .find_map(|m| self.between(m - 1, m))
            .map(|secs| secs / self.step() as f64 * 1e6)
    }

    /// Microseconds per member in the hundredth of the smallest sizes.
    pub(crate) fn per_member_at_smallest(&self) -> Option<f64> {
        self.between(0, 1)
            .map(|secs| secs / self.step() as f64 * 1e6)
    }

    /// The room's largest size it was timed at, in members.
    pub(crate) fn timed_up_to(&self) -> usize {
        self.marks
            .iter()
            .rposition(Option::is_some)
            .map_or(0, |mark| mark * self.step())
    }

    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "full": self.full,
            "moved": self.moved,
            "seconds": self.elapsed.as_secs_f64(),
            "cut": self.cut,
            "seconds_per_tenth_by_room_size": self.tenths(),
            "seconds_at_each_hundredth": self.marks,
        })
    }
}

/// A time limit for one pass: a pass that would run past it stops and says so.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Budget {
    start: Instant,
    end: Instant,
}

impl Budget {
    pub(crate) fn starting_now(limit: Duration) -> Budget {
        let start = Instant::now();
        Budget {
            start,
            end: start + limit,
        }
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    pub(crate) fn spent(&self) -> bool {
        Instant::now() >= self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn a_join_and_a_leave_are_filed_under_the_room_sizes_they_crossed() {
        let mut join = Pass::new(1000);
        let mut leave = Pass::new(1000);
        for size in 0..=1000 {
            // A join or a leave costs the room's size: the leave's time runs as the room shrinks.
            join.reached(size, secs((size * size) as f64));
            leave.reached(
                1000 - size,
                secs((1000 * 1000 - (1000 - size) * (1000 - size)) as f64),
            );
        }
        assert_eq!(join.tenths(), leave.tenths());
        assert_eq!(join.smallest(), Some(100.0 * 100.0));
        assert_eq!(join.largest(), Some((9, 1000.0 * 1000.0 - 900.0 * 900.0)));
        assert_eq!(join.growth(), Some(19.0));
    }

    #[test]
    fn a_pass_cut_short_reports_only_the_sizes_it_wholly_crossed() {
        let mut join = Pass::new(1000);
        for size in 0..=250 {
            join.reached(size, secs(size as f64));
        }
        assert_eq!(join.timed_up_to(), 250);
        assert_eq!(join.largest(), Some((1, 100.0)));
        assert_eq!(join.tenths()[2], None);
        // A leave from a room of 255: the partial hundredth at the top is not filed.
        let mut leave = Pass::new(1000);
        for size in (0..=255).rev() {
            leave.reached(size, secs((255 - size) as f64));
        }
        assert_eq!(leave.timed_up_to(), 250);
        assert_eq!(leave.per_member_at_largest(), Some(1e6));
    }
}
