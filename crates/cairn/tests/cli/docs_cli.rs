//! `cairn completions` and `cairn man`: generated from the binary's own arguments,
//! valid for their shells, and needing neither a project nor a store.

use std::process::Command;

use cairn_testkit::cli::Cairn;
use cairn_testkit::home::TestHome;

fn cairn(home: &TestHome) -> Cairn {
    Cairn::new(env!("CARGO_BIN_EXE_cairn"), home)
}

#[test]
fn bash_completion_is_valid_bash_and_knows_the_subcommands() {
    let home = TestHome::new();
    let out = cairn(&home).run(["completions", "bash"]);
    let script = &out.success().stdout;
    for word in ["sessions", "progress", "--resume-recent", "completions"] {
        assert!(script.contains(word), "no {word} in the bash completion");
    }
    let file = home.write_file("cairn.bash", script.as_bytes());
    let checked = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(!home.store_file().exists(), "completions created the store");
}

#[test]
fn zsh_and_fish_completions_name_the_commands() {
    let home = TestHome::new();
    let zsh = cairn(&home).run(["completions", "zsh"]);
    assert!(
        zsh.success().stdout.starts_with("#compdef cairn"),
        "{}",
        zsh.stdout
    );
    let fish = cairn(&home).run(["completions", "fish"]);
    assert!(
        fish.success().stdout.contains("complete -c cairn"),
        "{}",
        fish.stdout
    );
    cairn(&home)
        .run(["completions", "tcsh"])
        .code(2)
        .stderr_has(&["tcsh", "bash"]);
}

#[test]
fn man_page_is_roff_with_the_subcommands() {
    let home = TestHome::new();
    let out = cairn(&home).run(["man"]);
    let page = &out.success().stdout;
    assert!(page.contains(".TH cairn 1"), "{page}");
    for word in ["SUBCOMMANDS", "sessions", "where", r"\-\-store"] {
        assert!(page.contains(word), "no {word} in the man page");
    }
}
