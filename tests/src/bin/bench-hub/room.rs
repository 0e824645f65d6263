//! One topic of N members, the hub alone: event streams (subscribers without sockets, through
//! the public API) join one after another, get one publish, leave one after another in the
//! reverse order, join again, then all leave at once from several threads while the room is
//! published to. Every pass stops when its budget runs out, and says so.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nitrous::Hub;
use nitrous::sse::EventStream;

use crate::pass::{Budget, Pass};

/// The topic every member joins.
const TOPIC: &str = "room";

/// How many publishes the full room gets, each timed (the median is reported). Each one waits in
/// every member's queue, which holds 256 events, since nobody reads them.
const PUBLISHES: usize = 3;

/// How many threads the members leave from at once.
const DEPARTURE_THREADS: usize = 2;

/// A publish to the room: how long the call took and how many members it reached.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Published {
    pub(crate) took: Duration,
    pub(crate) reached: usize,
}

/// Everyone leaving at once.
#[derive(Debug)]
pub(crate) struct Departure {
    /// How many were in the room when it started.
    pub(crate) from: usize,
    pub(crate) pass: Pass,
    pub(crate) threads: usize,
    /// The publishes made while they left, one each time the room lost another tenth.
    pub(crate) publishes: Vec<Published>,
}

/// What one room of `size` did.
#[derive(Debug)]
pub(crate) struct RoomRun {
    pub(crate) size: usize,
    /// RSS (KiB) before the streams were made, once they were, and with them all joined.
    pub(crate) rss_before: f64,
    pub(crate) rss_made: f64,
    pub(crate) rss_joined: f64,
    pub(crate) join: Pass,
    pub(crate) publishes: Vec<Published>,
    pub(crate) leave: Pass,
    /// The room filled again for the departure; `None` when the leave was cut short (what stayed
    /// departs instead).
    pub(crate) rejoin: Option<Pass>,
    pub(crate) departure: Departure,
    /// A publish once everyone has left, and how many topics the hub still has.
    pub(crate) after: Published,
    pub(crate) topics_after: usize,
}

pub(crate) fn run(size: usize, limit: Duration) -> Result<RoomRun, String> {
    let hub = Hub::new();
    let rss_before = crate::rss_kib()?;
    let members: Vec<EventStream> = (0..size).map(|_| EventStream::new()).collect();
    let rss_made = crate::rss_kib()?;

    eprintln!("bench-hub: a room of {size}: join");
    let join = join_in_order(&hub, &members, limit);
    let joined = join.moved;
    expect_members(&hub, joined, "after the join")?;
    let rss_joined = crate::rss_kib()?;

    let mut publishes = Vec::with_capacity(PUBLISHES);
    for _ in 0..PUBLISHES {
        let published = publish(&hub)?;
        if published.reached != joined {
            return Err(format!(
                "a publish reached {} of {joined} members",
                published.reached
            ));
        }
        publishes.push(published);
    }

    eprintln!("bench-hub: a room of {size}: leave, one at a time");
    let leave = leave_in_reverse(&members[..joined], size, limit);
    let stayed = joined - leave.moved;
    expect_members(&hub, stayed, "after the leave")?;

    let (rejoin, departure) = if stayed == 0 {
        drop(members);
        let members: Vec<EventStream> = (0..size).map(|_| EventStream::new()).collect();
        eprintln!("bench-hub: a room of {size}: join again");
        let rejoin = join_in_order(&hub, &members, limit);
        expect_members(&hub, rejoin.moved, "after joining again")?;
        eprintln!("bench-hub: a room of {size}: everyone leaves at once");
        let departure = depart(&hub, &members[..rejoin.moved], size, limit)?;
        (Some(rejoin), departure)
    } else {
        eprintln!("bench-hub: a room of {size}: the {stayed} left leave at once");
        (None, depart(&hub, &members[..stayed], size, limit)?)
    };
    let after = publish(&hub)?;
    Ok(RoomRun {
        size,
        rss_before,
        rss_made,
        rss_joined,
        join,
        publishes,
        leave,
        rejoin,
        departure,
        after,
        topics_after: hub.topic_count(),
    })
}

/// `members` join in order, until they all have or the budget runs out.
fn join_in_order(hub: &Hub, members: &[EventStream], limit: Duration) -> Pass {
    let mut pass = Pass::new(members.len());
    let budget = Budget::starting_now(limit);
    pass.reached(0, Duration::ZERO);
    for (i, member) in members.iter().enumerate() {
        if i % 64 == 0 && budget.spent() {
            pass.cut = true;
            break;
        }
        member.subscribe(hub, TOPIC);
        pass.moved = i + 1;
        if pass.is_mark(i + 1) {
            pass.reached(i + 1, budget.elapsed());
        }
    }
    pass.elapsed = budget.elapsed();
    pass
}

/// `members` (the room, in the order they joined) leave one at a time, the last to join first,
/// so the room shrinks through the sizes it grew through.
fn leave_in_reverse(members: &[EventStream], full: usize, limit: Duration) -> Pass {
    let mut pass = Pass::new(full);
    let budget = Budget::starting_now(limit);
    let room = members.len();
    pass.reached(room, Duration::ZERO);
    for (gone, member) in members.iter().rev().enumerate() {
        if gone % 64 == 0 && budget.spent() {
            pass.cut = true;
            break;
        }
        member.close();
        pass.moved = gone + 1;
        let size = room - gone - 1;
        if pass.is_mark(size) {
            pass.reached(size, budget.elapsed());
        }
    }
    pass.elapsed = budget.elapsed();
    pass
}

/// Everyone in `members` leaves at once, from [`DEPARTURE_THREADS`] threads taking the next
/// member in turn (the last to join first); each time the room loses another tenth, this thread
/// publishes to it.
fn depart(
    hub: &Hub,
    members: &[EventStream],
    full: usize,
    limit: Duration,
) -> Result<Departure, String> {
    let room = members.len();
    let step = Pass::new(full).step();
    let taken = AtomicUsize::new(0);
    let gone = AtomicUsize::new(0);
    let cut = AtomicBool::new(false);
    // Nanoseconds from the start, plus one, at which the room reached each hundredth (0: never).
    let marks: Vec<AtomicU64> = (0..=100).map(|_| AtomicU64::new(0)).collect();
    let budget = Budget::starting_now(limit);
    let start = Instant::now();
    let stamp = |size: usize| {
        if size.is_multiple_of(step) && size / step <= 100 {
            let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
            marks[size / step].store(nanos + 1, Ordering::Release);
        }
    };
    stamp(room);
    let mut publishes = Vec::new();
    let mut failed = None;
    std::thread::scope(|scope| {
        let (tenth_lost, tenths) = mpsc::channel::<()>();
        for _ in 0..DEPARTURE_THREADS {
            let tenth_lost = tenth_lost.clone();
            let (taken, gone, cut, stamp) = (&taken, &gone, &cut, &stamp);
            scope.spawn(move || {
                while !cut.load(Ordering::Acquire) {
                    let i = taken.fetch_add(1, Ordering::AcqRel);
                    if i >= room {
                        return;
                    }
                    if i % 64 == 0 && budget.spent() {
                        cut.store(true, Ordering::Release);
                        return;
                    }
                    members[room - 1 - i].close();
                    let size = room - 1 - gone.fetch_add(1, Ordering::AcqRel);
                    stamp(size);
                    if size > 0 && size.is_multiple_of(step * 10) {
                        // The publisher is gone only if this scope failed.
                        let _ = tenth_lost.send(());
                    }
                }
            });
        }
        drop(tenth_lost);
        while tenths.recv().is_ok() {
            match publish(hub) {
                Ok(published) => publishes.push(published),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    let mut pass = Pass::new(full);
    for (mark, at) in marks.iter().enumerate() {
        let at = at.load(Ordering::Acquire);
        if at > 0 {
            pass.reached(mark * step, Duration::from_nanos(at - 1));
        }
    }
    pass.moved = gone.load(Ordering::Acquire);
    pass.elapsed = budget.elapsed();
    pass.cut = cut.load(Ordering::Acquire);
    expect_members(hub, room - pass.moved, "after the departure")?;
    Ok(Departure {
        from: room,
        pass,
        threads: DEPARTURE_THREADS,
        publishes,
    })
}

fn publish(hub: &Hub) -> Result<Published, String> {
    let start = Instant::now();
    let reached = hub
        .publish(TOPIC, "x")
        .map_err(|e| format!("cannot publish: {e}"))?;
    Ok(Published {
        took: start.elapsed(),
        reached,
    })
}

/// A hub that lost or kept members it should not have makes every figure meaningless.
fn expect_members(hub: &Hub, expected: usize, when: &str) -> Result<(), String> {
    let counted = hub.subscriber_count(TOPIC);
    if counted == expected {
        Ok(())
    } else {
        Err(format!(
            "{when}, the room has {counted} members, not {expected}"
        ))
    }
}
