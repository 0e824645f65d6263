//! The table `bench-hub` prints and the JSON it writes: one row per figure, each with its unit
//! and what it means; ratios carry their target.

use std::path::Path;

/// The most that a last tenth may cost over a first tenth (issue 26): a room's size should not
/// change what one more join or leave costs.
pub(crate) const TENTHS_TARGET: f64 = 1.5;

struct Row {
    figure: String,
    value: Option<f64>,
    unit: &'static str,
    note: String,
}

#[derive(Default)]
pub(crate) struct Report {
    rows: Vec<Row>,
}

impl Report {
    /// A figure; `None` when the run did not reach what it measures (the note says why).
    pub(crate) fn row(
        &mut self,
        figure: impl Into<String>,
        value: Option<f64>,
        unit: &'static str,
        note: impl Into<String>,
    ) {
        self.rows.push(Row {
            figure: figure.into(),
            value,
            unit,
            note: note.into(),
        });
    }

    /// A last-tenth-over-first-tenth ratio, with its verdict against [`TENTHS_TARGET`].
    pub(crate) fn ratio(&mut self, figure: impl Into<String>, ratio: Option<f64>, note: &str) {
        let verdict = match ratio {
            Some(r) if r <= TENTHS_TARGET => "met",
            Some(_) => "MISSED",
            None => "not measured",
        };
        let note = format!("target <= {TENTHS_TARGET}x: {verdict}; {note}");
        self.row(figure, ratio, "x", note);
    }

    pub(crate) fn print(&self) {
        let width = self.rows.iter().map(|r| r.figure.len()).max().unwrap_or(0);
        println!("\n{:<width$} {:>10} {:<4} note", "figure", "value", "unit");
        for row in &self.rows {
            let value = row.value.map_or_else(|| "-".to_owned(), short);
            println!(
                "{:<width$} {value:>10} {:<4} {}",
                row.figure, row.unit, row.note
            );
        }
    }

    /// Writes the rows and `details` (every pass's timings) to `path`.
    pub(crate) fn write(&self, path: &Path, details: serde_json::Value) -> Result<(), String> {
        let rows: Vec<serde_json::Value> = self
            .rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "figure": r.figure,
                    "value": r.value,
                    "unit": r.unit,
                    "note": r.note,
                })
            })
            .collect();
        let json = serde_json::json!({ "figures": rows, "details": details });
        let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())? + "\n";
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Three significant figures or so, without a trail of zeros for large values; a count as a
/// whole number.
pub(crate) fn short(value: f64) -> String {
    if (value.fract() == 0.0 && value.abs() < 1e15) || value.abs() >= 1000.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else if value.abs() >= 0.1 {
        format!("{value:.2}")
    } else {
        format!("{value:.4}")
    }
}
