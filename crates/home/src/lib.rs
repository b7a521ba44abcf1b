//! The Parachute config home: paths, services.json, .env files and state files, written atomically.
