//! The types shared by the server and the browser. Nothing here knows SQL, axum or Redis.

pub mod api_definition;
pub mod dashboard;
mod error;
pub mod format;
pub mod forms;
mod ids;
pub mod permissions;
pub mod policy;
pub mod policy_merge;
pub mod session;
mod user;

pub use error::AppError;
pub use api_definition::{ApiDefinition, AuthMode};
pub use dashboard::*;
pub use forms::{
    input_id, validate_api_form, validate_key_form, validate_policy_form, validate_policy_rules, validate_session_rules,
    AccessRightForm, ApiForm, Expiry, FieldError, Governed, KeyAuth, KeyForm, LimitsForm, PathRuleForm, PolicyForm,
};
pub use ids::{KeyHash, OrgId, UserId};
pub use permissions::{Area, Level, Permissions};
pub use policy::{Policy, PolicyPartitions};
pub use policy_merge::{apply_policies, trial_expiry, MergeError};
pub use session::{
    APILimit, AccessDefinition, AccessSpec, BasicAuthData, Endpoint, EndpointMethod,
    FieldAccessDefinition, FieldLimits, GraphqlType, JwtData, Monitor, RateLimit,
    RateLimitSmoothing, SessionState,
};
pub use user::{validate_password, Profile, UserForm, UserSummary, MIN_PASSWORD_LEN};
