//! Runs a command as a whole process, the way a person runs it, and measures its
//! wall time and peak resident memory.
//!
//! Peak memory comes from the kernel's accounting of the child (`wait4`'s
//! `ru_maxrss`), not from a shell tool. One caveat of that accounting shapes the
//! harness: at `exec`, Linux folds the peak RSS of the address space the child had
//! before into its `ru_maxrss` (the maximum of the two, not the sum), and
//! `posix_spawn`/`vfork` children start in the parent's address space. A parent that
//! once held 300 MB makes even `/bin/true` report 300 MB (see the ignored test
//! below). So the process that spawns measured commands must stay small for its
//! whole life: dataset generation and in-process benchmarks run in worker processes
//! (see `main.rs`), and the baseline row (`cairn --version`) shows the floor.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

/// A command to run in an isolated cairn home.
#[derive(Clone, Debug)]
pub(crate) struct ProcessSpec {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// `CAIRN_HOME` (and `HOME`) of the child: nothing of the real home is read.
    pub home: PathBuf,
    pub cwd: PathBuf,
    /// Pass the child's stderr through (progress of workers) instead of keeping it
    /// for the error message.
    pub show_stderr: bool,
    /// Extra environment of the child (provider endpoints and keys, model).
    pub env: Vec<(OsString, OsString)>,
}

impl ProcessSpec {
    pub(crate) fn new(program: &Path, home: &Path, cwd: &Path, args: &[&str]) -> Self {
        ProcessSpec {
            program: program.to_path_buf(),
            args: args.iter().map(OsString::from).collect(),
            home: home.to_path_buf(),
            cwd: cwd.to_path_buf(),
            show_stderr: false,
            env: Vec::new(),
        }
    }

    /// Adds `name=value` to the child's environment.
    pub(crate) fn with_env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    pub(crate) fn display(&self) -> String {
        let name = self
            .program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut shown = name;
        for arg in &self.args {
            shown.push(' ');
            shown.push_str(&arg.to_string_lossy());
        }
        shown
    }

    fn command(&self) -> Command {
        let mut command = isolated(&self.program, &self.home, &self.cwd);
        command
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if self.show_stderr {
                Stdio::inherit()
            } else {
                Stdio::piped()
            });
        command
    }
}

/// `program` set up the way every command of the harness runs: in `cwd`, with `home`
/// as `HOME` and `CAIRN_HOME` (nothing of the real home is read), and nothing of this
/// process's environment but `PATH`. (`tokio::process::Command::from` takes it too.)
pub(crate) fn isolated(program: &Path, home: &Path, cwd: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env(cairn_core::env_vars::CAIRN_HOME, home)
        .env("LANG", "C.UTF-8");
    // The harness's own workers generate tool outputs from this code corpus.
    if let Some(dirs) = crate::code::CODE_DIRS.get() {
        command.env(crate::code::CODE_DIRS_VAR, dirs);
    }
    command
}

/// One run of a process.
#[derive(Clone, Debug)]
pub(crate) struct ProcessRun {
    /// Just before spawning: the origin of times the child's work is compared to
    /// (e.g. when its first request reached a fake provider).
    pub started: Instant,
    /// From just before spawning to exit with stdout fully drained.
    pub wall: Duration,
    /// Peak resident set of the child, bytes.
    pub max_rss_bytes: u64,
    /// CPU time of the child (user + system): unlike wall time, barely affected
    /// by other jobs competing for the machine.
    pub cpu: Duration,
    pub stdout_bytes: u64,
    pub stdout_lines: u64,
    /// The first 64 KiB of stdout, for checks on what the command printed.
    pub stdout_head: Vec<u8>,
}

const HEAD_BYTES: usize = 64 * 1024;

/// Runs `spec` unmeasured and returns its whole stdout (for set-up steps whose
/// answer may be longer than [`ProcessRun::stdout_head`]).
pub(crate) fn output_of(spec: &ProcessSpec) -> Result<Vec<u8>> {
    let output = spec
        .command()
        .output()
        .with_context(|| format!("cannot start {}", spec.program.display()))?;
    if !output.status.success() {
        bail!(
            "`{}` failed ({}): {}",
            spec.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(output.stdout)
}

/// Runs `spec` once; an exit status other than 0 is an error carrying its stderr.
pub(crate) fn run_once(spec: &ProcessSpec) -> Result<ProcessRun> {
    let mut command = spec.command();
    let start = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {}", spec.program.display()))?;
    let pid = libc::pid_t::try_from(child.id()).context("child pid out of range")?;
    let stderr = child.stderr.take();
    // stderr is drained on its own thread so a chatty child cannot block on it.
    let stderr_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(mut pipe) = stderr {
            let _ = pipe.read_to_end(&mut text);
        }
        text
    });
    let mut stdout_bytes = 0u64;
    let mut stdout_lines = 0u64;
    let mut head = Vec::new();
    if let Some(mut pipe) = child.stdout.take() {
        let mut buffer = vec![0u8; 256 * 1024];
        loop {
            let n = match pipe.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).context("reading the child's stdout"),
            };
            stdout_bytes += n as u64;
            stdout_lines += buffer[..n].iter().filter(|b| **b == b'\n').count() as u64;
            if head.len() < HEAD_BYTES {
                let take = n.min(HEAD_BYTES - head.len());
                head.extend_from_slice(&buffer[..take]);
            }
        }
    }
    let (status, usage) = wait_with_usage(pid)?;
    let wall = start.elapsed();
    let stderr_text = stderr_reader.join().unwrap_or_default();
    // `child` is dropped unreaped on purpose: `wait4` above already reaped it.
    drop(child);
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        bail!(
            "`{}` failed ({}): {}",
            spec.display(),
            describe_status(status),
            String::from_utf8_lossy(&stderr_text).trim()
        );
    }
    Ok(ProcessRun {
        started: start,
        wall,
        // Linux reports ru_maxrss in KiB.
        max_rss_bytes: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024,
        cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime),
        stdout_bytes,
        stdout_lines,
        stdout_head: head,
    })
}

fn wait_with_usage(pid: libc::pid_t) -> Result<(libc::c_int, libc::rusage)> {
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; an all-zero value is valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own unreaped child; both out-pointers are valid for
        // writes for the duration of the call.
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if rc == pid {
            return Ok((status, usage));
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error).context("wait4 on the measured process");
        }
    }
}

fn timeval(t: libc::timeval) -> Duration {
    // Both fields are i64 on 64-bit Linux.
    let micros = t.tv_sec * 1_000_000 + t.tv_usec;
    Duration::from_micros(u64::try_from(micros).unwrap_or(0))
}

fn describe_status(status: libc::c_int) -> String {
    if libc::WIFEXITED(status) {
        format!("exit code {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        format!("killed by signal {}", libc::WTERMSIG(status))
    } else {
        format!("wait status {status}")
    }
}

/// The runs of one or more commands measured alternately, after warm-up runs: the
/// alternation spreads any drift of the machine (another job, thermal state) over
/// every command alike, which matters when the report compares them.
pub(crate) fn measure_alternating(
    specs: &[ProcessSpec],
    warmup: usize,
    runs: usize,
) -> Result<Vec<Vec<ProcessRun>>> {
    for _ in 0..warmup {
        for spec in specs {
            run_once(spec)?;
        }
    }
    let mut all = vec![Vec::with_capacity(runs); specs.len()];
    for _ in 0..runs {
        for (spec, out) in specs.iter().zip(&mut all) {
            out.push(run_once(spec)?);
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(program: &str, args: &[&str]) -> ProcessSpec {
        let tmp = std::env::temp_dir();
        ProcessSpec::new(Path::new(program), &tmp, &tmp, args)
    }

    #[test]
    fn measures_output_and_memory_of_a_real_process() {
        // `head -c` writes exactly the requested bytes; its RSS is a few MB at most.
        let run = run_once(&spec("/bin/sh", &["-c", "head -c 300000 /dev/zero; echo"])).unwrap();
        assert_eq!(run.stdout_bytes, 300_001);
        assert_eq!(run.stdout_lines, 1);
        assert_eq!(run.stdout_head.len(), HEAD_BYTES);
        assert!(run.max_rss_bytes > 100 * 1024, "{}", run.max_rss_bytes);
        assert!(run.wall > Duration::ZERO);
    }

    #[test]
    fn a_failing_process_is_an_error_with_its_stderr() {
        let err = run_once(&spec("/bin/sh", &["-c", "echo broken >&2; exit 3"])).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("exit code 3") && text.contains("broken"),
            "{text}"
        );
    }

    #[test]
    fn peak_memory_of_a_hungry_child_is_seen() {
        // A child that touches 60 MB must report at least that much.
        let run = run_once(&spec(
            "/bin/sh",
            &[
                "-c",
                "x=$(head -c 60000000 /dev/zero | tr '\\0' 'a'); echo ${#x}",
            ],
        ))
        .unwrap();
        assert!(run.max_rss_bytes > 60_000_000, "{}", run.max_rss_bytes);
    }
}
