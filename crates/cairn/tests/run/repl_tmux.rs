//! The interactive `cairn run`, driven like a person would: the real binary in a
//! real terminal (tmux), keys sent with `send-keys`, the screen read back with
//! `capture-pane`, answers from the scripted fake LLM server.
//!
//! Each test starts its own tmux server (`-L` with a unique socket name) running a
//! plain `sh` in a clean environment (its own `CAIRN_HOME`, `HOME` and project), and
//! kills that server when it ends, passed or failed. Screens are polled until what
//! is expected shows up, never read after a fixed sleep.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use cairn_testkit::fake_llm::{FakeLlm, FakeUsage, Reply, Turn};
use cairn_testkit::home::TestHome;
use serde_json::json;

/// Long enough for a debug build on a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(45);

/// A tmux server of one test, with one 120×40 window running `sh`.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Start `sh` in `cwd` with exactly `env` (plus what a terminal needs).
    fn start(test: &str, cwd: &Path, env: &[(&str, String)]) -> Tmux {
        require_tmux();
        let socket = format!("cairn-repl-{}-{test}", std::process::id());
        let mut command = vec!["env".to_owned(), "-i".to_owned()];
        for (key, value) in env {
            command.push(format!("{key}={value}"));
        }
        command.extend([
            "TERM=screen".to_owned(),
            "PS1=$ ".to_owned(),
            "sh".to_owned(),
        ]);
        let tmux = Tmux { socket };
        tmux.run(
            &[
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "120",
                "-y",
                "40",
                "-s",
                "main",
                "-c",
                cwd.to_str().expect("utf-8 path"),
            ]
            .into_iter()
            .map(str::to_owned)
            .chain(command)
            .collect::<Vec<_>>(),
        );
        tmux.run_str(&["set-option", "-g", "history-limit", "10000"]);
        tmux.wait_for_shell();
        tmux
    }

    fn run(&self, args: &[String]) -> Output {
        let output = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux");
        assert!(
            output.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    fn run_str(&self, args: &[&str]) -> Output {
        self.run(&args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>())
    }

    /// Type `text` literally (no key names), without Enter.
    fn type_text(&self, text: &str) {
        self.run_str(&["send-keys", "-t", "main", "-l", text]);
    }

    /// Press keys by tmux name: `Enter`, `C-c`, `C-d`, `Down`, `Tab`.
    fn press(&self, key: &str) {
        self.run_str(&["send-keys", "-t", "main", key]);
    }

    fn type_line(&self, text: &str) {
        self.type_text(text);
        self.press("Enter");
    }

    /// The whole pane, scrollback included, wrapped lines joined.
    fn screen(&self) -> String {
        let out = self.run_str(&["capture-pane", "-p", "-J", "-t", "main", "-S", "-"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The pane with its colours and attributes as escape codes.
    fn screen_with_escapes(&self) -> String {
        let out = self.run_str(&["capture-pane", "-p", "-e", "-J", "-t", "main", "-S", "-"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Poll until `check` holds on the screen; fail with the screen after [`WAIT`].
    fn wait_until(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            if start.elapsed() > WAIT {
                panic!("timed out waiting for {what}; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_for(&self, needle: &str) -> String {
        self.wait_until(&format!("{needle:?}"), |s| s.contains(needle))
    }

    /// A place in the output: the line the cursor's prompt is on. [`Tmux::wait_after`]
    /// looks only from there on.
    fn mark(&self) -> usize {
        let screen = self.screen();
        let lines: Vec<&str> = screen.lines().collect();
        lines
            .iter()
            .rposition(|l| !l.trim().is_empty())
            .unwrap_or(0)
    }

    /// Wait for `needle` in the output from `mark` on; returns that output.
    fn wait_after(&self, mark: usize, needle: &str) -> String {
        let since = |screen: &str| screen.lines().skip(mark).collect::<Vec<_>>().join("\n");
        let screen = self.wait_until(&format!("{needle:?} after line {mark}"), |s| {
            since(s).contains(needle)
        });
        since(&screen)
    }

    /// Wait until `needle` shows up `n` times.
    fn wait_for_count(&self, needle: &str, n: usize) -> String {
        self.wait_until(&format!("{n}× {needle:?}"), |s| {
            s.matches(needle).count() >= n
        })
    }

    /// Wait for the shell's prompt (`capture-pane` drops trailing spaces: `$`).
    fn wait_for_shell(&self) -> String {
        self.wait_until("the shell prompt", |s| {
            s.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| l.trim_end() == "$")
        })
    }

    /// Empty the pane and its scrollback so later waits see only new output. Only at
    /// the shell prompt (in the REPL `clear` would be a message: use [`Tmux::mark`]).
    fn clear(&self) {
        self.wait_for_shell();
        self.type_line("clear");
        let start = Instant::now();
        // `clear` empties the visible screen; the scrollback goes with clear-history.
        loop {
            let out = self.run_str(&["capture-pane", "-p", "-t", "main"]);
            if String::from_utf8_lossy(&out.stdout).trim() == "$" {
                break;
            }
            assert!(start.elapsed() < WAIT, "the screen was not cleared");
            std::thread::sleep(Duration::from_millis(50));
        }
        self.run_str(&["clear-history", "-t", "main"]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

fn require_tmux() {
    let found = Command::new("tmux").arg("-V").output();
    if !found.is_ok_and(|o| o.status.success()) {
        panic!("tmux is not installed: run scripts/install-test-deps (it installs tmux)");
    }
}

/// A home with a project, config pointing the default model at the fake server, and
/// `cairn` on the PATH of the shell in tmux.
struct World {
    home: TestHome,
    fake: FakeLlm,
    bin_dir: PathBuf,
}

impl World {
    fn new(turns: Vec<Turn>) -> World {
        World::with_config(turns, "")
    }

    /// With more lines of `config.toml` after the model.
    fn with_config(turns: Vec<Turn>, config: &str) -> World {
        let home = TestHome::new();
        home.write_config(&format!("model = \"openai:gpt-4.1\"\n{config}"));
        std::fs::write(
            home.project.join("notes.md"),
            "# Notes\nThe token check lives in src/auth.rs.\n",
        )
        .unwrap();
        let bin_dir = home.dir("bin");
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_cairn"), bin_dir.join("cairn")).unwrap();
        let fake = FakeLlm::start(turns).expect("start the fake LLM");
        World {
            home,
            fake,
            bin_dir,
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".to_owned());
        vec![
            ("PATH", format!("{}:{path}", self.bin_dir.display())),
            ("HOME", self.home.user_home.display().to_string()),
            ("CAIRN_HOME", self.home.cairn_home.display().to_string()),
            ("LANG", "C.UTF-8".to_owned()),
            ("OPENAI_API_KEY", "sk-test-key".to_owned()),
            ("OPENAI_BASE_URL", self.fake.openai_base_url()),
        ]
    }

    fn tmux(&self, test: &str) -> Tmux {
        Tmux::start(test, &self.home.project, &self.env())
    }

    fn tmux_with(&self, test: &str, extra: &[(&'static str, &str)]) -> Tmux {
        let mut env = self.env();
        env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        Tmux::start(test, &self.home.project, &env)
    }

    /// The text of every request body the fake received, oldest first.
    fn request_bodies(&self) -> Vec<String> {
        self.fake
            .requests()
            .iter()
            .map(|r| r.body.to_string())
            .collect()
    }
}

const MARKDOWN_ANSWER: &str = "## The plan\n\nThe check is **missing** in `src/auth.rs`.\n\n- add `check_token`\n- test it\n\n```rust\nfn check_token() {}\n```\nShall I go on?";

/// Day 1 with a tool call and a markdown answer, `/info`, `/list`, `/new` and
/// `/session` switching, Ctrl+D; then `--resume NAME` shows the recap; then
/// `--resume` without a name opens the picker.
#[test]
fn conversation_commands_resume_and_picker() {
    let world = World::new(vec![
        Reply::new()
            .text("Let me read the notes.")
            .tool_call("call_1", "read_file", json!({"path": "notes.md"}))
            .into(),
        Reply::new().text(MARKDOWN_ANSWER).chunk_size(3).into(),
    ]);
    let tmux = world.tmux("day1");

    tmux.type_line("cairn run --name day1");
    tmux.wait_for("New session day1");
    tmux.wait_for("day1 ›");

    tmux.type_line("where is the token check?");
    let screen = tmux.wait_for("Shall I go on?");
    // The tool call in two compact lines.
    assert!(screen.contains("▸ read_file notes.md"), "{screen}");
    assert!(
        screen
            .lines()
            .any(|l| l.starts_with("  ↳ ") && l.contains(" lines, ") && l.ends_with(" B")),
        "{screen}"
    );
    // Markdown rendered: no heading hashes, no emphasis stars, bullets, a framed code block.
    assert!(screen.contains("\nThe plan\n"), "{screen}");
    assert!(
        !screen.contains("## The plan") && !screen.contains("**missing**"),
        "{screen}"
    );
    assert!(screen.contains("• add check_token"), "{screen}");
    assert!(
        screen.contains("┌─ rust\n│ fn check_token() {}\n└─"),
        "{screen}"
    );
    tmux.wait_for_count("day1 ›", 2);

    let mark = tmux.mark();
    tmux.type_line("/info");
    let info = tmux.wait_after(mark, "Compactions");
    assert!(info.contains("Session   day1"), "{info}");
    assert!(info.contains("Model     openai:gpt-4.1"), "{info}");

    let mark = tmux.mark();
    tmux.type_line("/new other");
    tmux.wait_after(mark, "other ›");
    let mark = tmux.mark();
    tmux.type_line("/list");
    let list = tmux.wait_after(mark, "2 in all");
    let marked: Vec<&str> = list.lines().filter(|l| l.starts_with("* ")).collect();
    assert_eq!(marked.len(), 1, "{list}");
    assert!(marked[0].contains("other"), "{list}");
    assert!(
        list.lines()
            .any(|l| l.starts_with("  ") && l.contains("day1")),
        "{list}"
    );

    let mark = tmux.mark();
    tmux.type_line("/session day1");
    let switched = tmux.wait_after(mark, "Resumed day1");
    assert!(
        switched.contains("you: where is the token check?"),
        "{switched}"
    );
    tmux.wait_after(mark, "day1 ›");

    let mark = tmux.mark();
    tmux.press("C-d");
    let bye = tmux.wait_after(mark, "Resume it with: cairn run --resume day1");
    assert!(bye.contains("Session day1 is saved."), "{bye}");
    tmux.wait_for_shell();

    // Day 2: resume by name, see the recap.
    tmux.clear();
    tmux.type_line("cairn run --resume day1");
    tmux.wait_for("Resumed day1");
    let recap = tmux.wait_until("the recap's last exchange", |s| s.contains("assistant:"));
    assert!(recap.contains("you: where is the token check?"), "{recap}");
    assert!(recap.contains("assistant: ## The plan"), "{recap}");
    assert!(recap.contains("messages ·"), "{recap}");
    tmux.type_line("/exit");
    tmux.wait_for("Session day1 is saved.");
    tmux.wait_for_shell();

    // No name: the picker lists both sessions, newest first; choose day1 with the arrows.
    tmux.clear();
    tmux.type_line("cairn run --resume");
    tmux.wait_for("Resume which session?");
    let picker = tmux.wait_until("both rows", |s| s.contains("day1") && s.contains("other"));
    let rows: Vec<&str> = picker
        .lines()
        .filter(|l| l.contains("day1") || l.contains("other"))
        .collect();
    assert_eq!(rows.len(), 2, "{picker}");
    assert!(
        rows[0].starts_with("› 1"),
        "the first row starts selected: {picker}"
    );
    let day1_row = rows.iter().position(|r| r.contains("day1")).unwrap();
    for _ in 0..day1_row {
        tmux.press("Down");
    }
    tmux.wait_until("day1 selected", |s| {
        s.lines().any(|l| l.starts_with('›') && l.contains("day1"))
    });
    tmux.press("Enter");
    tmux.wait_for("Resumed day1");
    tmux.wait_for("day1 ›");
    tmux.press("C-d");
    tmux.wait_for("Session day1 is saved.");

    // And by number: type the row of `other`.
    tmux.clear();
    tmux.type_line("cairn run --resume");
    tmux.wait_for("Resume which session?");
    let picker = tmux.wait_until("both rows", |s| s.contains("day1") && s.contains("other"));
    let other_number = picker
        .lines()
        .filter(|l| l.contains("day1") || l.contains("other"))
        .position(|l| l.contains("other"))
        .unwrap()
        + 1;
    tmux.type_text(&other_number.to_string());
    tmux.press("Enter");
    tmux.wait_for("other ›");
    tmux.press("C-d");
    tmux.wait_for("Session other is saved.");

    // Exactly the two scripted requests were made, and the second carried the tool result.
    assert_eq!(world.fake.remaining(), 0);
    let requests = world.fake.requests();
    assert_eq!(requests.len(), 2);
    let second = requests[1].body.to_string();
    assert!(
        second.contains("The token check lives in src/auth.rs."),
        "{second}"
    );
}

/// Ctrl+C during a streamed answer interrupts it and keeps the session usable;
/// Ctrl+C at the prompt only clears the line; Tab completes commands and names.
#[test]
fn ctrl_c_interrupts_and_tab_completes() {
    let slow = "word ".repeat(400);
    let world = World::new(vec![
        Reply::new()
            .text(format!("Starting a long answer. {slow}"))
            .chunk_size(5)
            .chunk_delay_ms(50)
            .into(),
        Turn::text("Second answer arrived."),
        // The summary /summarize waits for: it would take ten seconds.
        Reply::new()
            .text("{\"goal\": \"never used\"}")
            .headers_delay_ms(10_000)
            .into(),
    ]);
    let tmux = world.tmux("ctrlc");
    tmux.type_line("cairn run --name chat");
    tmux.wait_for("chat ›");

    tmux.type_line("tell me a long story");
    tmux.wait_for("Starting a long answer.");
    tmux.press("C-c");
    tmux.wait_for("[interrupted");
    tmux.wait_for_count("chat ›", 2);
    let screen = tmux.screen();
    assert!(
        screen.matches("word").count() < 400,
        "the stream went on: {screen}"
    );

    // The session goes on after the interruption.
    tmux.type_line("and now?");
    tmux.wait_for("Second answer arrived.");
    tmux.wait_for_count("chat ›", 3);

    // Ctrl+C at the prompt drops the typed line: nothing is sent.
    tmux.type_text("never sent");
    tmux.press("C-c");
    tmux.wait_for_count("chat ›", 4);
    tmux.press("Enter");
    tmux.wait_for_count("chat ›", 5);
    assert_eq!(
        world.fake.requests().len(),
        2,
        "a cleared line must not be sent"
    );

    // Ctrl+C while /summarize waits for its summary: stopped at once, nothing changed.
    tmux.type_line("/summarize");
    tmux.wait_for("compressing the context (/summarize)");
    tmux.press("C-c");
    tmux.wait_for("/summarize was interrupted before the summary arrived; nothing");
    tmux.wait_for_count("chat ›", 6);
    assert_eq!(world.fake.requests().len(), 3);

    // Tab completes a command, then a session name.
    tmux.type_text("/ne");
    tmux.press("Tab");
    tmux.wait_for("› /new");
    tmux.type_line("day-two");
    tmux.wait_for("day-two ›");
    tmux.type_text("/session ch");
    tmux.press("Tab");
    tmux.wait_for("› /session chat");
    tmux.press("Enter");
    tmux.wait_for("Resumed chat");
    tmux.wait_until("the chat prompt again", |s| {
        s.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| l.starts_with("chat ›"))
    });
    // Model names come from the price table.
    tmux.type_text("/model openai:gpt-4.1-na");
    tmux.press("Tab");
    tmux.wait_for("chat › /model openai:gpt-4.1-nano");
    tmux.press("C-c");
    // Ctrl+D only leaves from an empty line: wait until the cleared prompt is drawn.
    tmux.wait_until("a cleared chat prompt", |s| {
        s.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| l.starts_with("chat ›") && !l.contains("/model"))
    });
    tmux.press("C-d");
    tmux.wait_for("Session chat is saved.");
}

/// With NO_COLOR not one escape code reaches the screen from cairn's output; with
/// stdout redirected to a file the file holds plain text and no spinner.
#[test]
fn no_color_and_stdout_not_a_terminal() {
    let world = World::new(vec![
        Reply::new()
            .text("**Bold** and `code`.\n\n```sh\nls\n```")
            .headers_delay_ms(600)
            .into(),
        Reply::new().text("# Piped\n\nplain *text*").into(),
    ]);
    let tmux = world.tmux_with("nocolor", &[("NO_COLOR", "1")]);
    tmux.type_line("cairn run --name plain");
    tmux.wait_for("plain ›");
    tmux.type_line("show me");
    tmux.wait_for("Bold and `code`.");
    tmux.wait_for("└─");
    tmux.wait_for_count("plain ›", 2);
    let styled = tmux.screen_with_escapes();
    let answer_start = styled.find("Bold and").unwrap();
    let answer = &styled[answer_start..styled.rfind("└─").unwrap()];
    assert!(
        !answer.contains('\x1b'),
        "NO_COLOR output carries escape codes: {answer:?}"
    );
    tmux.press("C-d");
    tmux.wait_for("is saved.");

    // stdout to a file, the prompt still on the terminal (stderr).
    tmux.clear();
    tmux.type_line("cairn run --name piped > out.txt");
    // No line editor without a terminal on stdout: a plain prompt on stderr.
    tmux.wait_for("piped [openai:gpt-4.1] ›");
    tmux.type_line("pipe it");
    tmux.wait_until("the answer in the file", |_| {
        std::fs::read_to_string(world.home.project.join("out.txt"))
            .is_ok_and(|t| t.contains("plain text"))
    });
    // The prompt again before Ctrl+D: typed while the turn still ends, it is lost.
    tmux.wait_for_count("piped [openai:gpt-4.1] ›", 2);
    tmux.press("C-d");
    tmux.wait_for_shell();
    let file = std::fs::read_to_string(world.home.project.join("out.txt")).unwrap();
    assert!(!file.contains('\x1b'), "{file:?}");
    assert!(
        !file.contains('\r') && !file.contains('⠋'),
        "spinner in a file: {file:?}"
    );
    assert!(file.contains("Piped\n=====\n\nplain text\n"), "{file:?}");
}

/// The engine's yes/no questions are asked inline and answered with one key: shell
/// approval (y runs it, n refuses it) and the spending limit (n stops before any
/// request, y goes on).
#[test]
fn questions_are_asked_inline() {
    let expensive = FakeUsage {
        input: 100_000,
        output: 10,
        ..FakeUsage::default()
    };
    let world = World::with_config(
        vec![
            Reply::new()
                .tool_call(
                    "call_1",
                    "shell",
                    json!({"command": "echo hello-from-shell"}),
                )
                .into(),
            Reply::new()
                .tool_call("call_2", "shell", json!({"command": "echo never-run"}))
                .into(),
            Reply::new().text("Shell done.").usage(expensive).into(),
            Turn::text("After the limit."),
        ],
        "max_session_spending_threshold = 0.01\n",
    );
    let tmux = world.tmux("questions");
    tmux.type_line("cairn run --name asks");
    tmux.wait_for("asks ›");

    tmux.type_line("run something");
    tmux.wait_for("$ echo hello-from-shell");
    tmux.wait_for("Run it? [y/N]");
    tmux.type_text("y");
    tmux.wait_for("Run it? [y/N] yes");
    tmux.wait_for("$ echo never-run");
    tmux.wait_for_count("Run it? [y/N]", 2);
    tmux.type_text("n");
    tmux.wait_for("Run it? [y/N] no");
    let screen = tmux.wait_for("Shell done.");
    assert!(screen.contains("▸ shell echo hello-from-shell"), "{screen}");
    assert!(screen.contains("↳ error: refused"), "{screen}");
    tmux.wait_for_count("asks ›", 2);

    let bodies = world.request_bodies();
    assert_eq!(bodies.len(), 3);
    assert!(bodies[1].contains("hello-from-shell\\n"), "{}", bodies[1]);
    assert!(bodies[2].contains("refused"), "{}", bodies[2]);

    // $0.20 spent against a $0.01 limit: asked before the next request.
    let mark = tmux.mark();
    tmux.type_line("more");
    tmux.wait_after(mark, "Spending limit reached");
    tmux.wait_after(mark, "[y/N]");
    tmux.type_text("n");
    tmux.wait_after(mark, "[y/N] no");
    tmux.wait_after(mark, "asks ›");
    assert_eq!(world.fake.requests().len(), 3, "declined: nothing sent");

    let mark = tmux.mark();
    tmux.type_line("more, please");
    tmux.wait_after(mark, "[y/N]");
    tmux.type_text("y");
    tmux.wait_after(mark, "After the limit.");
    assert_eq!(world.fake.requests().len(), 4);
    tmux.wait_until("a fresh asks prompt", |s| {
        s.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| l.starts_with("asks ›") && !l.contains("more"))
    });
    tmux.press("C-d");
    tmux.wait_for("Session asks is saved.");
}

/// A pasted block stays one message; history is kept per project: Up recalls the
/// last line in the same project, and nothing in another one.
#[test]
fn paste_and_history_per_project() {
    let world = World::new(vec![Turn::text("Got both lines.")]);
    let tmux = world.tmux("paste");
    tmux.type_line("cairn run --name pasted");
    tmux.wait_for("pasted ›");

    tmux.run_str(&[
        "set-buffer",
        "-b",
        "block",
        "first pasted line\nsecond pasted line",
    ]);
    tmux.run_str(&["paste-buffer", "-p", "-b", "block", "-t", "main"]);
    tmux.wait_for("second pasted line");
    assert_eq!(world.fake.requests().len(), 0, "a paste must not submit");
    tmux.press("Enter");
    tmux.wait_for("Got both lines.");
    let bodies = world.request_bodies();
    assert_eq!(bodies.len(), 1);
    assert!(
        bodies[0].contains("first pasted line\\nsecond pasted line"),
        "{}",
        bodies[0]
    );
    tmux.type_line("/exit");
    tmux.wait_for("Session pasted is saved.");

    // Same project: Up brings back the last line typed (/exit).
    tmux.clear();
    tmux.type_line("cairn run --name pasted");
    tmux.wait_for("pasted ›");
    tmux.press("Up");
    tmux.wait_for("pasted › /exit");
    tmux.press("Enter");
    tmux.wait_for("Session pasted is saved.");

    // Another project: its own, empty history.
    tmux.clear();
    let elsewhere = world.home.dir("elsewhere");
    tmux.type_line(&format!(
        "cd {} && cairn run --name far",
        elsewhere.display()
    ));
    tmux.wait_for("far ›");
    tmux.press("Up");
    tmux.type_text("!");
    tmux.wait_for("far › !");
    tmux.press("C-c");
    // Ctrl+D only leaves from an empty line: wait until the cleared prompt is drawn.
    tmux.wait_until("a cleared far prompt", |s| {
        s.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| l.starts_with("far ›") && !l.contains('!'))
    });
    tmux.press("C-d");
    tmux.wait_for("Session far is saved.");
    let histories = std::fs::read_dir(world.home.cairn_home.join("history"))
        .unwrap()
        .count();
    assert_eq!(histories, 2, "one history file per project");
}

#[test]
fn agents_of_one_answer_show_a_line_each_and_ctrl_c_stops_them_all() {
    let slow = || -> Turn {
        Reply::new()
            .text("a report that streams slowly ".repeat(200))
            .chunk_size(4)
            .chunk_delay_ms(50)
            .into()
    };
    let world = World::new(vec![
        Reply::new()
            .tool_call(
                "g1",
                "agent_context_gatherer",
                json!({"task": "analyze test coverage for src/auth/"}),
            )
            .tool_call("g2", "delegate", json!({"task": "find the token check"}))
            .into(),
        slow(),
        slow(),
        Turn::text("Back after the interruption."),
    ]);
    let tmux = world.tmux("agents");
    tmux.type_line("cairn run --name par");
    tmux.wait_for("par ›");
    tmux.type_line("Use the context_gatherer agent to analyze test coverage for src/auth/");
    tmux.wait_for("agent context_gatherer par-sub-1");
    tmux.wait_for("sub-agent par-sub-2");
    // Both are streaming at the fake before the key is pressed.
    let started = Instant::now();
    while world.fake.requests().len() < 3 {
        assert!(started.elapsed() < WAIT, "the agents did not both start");
        std::thread::sleep(Duration::from_millis(20));
    }
    tmux.press("C-c");
    tmux.wait_for("[interrupted");
    tmux.wait_for_count("par ›", 2);
    let screen = tmux.screen();
    assert_eq!(
        screen.matches("stopped (interrupted)").count(),
        2,
        "both agents stop: {screen}"
    );
    assert_eq!(world.fake.requests().len(), 3);
    // The session goes on.
    tmux.type_line("go on");
    tmux.wait_for("Back after the interruption.");
}

/// MCP in the REPL: the project's `.mcp.json` servers are asked about once at the
/// start (y approves them for the project), and a call to an MCP tool outside
/// `allow_tools` is asked like a shell command (y runs it, n refuses it).
#[test]
fn mcp_servers_of_the_project_and_mcp_tool_calls_are_asked_inline() {
    let python = cairn_testkit::external::test_python();
    let tiny = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/python/mcp_client/tiny_server.py");
    let world = World::new(vec![
        Reply::new()
            .tool_call("c1", "mcp__proj__shout", json!({"text": "asked"}))
            .tool_call("c2", "mcp__proj__has_token", json!({}))
            .into(),
        Turn::text("MCP done."),
    ]);
    let file = json!({"mcpServers": {"proj": {
        "command": python.display().to_string(),
        "args": [tiny.display().to_string()],
    }}});
    std::fs::write(world.home.project.join(".mcp.json"), file.to_string()).unwrap();
    let tmux = world.tmux("mcp");
    tmux.type_line("cairn run --name mcpask");
    tmux.wait_for("proposes MCP servers");
    tmux.wait_for("ne[v]er");
    tmux.type_text("y");
    tmux.wait_for("ne[v]er yes");
    tmux.wait_for("mcpask ›");

    tmux.type_line("shout something");
    tmux.wait_for("Call tool shout of MCP server proj?");
    tmux.type_text("y");
    tmux.wait_for("Call tool has_token of MCP server proj?");
    tmux.type_text("n");
    let screen = tmux.wait_for("MCP done.");
    assert!(screen.contains("↳ error: refused"), "{screen}");
    let bodies = world.request_bodies();
    assert_eq!(bodies.len(), 2);
    assert!(bodies[0].contains("mcp__proj__shout"), "{}", bodies[0]);
    assert!(bodies[1].contains("ASKED!"), "{}", bodies[1]);
    assert!(
        bodies[1].contains("refused: the user declined"),
        "{}",
        bodies[1]
    );
    // The prompt again: Ctrl+D typed while the turn still ends is lost (seen under load).
    tmux.wait_for_count("mcpask ›", 2);
    tmux.press("C-d");
    tmux.wait_for("Session mcpask is saved.");

    // Approved once for the project: the next session does not ask.
    tmux.clear();
    tmux.type_line("cairn mcp-servers list");
    let screen = tmux.wait_for("(.mcp.json, approved)");
    assert!(!screen.contains("proposes"), "{screen}");
}
