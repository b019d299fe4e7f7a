//! The machine a report was measured on, as BENCHMARKS.md quotes it.

use std::path::Path;

use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub(crate) struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
    /// File system type of the data directory (fsync cost depends on it).
    pub filesystem: String,
}

impl Machine {
    pub(crate) fn detect(data_dir: &Path) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| {
                let (key, value) = line.split_once(':')?;
                (key.trim() == "model name").then(|| value.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".to_owned());
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib: f64 = meminfo
            .lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0.0);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| format!("Linux {}", s.trim()))
            .unwrap_or_else(|_| std::env::consts::OS.to_owned());
        Machine {
            cpu,
            cores,
            memory_gib: (memory_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
            kernel,
            filesystem: filesystem_of(data_dir).unwrap_or_else(|| "unknown".to_owned()),
        }
    }

    /// One line for the report header and BENCHMARKS.md.
    pub(crate) fn line(&self) -> String {
        format!(
            "{} ({} cores), {} GiB RAM, {}, data on {}",
            self.cpu, self.cores, self.memory_gib, self.kernel, self.filesystem
        )
    }
}

/// The file system type of the mount holding `path` (longest mount-point prefix).
fn filesystem_of(path: &Path) -> Option<String> {
    let path = path.canonicalize().ok()?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut best: Option<(usize, String)> = None;
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let mount_point = *fields.get(4)?;
        let separator = fields.iter().position(|f| *f == "-")?;
        let fs_type = *fields.get(separator + 1)?;
        if path.starts_with(mount_point)
            && best
                .as_ref()
                .is_none_or(|(len, _)| mount_point.len() >= *len)
        {
            best = Some((mount_point.len(), fs_type.to_owned()));
        }
    }
    best.map(|(_, fs)| fs)
}

/// The 1, 5 and 15 minute load averages.
pub(crate) fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_this_machine() {
        let machine = Machine::detect(Path::new("/"));
        assert!(machine.cores >= 1);
        assert!(machine.memory_gib > 0.0);
        assert_ne!(machine.filesystem, "unknown");
        assert!(machine.line().contains("cores"));
    }
}
