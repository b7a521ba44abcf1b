//! hub.db, signing keys, JWTs, the operator token and users.
