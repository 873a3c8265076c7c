//! `GET /api/openapi.json`: a valid OpenAPI 3 document that lists every route we serve, agrees
//! with Tyk's OpenAPI files for every operation both have (fixtures/tyk-operations.json, made
//! from `shared/tyk/*.yml` by fixtures/tyk-operations.py), and describes the bodies the server
//! actually sends.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The facts of Tyk's files, for the operations we serve.
const TYK: &str = include_str!("fixtures/tyk-operations.json");

/// Tyk query (and cookie) parameters we do not support, on purpose. Everything else Tyk
/// documents must be in our document.
const UNSUPPORTED_PARAMS: &[(&str, &str, &str)] = &[
    // (operation, parameter, why)
    ("GET /api/apis", "compressed", "lists are always whole definitions"),
    ("GET /api/apis", "api_type", "only classic (Tyk JSON) definitions exist here"),
    ("GET /api/apis", "category", "no API categories"),
    ("GET /api/apis", "auth_type", "not filtered (yet)"),
    ("GET /api/apis", "base_apis", "no API versioning by base API"),
    ("GET /api/apis", "sort", "always oldest first"),
    ("GET /api/portal/policies", "active", "not filtered (yet)"),
    ("GET /api/portal/policies/search", "policy_ids", "not filtered (yet)"),
    ("GET /api/portal/policies/search", "active", "not filtered (yet)"),
    ("GET /api/portal/policies/search", "state", "not filtered (yet)"),
    ("GET /api/portal/policies/search", "sort", "always oldest first"),
    ("GET /api/portal/policies/search", "api_id", "not filtered (yet)"),
    ("GET /api/portal/policies/search", "auth_type", "not filtered (yet)"),
    ("GET /api/users/me", "authorisation", "the REST API takes the credential in `Authorization`, not the dashboard's cookie"),
    ("POST /api/apis", "base_api_id", "no API versioning by base API"),
    ("POST /api/apis", "base_api_version_name", "no API versioning by base API"),
    ("POST /api/apis", "new_version_name", "no API versioning by base API"),
    ("POST /api/apis", "set_default", "no API versioning by base API"),
];

/// Tyk response codes we never answer with, on purpose.
const NOT_PRODUCED: &[(&str, &str, &str)] = &[
    // (path prefix, or operation, code, why)
    // Tyk answers a failed read or write of its database with 400 or 404; we answer 500 or 503.
    ("GET /api/apis/{apiId}", "400", "storage failures are 500/503; an unknown id is 404"),
    ("DELETE /api/apis/{apiId}", "400", "storage failures are 500/503"),
    ("PUT /api/users/{userId}/actions/key/reset", "400", "storage failures are 500/503"),
    ("GET /api/keys/detailed", "404", "storage failures are 500/503; no keys is an empty page"),
    ("GET /api/portal/policies", "404", "storage failures are 500/503; no policies is an empty page"),
    ("GET /api/portal/policies/search", "404", "storage failures are 500/503; no match is an empty page"),
    ("GET /api/users", "404", "storage failures are 500/503"),
    ("DELETE /api/users/{userId}", "400", "storage failures are 500/503; an unknown id is 404"),
    ("DELETE /tyk/keys/{keyID}", "400", "storage failures are 500"),
    // Ids are not parsed: any id that names nothing is 404.
    ("GET /api/portal/policies/{id}", "400", "an unknown or malformed id is 404"),
    ("DELETE /api/portal/policies/{id}", "400", "an unknown or malformed id is 404"),
    ("DELETE /tyk/policies/{polID}", "400", "the path always names a policy; an unknown one is 404"),
    ("GET /api/users/me", "404", "a credential whose user is gone is unknown: 401"),
    ("GET /api/users/me", "403", "every user may read its own record, whatever its permissions"),
    ("POST /admin/organisations", "403", "a malformed body is 400, as on every other operation"),
    ("GET /tyk/keys/{keyID}", "400", "keys are always stored hashed, so `hashed` is always allowed"),
];

/// Tyk's Admin API name for the same `{Status, Message, Meta, ID}` envelope.
const RENAMED_RESPONSE_SCHEMAS: &[(&str, &str)] = &[("ApiError", "ApiResponse")];
/// Creating a user reads these fields of Tyk's `User`.
const RENAMED_BODY_SCHEMAS: &[(&str, &str)] = &[("User", "NewUserRequest")];

async fn fetch_document(app: &TestApp) -> Value {
    let resp = app.client.get(app.url("/api/openapi.json")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "public, no credential needed");
    let ct = resp.headers().get("content-type").unwrap().to_str().unwrap().to_owned();
    assert!(ct.starts_with("application/json"), "{ct}");
    let text = resp.text().await.unwrap();
    println!("/api/openapi.json: {} bytes", text.len());
    serde_json::from_str(&text).expect("the document is JSON")
}

/// `/api/keys/{keyId}` → `/api/keys/{}`.
fn normalise(path: &str) -> String {
    regex::Regex::new(r"\{[^}]+\}").unwrap().replace_all(path, "{}").into_owned()
}

/// (METHOD, path template) → operation.
fn operations(doc: &Value) -> BTreeMap<(String, String), Value> {
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                out.insert((method.to_uppercase(), path.clone()), op.clone());
            }
        }
    }
    out
}

/// The routes our routers register, read from their source: (METHOD, path with `{}`).
fn served_routes() -> BTreeSet<(String, String)> {
    // `.route("/path", get(a).put(b))`, possibly several on a line.
    let route = regex::Regex::new(r#"\.route\(\s*"([^"]+)"\s*,\s*(\w+\([\w:]+\)(?:\s*\.\w+\([\w:]+\))*)\s*\)"#).unwrap();
    let method = regex::Regex::new(r"(?:^|\.)\s*(get|post|put|delete|patch)\(").unwrap();
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut files: Vec<_> = std::fs::read_dir(format!("{src}/rest")).unwrap().map(|e| e.unwrap().path()).collect();
    files.push(format!("{src}/web/signin.rs").into());
    let mut out = BTreeSet::new();
    for file in files {
        for line in std::fs::read_to_string(&file).unwrap().lines() {
            for c in route.captures_iter(line) {
                for m in method.captures_iter(&c[2]) {
                    out.insert((m[1].to_uppercase(), normalise(&c[1])));
                }
            }
        }
    }
    assert!(out.len() > 50, "the route scan found only {out:?}");
    out
}

fn query_params(op: &Value) -> BTreeSet<String> {
    op["parameters"]
        .as_array()
        .map(|ps| ps.iter().filter(|p| p["in"] != "path").map(|p| p["name"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

fn path_params(op: &Value) -> BTreeSet<String> {
    op["parameters"]
        .as_array()
        .map(|ps| ps.iter().filter(|p| p["in"] == "path").map(|p| p["name"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

fn ref_name(schema: &Value) -> Option<String> {
    if let Some(r) = schema["$ref"].as_str() {
        return Some(r.rsplit('/').next().unwrap().to_owned());
    }
    if schema["type"] == "array" {
        return ref_name(&schema["items"]).map(|n| format!("[{n}]"));
    }
    None
}

fn json_schema_name(content: &Value) -> Option<String> {
    ref_name(&content["application/json"]["schema"])
}

/// When Tyk's files are beside the repository (`../shared/tyk`) and python3 has PyYAML, the
/// committed fixture must be what the script makes from them and from our routers today.
#[test]
fn tyk_fixture_is_current() {
    let manifest = env!("CARGO_MANIFEST_DIR");
    let tyk_dir = format!("{manifest}/../../shared/tyk");
    if !std::path::Path::new(&tyk_dir).join("dashboard-swagger.yml").exists() {
        println!("note: {tyk_dir} is missing; the committed fixture is used as it is");
        return;
    }
    let script = format!("{manifest}/tests/api/fixtures/tyk-operations.py");
    let out = match std::process::Command::new("python3").arg(&script).arg("--stdout").env("TYK_DIR", &tyk_dir).output() {
        Ok(out) => out,
        Err(e) => return println!("note: python3 is not available ({e}); the fixture is not re-checked"),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && stderr.contains("No module named 'yaml'") {
        return println!("note: PyYAML is not installed; the fixture is not re-checked");
    }
    assert!(out.status.success(), "{script} failed: {stderr}");
    let fresh: Value = serde_json::from_slice(&out.stdout).unwrap();
    let committed: Value = serde_json::from_str(TYK).unwrap();
    assert!(fresh == committed, "fixtures/tyk-operations.json is stale: run python3 server/tests/api/fixtures/tyk-operations.py");
}

/// The checker used below does catch what it is meant to.
#[test]
fn the_body_checker_catches_drift() {
    let doc = json!({ "components": { "schemas": {
        "A": { "type": "object", "required": ["x"], "properties": {
            "x": { "type": "integer" },
            "o": { "oneOf": [{ "type": "null" }, { "$ref": "#/components/schemas/B" }] },
            "m": { "type": "object", "additionalProperties": { "type": "string" } } } },
        "B": { "type": "object", "properties": { "y": { "type": ["string", "null"] } } }
    } } });
    let a = json!({ "$ref": "#/components/schemas/A" });
    let errors = |v: Value| {
        let mut e = Vec::new();
        check(&doc, &a, &v, "body", &mut e);
        e
    };
    assert!(errors(json!({ "x": 1, "o": null, "m": { "k": "v" } })).is_empty());
    assert!(errors(json!({ "x": 1, "o": { "y": null } })).is_empty());
    assert_eq!(errors(json!({ "x": 1, "z": 2 })).len(), 1, "an undocumented field");
    assert_eq!(errors(json!({})).len(), 1, "a required field missing");
    assert_eq!(errors(json!({ "x": "1" })).len(), 1, "a wrong type");
    assert_eq!(errors(json!({ "x": 1, "o": { "y": 3 } })).len(), 1, "no oneOf fits");
    assert_eq!(errors(json!({ "x": 1, "m": { "k": 1 } })).len(), 1, "additionalProperties checked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_is_valid_openapi_3() {
    let Some(app) = spawn_app(Db::Sqlite).await else { return };
    let doc = fetch_document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);
    assert_eq!(doc["info"]["title"], "Portcullis");

    // operationIds: present and unique in the document.
    let mut seen = BTreeMap::new();
    let param = regex::Regex::new(r"\{([^}]+)\}").unwrap();
    for ((method, path), op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId")).to_owned();
        if let Some(other) = seen.insert(id.clone(), format!("{method} {path}")) {
            panic!("operationId {id} is used by {other} and {method} {path}");
        }
        // Every path parameter of the template is declared, and nothing else is.
        let in_template: BTreeSet<String> =
            param.captures_iter(&path).map(|c| c[1].to_owned()).collect();
        assert_eq!(path_params(&op), in_template, "{method} {path}: path parameters");
        assert!(op["responses"]["200"].is_object() || op["responses"]["303"].is_object(), "{method} {path}: no success");
    }

    // Every $ref resolves.
    let text = doc.to_string();
    let refs = regex::Regex::new(r##""\$ref":"#/components/schemas/([^"]+)""##).unwrap();
    for c in refs.captures_iter(&text) {
        assert!(doc["components"]["schemas"][&c[1]].is_object(), "dangling $ref {}", &c[1]);
    }

    // One credential per API, in the headers Tyk uses.
    for ((method, path), op) in operations(&doc) {
        let header = match path.split('/').nth(1).unwrap() {
            "api" if path != "/api/openapi.json" => Some("Authorization"),
            "admin" => Some("Admin-Auth"),
            "tyk" => Some("X-Tyk-Authorization"),
            // Not public: it names every organisation's APIs. A bearer token (or a listener of its own).
            "metrics" => Some("Authorization"),
            _ => None,
        };
        let schemes: Vec<&str> = op["security"]
            .as_array()
            .map(|s| s.iter().flat_map(|r| r.as_object().unwrap().keys().map(String::as_str)).collect())
            .unwrap_or_default();
        match header {
            None => assert!(schemes.is_empty(), "{method} {path} is public"),
            Some(h) => {
                assert_eq!(schemes.len(), 1, "{method} {path}: {schemes:?}");
                let scheme = &doc["components"]["securitySchemes"][schemes[0]];
                assert_eq!((scheme["type"].as_str(), scheme["in"].as_str(), scheme["name"].as_str()), (Some("apiKey"), Some("header"), Some(h)));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_documented_and_every_operation_is_served() {
    let Some(app) = spawn_app(Db::Sqlite).await else { return };
    let doc = fetch_document(&app).await;
    let documented: BTreeMap<(String, String), String> =
        operations(&doc).keys().map(|(m, p)| ((m.clone(), normalise(p)), p.clone())).collect();
    let served = served_routes();
    let missing: Vec<_> = served.iter().filter(|r| !documented.contains_key(*r)).collect();
    assert!(missing.is_empty(), "served but not documented: {missing:?}");
    let extra: Vec<_> = documented.keys().filter(|r| !served.contains(*r)).collect();
    assert!(extra.is_empty(), "documented but not served: {extra:?}");

    // And each documented operation is answered by its handler (no credential: its refusal),
    // not by the router's 404 or 405.
    let param = regex::Regex::new(r"\{[^}]+\}").unwrap();
    for ((method, _), path) in &documented {
        let url = app.url(&param.replace_all(path, "x"));
        let resp = app
            .client
            .request(method.parse().unwrap(), url)
            .header("Accept", "application/json")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        if path == "/metrics" {
            // Not public: without the metrics token, a 401 in the dashboard's envelope.
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
            let accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
            let ok = app.client.get(app.url(path)).bearer_auth(METRICS_TOKEN).header("Accept", accept).send().await.unwrap();
            let ct = ok.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
            // Prometheus's format, for scrapers.
            assert!(ct.starts_with("application/openmetrics-text"), "{method} {path}: {} {ct}", ok.status());
            continue;
        }
        assert!(ct.starts_with("application/json"), "{method} {path}: {status} {ct}");
        let expected = match path.split('/').nth(1).unwrap() {
            "api" if path != "/api/openapi.json" => Some(StatusCode::UNAUTHORIZED),
            "admin" => Some(StatusCode::UNAUTHORIZED),
            "tyk" => Some(StatusCode::FORBIDDEN),
            _ => None,
        };
        if let Some(expected) = expected {
            assert_eq!(status, expected, "{method} {path}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agrees_with_tyk() {
    let Some(app) = spawn_app(Db::Sqlite).await else { return };
    let doc = fetch_document(&app).await;
    let tyk: Value = serde_json::from_str(TYK).unwrap();
    let ours: BTreeMap<(String, String), (String, Value)> =
        operations(&doc).into_iter().map(|((m, p), op)| ((m, normalise(&p)), (p, op))).collect();
    let renamed: BTreeMap<&str, &str> = server::rest::openapi::GATEWAY_RENAMED.into_iter().collect();
    let body_alias: BTreeMap<&str, &str> = RENAMED_BODY_SCHEMAS.iter().copied().collect();
    let response_alias: BTreeMap<&str, &str> = RENAMED_RESPONSE_SCHEMAS.iter().copied().collect();
    let all_ids: BTreeSet<String> = ours.values().map(|(_, op)| op["operationId"].as_str().unwrap().to_owned()).collect();

    let mut problems = Vec::new();
    let mut plain_400 = Vec::new();
    let mut compared = 0;
    for t in tyk["operations"].as_array().unwrap() {
        let (method, path) = (t["method"].as_str().unwrap(), t["path"].as_str().unwrap());
        let tyk_id = t["operationId"].as_str().unwrap();
        let Some((our_path, op)) = ours.get(&(method.to_owned(), normalise(path))) else {
            problems.push(format!("{method} {path} ({tyk_id}): served but missing from the document"));
            continue;
        };
        compared += 1;
        let at = format!("{method} {path}");
        if our_path != path {
            problems.push(format!("{at}: our path template is {our_path}"));
        }

        // operationId: Tyk's, or for a /tyk operation whose id the Dashboard API also uses,
        // `gateway` + Tyk's.
        let our_id = op["operationId"].as_str().unwrap();
        let want = if t["api"] == "gateway" { renamed.get(tyk_id).copied().unwrap_or(tyk_id) } else { tyk_id };
        if our_id != want {
            problems.push(format!("{at}: operationId {our_id}, Tyk's is {tyk_id}"));
        }
        if want != tyk_id {
            let mut c = tyk_id.chars();
            let expected = format!("gateway{}{}", c.next().unwrap().to_uppercase(), c.as_str());
            assert_eq!(want, expected, "a renamed id is `gateway` + Tyk's");
            assert!(all_ids.contains(tyk_id), "{tyk_id} is renamed on {at} but no other operation uses it");
        }

        // Parameters: ours ⊇ Tyk's, but for those we do not support on purpose.
        let our_params = query_params(op);
        for p in t["parameters"].as_array().unwrap() {
            let name = p["name"].as_str().unwrap();
            if p["in"] == "path" {
                if !path_params(op).contains(name) {
                    problems.push(format!("{at}: path parameter {name} missing"));
                }
            } else if !our_params.contains(name) && !UNSUPPORTED_PARAMS.iter().any(|(o, n, _)| *o == at && *n == name) {
                problems.push(format!("{at}: {} parameter {name} missing", p["in"]));
            }
        }

        // Request body: the same schema.
        let our_body = json_schema_name(&op["requestBody"]["content"]);
        if let Some(tb) = t["requestBody"].as_str() {
            let tb = body_alias.get(tb).copied().unwrap_or(tb);
            if our_body.as_deref() != Some(tb) {
                problems.push(format!("{at}: request body {our_body:?}, Tyk's is {tb}"));
            }
        }

        // Responses: ours ⊇ Tyk's, but for the codes we never answer with; same body schemas.
        for (code, tyk_schema) in t["responses"].as_object().unwrap() {
            let skip = NOT_PRODUCED.iter().any(|(scope, c, _)| c == code && (path.starts_with(scope) || *scope == at));
            let Some(ours) = op["responses"].get(code) else {
                if !skip {
                    problems.push(format!("{at}: response {code} missing"));
                }
                continue;
            };
            assert!(!skip, "{at}: {code} is documented, yet listed as never produced");
            if ours["content"].get("application/json").is_none() && ours["content"].get("text/plain").is_some() {
                // axum's `Query` refuses an unreadable query string (`?p=abc`) in plain text,
                // not in the API's envelope.
                assert_eq!(code, "400", "{at}: only the query-string refusal is plain text");
                plain_400.push(at.clone());
                continue;
            }
            if let Some(ts) = tyk_schema.as_str() {
                let ts = response_alias.get(ts).copied().unwrap_or(ts);
                let ours = json_schema_name(&ours["content"]);
                if ours.as_deref() != Some(ts) {
                    problems.push(format!("{at}: response {code} is {ours:?}, Tyk's is {ts}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{} disagreements with Tyk:\n{}", problems.len(), problems.join("\n"));
    assert!(compared >= 49, "only {compared} operations compared");
    println!("{compared} operations agree with Tyk's; 400 in plain text instead of Tyk's envelope: {plain_400:?}");

    // Tyk's envelope, as Tyk's file has it.
    let envelope = &doc["components"]["schemas"]["ApiResponse"]["properties"];
    let fields: BTreeSet<&str> = envelope.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(fields, BTreeSet::from(["Status", "Message", "Meta", "ID"]));
}

// ---- the bodies the server sends agree with the document ----

/// Checks `value` against `schema`, the small part of JSON Schema the document uses: `$ref`,
/// `oneOf`/`allOf`, `type`, `required`, `properties`, `additionalProperties`, `items`. Unlike
/// JSON Schema, an object with `properties` and no `additionalProperties` must not have others:
/// an undocumented field is a drift between the code and the document.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        return check(doc, &doc["components"]["schemas"][name], value, at, errors);
    }
    if let Some(all) = schema["allOf"].as_array() {
        all.iter().for_each(|s| check(doc, s, value, at, errors));
    }
    if let Some(one) = schema["oneOf"].as_array() {
        let fits = |s: &Value| {
            let mut e = Vec::new();
            check(doc, s, value, at, &mut e);
            e.is_empty()
        };
        if !one.iter().any(fits) {
            errors.push(format!("{at}: {value} matches none of {}", Value::Array(one.clone())));
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let is = |t: &str| match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    };
    if !types.is_empty() && !types.iter().any(|t| is(t)) {
        errors.push(format!("{at}: {value} is not {types:?}"));
        return;
    }
    match value {
        Value::Object(map) => {
            for r in schema["required"].as_array().into_iter().flatten() {
                if !map.contains_key(r.as_str().unwrap()) {
                    errors.push(format!("{at}: required {r} missing"));
                }
            }
            let props = schema["properties"].as_object();
            for (k, v) in map {
                let at = format!("{at}.{k}");
                match (props.and_then(|p| p.get(k)), &schema["additionalProperties"]) {
                    (Some(s), _) => check(doc, s, v, &at, errors),
                    (None, Value::Bool(false)) => errors.push(format!("{at}: not allowed")),
                    (None, extra @ Value::Object(_)) => check(doc, extra, v, &at, errors),
                    (None, Value::Null) if props.is_some() => errors.push(format!("{at}: not documented")),
                    _ => {}
                }
            }
        }
        Value::Array(items) if schema["items"].is_object() => {
            for (i, item) in items.iter().enumerate() {
                check(doc, &schema["items"], item, &format!("{at}[{i}]"), errors);
            }
        }
        _ => {}
    }
}

/// Calls an operation and checks that the answer's status is documented for it, and its body
/// fits the documented schema. Returns the body.
struct Checker<'a> {
    app: &'a TestApp,
    doc: Value,
    checked: BTreeSet<(String, String, u16)>,
}

impl Checker<'_> {
    async fn call(&mut self, method: Method, template: &str, url: &str, auth: (&str, &str), body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.app.client.request(method.clone(), self.app.url(url)).header(auth.0, auth.1);
        if let Some(b) = &body {
            req = req.json(b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let at = format!("{method} {url} → {status}");
        let op = &self.doc["paths"][template][method.as_str().to_lowercase()];
        assert!(op.is_object(), "{method} {template} is not documented");
        let documented = &op["responses"][status.as_str()];
        assert!(documented.is_object(), "{at}: status not documented; body {text}");
        let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{at}: not JSON ({e}): {text}"));
        let schema = &documented["content"]["application/json"]["schema"];
        assert!(schema.is_object(), "{at}: no body documented");
        let mut errors = Vec::new();
        check(&self.doc, schema, &value, "body", &mut errors);
        assert!(errors.is_empty(), "{at}: the body does not fit the document:\n{}\n{value:#}", errors.join("\n"));
        self.checked.insert((method.to_string(), template.to_owned(), status.as_u16()));
        (status, value)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_fit_the_document() {
    let Some(app) = spawn_app(Db::Sqlite).await else { return };
    let doc = fetch_document(&app).await;
    let mut c = Checker { app: &app, doc, checked: BTreeSet::new() };
    use Method as M;
    let admin = ("Admin-Auth", ADMIN_SECRET);
    let gw = ("X-Tyk-Authorization", GATEWAY_SECRET);

    // Admin API.
    let (_, org) = c.call(M::POST, "/admin/organisations", "/admin/organisations", admin, Some(json!({ "owner_name": "Acme", "cname": "acme.example" }))).await;
    let org = org["Meta"].as_str().unwrap().to_owned();
    c.call(M::GET, "/admin/organisations", "/admin/organisations", admin, None).await;
    c.call(M::GET, "/admin/organisations/{orgID}", &format!("/admin/organisations/{org}"), admin, None).await;
    c.call(M::GET, "/admin/organisations/{orgID}", "/admin/organisations/nope", admin, None).await;
    c.call(M::POST, "/admin/organisations", "/admin/organisations", admin, Some(json!({}))).await;
    let new_user = json!({ "email_address": "ann@example.org", "org_id": org, "first_name": "Ann", "password": "a long password" });
    let (_, user) = c.call(M::POST, "/admin/users", "/admin/users", admin, Some(new_user.clone())).await;
    let (user_id, cred) = (user["Meta"]["id"].as_str().unwrap().to_owned(), user["Meta"]["access_key"].as_str().unwrap().to_owned());
    c.call(M::POST, "/admin/users", "/admin/users", admin, Some(new_user)).await; // 403: taken
    c.call(M::GET, "/admin/users", &format!("/admin/users?org_id={org}"), admin, None).await;
    c.call(M::GET, "/admin/users", "/admin/users?org_id=nope", admin, None).await;
    c.call(M::GET, "/admin/users/{userId}", &format!("/admin/users/{user_id}"), admin, None).await;
    c.call(M::GET, "/admin/users/{userId}", "/admin/users/nope", admin, None).await;
    c.call(M::GET, "/admin/organisations", "/admin/organisations", ("Admin-Auth", "wrong"), None).await;

    // Dashboard API: APIs.
    let me = ("Authorization", cred.as_str());
    let def = json!({ "api_definition": {
        "name": "Orders", "proxy": { "listen_path": "/orders/", "target_url": "http://127.0.0.1:9", "strip_listen_path": true },
        "version_data": { "not_versioned": false, "default_version": "v1", "versions": { "v1": { "name": "v1" } } },
        "definition": { "location": "header", "key": "x-api-version" }, "use_oauth2": false
    }});
    let (_, created) = c.call(M::POST, "/api/apis", "/api/apis", me, Some(def.clone())).await;
    let api = created["ID"].as_str().unwrap().to_owned();
    c.call(M::POST, "/api/apis", "/api/apis", me, Some(def.clone())).await; // 409
    c.call(M::POST, "/api/apis", "/api/apis", me, Some(json!({ "name": 5 }))).await; // 400
    c.call(M::GET, "/api/apis", "/api/apis", me, None).await;
    c.call(M::GET, "/api/apis/search", "/api/apis/search?q=ord", me, None).await;
    c.call(M::GET, "/api/apis/{apiId}", &format!("/api/apis/{api}"), me, None).await;
    c.call(M::PUT, "/api/apis/{apiId}", &format!("/api/apis/{api}"), me, Some(def)).await;
    c.call(M::GET, "/api/apis/{apiId}", "/api/apis/nope", me, None).await;

    // Policies.
    let policy = json!({ "name": "Silver", "rate": 10, "per": 1, "access_rights": rights(&api, "v1"), "tags": ["silver"], "custom": 1 });
    let (_, p) = c.call(M::POST, "/api/portal/policies", "/api/portal/policies", me, Some(policy.clone())).await;
    let pol = p["Message"].as_str().unwrap().to_owned();
    c.call(M::GET, "/api/portal/policies", "/api/portal/policies", me, None).await;
    c.call(M::GET, "/api/portal/policies/search", "/api/portal/policies/search?q=sil", me, None).await;
    c.call(M::GET, "/api/portal/policies/{id}", &format!("/api/portal/policies/{pol}"), me, None).await;
    c.call(M::PUT, "/api/portal/policies/{id}", &format!("/api/portal/policies/{pol}"), me, Some(policy)).await;

    // Keys.
    let key_body = json!({ "alias": "k1", "rate": 5, "per": 1, "access_rights": rights(&api, "v1"), "apply_policies": [pol], "meta_data": { "a": 1 } });
    let (_, key) = c.call(M::POST, "/api/keys", "/api/keys", me, Some(key_body.clone())).await;
    let hash = key["key_hash"].as_str().unwrap().to_owned();
    c.call(M::POST, "/api/keys/{keyId}", "/api/keys/custom-key-1", me, Some(key_body.clone())).await;
    c.call(M::POST, "/api/keys/{keyId}", "/api/keys/custom-key-1", me, Some(key_body.clone())).await; // 409
    c.call(M::GET, "/api/keys/{keyId}", &format!("/api/keys/{hash}?hashed=true"), me, None).await;
    c.call(M::GET, "/api/keys/{keyId}", "/api/keys/nope", me, None).await;
    c.call(M::PUT, "/api/keys/{keyId}", &format!("/api/keys/{hash}?hashed=1&suppress_reset=1"), me, Some(key_body.clone())).await;
    c.call(M::PUT, "/api/keys/{keyId}", &format!("/api/keys/{hash}?hashed=1"), me, Some(json!({ "rate": "fast" }))).await; // 400
    c.call(M::POST, "/api/keys/preview", "/api/keys/preview", me, Some(key_body.clone())).await;
    c.call(M::GET, "/api/apis/keys", "/api/apis/keys?tag=silver", me, None).await;
    c.call(M::GET, "/api/keys/detailed", "/api/keys/detailed?p=-1", me, None).await;
    c.call(M::GET, "/api/apis/{apiID}/keys", &format!("/api/apis/{api}/keys"), me, None).await;
    c.call(M::GET, "/api/apis/{apiID}/keys", "/api/apis/nope/keys", me, None).await;
    c.call(M::GET, "/api/apis/{apiId}/keys/search", &format!("/api/apis/{api}/keys/search?q=k1"), me, None).await;
    c.call(M::GET, "/api/apis/{apiID}/keys/{keyID}", &format!("/api/apis/{api}/keys/{hash}?hashed=1"), me, None).await;
    c.call(M::PUT, "/api/apis/{apiID}/keys/{keyID}", &format!("/api/apis/{api}/keys/{hash}?hashed=1"), me, Some(key_body.clone())).await;
    let basic = json!({ "rate": 1, "per": 1, "basic_auth_data": { "password": "s3cret-pass" } });
    c.call(M::POST, "/api/apis/keys/basic/{username}", "/api/apis/keys/basic/bob", me, Some(basic.clone())).await;
    c.call(M::POST, "/api/apis/keys/basic/{username}", "/api/apis/keys/basic/bob", me, Some(basic.clone())).await; // 409
    c.call(M::PUT, "/api/apis/keys/basic/{username}", "/api/apis/keys/basic/bob", me, Some(basic)).await;
    c.call(M::POST, "/api/keys", "/api/keys?basic_auth=true", me, Some(json!({ "basic_auth_data": { "user": "cy", "password": "s3cret-pass" } }))).await;
    c.call(M::DELETE, "/api/apis/{apiId}", &format!("/api/apis/{api}"), me, None).await; // 409: in use
    c.call(M::DELETE, "/api/apis/{apiID}/keys/{keyID}", &format!("/api/apis/{api}/keys/{hash}?hashed=1"), me, None).await;
    c.call(M::DELETE, "/api/keys/{keyId}", &format!("/api/keys/{hash}?hashed=1"), me, None).await; // 404 now

    // Users and audit.
    c.call(M::GET, "/api/users", "/api/users", me, None).await;
    c.call(M::GET, "/api/users/me", "/api/users/me", me, None).await;
    c.call(M::GET, "/api/users/{userId}", &format!("/api/users/{user_id}"), me, None).await;
    c.call(M::GET, "/api/users/{userId}", "/api/users/nope", me, None).await;
    c.call(M::GET, "/api/audit", "/api/audit?p=-1", me, None).await;
    c.call(M::GET, "/api/users/me", "/api/users/me", ("Authorization", "wrong"), None).await;

    // Gateway API.
    let gw_key = json!({ "org_id": org, "rate": 5, "per": 1, "access_rights": rights(&api, "v1") });
    let (_, added) = c.call(M::POST, "/tyk/keys", "/tyk/keys", gw, Some(gw_key.clone())).await;
    let (gw_clear, gw_hash) = (added["key"].as_str().unwrap().to_owned(), added["key_hash"].as_str().unwrap().to_owned());
    c.call(M::POST, "/tyk/keys/create", "/tyk/keys/create", gw, Some(gw_key.clone())).await;
    c.call(M::POST, "/tyk/keys/{keyID}", "/tyk/keys/gw-custom-1", gw, Some(gw_key.clone())).await;
    c.call(M::POST, "/tyk/keys/{keyID}", "/tyk/keys/gw-custom-1", gw, Some(gw_key.clone())).await; // 409
    c.call(M::POST, "/tyk/keys/preview", "/tyk/keys/preview", gw, Some(gw_key.clone())).await;
    c.call(M::GET, "/tyk/keys", "/tyk/keys", gw, None).await;
    c.call(M::GET, "/tyk/keys/{keyID}", &format!("/tyk/keys/{gw_clear}"), gw, None).await;
    c.call(M::GET, "/tyk/keys/{keyID}", "/tyk/keys/nope", gw, None).await;
    c.call(M::PUT, "/tyk/keys/{keyID}", &format!("/tyk/keys/{gw_hash}?hashed=1"), gw, Some(gw_key.clone())).await;
    c.call(M::PUT, "/tyk/keys/{keyID}", "/tyk/keys/nope", gw, Some(gw_key.clone())).await;
    c.call(M::POST, "/tyk/keys/policy/{keyID}", &format!("/tyk/keys/policy/{gw_hash}"), gw, Some(json!({ "apply_policies": null }))).await;
    c.call(M::POST, "/tyk/keys/policy/{keyID}", &format!("/tyk/keys/policy/{gw_hash}"), gw, Some(json!([]))).await; // 400
    c.call(M::DELETE, "/tyk/keys/{keyID}", &format!("/tyk/keys/{gw_clear}"), gw, None).await;
    c.call(M::DELETE, "/tyk/keys/{keyID}", &format!("/tyk/keys/{gw_clear}"), gw, None).await; // 404
    let gw_pol = json!({ "id": "gold", "org_id": org, "name": "Gold", "rate": 100, "per": 1 });
    c.call(M::POST, "/tyk/policies", "/tyk/policies", gw, Some(gw_pol.clone())).await;
    c.call(M::POST, "/tyk/policies", "/tyk/policies", gw, Some(gw_pol.clone())).await; // 409
    c.call(M::GET, "/tyk/policies", "/tyk/policies", gw, None).await;
    c.call(M::GET, "/tyk/policies/{polID}", "/tyk/policies/gold", gw, None).await;
    c.call(M::PUT, "/tyk/policies/{polID}", "/tyk/policies/gold", gw, Some(gw_pol)).await;
    c.call(M::DELETE, "/tyk/policies/{polID}", "/tyk/policies/gold", gw, None).await;
    c.call(M::GET, "/tyk/policies/{polID}", "/tyk/policies/gold", gw, None).await; // 404
    c.call(M::GET, "/tyk/keys", "/tyk/keys", ("X-Tyk-Authorization", "wrong"), None).await;

    // Back on the Dashboard API: deletions, and the credential reset last.
    c.call(M::DELETE, "/api/portal/policies/{id}", &format!("/api/portal/policies/{pol}"), me, None).await;
    c.call(M::GET, "/api/portal/policies/{id}", &format!("/api/portal/policies/{pol}"), me, None).await; // 404
    c.call(M::PUT, "/api/users/{userId}/actions/key/reset", &format!("/api/users/{user_id}/actions/key/reset"), me, None).await;

    // Our own endpoints.
    let none = ("X-None", "");
    c.call(M::GET, "/health", "/health", none, None).await;
    c.call(M::GET, "/ready", "/ready", none, None).await;
    c.call(M::POST, "/auth/login", "/auth/login", none, Some(json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }))).await;
    c.call(M::POST, "/auth/login", "/auth/login", none, Some(json!({ "email": ADMIN_EMAIL, "password": "wrong password" }))).await;

    println!("{} (operation, status) pairs checked against the document", c.checked.len());
    assert!(c.checked.len() >= 80, "{}", c.checked.len());
}
