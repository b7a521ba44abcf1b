//! The hub HTTP server: health, readiness, discovery, JWKS, module operations API and reverse proxy.
