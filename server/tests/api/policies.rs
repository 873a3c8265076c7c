use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

async fn policy_crud_and_search(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let api = app.create_api(&c, "Orders", "/orders/").await;
    let body = json!({ "name": "Silver", "rate": 10, "per": 1, "quota_max": 1000, "quota_renewal_rate": 3600,
                       "access_rights": rights(&api, "v1"), "tags": ["silver"], "active": true, "custom": { "kept": 1 } });
    let created = json_of(app.post(&c, "/api/portal/policies", &body).await, StatusCode::OK).await;
    assert_eq!(created["Status"], "OK");
    let id = created["Message"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 24, "a 24-hex id, as Tyk makes");

    let got = json_of(app.get(&c, &format!("/api/portal/policies/{id}")).await, StatusCode::OK).await;
    assert_eq!(got["id"], id.as_str());
    assert_eq!(got["_id"], id.as_str());
    assert_eq!(got["org_id"], c.org.as_str());
    assert_eq!(got["quota_max"], 1000);
    assert_eq!(got["custom"]["kept"], 1, "unknown fields are kept");
    assert_eq!(got["access_rights"][&api]["api_name"], "Orders");

    let list = json_of(app.get(&c, "/api/portal/policies").await, StatusCode::OK).await;
    assert_eq!(list["Pages"], 1);
    assert_eq!(list["Data"].as_array().unwrap().len(), 1);
    let found = json_of(app.get(&c, "/api/portal/policies/search?q=silv").await, StatusCode::OK).await;
    assert_eq!(found["Data"][0]["id"], id.as_str());
    let none = json_of(app.get(&c, "/api/portal/policies/search?q=gold").await, StatusCode::OK).await;
    assert_eq!(none["Data"], json!([]));

    let mut changed = body.clone();
    changed["rate"] = json!(20);
    let updated = json_of(app.put(&c, &format!("/api/portal/policies/{id}"), &changed).await, StatusCode::OK).await;
    assert_eq!(updated, json!({ "Status": "OK", "Message": "Data updated", "Meta": null }));
    assert_eq!(json_of(app.get(&c, &format!("/api/portal/policies/{id}")).await, StatusCode::OK).await["rate"], 20);

    let deleted = json_of(app.delete(&c, &format!("/api/portal/policies/{id}")).await, StatusCode::OK).await;
    assert_eq!(deleted["Message"], "Data deleted");
    let gone = app.get(&c, &format!("/api/portal/policies/{id}")).await;
    assert_eq!(json_of(gone, StatusCode::NOT_FOUND).await, tyk_error("Could not retrieve portal object."));
}

async fn imported_ids_and_bad_policies(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let api = app.create_api(&c, "Orders", "/orders/").await;
    let by_id = json!({ "id": "gold-tier", "name": "Gold", "access_rights": rights(&api, "v1") });
    assert_eq!(json_of(app.post(&c, "/api/portal/policies", &by_id).await, StatusCode::OK).await["Message"], "gold-tier");
    let by_mongo = json!({ "_id": "5f0c8a1b2c3d4e5f6a7b8c9d", "name": "Bronze", "access_rights": rights(&api, "v1") });
    assert_eq!(json_of(app.post(&c, "/api/portal/policies", &by_mongo).await, StatusCode::OK).await["Message"], "5f0c8a1b2c3d4e5f6a7b8c9d");
    assert_eq!(app.post(&c, "/api/portal/policies", &json!({ "id": "gold-tier", "name": "Other" })).await.status(), StatusCode::CONFLICT);

    let dup_name = app.post(&c, "/api/portal/policies", &json!({ "name": "Gold" })).await;
    assert_eq!(json_of(dup_name, StatusCode::BAD_REQUEST).await, tyk_error("This policy name has already been used. Enter a unique policy name."));
    for (body, field) in [
        (json!({ "rate": "x" }), "rate"),
        (json!({ "name": "a", "rate": 5 }), "per"),
        (json!({ "name": "b", "partitions": { "per_api": true, "quota": true } }), "partitions"),
        (json!({ "name": "c", "access_rights": rights("nope", "v1") }), "access_rights"),
        (json!({ "name": "d", "id": "has space" }), "id"),
    ] {
        let msg = json_of(app.post(&c, "/api/portal/policies", &body).await, StatusCode::BAD_REQUEST).await;
        assert!(msg["Message"].as_str().unwrap().contains(field), "{field}: {msg}");
    }
}

async fn other_orgs_policies_are_invisible(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let a = app.caller("A").await;
    let b = app.caller("B").await;
    let id = json_of(app.post(&a, "/api/portal/policies", &json!({ "name": "A only" })).await, StatusCode::OK).await["Message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.get(&b, &format!("/api/portal/policies/{id}")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.put(&b, &format!("/api/portal/policies/{id}"), &json!({ "name": "mine" })).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&b, &format!("/api/portal/policies/{id}")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(json_of(app.get(&b, "/api/portal/policies").await, StatusCode::OK).await["Data"], json!([]));
    // B can use the same id for its own policy: ids are per organisation.
    let same = json!({ "id": id, "name": "B's" });
    assert_eq!(app.post(&b, "/api/portal/policies", &same).await.status(), StatusCode::OK);
    assert_eq!(json_of(app.get(&a, &format!("/api/portal/policies/{id}")).await, StatusCode::OK).await["name"], "A only");
}

async fn policy_changes_reach_keys_at_once(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let api = app.create_api(&c, "Orders", "/orders/").await;
    let body = json!({ "name": "P", "rate": 10, "per": 1, "tags": ["p-tag"], "meta_data": { "tier": "policy" },
                       "access_rights": rights(&api, "v1") });
    let pid = json_of(app.post(&c, "/api/portal/policies", &body).await, StatusCode::OK).await["Message"].as_str().unwrap().to_owned();
    let key = app.create_key(&c, json!({ "rate": 1, "per": 60, "tags": ["own"], "meta_data": { "tier": "key", "x": 1 },
                                          "apply_policies": [pid] })).await;
    let hash = key["key_hash"].as_str().unwrap();
    let path = format!("/api/keys/{hash}?hashed=true");
    let data = json_of(app.get(&c, &path).await, StatusCode::OK).await["data"].clone();
    assert_eq!(data["rate"], 10, "the policy's rate");
    assert_eq!(data["tags"], json!(["own", "p-tag"]), "tags merged");
    assert_eq!(data["meta_data"], json!({ "tier": "policy", "x": 1 }), "policy metadata wins");

    let mut changed = body.clone();
    changed["rate"] = json!(500);
    changed["is_inactive"] = json!(true);
    app.put(&c, &format!("/api/portal/policies/{pid}"), &changed).await;
    let data = json_of(app.get(&c, &path).await, StatusCode::OK).await["data"].clone();
    assert_eq!(data["rate"], 500);
    assert_eq!(data["is_inactive"], true, "an inactive policy deactivates its keys");
}

crate::on_both_databases!(
    policy_crud_and_search,
    imported_ids_and_bad_policies,
    other_orgs_policies_are_invisible,
    policy_changes_reach_keys_at_once,
);
