//! OS boundaries: port probes, process inspection and signals, and running external tools.
//!
//! Everything that asks the operating system a question our tests cannot fake cheaply lives
//! here, behind small functions and the [`command::CommandRunner`] trait.

pub mod command;
pub mod port;
pub mod process;

pub use command::{CommandError, CommandOutput, CommandRunner, SystemRunner};
pub mod wait;
