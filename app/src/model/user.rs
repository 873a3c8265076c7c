use super::{OrgId, Permissions, UserId};
use serde::{Deserialize, Serialize};

/// What the profile page shows of the signed-in user. The REST credential itself is stored
/// hashed, so only its last characters (`credential_hint`) can be shown after it was created.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub user_id: UserId,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub org_id: OrgId,
    pub org_name: String,
    pub credential_hint: String,
    /// Unix seconds.
    pub created_at: i64,
    /// What the user may see and change: the dashboard shows only that.
    pub permissions: Permissions,
}

/// A user of the organisation as the Users page lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserSummary {
    pub user_id: UserId,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub permissions: Permissions,
    pub active: bool,
    /// Unix seconds; None before the first sign-in.
    pub last_login: Option<i64>,
    pub created_at: i64,
}

/// The user form of the Users page: creating a user (with a password, so that it can sign in)
/// or changing one (the password left empty keeps it).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UserForm {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub password: String,
    pub active: bool,
    pub permissions: Permissions,
}

pub const MIN_PASSWORD_LEN: usize = 8;

/// The one password rule, used by the server and by the browser before it sends anything.
pub fn validate_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(format!("password must be at least {MIN_PASSWORD_LEN} characters long"));
    }
    if password.len() > 72 {
        // bcrypt only looks at the first 72 bytes; refuse rather than silently truncate.
        return Err("password must be at most 72 bytes long".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules() {
        assert!(validate_password("short").is_err());
        assert!(validate_password("long enough").is_ok());
        assert!(validate_password(&"x".repeat(73)).is_err());
    }
}
