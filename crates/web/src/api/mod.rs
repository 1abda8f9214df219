//! The JSON API, one module per flow.

pub mod login;
pub mod me;
pub mod phone;
pub mod service;
