//! The command line: arguments ([`args`]), the legacy form of the C++
//! tool ([`legacy`]), each command run and its result printed ([`run`]),
//! and the terminal ([`ui`], [`progress`]).

pub mod args;
pub mod legacy;
pub mod progress;
pub mod run;
pub mod ui;
