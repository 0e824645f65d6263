//! `cargo xtask dev-loop [--edits N]`: how long `cargo nitrous dev` takes from an edit of the chat
//! example to the new code serving, and whether any request goes unanswered meanwhile; beside it,
//! in the same run, the same edits done by hand (Ctrl-C, `cargo build`, start again).
//!
//! The chat example runs in a debug build, as a user runs it. A client requests `GET /` on a new
//! connection every 10 ms (loopback, bounded); each edit appends a numbered comment to
//! `page.html` (compiled into the binary with `include_str!`, so every edit is a rebuild), and
//! the time to the first answer that carries it is the edit-to-serving time. The gap is the
//! longest time between two answers around a swap, beside the longest between two answers with
//! no swap going on (the client's own pace). The page is put back afterwards.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use nitrous_support::{Process, Signal};

use crate::{Failure, cargo, process, workspace_root};

/// How long anything may take: the first build compiles the example's dependencies.
const FIRST_BUILD: Duration = Duration::from_secs(600);
const REBUILD: Duration = Duration::from_secs(120);

/// How often the client sends a request (each on a new connection).
const PACE: Duration = Duration::from_millis(10);

/// How long the client runs with no swap going on, for the baseline.
const BASELINE: Duration = Duration::from_secs(2);

/// One answer to the client: when its request was sent, when it was done, and what it said.
struct Answer {
    sent: Instant,
    done: Instant,
    /// The page's body, or why there was none.
    page: Result<String, String>,
}

/// What one way of swapping did over its edits.
struct Outcome {
    /// From each edit to the first answer with its marker, in order of the edits.
    served: Vec<Duration>,
    answered: usize,
    failed: Vec<String>,
    /// Longest time between two answers around a swap, and with none going on.
    gap: (Duration, Duration),
    /// Slowest single request (answered or failed) around a swap, and with none going on.
    slowest: (Duration, Duration),
}

pub(crate) fn run(args: &[String]) -> Result<(), Failure> {
    let edits = match args {
        [] => 7,
        [flag, n] if flag == "--edits" => n
            .parse()
            .map_err(|_| Failure::Usage(format!("--edits takes a number, not `{n}`")))?,
        _ => return Err(Failure::Usage(String::new())),
    };
    let root = workspace_root();
    process::run_command(cargo().args(["build", "--quiet", "--package", "cargo-nitrous"]))?;
    let page = Page::open(root.join("examples/chat/src/page.html"))?;

    let mut dev = Dev::start(&root)?;
    let listening = dev.line("nitrous dev: http://", Duration::from_secs(30))?;
    let addr = listening["nitrous dev: http://".len()..]
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    dev.line("nitrous dev: serving", FIRST_BUILD)?;
    eprintln!("dev-loop: cargo nitrous dev on {addr}");
    let swapped = measure(&addr, &page, edits, |_| {
        dev.line("nitrous dev: serving the new build", REBUILD)
            .map(drop)
    })?;
    drop(dev); // stops the app; the port is free again

    eprintln!("dev-loop: by hand on {addr}: Ctrl-C, cargo build, start");
    let build = || process::run_command(cargo().args(["build", "--quiet", "--package", "chat"]));
    build()?;
    let start = || {
        let mut command = Command::new(root.join("target/debug/chat"));
        command.args(["--addr", &addr]);
        Process::start(command, |line| {
            line.starts_with("chat: listening on ").then(String::new)
        })
        .map(|(app, _)| app)
    };
    let mut app = start()?;
    let by_hand = measure(&addr, &page, edits, |_| {
        let _ = app.stop_with(Signal::Interrupt); // Ctrl-C, as a user stops it
        build()?;
        app = start()?;
        Ok(())
    })?;
    drop(app);

    let ms = |d: Duration| format!("{:.0}", d.as_secs_f64() * 1000.0);
    let ms1 = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1000.0);
    let median = |o: &Outcome| {
        let mut v = o.served.clone();
        v.sort();
        v[v.len() / 2]
    };
    println!(
        "| figure ({edits} edits of page.html) | cargo nitrous dev | by hand (Ctrl-C, cargo build, start) |"
    );
    println!("|---|---|---|");
    println!(
        "| edit to new code serving, median (min-max) ms | {} ({}-{}) | {} ({}-{}) |",
        ms(median(&swapped)),
        ms(*swapped.served.iter().min().unwrap()),
        ms(*swapped.served.iter().max().unwrap()),
        ms(median(&by_hand)),
        ms(*by_hand.served.iter().min().unwrap()),
        ms(*by_hand.served.iter().max().unwrap()),
    );
    println!(
        "| requests answered / failed | {} / {} | {} / {} |",
        swapped.answered,
        swapped.failed.len(),
        by_hand.answered,
        by_hand.failed.len()
    );
    println!(
        "| longest time between two answers, around a swap (no swap) ms | {} ({}) | {} ({}) |",
        ms1(swapped.gap.0),
        ms1(swapped.gap.1),
        ms1(by_hand.gap.0),
        ms1(by_hand.gap.1)
    );
    println!(
        "| slowest request, around a swap (no swap) ms | {} ({}) | {} ({}) |",
        ms1(swapped.slowest.0),
        ms1(swapped.slowest.1),
        ms1(by_hand.slowest.0),
        ms1(by_hand.slowest.1)
    );
    if let Some(first) = by_hand.failed.first() {
        println!("by hand, a failed request: {first}");
    }
    if !swapped.failed.is_empty() {
        return Err(Failure::Failed(format!(
            "requests failed during the swaps of cargo nitrous dev: {:?}",
            swapped.failed
        )));
    }
    Ok(())
}

/// Runs the client against `addr` while `edits` edits of the page are swapped in by `swap`.
fn measure(
    addr: &str,
    page: &Page,
    edits: usize,
    mut swap: impl FnMut(usize) -> Result<(), Failure>,
) -> Result<Outcome, Failure> {
    let answers = Arc::new(Mutex::new(Vec::<Answer>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let client = {
        let (addr, answers, stop) = (addr.to_owned(), answers.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut next = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                // A steady pace, so the client does not starve the build of the machine's cores.
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
                next = Instant::now() + PACE;
                let sent = Instant::now();
                let page = get(&addr);
                answers.lock().unwrap().push(Answer {
                    sent,
                    done: Instant::now(),
                    page,
                });
            }
        })
    };
    let count = || answers.lock().unwrap().len();
    // The client's own pace first, with no swap going on.
    std::thread::sleep(BASELINE); // letting the client run, bounded

    let mut served = Vec::new();
    let mut windows: Vec<Range<usize>> = Vec::new();
    for edit in 1..=edits {
        let marker = format!("<!-- dev-loop edit {edit} -->");
        let before = count();
        let edited = Instant::now();
        page.write_with(&marker)?;
        swap(edit)?;
        let deadline = Instant::now() + REBUILD;
        let done = loop {
            let found = answers.lock().unwrap()[before..]
                .iter()
                .find(|a| a.page.as_ref().is_ok_and(|p| p.contains(&marker)))
                .map(|a| a.done);
            if let Some(done) = found {
                break done;
            }
            if Instant::now() > deadline {
                return Err(Failure::Failed(format!("edit {edit} never served")));
            }
            std::thread::sleep(Duration::from_millis(5)); // polling the client's record, bounded
        };
        // Two more answers, so the window holds the first ones after the swap.
        let seen = count();
        while count() < seen + 2 {
            std::thread::sleep(Duration::from_millis(5)); // polling the client's record, bounded
        }
        served.push(done - edited);
        // From the last answer before the edit.
        windows.push(before.saturating_sub(1)..count());
        eprintln!(
            "dev-loop: edit {edit}: served {:.0} ms after the edit",
            (done - edited).as_secs_f64() * 1000.0
        );
    }
    stop.store(true, Ordering::Relaxed);
    let _ = client.join();
    let answers = std::mem::take(&mut *answers.lock().unwrap());

    // Between two answers that served the page; a refused request serves nothing.
    let gap = |range: Range<usize>| {
        let served: Vec<Instant> = answers[range]
            .iter()
            .filter(|a| a.page.is_ok())
            .map(|a| a.done)
            .collect();
        served
            .windows(2)
            .map(|pair| pair[1] - pair[0])
            .max()
            .unwrap_or_default()
    };
    let slowest = |range: Range<usize>| {
        answers[range]
            .iter()
            .map(|a| a.done - a.sent)
            .max()
            .unwrap_or_default()
    };
    let mut outside = Vec::new();
    let mut from = 0;
    for window in windows.iter().chain([&(answers.len()..answers.len())]) {
        outside.push(from..window.start.max(from));
        from = window.end;
    }
    let worst = |ranges: &[Range<usize>], f: &dyn Fn(Range<usize>) -> Duration| {
        ranges
            .iter()
            .map(|r| f(r.clone()))
            .max()
            .unwrap_or_default()
    };
    let failed: Vec<String> = answers
        .iter()
        .filter_map(|a| a.page.as_ref().err().cloned())
        .collect();
    Ok(Outcome {
        served,
        answered: answers.len() - failed.len(),
        gap: (worst(&windows, &gap), worst(&outside, &gap)),
        slowest: (worst(&windows, &slowest), worst(&outside, &slowest)),
        failed,
    })
}

/// `GET /` on a new connection: the body.
fn get(addr: &str) -> Result<String, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("write: {e}"))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| format!("read: {e}"))?;
    if !response.starts_with("HTTP/1.1 200") {
        return Err(format!(
            "answer: {}",
            response.lines().next().unwrap_or("nothing")
        ));
    }
    Ok(response)
}

/// The chat page, edited with markers and put back however the run ends.
struct Page {
    path: PathBuf,
    original: String,
}

impl Page {
    fn open(path: PathBuf) -> Result<Page, Failure> {
        let original = std::fs::read_to_string(&path)
            .map_err(|e| Failure::Failed(format!("{}: {e}", path.display())))?;
        Ok(Page { path, original })
    }

    fn write_with(&self, marker: &str) -> Result<(), Failure> {
        let edited = self
            .original
            .replace("</body>", &format!("{marker}\n</body>"));
        std::fs::write(&self.path, edited)
            .map_err(|e| Failure::Failed(format!("{}: {e}", self.path.display())))
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.path, &self.original);
    }
}

/// `cargo nitrous dev -p chat` and the lines it prints.
struct Dev {
    process: Process,
    lines: mpsc::Receiver<String>,
}

impl Dev {
    fn start(root: &Path) -> Result<Dev, Failure> {
        let mut process = Process::spawn(
            Command::new(root.join("target/debug/cargo-nitrous"))
                .args(["nitrous", "dev", "-p", "chat", "--addr", "127.0.0.1:0"])
                .current_dir(root)
                .stdout(Stdio::null())
                .stderr(Stdio::piped()),
        )?;
        let stderr = process.child_mut().stderr.take().expect("piped");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Dev { process, lines })
    }

    /// The next line starting with `prefix`, within `limit`.
    fn line(&mut self, prefix: &str, limit: Duration) -> Result<String, Failure> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return Ok(line),
                Ok(_) => {}
                Err(_) => {
                    return Err(Failure::Failed(format!(
                        "cargo nitrous dev printed no `{prefix}` within {limit:?}"
                    )));
                }
            }
        }
    }
}

impl Drop for Dev {
    /// SIGTERM, so the dev loop stops its app too (a killed one would leave the app running).
    fn drop(&mut self) {
        let _ = self.process.stop_with(Signal::Terminate);
    }
}
