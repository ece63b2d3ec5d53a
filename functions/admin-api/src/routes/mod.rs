//! Route handlers, one file per resource.

pub mod accounts;
pub mod admins;
pub mod audit_log;
pub mod auth;
pub mod courses;
pub mod dead_letters;
pub mod deliveries;
pub mod exports;
pub mod followers;
pub mod health;
pub mod openapi;
pub mod push_preview;
pub mod pushes;
pub mod signups;
pub mod sync_runs;
pub mod verification_files;
