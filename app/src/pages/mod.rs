pub mod apis;
pub mod home;
pub mod keys;
pub mod login;
pub mod not_found;
pub mod policies;
pub mod profile;
pub mod users;
