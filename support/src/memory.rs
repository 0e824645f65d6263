//! A process's memory, from `/proc/PID/status`.

use crate::Error;

/// Resident memory of process `pid` now, in KiB (`VmRSS`).
pub fn rss_kib(pid: u32) -> Result<u64, Error> {
    status_kib(pid, "VmRSS")
}

/// The most resident memory process `pid` has had, in KiB (`VmHWM`, the high-water mark).
pub fn peak_rss_kib(pid: u32) -> Result<u64, Error> {
    status_kib(pid, "VmHWM")
}

fn status_kib(pid: u32, field: &str) -> Result<u64, Error> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|e| Error::new(format!("{path}: {e}")))?;
    field_kib(&status, field).ok_or_else(|| Error::new(format!("no {field} in {path}")))
}

/// `FIELD:   1234 kB` in the text of a status file.
fn field_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().strip_suffix("kB")?.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_is_read_in_kib_and_a_missing_one_is_none() {
        let status = "Name:\tx\nVmHWM:\t  20480 kB\nVmRSS:\t   8192 kB\nThreads:\t1\n";
        assert_eq!(field_kib(status, "VmRSS"), Some(8192));
        assert_eq!(field_kib(status, "VmHWM"), Some(20480));
        assert_eq!(field_kib(status, "VmSwap"), None);
        assert_eq!(field_kib(status, "Threads"), None, "not a size in kB");
    }

    #[test]
    fn this_process_has_memory_and_its_peak_is_at_least_what_it_has() {
        let pid = std::process::id();
        let (now, peak) = (rss_kib(pid).unwrap(), peak_rss_kib(pid).unwrap());
        assert!(now > 0 && peak >= now, "VmRSS {now} KiB, VmHWM {peak} KiB");
    }

    #[test]
    fn a_process_that_is_not_there_is_an_error_naming_its_file() {
        let error = rss_kib(u32::MAX).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!("/proc/{}/status", u32::MAX)),
            "{error}"
        );
    }
}
