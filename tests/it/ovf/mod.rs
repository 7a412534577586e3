//! Integration tests: the OVF descriptor library and the `info`/`validate` commands.

mod conformance;
mod corpus;
mod errors;
