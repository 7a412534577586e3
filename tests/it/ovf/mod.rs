//! Integration tests: the OVF descriptor library and the `info`/`validate` commands.

mod cli;
mod conformance;
mod corpus;
mod edit;
mod errors;
mod generate;
mod mutate;
mod rules;
mod scale;
