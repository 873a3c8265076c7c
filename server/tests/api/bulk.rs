//! Many keys at once: `POST /api/keys/bulk` (JSON lines in, one answer per line out),
//! `GET /api/keys/export`, and `portcullis keys import | export` on the same service.

use crate::helpers::*;
use crate::on_both_databases;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Posts `body` (JSON lines) to the bulk endpoint; returns the status and the answer's lines.
async fn bulk(app: &TestApp, c: &Caller, query: &str, body: String) -> (StatusCode, Vec<Value>) {
    let resp = app
        .client
        .post(app.url(&format!("/api/keys/bulk{query}")))
        .header("Authorization", &c.cred)
        .header("Content-Type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    if status != StatusCode::OK {
        return (status, vec![serde_json::from_str(&text).unwrap_or(Value::String(text))]);
    }
    let lines = text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"))).collect();
    (status, lines)
}

fn jsonl(lines: &[Value]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

async fn export(app: &TestApp, c: &Caller) -> Vec<Value> {
    let resp = app.get(c, "/api/keys/export").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/x-ndjson");
    resp.text().await.unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The answer lines by line number, and the summary.
fn answers(lines: &[Value]) -> (BTreeMap<u64, Value>, Value) {
    let (summary, rest) = lines.split_last().expect("a summary line");
    let by_line = rest.iter().map(|l| (l["line"].as_u64().unwrap_or_else(|| panic!("{l}")), l.clone())).collect();
    (by_line, summary["summary"].clone())
}

async fn key_count(app: &TestApp, c: &Caller) -> usize {
    let keys = json_of(app.get(c, "/api/apis/keys?p=-1").await, StatusCode::OK).await;
    keys["data"]["keys"].as_array().unwrap().len()
}

async fn bad_lines_are_reported_and_good_ones_stored(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let api = app.create_api(&c, "Orders", "/orders/").await;
    let other = app.caller("Other").await;
    let theirs = app.create_api(&other, "Theirs", "/theirs/").await;

    let body = [
        json!({ "alias": "first", "rate": 5, "per": 1, "access_rights": rights(&api, "v1"), "tags": ["bulk"] }).to_string(),
        "{not json".to_owned(),
        String::new(),
        json!({ "rate": "fast", "access_rights": rights(&api, "v1") }).to_string(),
        json!({ "alias": "theirs", "access_rights": rights(&theirs, "v1") }).to_string(),
        json!({ "alias": "second", "rate": 7, "per": 1, "access_rights": rights(&api, "v2"), "hmac_enabled": true }).to_string(),
        json!({ "key_hash": "not-a-hash", "access_rights": rights(&api, "v1") }).to_string(),
        "[1, 2]".to_owned(),
    ]
    .join("\n");
    let (status, lines) = bulk(&app, &c, "", body).await;
    assert_eq!(status, StatusCode::OK);
    let (by_line, summary) = answers(&lines);
    assert_eq!(summary, json!({ "lines": 7, "created": 2, "failed": 5, "committed": true }));
    assert_eq!(by_line.keys().copied().collect::<Vec<_>>(), vec![1, 2, 4, 5, 6, 7, 8], "every non-blank line, in order");

    assert!(by_line[&2]["error"]["message"].as_str().unwrap().starts_with("not JSON"), "{}", by_line[&2]);
    assert_eq!(by_line[&4]["error"]["field"], "rate", "{}", by_line[&4]);
    assert_eq!(by_line[&5]["error"]["field"], "access_rights");
    assert!(by_line[&5]["error"]["message"].as_str().unwrap().contains("does not exist in your organisation"));
    assert_eq!(by_line[&7]["error"]["field"], "key_hash");
    assert_eq!(by_line[&8]["error"]["message"], "each line must be a JSON object");

    // The good lines are keys, shown in clear this once, that work like any other.
    for (line, alias) in [(1, "first"), (6, "second")] {
        let key = &by_line[&line]["key"];
        let key_id = key["key_id"].as_str().unwrap();
        assert!(key_id.starts_with(&c.org), "{key}");
        assert_eq!(key["data"]["alias"], alias);
        let got = json_of(app.get(&c, &format!("/api/keys/{key_id}")).await, StatusCode::OK).await;
        assert_eq!(got["key_hash"], key["key_hash"]);
        assert_eq!(got["data"]["alias"], alias);
    }
    // An HMAC key's secret is in its answer, as when it is created alone.
    assert_eq!(by_line[&6]["key"]["data"]["hmac_string"].as_str().unwrap().len(), 44);
    let tagged = json_of(app.get(&c, "/api/apis/keys?tag=bulk").await, StatusCode::OK).await;
    assert_eq!(tagged["data"]["keys"], json!([by_line[&1]["key"]["key_hash"]]), "the side tables are written");
    assert_eq!(key_count(&app, &c).await, 2);
    assert_eq!(key_count(&app, &other).await, 0);
    // Each key created is in the audit trail, as when created alone.
    let log = json_of(app.get(&c, "/api/audit").await, StatusCode::OK).await;
    let created = log["Data"].as_array().unwrap().iter().filter(|e| e["object_type"] == "key" && e["action"] == "created").count();
    assert_eq!(created, 2);
}

async fn a_hash_is_stored_once(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let api = app.create_api(&c, "Orders", "/orders/").await;
    let hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"; // sha256("test")
    let line = json!({ "key_hash": hash, "alias": "imported", "access_rights": rights(&api, "v1") });
    let (_, lines) = bulk(&app, &c, "", jsonl(&[line.clone(), line.clone()])).await;
    let (by_line, summary) = answers(&lines);
    assert_eq!(summary["created"], 1);
    assert_eq!(by_line[&1]["key"]["key_hash"], hash);
    assert_eq!(by_line[&1]["key"]["key_id"], hash, "a key stored by its hash has no id in clear");
    assert_eq!(by_line[&2]["error"]["field"], "key_hash");
    // Again in another request, and from another organisation: it exists already.
    let other = app.caller("Other").await;
    let theirs = app.create_api(&other, "Theirs", "/theirs/").await;
    let (_, lines) = bulk(&app, &other, "", jsonl(&[json!({ "key_hash": hash, "access_rights": rights(&theirs, "v1") })])).await;
    let (by_line, summary) = answers(&lines);
    assert_eq!(summary["created"], 0);
    assert_eq!(by_line[&1]["error"], json!({ "field": "key_hash", "message": "a key with this hash exists already" }));
    // The key it stands for works: its clear form is "test".
    let got = json_of(app.get(&c, "/api/keys/test").await, StatusCode::OK).await;
    assert_eq!(got["data"]["alias"], "imported");
}

async fn atomic_stores_nothing_when_a_line_fails(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let api = app.create_api(&c, "Orders", "/orders/").await;
    let good = |alias: &str| json!({ "alias": alias, "access_rights": rights(&api, "v1") });

    let (_, lines) = bulk(&app, &c, "?atomic=true", jsonl(&[good("a"), json!({ "rate": "x" }), good("b")])).await;
    let (by_line, summary) = answers(&lines);
    assert_eq!(summary, json!({ "lines": 3, "created": 0, "failed": 1, "committed": false }));
    assert_eq!(by_line.len(), 1, "only the bad line is answered: no key was made {by_line:?}");
    assert_eq!(by_line[&2]["error"]["field"], "rate");
    assert_eq!(key_count(&app, &c).await, 0);

    // A hash that exists fails the request too.
    let hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let (_, lines) = bulk(&app, &c, "", jsonl(&[json!({ "key_hash": hash, "access_rights": rights(&api, "v1") })])).await;
    assert_eq!(answers(&lines).1["created"], 1);
    let (_, lines) = bulk(&app, &c, "?atomic=1", jsonl(&[good("c"), json!({ "key_hash": hash, "access_rights": rights(&api, "v1") })])).await;
    assert_eq!(answers(&lines).1["committed"], false);
    assert_eq!(key_count(&app, &c).await, 1);

    let (_, lines) = bulk(&app, &c, "?atomic=true", jsonl(&[good("a"), good("b")])).await;
    let (by_line, summary) = answers(&lines);
    assert_eq!(summary, json!({ "lines": 2, "created": 2, "failed": 0, "committed": true }));
    assert_eq!(by_line[&2]["key"]["data"]["alias"], "b");
    assert_eq!(key_count(&app, &c).await, 3);
}

/// Lines that share access rights and policies are checked against storage once; each still
/// gets its own policies applied, and a missing one is refused on its line.
async fn policies_apply_to_every_line(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let api = app.create_api(&c, "Orders", "/orders/").await;
    let policy = json!({ "name": "Gold", "rate": 50, "per": 1, "access_rights": rights(&api, "v1"), "tags": ["gold"], "active": true });
    let pol = json_of(app.post(&c, "/api/portal/policies", &policy).await, StatusCode::OK).await["Message"].as_str().unwrap().to_owned();
    let line = |alias: &str, pols: Value| json!({ "alias": alias, "apply_policies": pols, "access_rights": rights(&api, "v1") });
    let body = [line("a", json!([pol])), line("b", json!(["nope"])), line("c", json!([pol])), line("d", json!([pol]))];
    let (_, lines) = bulk(&app, &c, "", jsonl(&body)).await;
    let (by_line, summary) = answers(&lines);
    assert_eq!(summary["created"], 3);
    assert_eq!(by_line[&2]["error"]["field"], "apply_policies");
    for n in [1, 3, 4] {
        assert_eq!(by_line[&n]["key"]["data"]["rate"], 50.0, "{}", by_line[&n]);
        assert_eq!(by_line[&n]["key"]["data"]["tags"], json!(["gold"]));
    }
    let listed = json_of(app.get(&c, &format!("/api/apis/keys?policy={pol}")).await, StatusCode::OK).await;
    assert_eq!(listed["data"]["keys"].as_array().unwrap().len(), 3);
}

/// More lines than a batch: several transactions, answered in order.
async fn many_lines_are_written_in_batches(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let api = app.create_api(&c, "Orders", "/orders/").await;
    let n = 1203;
    let body: Vec<Value> = (0..n).map(|i| json!({ "alias": format!("k{i}"), "tags": [format!("t{}", i % 3)], "access_rights": rights(&api, "v1") })).collect();
    let (_, lines) = bulk(&app, &c, "", jsonl(&body)).await;
    let (by_line, summary) = answers(&lines);
    assert_eq!(summary["created"], n);
    assert_eq!(by_line.keys().copied().collect::<Vec<_>>(), (1..=n as u64).collect::<Vec<_>>());
    assert_eq!(by_line[&1000]["key"]["data"]["alias"], "k999");
    assert_eq!(key_count(&app, &c).await, n);
    assert_eq!(export(&app, &c).await.len(), n, "the export pages through them all");
}

async fn export_then_import_gives_the_same_keys(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let api = json!({ "api_id": "orders-api", "name": "Orders",
        "proxy": { "listen_path": "/orders/", "target_url": "http://127.0.0.1:9", "strip_listen_path": true },
        "version_data": { "not_versioned": true } });
    json_of(app.post(&c, "/api/apis", &json!({ "api_definition": api.clone() })).await, StatusCode::OK).await;
    let all = json!({ "orders-api": { "api_id": "orders-api", "versions": ["Default"] } });
    let mut keys = Vec::new();
    for i in 0..5 {
        let body = json!({ "alias": format!("k{i}"), "rate": 10 + i, "per": 1, "quota_max": 100, "quota_renewal_rate": 3600,
                           "tags": ["t", format!("t{i}")], "meta_data": { "n": i }, "access_rights": all, "hmac_enabled": i == 0 });
        keys.push(app.create_key(&c, body).await);
    }
    let custom = json_of(app.post(&c, "/api/keys/my-custom-key", &json!({ "alias": "custom", "access_rights": all })).await, StatusCode::OK).await;
    // A basic-auth user is not exported: it cannot be re-created without its password.
    let basic = json!({ "basic_auth_data": { "user": "ann", "password": "a-secret-pw" }, "access_rights": all });
    json_of(app.post(&c, "/api/keys?basic_auth=true", &basic).await, StatusCode::OK).await;

    let exported = export(&app, &c).await;
    assert_eq!(exported.len(), 6);
    let text = Value::Array(exported.clone()).to_string();
    assert!(!text.contains("a-secret-pw") && !text.contains("$2"), "no password, not even its hash");
    let hmac = keys[0]["data"]["hmac_string"].as_str().unwrap();
    assert!(!text.contains(hmac), "no HMAC secret");
    assert!(exported.iter().all(|k| k["hmac_string"] == ""), "{text}");

    // Another organisation's user exports only its own keys (none) and cannot read these.
    let other = app.caller("Other").await;
    assert!(export(&app, &other).await.is_empty());
    let hash = keys[1]["key_hash"].as_str().unwrap();
    assert_ne!(app.get(&other, &format!("/api/keys/{hash}?hashed=true")).await.status(), StatusCode::OK);

    // Into an empty organisation of another installation, with the same API.
    let Some(target) = spawn_app(db).await else { return };
    let t = target.caller("Acme").await;
    json_of(target.post(&t, "/api/apis", &json!({ "api_definition": api })).await, StatusCode::OK).await;
    let (_, lines) = bulk(&target, &t, "?atomic=true", jsonl(&exported)).await;
    assert_eq!(answers(&lines).1, json!({ "lines": 6, "created": 6, "failed": 0, "committed": true }));

    // The same keys: same hashes, same settings (times of creation aside).
    let comparable = |lines: Vec<Value>| -> BTreeMap<String, Value> {
        lines
            .into_iter()
            .map(|mut k| {
                let o = k.as_object_mut().unwrap();
                for stamped in ["date_created", "last_updated", "quota_renews", "org_id"] {
                    o.remove(stamped);
                }
                (o["key_hash"].as_str().unwrap().to_owned(), k)
            })
            .collect()
    };
    let before = comparable(exported);
    let after = comparable(export(&target, &t).await);
    assert_eq!(before, after);
    // The keys themselves still work: a client's key is found by its clear form.
    let key_id = keys[2]["key_id"].as_str().unwrap();
    let got = json_of(target.get(&t, &format!("/api/keys/{key_id}")).await, StatusCode::OK).await;
    assert_eq!(got["data"]["alias"], "k2");
    assert_eq!(got["data"]["tags"], json!(["t", "t2"]));
    let custom_id = custom["key_id"].as_str().unwrap();
    assert_eq!(json_of(target.get(&t, &format!("/api/keys/{custom_id}")).await, StatusCode::OK).await["data"]["alias"], "custom");
    // An HMAC key gets a new secret on import (the old one was never exported).
    let hmac_line = lines.iter().find(|l| l["key"]["key_hash"] == keys[0]["key_hash"]).unwrap();
    let new_secret = hmac_line["key"]["data"]["hmac_string"].as_str().unwrap();
    assert_eq!(new_secret.len(), 44);
    assert_ne!(new_secret, hmac);
}

async fn bulk_and_export_need_the_keys_permission(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let admin = app.caller("Acme").await;
    let body = json!({ "email_address": "reader@acme.test", "password": "a long password", "user_permissions": { "keys": "read" } });
    let reply = json_of(app.post(&admin, "/api/users", &body).await, StatusCode::OK).await;
    let reader = Caller { org: admin.org.clone(), cred: reply["Meta"]["access_key"].as_str().unwrap().to_owned() };
    let (status, lines) = bulk(&app, &reader, "", "{}\n".into()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{lines:?}");
    assert_eq!(app.get(&reader, "/api/keys/export").await.status(), StatusCode::OK, "reading keys is enough to export");
    let body = json!({ "email_address": "apis@acme.test", "password": "a long password", "user_permissions": { "apis": "write" } });
    let reply = json_of(app.post(&admin, "/api/users", &body).await, StatusCode::OK).await;
    let apis_only = Caller { org: admin.org.clone(), cred: reply["Meta"]["access_key"].as_str().unwrap().to_owned() };
    assert_eq!(app.get(&apis_only, "/api/keys/export").await.status(), StatusCode::FORBIDDEN);
    // Without a credential: 401 in the Dashboard envelope.
    let resp = app.client.get(app.url("/api/keys/export")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

async fn an_oversized_body_gets_413(db: Db) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    // Refused by its declared length, before a byte of it is read.
    let mut conn = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://")).await.unwrap();
    let head = format!(
        "POST /api/keys/bulk HTTP/1.1\r\nHost: localhost\r\nAuthorization: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        c.cred,
        64 * 1024 * 1024 + 1
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("a bulk request takes at most 67108864 bytes"), "{answer}");
    // A chunked body has no length to refuse it by: it is read until it passes the limit, and
    // the answer's summary says where it stopped.
    let mut conn = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://")).await.unwrap();
    let head = format!(
        "POST /api/keys/bulk?atomic=1 HTTP/1.1\r\nHost: localhost\r\nAuthorization: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        c.cred
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let (mut read, mut write) = conn.into_split();
    let writer = tokio::spawn(async move {
        let chunk = vec![b'x'; 1024 * 1024];
        for _ in 0..66 {
            // The server stops reading once past the limit: a failed write is expected then.
            if write.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await.is_err()
                || write.write_all(&chunk).await.is_err()
                || write.write_all(b"\r\n").await.is_err()
            {
                return;
            }
        }
        let _ = write.write_all(b"0\r\n\r\n").await;
    });
    let mut answer = Vec::new();
    let _ = read.read_to_end(&mut answer).await;
    writer.abort();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{}", &answer[..answer.len().min(300)]);
    assert!(answer.contains(r#""committed":false,"error":"the body is larger than 67108864 bytes; split the file""#), "{answer}");

    // 64 MiB is the bulk limit, not the 1 MiB of other requests: 2 MiB is taken.
    let api = app.create_api(&c, "Orders", "/orders/").await;
    let line = json!({ "alias": "x".repeat(200), "access_rights": rights(&api, "v1"), "meta_data": { "pad": "p".repeat(2000) } });
    let body = jsonl(&vec![line; 1000]);
    assert!(body.len() > 2 * 1024 * 1024);
    let (status, lines) = bulk(&app, &c, "", body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answers(&lines).1["created"], 1000);
}

on_both_databases!(
    bad_lines_are_reported_and_good_ones_stored,
    a_hash_is_stored_once,
    policies_apply_to_every_line,
    atomic_stores_nothing_when_a_line_fails,
    many_lines_are_written_in_batches,
    export_then_import_gives_the_same_keys,
    bulk_and_export_need_the_keys_permission,
    an_oversized_body_gets_413,
);

// ---- the command line ----

fn portcullis(args: &[&str], data_dir: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .env_remove("PORTCULLIS_DATABASE_URL")
        .env("PORTCULLIS_DATA_DIR", data_dir)
        .env("PORTCULLIS_BCRYPT_COST", "4")
        .output()
        .expect("the binary runs")
}

#[test]
fn cli_import_reports_bad_lines_and_export_prints_the_keys() {
    let dir = std::env::temp_dir().join(format!("portcullis-cli-bulk-{}", server::secrets::random_hex(4)));
    std::fs::create_dir_all(&dir).unwrap();
    let out = portcullis(&["org", "create", "--name", "Acme"], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let org = String::from_utf8(out.stdout).unwrap().trim().to_owned();

    let file = dir.join("keys.jsonl");
    let hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    std::fs::write(&file, format!("{{\"alias\":\"one\"}}\n{{\"rate\":\"fast\"}}\n\n{{\"alias\":\"two\",\"key_hash\":\"{hash}\"}}\n")).unwrap();
    let out = portcullis(&["keys", "import", file.to_str().unwrap(), "--org", &org], &dir);
    let (stdout, stderr) = (String::from_utf8(out.stdout).unwrap(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(!out.status.success(), "a line failed: {stderr}");
    assert!(stderr.contains("3 lines: 2 keys created, 1 failed"), "{stderr}");
    assert!(stderr.contains("1 of 3 lines failed"), "{stderr}");
    let results: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(results.len(), 3, "{stdout}");
    assert_eq!(results[0]["line"], 1);
    assert!(results[0]["key"]["key_id"].as_str().unwrap().starts_with(&org), "the new key, in clear");
    assert_eq!(results[1]["error"]["field"], "rate");
    assert_eq!(results[2]["line"], 4);
    assert_eq!(results[2]["key"]["key_hash"], hash);

    let out = portcullis(&["keys", "export", "--org", &org], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let exported: Vec<Value> = String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let mut hashes: Vec<&str> = exported.iter().map(|k| k["key_hash"].as_str().unwrap()).collect();
    hashes.sort();
    let mut expected = vec![results[0]["key"]["key_hash"].as_str().unwrap(), hash];
    expected.sort();
    assert_eq!(hashes, expected);

    // A clean file exits with success; an unknown organisation is refused.
    std::fs::write(&file, "{\"alias\":\"three\"}\n").unwrap();
    let out = portcullis(&["keys", "import", file.to_str().unwrap(), "--org", &org], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = portcullis(&["keys", "import", file.to_str().unwrap(), "--org", "nope"], &dir);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("organisation 'nope' does not exist"));
    let _ = std::fs::remove_dir_all(dir);
}
