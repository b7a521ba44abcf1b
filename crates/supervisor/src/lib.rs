//! In-process module supervisor: spawn, log multiplexing, crash restart with backoff, group shutdown.
