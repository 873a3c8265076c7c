//! A shell script written against Tyk's documented requests and responses runs unchanged.

use crate::helpers::*;

async fn tyk_documented_script_passes(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Itachi").await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tyk-script.sh");
    let out = tokio::process::Command::new("bash").arg(script).arg(&app.base).arg(&c.cred).output().await.unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "script failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("all checks passed"));
}

crate::on_both_databases!(tyk_documented_script_passes);
