//! Why an OAuth request (registration, authorization, token, revocation) was refused.
//!
//! Each variant maps to the RFC 6749 / 7591 / 8707 `error` code ([`OAuthError::error_code`])
//! and HTTP status ([`OAuthError::status`]) the endpoints answer with; `Display` is the
//! `error_description` and says what the client (or the person) can do about it.

/// A refused OAuth request. Carried inside [`crate::AuthError::OAuth`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// No client is registered under this id.
    #[error(
        "no OAuth client with id {client_id:?} is registered on this hub; register the app again \
         (it will get a new client id)"
    )]
    UnknownClient {
        /// The presented client id.
        client_id: String,
    },

    /// The client registered itself but nobody approved it yet.
    #[error(
        "the OAuth client {client_id:?} is registered but not approved yet; approve it with \
         `parachute auth approve-client {client_id}` or sign in to the hub and accept it"
    )]
    ClientNotApproved {
        /// The pending client.
        client_id: String,
    },

    /// A confidential client did not prove its secret.
    #[error("client authentication failed for {client_id:?}: {reason}")]
    ClientAuthentication {
        /// The client.
        client_id: String,
        /// What was wrong (missing secret, wrong secret, mismatched ids).
        reason: &'static str,
    },

    /// A registration's metadata cannot be accepted.
    #[error("invalid client metadata: {0}")]
    InvalidClientMetadata(String),

    /// A redirect URI is not acceptable for registration.
    #[error("redirect URI {uri:?} is refused: {reason}")]
    InvalidRedirectUri {
        /// The URI as given.
        uri: String,
        /// Why it is refused and what would be accepted.
        reason: String,
    },

    /// The redirect URI is not one the client registered (exact match required).
    #[error(
        "redirect URI {uri:?} is not registered for this client; it must equal one of the \
         registered URIs exactly"
    )]
    RedirectUriNotRegistered {
        /// The URI presented.
        uri: String,
    },

    /// PKCE with a method other than S256 (`plain` included).
    #[error("PKCE method {method:?} is not supported; use code_challenge_method=S256")]
    UnsupportedPkceMethod {
        /// The method presented.
        method: String,
    },

    /// The PKCE challenge is not a base64url SHA-256 value.
    #[error(
        "the code_challenge is not a valid S256 challenge (43 base64url characters); send \
         BASE64URL(SHA256(code_verifier))"
    )]
    InvalidCodeChallenge,

    /// No such authorization code (or it belongs to another client).
    #[error("the authorization code is unknown; start the sign-in again")]
    CodeNotFound,

    /// The authorization code expired before it was redeemed.
    #[error("the authorization code expired; start the sign-in again")]
    CodeExpired,

    /// The code was redeemed before: the request is refused and the tokens issued by the first
    /// redemption were revoked (RFC 6749 §10.5).
    #[error(
        "the authorization code was already redeemed; {revoked} token(s) issued from it were \
         revoked as a precaution. Start the sign-in again"
    )]
    CodeReplayed {
        /// How many token rows this revoked.
        revoked: usize,
    },

    /// `redirect_uri` at the token endpoint differs from the one the code was issued for.
    #[error("redirect_uri does not match the one the authorization code was issued for")]
    CodeRedirectMismatch,

    /// The PKCE verifier does not hash to the stored challenge.
    #[error("code_verifier does not match the code_challenge sent with the authorization request")]
    CodeVerifierMismatch,

    /// No refresh token with this value exists.
    #[error("the refresh token is unknown; sign in again")]
    RefreshTokenNotFound,

    /// The refresh token belongs to another client.
    #[error("the refresh token was issued to a different client")]
    RefreshTokenClientMismatch,

    /// A spent or revoked refresh token was presented: its whole family is now revoked.
    #[error(
        "the refresh token was already used or revoked; every token of this sign-in was revoked \
         ({revoked} newly). Sign in again"
    )]
    RefreshTokenRevoked {
        /// How many still-live rows of the family this revoked.
        revoked: usize,
    },

    /// The refresh token expired.
    #[error("the refresh token expired; sign in again")]
    RefreshTokenExpired,

    /// The refresh token row names no user (hand-made row or deleted user).
    #[error("the refresh token has no user on this hub; sign in again")]
    RefreshTokenWithoutUser,

    /// Another request rotated the same refresh token at the same moment.
    #[error(
        "the refresh token was rotated by a concurrent request; use the newer token or sign in again"
    )]
    RotationConflict,

    /// A refresh asked for scopes the grant never had.
    #[error(
        "scope escalation refused: {} {} not part of the original grant; ask for the same or fewer \
         scopes, or sign in again to grant more",
        .scopes.join(", "),
        if .scopes.len() == 1 { "is" } else { "are" }
    )]
    ScopeEscalation {
        /// The scopes beyond the grant.
        scopes: Vec<String>,
    },

    /// Scopes no module of this hub declares.
    #[error(
        "unknown scopes: {}; the hub only issues scopes its modules declare",
        .scopes.join(", ")
    )]
    UnknownScopes {
        /// The undeclared scopes.
        scopes: Vec<String>,
    },

    /// Operator-only scopes requested through the public flow.
    #[error(
        "these scopes are only available to the hub operator, not through OAuth: {}",
        .scopes.join(", ")
    )]
    NonRequestableScopes {
        /// The refused scopes.
        scopes: Vec<String>,
    },

    /// The user may not delegate any of the requested scopes.
    #[error(
        "you can grant only access you hold yourself; none of the requested scopes ({}) are yours \
         to delegate",
        .scopes.join(", ")
    )]
    NothingToGrant {
        /// The scopes that were asked for.
        scopes: Vec<String>,
    },

    /// The RFC 8707 `resource` does not fit the request.
    #[error("resource {resource:?} is refused: {reason}")]
    InvalidTarget {
        /// The resource indicator as given.
        resource: String,
        /// Why.
        reason: String,
    },
}

impl OAuthError {
    /// The RFC `error` code for the JSON body or redirect.
    pub fn error_code(&self) -> &'static str {
        use OAuthError::*;
        match self {
            UnknownClient { .. } | ClientNotApproved { .. } | ClientAuthentication { .. } => {
                "invalid_client"
            }
            InvalidClientMetadata(_) => "invalid_client_metadata",
            InvalidRedirectUri { .. } => "invalid_redirect_uri",
            RedirectUriNotRegistered { .. }
            | UnsupportedPkceMethod { .. }
            | InvalidCodeChallenge => "invalid_request",
            CodeNotFound
            | CodeExpired
            | CodeReplayed { .. }
            | CodeRedirectMismatch
            | CodeVerifierMismatch
            | RefreshTokenNotFound
            | RefreshTokenClientMismatch
            | RefreshTokenRevoked { .. }
            | RefreshTokenExpired
            | RefreshTokenWithoutUser
            | RotationConflict => "invalid_grant",
            ScopeEscalation { .. }
            | UnknownScopes { .. }
            | NonRequestableScopes { .. }
            | NothingToGrant { .. } => "invalid_scope",
            InvalidTarget { .. } => "invalid_target",
        }
    }

    /// The HTTP status of the JSON answer: 401 for client authentication, else 400.
    pub fn status(&self) -> u16 {
        match self.error_code() {
            "invalid_client" => 401,
            _ => 400,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_follow_the_rfcs() {
        let unknown = OAuthError::UnknownClient {
            client_id: "c".into(),
        };
        assert_eq!(
            (unknown.error_code(), unknown.status()),
            ("invalid_client", 401)
        );
        assert_eq!(OAuthError::CodeExpired.error_code(), "invalid_grant");
        assert_eq!(OAuthError::CodeExpired.status(), 400);
        let esc = OAuthError::ScopeEscalation {
            scopes: vec!["hub:admin".into()],
        };
        assert_eq!(esc.error_code(), "invalid_scope");
        assert!(esc.to_string().contains("hub:admin is not part"), "{esc}");
        let target = OAuthError::InvalidTarget {
            resource: "r".into(),
            reason: "x".into(),
        };
        assert_eq!(target.error_code(), "invalid_target");
        assert!(
            OAuthError::ClientNotApproved {
                client_id: "abc".into()
            }
            .to_string()
            .contains("parachute auth approve-client abc")
        );
    }
}
