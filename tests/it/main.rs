//! The one integration-test harness. Modules per area; helpers in [`support`].

mod support;
