//! Integration tests: the OVF descriptor library and the `info`/`validate` commands.

mod corpus;
mod errors;
