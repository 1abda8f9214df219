//! The JSON API, one module per flow.

pub mod admin;
pub mod centre;
pub mod devices;
pub mod login;
pub mod me;
pub mod oidc;
pub mod passkeys;
pub mod phone;
pub mod recovery;
pub mod service;
pub mod upload;
