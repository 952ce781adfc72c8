//! `/v3/auth/*`: the auth request, one file per method, and the routes.

pub mod application_credential;
pub mod ec2;
pub mod mapped;
pub mod mfa;
pub mod oauth1;
pub mod password;
pub mod request;
pub mod schema;
pub mod scope;
pub mod token;
pub mod totp;
pub mod trust;
pub mod user_info;

/// A successful method: who it authenticated, plus what a token method carries over.
#[derive(Debug, Clone, Default)]
pub struct MethodOutcome {
    pub user_id: String,
    /// From a presented token: its methods, expiry and chain root.
    pub inherited_methods: Vec<String>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub parent_audit_id: Option<String>,
    /// The presented token's scope, for the rescope rules.
    pub presented_scope: Option<crate::token::model::ResolvedScope>,
    /// From the `application_credential` method: the credential, which fixes the scope.
    pub application_credential: Option<crate::application_credential::ApplicationCredential>,
    /// From the `oauth1` method: the access token whose delegation the token carries.
    pub oauth1: Option<oauth1::Grant>,
    /// From a federated login or a presented federated token: the new token is federated.
    pub federated: Option<crate::fernet::FederatedInfo>,
}
