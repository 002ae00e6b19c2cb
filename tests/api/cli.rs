//! The `herald` command line, run as a real process: configuration layering
//! (defaults < file < HERALD_* env < flags) and the admin commands operators script against.

use std::process::Command;

fn herald(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_herald"));
    cmd.current_dir(dir).env_remove("DATABASE_URL");
    // Every HERALD_* variable is a setting to the binary, including the test harness's own
    // (HERALD_TEST_DATABASE, HERALD_TEST_PG_URL, HERALD_REQUIRE_EXTERNAL): start clean.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("HERALD_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run herald");
    assert!(
        out.status.success(),
        "herald failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn configuration_layers_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("custom.toml");
    std::fs::write(
        &file,
        "mx_port = 26\nrate_limit = 7\ndata_dir = \"from-file\"\n",
    )
    .unwrap();
    let out = run(herald(dir.path())
        .args([
            "--config",
            file.to_str().unwrap(),
            "--data-dir",
            "from-flag",
            "config",
            "check",
        ])
        .env("HERALD_MX_PORT", "2525")
        .env("HERALD_DATA_DIR", "from-env"));
    assert!(out.contains("mx_port = 2525"), "env beats file:\n{out}");
    assert!(
        out.contains("rate_limit = 7"),
        "file beats defaults:\n{out}"
    );
    assert!(
        out.contains("data_dir = \"from-flag\""),
        "flag beats env:\n{out}"
    );
    assert!(
        out.contains("listen = \"127.0.0.1:8080\""),
        "defaults:\n{out}"
    );

    let bad = herald(dir.path())
        .args(["config", "check"])
        .env("HERALD_DNS_SERVER", "nope")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("dns_server"));
}

#[test]
fn example_config_and_help() {
    let dir = tempfile::tempdir().unwrap();
    let example = run(herald(dir.path()).args(["config", "example"]));
    assert!(example.contains("listen = \"127.0.0.1:8080\""));
    let help = run(herald(dir.path()).arg("--help"));
    for command in ["serve", "migrate", "api-keys", "users", "config"] {
        assert!(help.contains(command), "--help lists {command}:\n{help}");
    }
    let serve_help = run(herald(dir.path()).args(["serve", "--help"]));
    for flag in [
        "--listen",
        "--data-dir",
        "--database-url",
        "--relay",
        "--dns-server",
        "--mx-port",
    ] {
        assert!(
            serve_help.contains(flag),
            "serve --help lists {flag}:\n{serve_help}"
        );
    }
}

#[test]
fn admin_commands_print_secrets_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let migrated = run(herald(dir.path()).args(["migrate", "--data-dir", data]));
    assert!(migrated.contains("Migrations applied"));

    // On an empty database the first admin command is the first start: its secrets go to stderr.
    let out = herald(dir.path())
        .args(["api-keys", "create", "--name", "ci", "--data-dir", data])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Dashboard password:"), "{stderr}");
    let key = String::from_utf8(out.stdout).unwrap();
    let token = key.trim();
    assert!(
        token.starts_with("re_") && token.len() == 36,
        "token on a line of its own: {key:?}"
    );
    let sending = run(herald(dir.path()).args([
        "api-keys",
        "create",
        "--name",
        "sender",
        "--permission",
        "sending_access",
        "--data-dir",
        data,
    ]));
    assert!(sending.trim().starts_with("re_"));
    let refused = herald(dir.path())
        .args([
            "api-keys",
            "create",
            "--name",
            "x",
            "--permission",
            "root",
            "--data-dir",
            data,
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());

    let user = run(herald(dir.path()).args([
        "users",
        "create",
        "--email",
        "ann@example.com",
        "--data-dir",
        data,
    ]));
    assert!(
        user.contains("Created member user ann@example.com"),
        "{user}"
    );
    assert!(user.contains("Password (shown once):"), "{user}");
}
