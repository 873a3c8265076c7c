use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

async fn api_crud(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    // A definition as Tyk exports it, with fields Portcullis does not use.
    let tyk = json!({ "api_definition": {
        "api_id": "b84fe1a04e5648927971c0557971565c", "name": "Tyk Test API", "org_id": "someone-else", "active": true,
        "auth": { "auth_header_name": "authorization" }, "definition": { "key": "version", "location": "header" },
        "proxy": { "listen_path": "/tyk-api-test/", "target_url": "https://httpbin.org", "strip_listen_path": true },
        "version_data": { "not_versioned": true, "versions": { "Default": { "name": "Default" } } },
        "use_oauth2": false, "custom_middleware": { "pre": [] } } });
    let created = json_of(app.post(&c, "/api/apis", &tyk).await, StatusCode::OK).await;
    assert_eq!(created["Message"], "API created");
    assert_eq!(created["ID"], "b84fe1a04e5648927971c0557971565c");
    let internal = created["Meta"].as_str().unwrap().to_owned();

    for id in ["b84fe1a04e5648927971c0557971565c", internal.as_str()] {
        let got = json_of(app.get(&c, &format!("/api/apis/{id}")).await, StatusCode::OK).await;
        let def = &got["api_definition"];
        assert_eq!(def["org_id"], c.org.as_str());
        assert_eq!(def["proxy"]["listen_path"], "/tyk-api-test/");
        assert_eq!(def["use_oauth2"], false, "unused fields are kept");
        assert_eq!(def["custom_middleware"], json!({ "pre": [] }));
    }
    // A bare definition works too, and gets a generated id.
    let bare = json!({ "name": "Bare", "proxy": { "listen_path": "/bare/", "target_url": "http://127.0.0.1:1" } });
    let id = json_of(app.post(&c, "/api/apis", &bare).await, StatusCode::OK).await["ID"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);

    let list = json_of(app.get(&c, "/api/apis").await, StatusCode::OK).await;
    assert_eq!(list["apis"].as_array().unwrap().len(), 2);
    let search = json_of(app.get(&c, "/api/apis/search?q=bare").await, StatusCode::OK).await;
    assert_eq!(search["apis"][0]["api_definition"]["api_id"], id.as_str());

    let mut update = bare.clone();
    update["name"] = json!("Renamed");
    update["proxy"]["listen_path"] = json!("/renamed/");
    let updated = json_of(app.put(&c, &format!("/api/apis/{id}"), &update).await, StatusCode::OK).await;
    assert_eq!(updated["Message"], "API updated");
    let got = json_of(app.get(&c, &format!("/api/apis/{id}")).await, StatusCode::OK).await;
    assert_eq!(got["api_definition"]["name"], "Renamed");

    assert_eq!(json_of(app.delete(&c, &format!("/api/apis/{id}")).await, StatusCode::OK).await["Message"], "API deleted");
    assert_eq!(app.get(&c, &format!("/api/apis/{id}")).await.status(), StatusCode::NOT_FOUND);
}

async fn api_conflicts_and_validation(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let a = app.caller("A").await;
    let b = app.caller("B").await;
    let api = app.create_api(&a, "Orders", "/orders/").await;
    let same_id = json!({ "api_id": api, "name": "X", "proxy": { "listen_path": "/x/", "target_url": "http://h" } });
    assert_eq!(json_of(app.post(&b, "/api/apis", &same_id).await, StatusCode::CONFLICT).await, tyk_error("Found API with the same ID"));
    let same_path = json!({ "name": "X", "proxy": { "listen_path": "/orders/", "target_url": "http://h" } });
    let msg = json_of(app.post(&b, "/api/apis", &same_path).await, StatusCode::CONFLICT).await;
    assert!(msg["Message"].as_str().unwrap().contains("/orders/"), "{msg}");
    for (body, field) in [
        (json!({ "proxy": { "listen_path": "/y/", "target_url": "http://h" } }), "name"),
        (json!({ "name": "Y", "proxy": { "listen_path": "y", "target_url": "http://h" } }), "proxy.listen_path"),
        (json!({ "name": "Y", "proxy": { "listen_path": "/y/", "target_url": "ftp://h" } }), "proxy.target_url"),
        (json!({ "api_definition": { "name": "Y", "use_keyless": "yes" } }), "api_definition.use_keyless"),
    ] {
        let msg = json_of(app.post(&b, "/api/apis", &body).await, StatusCode::BAD_REQUEST).await;
        assert!(msg["Message"].as_str().unwrap().contains(field), "{field}: {msg}");
    }
    // Another organisation's API does not exist for B.
    assert_eq!(app.get(&b, &format!("/api/apis/{api}")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&b, &format!("/api/apis/{api}")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(json_of(app.get(&b, "/api/apis").await, StatusCode::OK).await["apis"], json!([]));
}

async fn api_in_use_cannot_be_deleted(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let api = app.create_api(&c, "Orders", "/orders/").await;
    let key = app.create_key(&c, json!({ "access_rights": rights(&api, "v1") })).await;
    let refused = json_of(app.delete(&c, &format!("/api/apis/{api}")).await, StatusCode::CONFLICT).await;
    assert!(refused["Message"].as_str().unwrap().contains("1 key(s) grant access"), "{refused}");
    app.delete(&c, &format!("/api/keys/{}", key["key_id"].as_str().unwrap())).await;
    assert_eq!(app.delete(&c, &format!("/api/apis/{api}")).await.status(), StatusCode::OK);
}

async fn audit_trail(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let api = app.create_api(&c, "Orders", "/orders/").await;
    let body = json!({ "basic_auth_data": { "user": "ann", "password": "a-secret-pw" }, "access_rights": rights(&api, "v1") });
    let key = json_of(app.post(&c, "/api/keys?basic_auth=true", &body).await, StatusCode::OK).await;
    let hash = key["key_hash"].as_str().unwrap();
    app.put(&c, &format!("/api/keys/{hash}?hashed=1"), &json!({ "rate": 7, "per": 1, "access_rights": rights(&api, "v1") })).await;
    app.delete(&c, &format!("/api/keys/{hash}?hashed=1")).await;

    let log = json_of(app.get(&c, "/api/audit").await, StatusCode::OK).await;
    let entries = log["Data"].as_array().unwrap();
    let what: Vec<(String, String)> = entries
        .iter()
        .map(|e| (e["object_type"].as_str().unwrap().into(), e["action"].as_str().unwrap().into()))
        .collect();
    let expected = [("key", "deleted"), ("key", "updated"), ("key", "created"), ("api", "created"), ("user", "created")];
    assert_eq!(what, expected.map(|(a, b)| (a.to_owned(), b.to_owned())), "newest first");
    assert_eq!(entries[0]["actor"], "acme@example.org");
    assert_eq!(entries[4]["actor"], "admin-api", "the user was made through the Admin API");
    assert_eq!(entries[1]["changes"]["rate"], json!({ "from": 0, "to": 7 }));
    assert!(!log.to_string().contains("a-secret-pw"));
    assert!(!log.to_string().contains("$2"), "not even the bcrypt hash");
    // Another organisation sees only its own entry: its user's creation.
    let other = app.caller("Other").await;
    let theirs = json_of(app.get(&other, "/api/audit").await, StatusCode::OK).await;
    assert_eq!(theirs["Data"].as_array().unwrap().len(), 1);
    assert_eq!(theirs["Data"][0]["changes"]["email_address"]["to"], "other@example.org");
}

crate::on_both_databases!(api_crud, api_conflicts_and_validation, api_in_use_cannot_be_deleted, audit_trail);
