//! The Portcullis server: storage, the services that hold the rules, and the three ways in
//! (the dashboard, the REST APIs, the gateway). See DESIGN.md for the picture.
#![recursion_limit = "512"]

pub mod accounts;
pub mod analytics;
pub mod apis;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod gateway;
pub mod keys;
pub mod limits;
pub mod listen;
pub mod changes;
pub mod metrics;
pub mod policies;
pub mod rest;
pub mod secrets;
pub mod service_error;
pub mod startup;
pub mod state;
pub mod store;
pub mod vault;
pub mod web;
