//! Shared by the `api_*` suites (the module operations API of a real `parachute serve`): a hub
//! with real test-module children, fake `bun`/`npm` first on its PATH, an admin account and an
//! admin-set operator token, plus request and polling helpers.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use parachute_tests::auth::{bearer, ensure_admin, operator_token};
use parachute_tests::hub::{HubOptions, HubProcess, add_row};
use parachute_tests::{FakeTools, TestHome, free_port, http, wait_for};
use serde_json::{Value, json};

/// A hub with fake `bun`/`npm`, an admin and an admin-set operator token.
pub struct Rig {
    /// The hub (declared first: dropped before the home it runs in).
    pub hub: HubProcess,
    /// Admin-set operator token for the hub's loopback origin.
    pub token: String,
    /// Fake tools (their state dir holds the recorded calls).
    pub fakes: FakeTools,
    /// `BUN_INSTALL` of the hub.
    pub bun: tempfile::TempDir,
    /// The hub's home (dropped last).
    pub home: TestHome,
}

impl Rig {
    /// Prepares the home with `prepare`, then starts the hub with an admin account.
    pub fn start(prepare: impl FnOnce(&TestHome, &FakeTools)) -> Rig {
        Self::start_with(true, prepare)
    }

    pub fn start_with(admin: bool, prepare: impl FnOnce(&TestHome, &FakeTools)) -> Rig {
        let home = TestHome::new();
        let fakes = FakeTools::new(&["bun", "npm"]);
        let bun = tempfile::Builder::new()
            .prefix("parachute-bun-")
            .tempdir()
            .unwrap();
        prepare(&home, &fakes);
        if admin {
            ensure_admin(home.path());
        }
        let env = vec![
            (
                "PATH".to_string(),
                format!("{}:{}", bun.path().join("bin").display(), fakes.path_env()),
            ),
            (
                parachute_tests::fake::STATE_ENV.to_string(),
                fakes.state_dir().display().to_string(),
            ),
            ("BUN_INSTALL".to_string(), bun.path().display().to_string()),
            ("PARACHUTE_INSTALL_CHANNEL".to_string(), String::new()),
            ("PARACHUTE_MODULE_CHANNEL".to_string(), String::new()),
        ];
        let hub = HubProcess::start_with(
            home.path(),
            HubOptions {
                env,
                ..Default::default()
            },
        );
        let token = if admin {
            operator_token(home.path(), hub.port)
        } else {
            String::new()
        };
        Rig {
            hub,
            token,
            fakes,
            bun,
            home,
        }
    }

    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.hub.port)
    }

    /// `method path` with the operator token and an optional JSON body.
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> http::Response {
        self.call_as(&self.token, method, path, body)
    }

    pub fn call_as(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> http::Response {
        let auth = bearer(token);
        let text = body.map(|b| b.to_string());
        let mut headers = vec![("authorization", auth.as_str())];
        if text.is_some() {
            headers.push(("content-type", "application/json"));
        }
        http::request(self.hub.port, method, path, &headers, text.as_deref()).unwrap()
    }

    /// Polls an operation until it ends; returns it.
    pub fn wait_op(&self, id: &str) -> Value {
        wait_for(Duration::from_secs(90), || {
            let op = self
                .call("GET", &format!("/api/modules/operations/{id}"), None)
                .json();
            matches!(op["status"].as_str(), Some("succeeded" | "failed")).then_some(op)
        })
        .unwrap_or_else(|| panic!("operation {id} never ended:\n{}", self.hub.output_text()))
    }

    /// Starts an install/upgrade and waits for its operation.
    pub fn run_op(&self, short: &str, action: &str, body: Option<Value>) -> Value {
        let r = self.call("POST", &format!("/api/modules/{short}/{action}"), body);
        assert_eq!(r.status, 202, "{}", r.body);
        let id = r.json()["operation_id"].as_str().unwrap().to_string();
        self.wait_op(&id)
    }

    /// The `/api/modules` entry of `short` (without registry lookups).
    pub fn entry(&self, short: &str) -> Value {
        let list = self.call("GET", "/api/modules?latest=0", None);
        assert_eq!(list.status, 200, "{}", list.body);
        list.json()["modules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["short"] == short)
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// Waits until `short` runs with a pid other than `not`; returns the pid.
    pub fn wait_running(&self, short: &str, not: Option<u64>) -> u64 {
        wait_for(Duration::from_secs(30), || {
            let e = self.entry(short);
            let pid = e["pid"].as_u64()?;
            (e["supervisor_status"] == "running" && Some(pid) != not).then_some(pid)
        })
        .unwrap_or_else(|| panic!("{short} never ran:\n{}", self.hub.output_text()))
    }

    /// `services.json` (an empty registry when the file does not exist).
    pub fn services(&self) -> Value {
        match std::fs::read_to_string(self.home.path().join("services.json")) {
            Ok(text) => serde_json::from_str(&text).unwrap(),
            Err(_) => json!({"services": []}),
        }
    }

    pub fn row(&self, name: &str) -> Option<Value> {
        self.services()["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
    }

    pub fn global_dir(&self, package: &str) -> PathBuf {
        self.bun
            .path()
            .join("install/global/node_modules")
            .join(package)
    }
}

/// The `error` code of a JSON error answer (empty when there is none).
pub fn error_of(r: &http::Response) -> String {
    r.json()["error"].as_str().unwrap_or_default().to_string()
}

/// A vault row on a free port (so parallel tests never fight over 1940).
pub fn vault_row(home: &Path) -> u16 {
    let port = free_port();
    add_row(
        home,
        json!({"name": "parachute-vault", "port": port, "paths": ["/vault/default"],
               "health": "/vault/default/health", "version": "0.9.0"}),
    );
    port
}
