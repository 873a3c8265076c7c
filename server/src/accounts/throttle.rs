//! Slows down password guessing at the dashboard's sign-in: failed sign-ins are counted per
//! account and per client address (`limits::guesses`), and past a threshold each further
//! attempt must wait, twice as long each time.

use crate::limits::guesses::Guesses;
use std::net::IpAddr;
use std::time::Duration;

/// Failures allowed per account before attempts are delayed.
pub const ACCOUNT_FREE_FAILURES: u32 = 5;
/// Failures allowed per client address (across accounts) before attempts are delayed.
pub const ADDRESS_FREE_FAILURES: u32 = 20;
/// Accounts (and addresses) remembered at most.
const CAP: usize = 100_000;

pub struct SignInThrottle(Guesses<String>);

impl Default for SignInThrottle {
    fn default() -> Self {
        Self(Guesses::new(ACCOUNT_FREE_FAILURES, ADDRESS_FREE_FAILURES, CAP))
    }
}

impl SignInThrottle {
    /// Counts this attempt before the password is checked; `Err(wait)` when this account or
    /// address must wait before trying again.
    pub fn reserve(&self, account: &str, address: IpAddr) -> Result<(), Duration> {
        self.0.reserve(&account.to_owned(), Some(address))
    }

    /// A good password clears the account's record (and gives the address this attempt back).
    pub fn succeeded(&self, account: &str, address: IpAddr) {
        self.0.succeeded(&account.to_owned(), Some(address))
    }

    /// The password was not checked (the database did not answer).
    pub fn abandoned(&self, account: &str, address: IpAddr) {
        self.0.abandoned(&account.to_owned(), Some(address))
    }
}
