//! The one shape every service's error takes on its way out: a kind, the input it concerns, and
//! a message. Each way in (the Tyk Dashboard and Admin APIs, the Tyk Gateway API, the
//! dashboard's server functions) turns a `ServiceError` into its own answer with one match on
//! the kind, so no envelope reads a message to find out what went wrong.

use crate::store::StoreError;
use std::borrow::Cow;
use std::fmt;

/// What went wrong, independent of how it is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// What was sent breaks a rule.
    Invalid,
    NotFound,
    /// What was sent clashes with what is stored (a taken name, an object still in use).
    Conflict,
    /// The caller may not do this.
    Forbidden,
    /// Storage cannot be reached just now; trying again may work.
    Unavailable,
    /// A fault of the server; the message is for the log, never for the client.
    Internal,
}

/// The input an error concerns, by its name in Tyk's JSON (`rate`, `proxy.listen_path`), so
/// that a form can show the message beside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: Cow<'static, str>,
    /// Whether the APIs' answers begin with the field's name (`rate: must be ...`). Not when the
    /// message is Tyk's own, which stands alone.
    named_in_message: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceError {
    pub kind: Kind,
    pub field: Option<Field>,
    /// The message without the field's name: what a form shows beside the input.
    pub message: String,
    /// The kind Tyk's APIs answer with where it is not `kind`: Tyk refuses a duplicate user
    /// email as forbidden and a taken policy name as invalid, which are conflicts.
    tyk_kind: Option<Kind>,
}

impl ServiceError {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self { kind, field: None, message: message.into(), tyk_kind: None }
    }

    /// A broken rule of `field`; the APIs answer `field: message`.
    pub fn invalid(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(Kind::Invalid, message).named(field)
    }

    /// A clash at `field`; the APIs answer `field: message`.
    pub fn conflict(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(Kind::Conflict, message).named(field)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Kind::Forbidden, message)
    }

    /// A fault of the server: `detail` goes to the log only.
    pub fn internal(detail: impl fmt::Display) -> Self {
        Self::new(Kind::Internal, detail.to_string())
    }

    /// The error concerns `field`, and the message names it.
    pub fn named(mut self, field: impl Into<Cow<'static, str>>) -> Self {
        self.field = Some(Field { name: field.into(), named_in_message: true });
        self
    }

    /// The error concerns `field`; the message, in Tyk's words, does not name it.
    pub fn beside(mut self, field: impl Into<Cow<'static, str>>) -> Self {
        self.field = Some(Field { name: field.into(), named_in_message: false });
        self
    }

    /// Tyk's APIs answer this error as `kind`.
    pub fn for_tyk(mut self, kind: Kind) -> Self {
        self.tyk_kind = Some(kind);
        self
    }

    /// The kind the Tyk-compatible APIs answer with.
    pub fn tyk_kind(&self) -> Kind {
        self.tyk_kind.unwrap_or(self.kind)
    }

    /// The field's name, or `""` for the request as a whole.
    pub fn field_name(&self) -> &str {
        self.field.as_ref().map_or("", |f| &f.name)
    }
}

/// The message as the APIs show it: with the field's name in front where it belongs there, and
/// a refusal worded as Tyk words it (`access denied: …`).
impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) if field.named_in_message => write!(f, "{}: {}", field.name, self.message),
            _ if self.kind == Kind::Forbidden => write!(f, "access denied: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ServiceError {}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed) => {
                Self::new(Kind::Unavailable, e.to_string())
            }
            // Only a service knows which field a unique constraint guards; one that did not say
            // is a fault.
            other => Self::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_its_field_where_asked() {
        assert_eq!(ServiceError::invalid("rate", "must be positive").to_string(), "rate: must be positive");
        let beside = ServiceError::new(Kind::Conflict, "This name is taken").beside("name");
        assert_eq!(beside.to_string(), "This name is taken");
        assert_eq!(beside.field_name(), "name");
        assert_eq!(ServiceError::not_found("gone").field_name(), "");
        let refused = ServiceError::forbidden("only an admin can do this");
        assert_eq!((refused.to_string().as_str(), refused.message.as_str()), ("access denied: only an admin can do this", "only an admin can do this"));
    }

    #[test]
    fn tyk_may_answer_another_kind() {
        let e = ServiceError::new(Kind::Conflict, "taken").for_tyk(Kind::Forbidden);
        assert_eq!((e.kind, e.tyk_kind()), (Kind::Conflict, Kind::Forbidden));
        assert_eq!(ServiceError::forbidden("no").tyk_kind(), Kind::Forbidden);
    }

    #[test]
    fn storage_faults_are_internal() {
        assert_eq!(ServiceError::from(StoreError::Conflict).kind, Kind::Internal);
        assert_eq!(ServiceError::from(StoreError::Database(sqlx::Error::PoolTimedOut)).kind, Kind::Unavailable);
    }
}
