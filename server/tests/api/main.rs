//! Integration tests: the real server, started in-process on port 0, spoken to over HTTP.
//! Every test runs twice, on SQLite and on PostgreSQL (see `helpers::Db`).

mod helpers;
#[path = "../support/mod.rs"]
mod support;

mod admin;
mod analytics;
mod bounded;
mod api_auth;
mod apis;
mod bulk;
mod cli;
mod cluster;
mod dashboard;
mod envelopes;
mod gateway;
mod health;
mod isolation_guessing;
mod isolation_proxy;
mod isolation_routing;
mod isolation_site;
mod keys;
mod metrics;
mod openapi;
mod paging;
mod policies;
mod process;
mod responses;
mod roles;
mod signin;
mod tyk;
mod tyk_compat;
mod tyk_script;
