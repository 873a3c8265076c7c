//! The gateway's recorded traffic, read back: the dashboard's usage chart and the REST activity
//! API count the same requests of the same key.

use crate::helpers::*;
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// Hits by status, as both answers spell them: `{"404": 2, ...}`.
fn by_status(map: &Value, errors_only: bool) -> BTreeMap<String, i64> {
    let map = map.as_object().unwrap_or_else(|| panic!("a map of statuses: {map}"));
    map.iter()
        .filter(|(status, _)| !errors_only || status.parse::<u16>().unwrap() >= 400)
        .map(|(status, hits)| (status.clone(), hits.as_i64().unwrap()))
        .collect()
}

async fn dashboard_usage_and_activity_agree(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let up = spawn_upstream().await;
    // The first admin, signed in to the dashboard and with a REST credential.
    let signed_in = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let cookie = signed_in.headers()[SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let rpc = |name: &str, body: Value| app.client.post(app.url(&format!("/rpc/{name}"))).header(COOKIE, &cookie).json(&body).send();
    let cred = json_of(rpc("regenerate_credential", json!({})).await.unwrap(), StatusCode::OK).await.as_str().unwrap().to_owned();
    let users = json_of(app.admin_get("/admin/users").await, StatusCode::OK).await;
    let org = users["users"].as_array().unwrap().iter().find(|u| u["email_address"] == ADMIN_EMAIL).unwrap()["org_id"].as_str().unwrap().to_owned();
    let c = Caller { org, cred };

    let api = app.create_gateway_api(&c, "/use/", &up, json!({})).await;
    let key = app.create_key(&c, json!({ "access_rights": rights(&api, "Default") })).await;
    let (key, hash) = (key["key_id"].as_str().unwrap(), key["key_hash"].as_str().unwrap());
    let other = app.create_key(&c, json!({ "access_rights": rights(&api, "Default") })).await;
    for path in ["/use/ok", "/use/status/201", "/use/status/404", "/use/status/404", "/use/status/500"] {
        app.client.get(app.gw(path)).header("Authorization", key).send().await.unwrap();
    }
    // Another key's traffic is not this key's.
    app.client.get(app.gw("/use/status/503")).header("Authorization", other["key_id"].as_str().unwrap()).send().await.unwrap();

    // Recorded in batches, off the hot path.
    let path = activity_from_today(hash);
    let mut activity = Value::Null;
    for _ in 0..50 {
        activity = json_of(app.get(&c, &path).await, StatusCode::OK).await;
        let hits: i64 = activity["data"].as_array().unwrap().iter().map(|u| u["hits"].as_i64().unwrap()).sum();
        if hits >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let units = activity["data"].as_array().unwrap().clone();
    assert_eq!(units.iter().map(|u| u["hits"].as_i64().unwrap()).sum::<i64>(), 5, "{activity}");

    // Hourly bars for a day: one per hour of the activity API.
    let usage = json_of(rpc("get_key_usage", json!({ "key_hash": hash, "window": "Day" })).await.unwrap(), StatusCode::OK).await;
    let buckets = usage["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), units.len(), "usage {usage}, activity {activity}");
    for (bucket, unit) in buckets.iter().zip(&units) {
        assert_eq!(bucket["requests"], unit["hits"], "usage {usage}, activity {activity}");
        assert_eq!(by_status(&bucket["errors_by_status"], false), by_status(&unit["status_codes"], true));
    }
    let total = |field: &str| units.iter().map(|u| u[field].as_i64().unwrap()).sum::<i64>();
    assert_eq!((total("success"), total("error")), (2, 3), "{activity}");
    let last_hit = units.last().unwrap()["last_hit"].as_str().unwrap();
    let last_hit = time::OffsetDateTime::parse(last_hit, &time::format_description::well_known::Rfc3339).unwrap();
    assert_eq!(usage["last_used"], last_hit.unix_timestamp());

    // Wider bars sum the same requests.
    let week = json_of(rpc("get_key_usage", json!({ "key_hash": hash, "window": "Week" })).await.unwrap(), StatusCode::OK).await;
    let requests: i64 = week["buckets"].as_array().unwrap().iter().map(|b| b["requests"].as_i64().unwrap()).sum();
    assert_eq!(requests, 5, "{week}");
    assert_eq!(week["last_used"], usage["last_used"]);
}

crate::on_both_databases!(dashboard_usage_and_activity_agree);
