//! Migration of legacy installs: archive sweep, cutover to the supervised hub, teardown.
