//! Users' permissions inside an organisation (Tyk's `user_permissions`): each Dashboard API
//! route and each dashboard server function needs its area's read or write right; only admins
//! make admins, reset a colleague's credential or give rights they do not have.

use crate::helpers::*;
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn denied(path: &str) -> Value {
    tyk_error(&format!("access denied: You do not have permission to access {path}"))
}

/// Creates a user of `admin`'s organisation with these permissions (and a password) through
/// `POST /api/users`; returns (user id, the new user as a caller).
async fn member(app: &TestApp, admin: &Caller, email: &str, permissions: Value) -> (String, Caller) {
    let body = json!({ "email_address": email, "first_name": "Member", "last_name": "Of Staff",
                       "password": "a long password", "user_permissions": permissions });
    let reply = json_of(app.post(admin, "/api/users", &body).await, StatusCode::OK).await;
    assert_eq!(reply["Message"], "User and session have been created", "{reply}");
    assert_eq!(reply["Meta"]["user_permissions"], permissions);
    let id = reply["Meta"]["id"].as_str().unwrap().to_owned();
    let cred = reply["Meta"]["access_key"].as_str().unwrap().to_owned();
    (id, Caller { org: admin.org.clone(), cred })
}

async fn read_only_keys_user_cannot_change_keys(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let admin = app.caller("Acme").await;
    let api_id = app.create_api(&admin, "Orders", "/orders/").await;
    let key = app.create_key(&admin, json!({ "access_rights": rights(&api_id, "v1"), "alias": "kept" })).await;
    let key_id = key["key_id"].as_str().unwrap().to_owned();
    let (_, reader) = member(&app, &admin, "reader@example.org", json!({ "keys": "read" })).await;

    // Reads pass.
    let got = json_of(app.get(&reader, &format!("/api/keys/{key_id}")).await, StatusCode::OK).await;
    assert_eq!(got["data"]["alias"], "kept");
    json_of(app.get(&reader, "/api/apis/keys").await, StatusCode::OK).await;
    // Writes are refused with Tyk's 403, and change nothing.
    let body = json!({ "access_rights": rights(&api_id, "v1"), "alias": "new" });
    assert_eq!(json_of(app.post(&reader, "/api/keys", &body).await, StatusCode::FORBIDDEN).await, denied("/api/keys"));
    let path = format!("/api/keys/{key_id}");
    assert_eq!(json_of(app.put(&reader, &path, &body).await, StatusCode::FORBIDDEN).await, denied(&path));
    assert_eq!(json_of(app.delete(&reader, &path).await, StatusCode::FORBIDDEN).await, denied(&path));
    let path = format!("/api/apis/{api_id}/keys/{key_id}");
    assert_eq!(json_of(app.delete(&reader, &path).await, StatusCode::FORBIDDEN).await, denied(&path));
    let still = json_of(app.get(&admin, &format!("/api/keys/{key_id}")).await, StatusCode::OK).await;
    assert_eq!(still["data"]["alias"], "kept");

    // No `apis`, `policies`, `users` or `audit_logs` right: no access at all, even to read.
    for path in ["/api/apis", "/api/portal/policies", "/api/users", "/api/audit"] {
        assert_eq!(json_of(app.get(&reader, path).await, StatusCode::FORBIDDEN).await, denied(path), "{path}");
    }
    let path = format!("/api/apis/{api_id}");
    assert_eq!(json_of(app.get(&reader, &path).await, StatusCode::FORBIDDEN).await, denied(&path));
    // Its own record stays readable, with its real permissions.
    let me = json_of(app.get(&reader, "/api/users/me").await, StatusCode::OK).await;
    assert_eq!(me["user_permissions"], json!({ "keys": "read" }));
    // A bad credential is still 401, not 403.
    let resp = app.send(Method::GET, "/api/apis", "nope", None).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // `apis: write` registers APIs; `keys: write` then writes keys.
    let (_, writer) = member(&app, &admin, "writer@example.org", json!({ "keys": "write", "apis": "write" })).await;
    app.create_api(&writer, "Billing", "/billing/").await;
    json_of(app.delete(&writer, &format!("/api/keys/{key_id}")).await, StatusCode::OK).await;
}

async fn only_admins_reset_a_colleagues_credential(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let admin = app.caller("Acme").await;
    let (ann_id, ann) = member(&app, &admin, "ann@example.org", json!({ "users": "write", "keys": "write" })).await;
    let (bob_id, bob) = member(&app, &admin, "bob@example.org", json!({ "keys": "read" })).await;

    let path = format!("/api/users/{bob_id}/actions/key/reset");
    let body = json_of(app.put(&ann, &path, &json!({})).await, StatusCode::FORBIDDEN).await;
    assert_eq!(body, tyk_error("access denied: only an admin can reset another user's credential"));
    json_of(app.get(&bob, "/api/users/me").await, StatusCode::OK).await;

    // One's own: anyone, even with read rights only.
    let path = format!("/api/users/{ann_id}/actions/key/reset");
    let body = json_of(app.put(&ann, &path, &json!({})).await, StatusCode::OK).await;
    assert_eq!(body["Message"], "User session renewed");
    let renewed = body["Meta"]["access_key"].as_str().unwrap().to_owned();
    assert_eq!(app.send(Method::GET, "/api/users/me", &ann.cred, None).await.status(), StatusCode::UNAUTHORIZED);
    json_of(app.send(Method::GET, "/api/users/me", &renewed, None).await, StatusCode::OK).await;
    let path = format!("/api/users/{bob_id}/actions/key/reset");
    json_of(app.put(&bob, &path, &json!({})).await, StatusCode::OK).await;

    // An admin resets a colleague's.
    let body = json_of(app.put(&admin, &path, &json!({})).await, StatusCode::OK).await;
    let new = body["Meta"]["access_key"].as_str().unwrap();
    json_of(app.send(Method::GET, "/api/users/me", new, None).await, StatusCode::OK).await;
}

async fn users_write_cannot_make_admins_nor_raise_itself(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let admin = app.caller("Acme").await;
    let admin_id = json_of(app.get(&admin, "/api/users/me").await, StatusCode::OK).await["id"].as_str().unwrap().to_owned();
    let (mgr_id, mgr) = member(&app, &admin, "mgr@example.org", json!({ "users": "write", "keys": "read" })).await;

    let new = |email: &str, p: Value| json!({ "email_address": email, "user_permissions": p });
    let body = json_of(app.post(&mgr, "/api/users", &new("x@example.org", json!({ "IsAdmin": "admin" }))).await, StatusCode::FORBIDDEN).await;
    assert_eq!(body, tyk_error("access denied: only an admin can grant IsAdmin"));
    let body = json_of(app.post(&mgr, "/api/users", &new("x@example.org", json!({ "keys": "write" }))).await, StatusCode::FORBIDDEN).await;
    assert_eq!(body, tyk_error("access denied: you cannot grant permissions you do not have"));
    let body = json_of(app.post(&mgr, "/api/users", &new("x@example.org", json!({}))).await, StatusCode::FORBIDDEN).await;
    assert_eq!(body, tyk_error("To create a user specify at least one permission, or make them an admin."));
    let body = json_of(app.post(&mgr, "/api/users", &new("x@example.org", json!({ "keys": "all" }))).await, StatusCode::BAD_REQUEST).await;
    assert!(body["Message"].as_str().unwrap().contains("user_permissions.keys"), "{body}");
    // Within its own rights it may.
    let made = json_of(app.post(&mgr, "/api/users", &new("x@example.org", json!({ "keys": "read" }))).await, StatusCode::OK).await;
    let x_id = made["Meta"]["id"].as_str().unwrap().to_owned();

    // It cannot raise itself, nor touch an admin.
    let me = format!("/api/users/{mgr_id}");
    for p in [json!({ "users": "write", "keys": "write" }), json!({ "IsAdmin": "admin" })] {
        json_of(app.put(&mgr, &me, &json!({ "user_permissions": p })).await, StatusCode::FORBIDDEN).await;
    }
    let admin_path = format!("/api/users/{admin_id}");
    let body = json_of(app.put(&mgr, &admin_path, &json!({ "active": false })).await, StatusCode::FORBIDDEN).await;
    assert_eq!(body, tyk_error("access denied: only an admin can change an admin"));
    json_of(app.delete(&mgr, &admin_path).await, StatusCode::FORBIDDEN).await;
    let mine = json_of(app.get(&mgr, &me).await, StatusCode::OK).await;
    assert_eq!(mine["user_permissions"], json!({ "users": "write", "keys": "read" }));
    // Lowering its own rights, or a colleague's names, is fine.
    let body = json_of(app.put(&mgr, &format!("/api/users/{x_id}"), &json!({ "first_name": "Xavier" })).await, StatusCode::OK).await;
    assert_eq!(body["Message"], "User updated");

    // An admin raises it, and makes admins.
    json_of(app.put(&admin, &me, &json!({ "user_permissions": { "users": "write", "keys": "write" } })).await, StatusCode::OK).await;
    let mine = json_of(app.get(&mgr, "/api/users/me").await, StatusCode::OK).await;
    assert_eq!(mine["user_permissions"], json!({ "users": "write", "keys": "write" }));
    let made = json_of(app.post(&admin, "/api/users", &new("boss@example.org", json!({ "IsAdmin": "admin" }))).await, StatusCode::OK).await;
    assert_eq!(made["Meta"]["user_permissions"], json!({ "IsAdmin": "admin" }));

    // Deleting: the user and its credential are gone; the audit log says who did it.
    json_of(app.delete(&mgr, &format!("/api/users/{x_id}")).await, StatusCode::OK).await;
    json_of(app.get(&admin, &format!("/api/users/{x_id}")).await, StatusCode::NOT_FOUND).await;
    let log = json_of(app.get(&admin, "/api/audit?p=-1").await, StatusCode::OK).await;
    let user_entries: Vec<(String, String)> = log["Data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["object_type"] == "user" && e["object_id"] == x_id.as_str())
        .map(|e| (e["action"].as_str().unwrap().to_owned(), e["actor"].as_str().unwrap().to_owned()))
        .collect();
    for action in ["created", "updated", "deleted"] {
        assert!(user_entries.contains(&(action.to_owned(), "mgr@example.org".to_owned())), "{action}: {user_entries:?}");
    }
}

async fn another_orgs_user_is_unknown(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let a = app.caller("Acme").await;
    let b = app.caller("Rival").await;
    let (b_id, _) = member(&app, &b, "theirs@example.org", json!({ "keys": "read" })).await;
    let unknown = tyk_error("Could not retrieve user detail.");
    let path = format!("/api/users/{b_id}");
    assert_eq!(json_of(app.get(&a, &path).await, StatusCode::NOT_FOUND).await, unknown);
    assert_eq!(json_of(app.put(&a, &path, &json!({ "active": false })).await, StatusCode::NOT_FOUND).await, unknown);
    assert_eq!(json_of(app.delete(&a, &path).await, StatusCode::NOT_FOUND).await, unknown);
    let reset = format!("{path}/actions/key/reset");
    assert_eq!(json_of(app.put(&a, &reset, &json!({})).await, StatusCode::NOT_FOUND).await, unknown);
    // Untouched, and not listed.
    let theirs = json_of(app.get(&b, &path).await, StatusCode::OK).await;
    assert_eq!(theirs["active"], true);
    let list = json_of(app.get(&a, "/api/users").await, StatusCode::OK).await;
    assert!(list["users"].as_array().unwrap().iter().all(|u| u["id"] != b_id.as_str()));
}

async fn permissions_round_trip_and_admin_api_makes_admins(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let org = app.create_org("Acme").await;
    // Without user_permissions the Admin API makes an admin, as Tyk's does.
    let made = json_of(
        app.admin_post("/admin/users", &json!({ "email_address": "first@example.org", "org_id": org })).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(made["Meta"]["user_permissions"], json!({ "IsAdmin": "admin" }));
    let admin = Caller { org: org.clone(), cred: made["Meta"]["access_key"].as_str().unwrap().to_owned() };
    json_of(app.get(&admin, "/api/users").await, StatusCode::OK).await;

    // With them, it gets them; areas Portcullis does not enforce are kept as sent.
    let perms = json!({ "keys": "read", "certs": "write", "portal": "read", "ResetPassword": "admin" });
    let made = json_of(
        app.admin_post("/admin/users", &json!({ "email_address": "second@example.org", "org_id": org, "user_permissions": perms })).await,
        StatusCode::OK,
    )
    .await;
    let id = made["Meta"]["id"].as_str().unwrap().to_owned();
    let second = Caller { org: org.clone(), cred: made["Meta"]["access_key"].as_str().unwrap().to_owned() };
    let got = json_of(app.admin_get(&format!("/admin/users/{id}")).await, StatusCode::OK).await;
    assert_eq!(got["user_permissions"], perms);
    let got = json_of(app.get(&admin, &format!("/api/users/{id}")).await, StatusCode::OK).await;
    assert_eq!(got["user_permissions"], perms);
    // `certs: write` grants nothing here.
    assert_eq!(app.get(&second, "/api/apis").await.status(), StatusCode::FORBIDDEN);

    let changed = json!({ "policies": "write", "analytics": "read", "hooks": "read" });
    json_of(app.put(&admin, &format!("/api/users/{id}"), &json!({ "user_permissions": changed })).await, StatusCode::OK).await;
    let got = json_of(app.get(&admin, &format!("/api/users/{id}")).await, StatusCode::OK).await;
    assert_eq!(got["user_permissions"], changed);
    assert_eq!(got["email_address"], "second@example.org", "what was not sent stays");
    json_of(app.get(&second, "/api/portal/policies").await, StatusCode::OK).await;
    assert_eq!(app.get(&second, "/api/keys/nope").await.status(), StatusCode::FORBIDDEN);

    // A deactivated user's credential stops working.
    json_of(app.put(&admin, &format!("/api/users/{id}"), &json!({ "active": false })).await, StatusCode::OK).await;
    assert_eq!(app.get(&second, "/api/portal/policies").await.status(), StatusCode::UNAUTHORIZED);
}

/// A server function, called with a session cookie as the dashboard calls it.
async fn rpc(app: &TestApp, cookie: &str, name: &str, body: Value) -> reqwest::Response {
    app.client.post(app.url(&format!("/rpc/{name}"))).header(COOKIE, cookie).json(&body).send().await.unwrap()
}

async fn server_functions_refuse_too(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let resp = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let admin_cookie = resp.headers().get(SET_COOKIE).unwrap().to_str().unwrap().split(';').next().unwrap().to_owned();
    // The first admin (bootstrap) is an admin.
    let profile = json_of(rpc(&app, &admin_cookie, "get_profile", json!({})).await, StatusCode::OK).await;
    assert_eq!(profile["permissions"], json!({ "IsAdmin": "admin" }));

    // The admin creates a read-only user from the Users page's server function.
    let form = json!({ "form": { "email": "reader@example.org", "first_name": "Rea", "last_name": "Der",
        "password": "a long password", "active": true, "permissions": { "keys": "read" } } });
    let created = json_of(rpc(&app, &admin_cookie, "create_user", form).await, StatusCode::OK).await;
    let reader_id = created["user_id"].as_str().unwrap().to_owned();
    let users = json_of(rpc(&app, &admin_cookie, "list_users", json!({})).await, StatusCode::OK).await;
    assert_eq!(users.as_array().unwrap().len(), 2);

    let resp = app.sign_in("reader@example.org", "a long password").await;
    let cookie = resp.headers().get(SET_COOKIE).expect("signed in").to_str().unwrap().split(';').next().unwrap().to_owned();
    let profile = json_of(rpc(&app, &cookie, "get_profile", json!({})).await, StatusCode::OK).await;
    assert_eq!(profile["permissions"], json!({ "keys": "read" }));

    let query = json!({ "query": { "q": "", "status": "All", "sort": "Newest", "page": 1 } });
    json_of(rpc(&app, &cookie, "list_keys", query).await, StatusCode::OK).await;
    let form = json!({ "form": { "alias": "nope" } });
    let body = json_of(rpc(&app, &cookie, "create_key", form).await, StatusCode::FORBIDDEN).await;
    assert!(body["Forbidden"].as_str().unwrap().contains("not change them"), "{body}");
    let api = json!({ "api_id": null, "form": { "name": "Orders", "listen_path": "/orders/", "target_url": "http://127.0.0.1:9", "auth_mode": "Key" } });
    json_of(rpc(&app, &cookie, "save_api", api).await, StatusCode::FORBIDDEN).await;
    json_of(rpc(&app, &cookie, "list_apis", json!({})).await, StatusCode::FORBIDDEN).await;
    json_of(rpc(&app, &cookie, "list_policies", json!({})).await, StatusCode::FORBIDDEN).await;
    json_of(rpc(&app, &cookie, "list_users", json!({})).await, StatusCode::FORBIDDEN).await;
    let raise = json!({ "user_id": reader_id, "form": { "email": "reader@example.org", "first_name": "", "last_name": "",
        "password": "", "active": true, "permissions": { "IsAdmin": "admin" } } });
    json_of(rpc(&app, &cookie, "update_user", raise).await, StatusCode::FORBIDDEN).await;
    let admin_id = json_of(rpc(&app, &admin_cookie, "get_profile", json!({})).await, StatusCode::OK).await["user_id"].clone();
    json_of(rpc(&app, &cookie, "reset_user_credential", json!({ "user_id": admin_id })).await, StatusCode::FORBIDDEN).await;
    // Its own credential it may renew.
    json_of(rpc(&app, &cookie, "regenerate_credential", json!({})).await, StatusCode::OK).await;

    // The admin resets the reader's credential and deactivates it: its session ends.
    let cred = json_of(rpc(&app, &admin_cookie, "reset_user_credential", json!({ "user_id": reader_id })).await, StatusCode::OK).await;
    json_of(app.api_get("/api/users/me", cred.as_str().unwrap()).await, StatusCode::OK).await;
    let off = json!({ "user_id": reader_id, "form": { "email": "reader@example.org", "first_name": "Rea", "last_name": "Der",
        "password": "", "active": false, "permissions": { "keys": "read" } } });
    json_of(rpc(&app, &admin_cookie, "update_user", off).await, StatusCode::OK).await;
    let query = json!({ "query": { "q": "", "status": "All", "sort": "Newest", "page": 1 } });
    assert_eq!(rpc(&app, &cookie, "list_keys", query).await.status(), StatusCode::UNAUTHORIZED);
}

/// A database made before user permissions existed: its users keep every right.
async fn upgrade_keeps_existing_users_admins(db: Db) {
    let Some((old_db, url)) = TestDb::create(db).await else { return };
    {
        use sqlx::any::AnyPoolOptions;
        sqlx::any::install_default_drivers();
        let mut migrator = match db {
            Db::Sqlite => sqlx::migrate!("../migrations/sqlite"),
            Db::Postgres => sqlx::migrate!("../migrations/postgres"),
        };
        // Every migration before this one (0006 on SQLite, 0008 on PostgreSQL).
        let mine = match db {
            Db::Sqlite => 6,
            Db::Postgres => 8,
        };
        let before: Vec<_> = migrator.migrations.iter().filter(|m| m.version < mine).cloned().collect();
        migrator.migrations = std::borrow::Cow::Owned(before);
        let connect = if matches!(db, Db::Sqlite) { format!("{url}?mode=rwc") } else { url.clone() };
        let pool = AnyPoolOptions::new().max_connections(1).connect(&connect).await.unwrap();
        migrator.run(&pool).await.unwrap();
        sqlx::query("INSERT INTO organisations (id, owner_name, document, created_at) VALUES ('0123456789abcdef01234567', 'Old', '{}', 1)")
            .execute(&pool)
            .await
            .unwrap();
        let hash = server::secrets::sha256_hex("old-credential");
        sqlx::query(
            "INSERT INTO users (id, org_id, email, credential_hash, credential_hint, created_at) \
             VALUES ('aaaaaaaaaaaaaaaaaaaaaaaa', '0123456789abcdef01234567', 'old@example.org', $1, 'tial', 1)",
        )
        .bind(hash)
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
    let Some(app) = spawn_app_with(db, |c| c.storage.database_url = Some(url.clone())).await else { return };
    let old = Caller { org: "0123456789abcdef01234567".into(), cred: "old-credential".into() };
    let me = json_of(app.get(&old, "/api/users/me").await, StatusCode::OK).await;
    assert_eq!(me["user_permissions"], json!({ "IsAdmin": "admin" }));
    // And it can still do everything, user management included.
    json_of(app.get(&old, "/api/apis").await, StatusCode::OK).await;
    member(&app, &old, "new@example.org", json!({ "keys": "read" })).await;
    drop(app);
    drop(old_db);
}

/// Demoting, deactivating or deleting an organisation's only admin would leave nobody to manage
/// its users: refused with 409 until there is another.
async fn the_last_admin_stays(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let admin = app.caller("Acme").await;
    let me = json_of(app.get(&admin, "/api/users/me").await, StatusCode::OK).await;
    let path = format!("/api/users/{}", me["id"].as_str().unwrap());
    let last = tyk_error("This is the organisation's last active admin: make another user an admin first");
    let demote = json!({ "user_permissions": { "keys": "write" } });
    assert_eq!(json_of(app.put(&admin, &path, &demote).await, StatusCode::CONFLICT).await, last);
    assert_eq!(json_of(app.put(&admin, &path, &json!({ "active": false })).await, StatusCode::CONFLICT).await, last);
    assert_eq!(json_of(app.delete(&admin, &path).await, StatusCode::CONFLICT).await, last);
    let unchanged = json_of(app.get(&admin, "/api/users/me").await, StatusCode::OK).await;
    assert_eq!(unchanged["user_permissions"]["IsAdmin"], "admin");

    member(&app, &admin, "second@example.org", json!({ "IsAdmin": "admin" })).await;
    json_of(app.put(&admin, &path, &demote).await, StatusCode::OK).await;
    let me = json_of(app.get(&admin, "/api/users/me").await, StatusCode::OK).await;
    assert_eq!(me["user_permissions"], json!({ "keys": "write" }));
}

crate::on_both_databases!(
    the_last_admin_stays,
    read_only_keys_user_cannot_change_keys,
    only_admins_reset_a_colleagues_credential,
    users_write_cannot_make_admins_nor_raise_itself,
    another_orgs_user_is_unknown,
    permissions_round_trip_and_admin_api_makes_admins,
    server_functions_refuse_too,
    upgrade_keeps_existing_users_admins,
);
