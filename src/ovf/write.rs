//! Building new descriptors (in progress).
