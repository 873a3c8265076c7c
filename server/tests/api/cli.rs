//! The `portcullis` binary itself: configuration mistakes are reported with what to fix, and
//! the user-management commands work against the same database the server uses.

use crate::helpers::*;
use reqwest::StatusCode;
use std::process::{Command, Output};

fn portcullis(args: &[&str], data_dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .env_remove("PORTCULLIS_DATABASE_URL")
        .env("PORTCULLIS_DATA_DIR", data_dir)
        .env("PORTCULLIS_BCRYPT_COST", "4")
        .output()
        .expect("the binary runs")
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("portcullis-cli-{name}-{}", server::secrets::random_hex(4)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn bad_database_url_says_what_to_use_and_hides_the_password() {
    let out = portcullis(&["migrate", "--database-url", "mysql://root:hunter2@localhost/db"], &temp_dir("url"));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("sqlite://PATH or postgres://"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn unwritable_data_folder_is_named() {
    let out = portcullis(&["migrate", "--data-dir", "/proc/portcullis-cannot-be-here"], &temp_dir("ro"));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("/proc/portcullis-cannot-be-here") && err.contains("PORTCULLIS_DATA_DIR"), "{err}");
}

#[test]
fn address_in_use_is_reported() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = portcullis(&["serve", "--listen", &addr, "--gateway-listen", "127.0.0.1:0"], &temp_dir("inuse"));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains(&format!("cannot listen on {addr} (PORTCULLIS_LISTEN)")), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_and_user_create_print_what_is_needed() {
    let dir = temp_dir("users");
    let out = portcullis(&["org", "create", "--name", "Acme"], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    let org = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(org.len(), 24);

    let out = portcullis(&["user", "create", "--org", &org, "--email", "ops@acme.test", "--password", "a long password"], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let credential = stdout.lines().find_map(|l| l.strip_prefix("REST API credential (shown once): ")).unwrap();

    let out = portcullis(&["user", "create", "--org", "nope", "--email", "x@acme.test"], &dir);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("Organisation 'nope' does not exist"), "{}", stderr(&out));

    // The server on the same database accepts the printed credential.
    let url = format!("sqlite://{}", dir.join("portcullis.db").display());
    let app = server::startup::Application::build(test_config(url)).await.unwrap();
    let base = format!("http://{}", app.api_addr());
    tokio::spawn(app.run(std::future::pending()));
    let me = reqwest::Client::new()
        .get(format!("{base}/api/users/me"))
        .header("Authorization", credential)
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(me, StatusCode::OK).await["email_address"], "ops@acme.test");
    let _ = std::fs::remove_dir_all(dir);
}
