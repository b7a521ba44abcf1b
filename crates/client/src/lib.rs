//! Client for a running hub over loopback, authenticated with the operator token.
